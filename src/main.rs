//! The `bajie-sim` binary: parse the configuration, start the simulator, print the listening
//! line, run until SIGINT or SIGTERM, then shut down gracefully.

use bajie_sim::app;
use bajie_sim::config::{Config, Parsed, HELP};
use std::io::Write;
use std::time::Duration;

#[actix_web::main]
async fn main() {
    let config = match Config::parse(std::env::args().skip(1), std::env::vars()) {
        Ok(Parsed::Run(c)) => *c,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return;
        }
        Err(e) => {
            eprintln!("bajie-sim: {e}");
            std::process::exit(2);
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if !config.bind.ip().is_loopback() {
        log::warn!(
            "listening on {}, which is reachable from other machines; the control API has no authentication",
            config.bind
        );
    }
    let running = match app::build(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bajie-sim: {e}");
            std::process::exit(1);
        }
    };
    println!("bajie-sim listening on {}", running.url());
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    log::info!("shutting down");
    running.shutdown(Duration::from_secs(5)).await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
