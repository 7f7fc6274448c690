//! Wiring: build a running simulator from a [`Config`], shared by `main` and the tests.
//!
//! `build` loads the world, starts the HTTP server on an already bound listener, the delivery
//! engine and the driver that moves virtual time, and returns a [`Running`] handle holding the
//! bound address. Tests call it with port 0.

use crate::api;
use crate::clock::{self, parse_datetime, Clock, Millis};
use crate::config::Config;
use crate::control;
use crate::fixtures;
use crate::model::{Event, World};
use crate::push::{Hub, PushSettings};
use crate::sim;
use crate::store::Store;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything a handler needs: the world, the clock, the delivery engine.
#[derive(Debug)]
pub struct AppState {
    /// The world behind its lock.
    pub store: Store,
    /// Virtual time.
    pub clock: Arc<Clock>,
    /// Outbound deliveries.
    pub push: Hub,
    /// The configuration it was started with.
    pub config: Config,
    /// The seed in use.
    pub seed: u64,
    /// Virtual time the world starts at (for reset).
    pub start: Millis,
}

impl AppState {
    /// Hand events to the delivery engine.
    pub fn publish(&self, events: Vec<Event>) {
        if !events.is_empty() {
            self.push.publish(events);
        }
    }

    /// Move virtual time forward by `ms`, running everything due in the span at its own time.
    pub fn advance(&self, ms: Millis) {
        let target = self.clock.advance(ms);
        self.catch_up(target);
    }

    /// Run what is due up to `now`: due actions and, when the simulation is on, its steps.
    pub fn catch_up(&self, now: Millis) {
        let events = if self.config.no_sim {
            self.store.run_due(now)
        } else {
            self.store
                .write(|w, out| {
                    sim::step(w, now, out);
                    Ok(())
                })
                .map(|(_, e)| e)
                .unwrap_or_default()
        };
        self.publish(events);
    }

    /// Run `n` simulation steps at the current virtual time; returns the number of events.
    pub fn tick(&self, n: u64) -> usize {
        let now = self.clock.now();
        let mut count = 0;
        for _ in 0..n {
            let (_, events) = self
                .store
                .write(|w, out| {
                    sim::step(w, now, out);
                    Ok(())
                })
                .unwrap_or_default();
            count += events.len();
            self.publish(events);
        }
        count
    }

    /// Back to the loaded world and start time; the journal is emptied.
    pub fn reset(&self) {
        self.store.reset();
        self.clock.set(self.start);
        self.push.clear();
    }
}

/// A running simulator.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Shared state, for in-process inspection.
    pub state: web::Data<AppState>,
    server: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_driver: watch::Sender<bool>,
}

impl Running {
    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish in-flight requests, give pending deliveries `grace`.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop_driver.send(true);
        self.server.stop(true).await;
        let _ = self.server_task.await;
        self.state.push.drain_for(grace).await;
    }

    /// Wait until the server stops on its own.
    pub async fn wait(self) {
        let _ = self.server_task.await;
    }
}

/// Load the world the configuration asks for.
pub fn load_world(config: &Config, seed: u64) -> Result<(World, Millis), String> {
    let wall = clock::wall_now();
    let loaded = match (&config.fleet, &config.fixtures) {
        (Some(n), _) => fixtures::generate_fleet(*n, seed, wall),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?;
            fixtures::load(&text, seed, wall).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => {
            fixtures::load(fixtures::DEFAULT_FIXTURES, seed, wall).map_err(|e| format!("embedded fixtures: {e}"))?
        }
    };
    let start = match config.start.as_deref() {
        Some(s) => parse_datetime(s).ok_or_else(|| format!("--start: '{s}' is not a time"))?,
        None => loaded.start.unwrap_or(wall),
    };
    let mut world = loaded.world;
    world.settings.eject_delay_ms = config.eject_delay_s as Millis * 1000;
    Ok((world, start))
}

/// Build and start a simulator.
pub async fn build(config: Config) -> Result<Running, String> {
    // The only place a seed is drawn from the system: everything after follows from it.
    let seed = config.seed.unwrap_or_else(rand::random);
    let (world, start) = load_world(&config, seed)?;
    let clock = Arc::new(Clock::new(start, config.speed, config.frozen));
    let push = Hub::new(
        PushSettings {
            timeout: Duration::from_millis(config.push_timeout_ms.max(1)),
            retries: config.push_retries_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            ..PushSettings::default()
        },
        clock.clone(),
        seed,
    );
    let state = web::Data::new(AppState { store: Store::new(world), clock, push, config: config.clone(), seed, start });

    let listener = TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let data = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(api::json_config())
            .app_data(api::guard::path_config())
            .app_data(api::guard::query_config())
            .app_data(api::guard::payload_config())
            .configure(api::routes)
            .configure(control::routes)
            .default_service(web::to(api::not_found))
            .wrap(actix_web::middleware::from_fn(api::guard::guard))
    })
    .workers(if config.workers == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        config.workers
    })
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(|e| format!("cannot serve on {addr}: {e}"))?
    .run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);

    let (stop_driver, stop) = watch::channel(false);
    tokio::spawn(drive(state.clone(), stop));
    log::info!("seed {seed}, virtual start {}", clock::fmt_datetime(start));
    Ok(Running { addr, state, server: handle, server_task, stop_driver })
}

/// The timer that moves the world with virtual time: due actions every 50 ms of real time,
/// simulation steps every `tick_ms`. It only sleeps and calls the synchronous step.
async fn drive(state: web::Data<AppState>, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if !state.clock.reading().frozen {
                    state.catch_up(state.clock.now());
                }
            }
            _ = stop.changed() => return,
        }
    }
}
