//! The `bajie-sim` binary: parse the configuration, start the simulator, print the listening
//! line, run until SIGINT or SIGTERM, then shut down gracefully: stop accepting, finish the
//! requests in flight (up to 5 s), give pending pushes and callbacks 5 s, exit 0. A second
//! signal exits at once (130). `bajie-sim probe` asks a running simulator for its health instead;
//! `bajie-sim openapi` prints the OpenAPI document.

use bajie_sim::config::{Command, Invocation};
use bajie_sim::{app, probe};
use std::io::Write;
use std::time::Duration;

#[actix_web::main]
async fn main() {
    // `--help` and `--version` print and exit 0 here; a bad flag prints what is wrong and exits 2.
    let Invocation { config, command } = Invocation::from_process();
    if command == Some(Command::Probe) {
        match probe::probe(&config).await {
            Ok(up) => println!("{up}"),
            Err(e) => {
                eprintln!("bajie-sim probe: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if command == Some(Command::Openapi) {
        let _ = std::io::stdout().write_all(bajie_sim::control::openapi::text().as_bytes());
        return;
    }
    if config.fixture_schema {
        // Not println!: a closed pipe (`| head`) is no reason to panic.
        let _ = writeln!(std::io::stdout(), "{:#}", bajie_sim::fixtures::schema());
        return;
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,bajie_sim::access=warn")).init();
    raise_open_file_limit();
    if let Some(warning) = config.exposure_warning() {
        log::warn!("{warning}");
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
    log::info!("shutting down: no new connections; finishing requests in flight, then deliveries (5 s grace)");
    // A second signal means "now": skip the grace periods (what is pending is lost, as with
    // SIGKILL; see docs/reliability.md).
    tokio::spawn(async {
        wait_for_signal().await;
        log::warn!("second signal: exiting at once");
        std::process::exit(130);
    });
    // STATE FILE: `--state-file` is saved inside `Running::shutdown`, after the server has
    // finished its requests and before deliveries get their grace period, so the saved world
    // includes every answered request.
    running.shutdown(Duration::from_secs(5)).await;
    log::info!("stopped");
}

/// Raise the soft open-file limit (RLIMIT_NOFILE) to the hard one. Every client connection
/// holds a descriptor, and many systems start processes at a soft 1024: a load test of a
/// thousand connections (or clients that open and never finish their requests) then locked
/// every other client out, although the hard limit allowed far more.
fn raise_open_file_limit() {
    // u64::MAX: as high as the hard limit (and, on macOS, the kernel's per-process cap) allow.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => log::debug!("open-file limit (RLIMIT_NOFILE): {n}"),
        Err(e) => log::warn!("cannot raise the open-file limit (RLIMIT_NOFILE): {e}"),
    }
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
