//! Wiring: build a running simulator from a [`Config`], shared by `main` and the tests.
//!
//! `build` loads the world, starts the HTTP server on an already bound listener, the delivery
//! engine and the driver that moves virtual time, and returns a [`Running`] handle holding the
//! bound address. Tests call it with port 0.

use crate::api;
use crate::clock::{self, parse_datetime, Clock, Millis};
use crate::config::Config;
use crate::control;
use crate::driver::{self, Runtime};
use crate::fixtures;
use crate::model::event::Subscription;
use crate::model::push_config::EVENT_NAMES;
use crate::model::{Event, PushConfig, SimSettings, Snapshot, World};
use crate::push::{Hub, PushSettings};
use crate::store::Store;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Seconds an idle HTTP/1.1 connection stays open, announced in a `Keep-Alive: timeout=75`
/// header. actix's default (5 s) closed connections that client pools (which keep theirs for
/// 30-90 s) reused after a pause, and the client saw "connection closed without response";
/// 75 s is what production platforms behind a usual front server keep (nginx's default).
pub const KEEP_ALIVE_S: u64 = 75;

/// Everything a handler needs: the world, the clock, the delivery engine.
#[derive(Debug)]
pub struct AppState {
    /// The world behind its lock, and the time gate.
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
    /// Wall-clock time the world was first loaded at: a reset rebuilds it with the same
    /// registration times, so the rebuilt world equals the loaded one.
    pub loaded_at: Millis,
    /// The simulation driver, long advances and how the world keeps up with the clock.
    pub runtime: Runtime,
    /// The dashboard's plots: a bounded ring of samples over virtual time per agent.
    pub ui_samples: parking_lot::Mutex<control::ui::Samples>,
    /// Prometheus metrics (`/_sim/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Answer-time profiles (`/_sim/latency`).
    pub latency: crate::latency::Latency,
}

impl AppState {
    /// Hand events to the delivery engine.
    pub fn publish(&self, events: Vec<Event>) {
        if !events.is_empty() {
            self.push.publish(events);
        }
    }

    /// Unix-epoch milliseconds of virtual time `t` (virtual time counts on the wall clock of
    /// `--utc-offset`; the control API's `nowMs` is the epoch reading).
    pub fn epoch_ms(&self, t: Millis) -> Millis {
        t - i64::from(self.config.utc_offset_s) * 1000
    }

    /// Virtual milliseconds of one simulation step: `--tick-ms`. `POST /_sim/tick?n=N` moves
    /// the clock by N steps; an advance moves it in chunks of at least this size.
    pub fn step_ms(&self) -> Millis {
        self.config.tick_ms.max(1) as Millis
    }

    /// One bounded step of the world towards the clock (`store::Store::step`), its events
    /// handed on before the time gate opens again. Returns the time reached and the clock's
    /// time it aimed at.
    pub fn step_to_clock(&self) -> (Millis, Millis) {
        let (reached, now, _) = self.step_to_clock_counted();
        (reached, now)
    }

    /// Like [`Self::step_to_clock`], also returning the number of events.
    pub fn step_to_clock_counted(&self) -> (Millis, Millis, usize) {
        let gate = self.store.gate();
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let stepped = self.store.step(&gate, now, !self.config.no_sim);
        let n = stepped.events.len();
        if n > 0 {
            self.metrics.observe_step(started.elapsed(), n);
        }
        self.publish(stepped.events);
        drop(gate);
        (stepped.reached, now, n)
    }

    /// Bring the world up to the clock, step by step; returns the number of events.
    pub fn catch_up(&self) -> usize {
        let mut count = 0;
        loop {
            let (reached, now, n) = self.step_to_clock_counted();
            count += n;
            if reached >= now {
                return count;
            }
        }
    }

    /// Move the clock forward by `ms` (the world follows at its next steps); the new now.
    pub fn clock_advance(&self, ms: Millis) -> Millis {
        let _gate = self.store.gate();
        self.clock.advance(ms)
    }

    /// Run `n` simulation steps, each moving virtual time forward by [`Self::step_ms`];
    /// returns the number of events.
    pub fn tick(&self, n: u64) -> usize {
        let step = self.step_ms();
        let mut count = 0;
        for _ in 0..n {
            self.clock_advance(step);
            count += self.catch_up();
        }
        count
    }

    /// The world brought up to the clock, and the time it was brought to (snapshots). The
    /// copy is a long read: requests that read go on meanwhile.
    pub fn caught_up_world(&self) -> (Millis, World) {
        let gate = self.store.gate();
        let now = self.clock.now();
        loop {
            let stepped = self.store.step(&gate, now, !self.config.no_sim);
            self.publish(stepped.events);
            if stepped.reached >= now {
                break;
            }
        }
        // Copied with the gate closed, in pieces (`Store::copy_at`): virtual time stands
        // still for the copy, requests go on between its pieces.
        let copy = self.store.copy_at(&gate);
        drop(gate);
        copy
    }

    /// Replace the world with a (validated) snapshot and set the clock to its time; the
    /// journal is kept. `reset` still returns to the loaded fixtures. The new world's
    /// indexes are built before the swap; the old world is freed after it, by the caller's
    /// thread, outside every lock.
    pub fn restore(&self, snap: Snapshot) -> Result<(), crate::error::Error> {
        self.runtime.cancel_advance("cancelled by a snapshot import");
        let mut world = snap.world;
        // The process's shard, not the snapshot's, stamps the tokens and trade numbers it issues.
        world.set_shard(self.config.shard);
        let mut settings = world.sim().settings.clone();
        apply_sim_flags(&self.config, &mut settings);
        // Refused like a bad snapshot if the command line's rates make its settings unusable;
        // the world stays as it was.
        world.load_sim_settings(settings)?;
        world.warm_indexes();
        let gate = self.store.gate();
        let old = self.store.replace(&gate, world, snap.now);
        self.clock.set(snap.now);
        drop(gate);
        drop(old);
        Ok(())
    }

    /// Back to the loaded world and start time; the journal is emptied. The world is rebuilt
    /// from the configuration (same seed, same load time) rather than copied from a kept
    /// original, which would double the memory of a large fleet; it is built before the time
    /// gate closes, so only the swap stops time, and requests are answered meanwhile.
    pub fn reset(&self) {
        self.runtime.cancel_advance("cancelled by a reset");
        let rebuilt = load_world_at(&self.config, self.seed, self.loaded_at);
        let gate = self.store.gate();
        let old = match rebuilt {
            Ok((world, _)) => Some(self.store.replace(&gate, world, self.start)),
            // It loaded at start, so it loads again; if the file changed on disk meanwhile,
            // keep the current world rather than serve half of one.
            Err(e) => {
                log::error!("reset: cannot reload the world: {e}");
                None
            }
        };
        self.clock.set(self.start);
        self.push.clear();
        self.latency.reset();
        drop(gate);
        drop(old);
        // The simulation starts again from the start time.
        self.catch_up();
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
    _stop_runtime: StopRuntime,
}

/// Stops the driver thread when the handle goes away (tests drop theirs without a shutdown),
/// so a finished simulator does not keep a thread stepping its world.
struct StopRuntime(web::Data<AppState>);

impl Drop for StopRuntime {
    fn drop(&mut self) {
        self.0.runtime.stop_soon();
    }
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
        // Time stops before the final save: the driver finishes its step and ends.
        let st = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || st.runtime.stop()).await;
        // Requests are finished: save the final world before waiting for deliveries.
        if let Some(path) = self.state.config.state_file.clone() {
            let state = self.state.clone();
            let saved = tokio::task::spawn_blocking(move || control::state::save_file(&state, &path)).await;
            match saved {
                Ok(Ok(())) => log::info!("state saved"),
                Ok(Err(e)) => log::error!("{e}"),
                Err(e) => log::error!("saving state: {e}"),
            }
        }
        self.state.push.drain_for(grace).await;
    }

    /// Wait until the server stops on its own.
    pub async fn wait(self) {
        let _ = self.server_task.await;
    }
}

/// Load the world the configuration asks for, starting now (or when it is pinned).
pub fn load_world(config: &Config, seed: u64) -> Result<(World, Millis), String> {
    load_world_at(config, seed, clock::wall_start(config.utc_offset_s))
}

/// Load the world the configuration asks for, as if the wall clock read `wall`. The virtual
/// start is `--start`, else the fixture file's `start`, else `wall`; the world's cabinets are
/// registered then.
pub fn load_world_at(config: &Config, seed: u64, wall: Millis) -> Result<(World, Millis), String> {
    if config.agents.is_some() && config.fleet.is_none() {
        return Err("--agents names the accounts of a generated fleet: give --fleet N too".into());
    }
    let pinned = match config.start.as_deref() {
        Some(s) => Some(parse_datetime(s).ok_or_else(|| format!("--start: '{s}' is not a time"))?),
        None => None,
    };
    let loaded = match (&config.fleet, &config.fixtures) {
        (Some(n), _) => fixtures::generate_fleet_for(
            fixtures::FleetSpec { cabinets: *n, agents: config.agents, shard: config.shard },
            seed,
            pinned.unwrap_or(wall),
        ),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?;
            fixtures::load_with(&text, seed, wall, pinned).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => fixtures::load_with(fixtures::DEFAULT_FIXTURES, seed, wall, pinned)
            .map_err(|e| format!("embedded fixtures: {e}"))?,
    };
    let start = pinned.or(loaded.start).unwrap_or(wall);
    let mut world = loaded.world;
    // A fixture world is split after loading (a fleet shard is generated split already).
    if let Some(shard) = config.shard.filter(|_| world.shard().is_none()) {
        world.keep_shard(shard, seed);
    }
    if let Some(shard) = config.shard.filter(|_| world.agents().is_empty()) {
        return Err(format!("shard {shard} owns none of the world's accounts; use fewer shards or more --agents"));
    }
    world.set_eject_delay(config.eject_delay_s as Millis * 1000);
    let mut settings = match loaded.sim {
        Some(sim) => serde_json::from_value::<SimSettings>(sim).map_err(|e| format!("fixtures: sim: {e}"))?,
        None => world.sim().settings.clone(),
    };
    apply_sim_flags(config, &mut settings);
    world.load_sim_settings(settings).map_err(|e| e.to_string())?;
    // Part of the world as loaded, so a reset (which reloads) keeps the wiring of a demo.
    if let Some(url) = &config.push_url {
        let all = PushConfig {
            push_url: url.clone(),
            event_subscriptions: EVENT_NAMES
                .iter()
                .map(|e| Subscription { event: e.to_string(), push_url: String::new(), enable: true })
                .collect(),
        };
        world.set_push_config_all(Arc::new(all));
    }
    world.warm_indexes();
    Ok((world, start))
}

/// The virtual start time: `--start`, else the world file's, else the wall clock.
fn configured_start(config: &Config, from_file: Option<Millis>, wall: Millis) -> Result<Millis, String> {
    match config.start.as_deref() {
        Some(s) => parse_datetime(s).ok_or_else(|| format!("--start: '{s}' is not a time")),
        None => Ok(from_file.unwrap_or(wall)),
    }
}

/// Command-line overrides of the simulation's rates.
fn apply_sim_flags(config: &Config, s: &mut SimSettings) {
    if let Some(r) = config.rent_rate {
        s.rents_per_cabinet_hour = r;
    }
    if let Some(url) = &config.customer_callback_url {
        s.customer_callback_url = Some(url.clone());
    }
}

/// Build and start a simulator.
pub async fn build(config: Config) -> Result<Running, String> {
    // The only place a seed is drawn from the system: everything after follows from it.
    let seed = config.seed.unwrap_or_else(rand::random);
    // Bound before the world is loaded: wiring URLs that are paths on this simulator
    // (`--push-url /_sim/ui/sink`) need its address, and a reset reloads with the same config.
    let listener = TcpListener::bind(config.bind).map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let config = config.with_own_address(addr);
    // The real time now, unless the start is pinned (`--start`, a fixture's `start`).
    let loaded_at = clock::wall_start(config.utc_offset_s);
    // A saved world, when there is one, wins over the fixtures (which remain the reset point).
    let saved = match &config.state_file {
        Some(path) => control::state::read_file(path)?,
        None => None,
    };
    let (world, start) = match (&saved, config.fleet) {
        // A generated fleet would only be dropped for the saved world (at 100,000 cabinets
        // seconds and a gigabyte for nothing): only its start time is needed, for reset,
        // which generates it again.
        (Some(_), Some(_)) => (World::empty(seed), configured_start(&config, None, loaded_at)?),
        _ => load_world_at(&config, seed, loaded_at)?,
    };
    let now = saved.as_ref().map_or(start, |s| s.now);
    let clock = Arc::new(Clock::new(now, config.speed, config.frozen));
    // Deliveries run on a thread of their own, so neither the simulation nor the HTTP
    // workers can starve them (nor they those).
    let push = Hub::on_own_thread(
        PushSettings {
            timeout: Duration::from_millis(config.push_timeout_ms.max(1)),
            retries: config.push_retries_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            max_pending: config.push_queue,
            // One dead receiver must not crowd out the others; a small queue is all theirs.
            max_pending_per_host: if config.push_queue < 1000 { config.push_queue } else { config.push_queue / 5 },
            max_pending_bytes: config.push_queue_bytes,
            journal_cap: config.push_journal,
            ..PushSettings::default()
        },
        clock.clone(),
        seed,
    )
    .map_err(|e| format!("cannot start the delivery thread: {e}"))?;
    let latency = crate::latency::Latency::new(seed, crate::latency::start_profiles(&config)?);
    let state = web::Data::new(AppState {
        store: Store::new(world, start),
        clock,
        metrics: crate::metrics::Metrics::new(config.metrics, push.metrics()),
        push,
        config: config.clone(),
        seed,
        start,
        loaded_at,
        runtime: Runtime::default(),
        ui_samples: Default::default(),
        latency,
    });
    if let Some(snap) = saved {
        log::info!("restored the world saved at {}", snap.time);
        state.restore(snap).map_err(|e| format!("state file: {}", e.message()))?;
    }
    // The simulation's processes start now, not at the first step of the driver.
    state.catch_up();

    let data = state.clone();
    let requests = web::Data::new(control::requests::Requests::new(config.request_journal, seed));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(requests.clone())
            .app_data(api::json_config())
            .app_data(api::guard::path_config())
            .app_data(api::guard::query_config())
            .app_data(api::guard::payload_config())
            .wrap(actix_web::middleware::from_fn(control::faults::inject))
            .configure(api::routes)
            .configure(control::routes)
            .default_service(web::to(api::not_found))
            .wrap(actix_web::middleware::from_fn(api::guard::guard))
            .wrap(actix_web::middleware::DefaultHeaders::new().add((
                actix_web::http::header::HeaderName::from_static("keep-alive"),
                format!("timeout={KEEP_ALIVE_S}"),
            )))
            .wrap(actix_web::middleware::from_fn(control::requests::record))
            // Outermost: the request journal reads platform bodies before any handler does, so
            // the body must already be watched by the deadline when the journal first reads it.
            .wrap(actix_web::middleware::from_fn(api::body_deadline::deadline))
    })
    .keep_alive(Duration::from_secs(KEEP_ALIVE_S))
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

    driver::start(state.clone()).map_err(|e| format!("cannot start the simulation driver: {e}"))?;
    let (stop_driver, stop) = watch::channel(false);
    tokio::spawn(save_periodically(state.clone(), stop));
    log::info!(
        "seed {seed}, virtual start {} (UTC{})",
        clock::fmt_datetime(start),
        clock::fmt_utc_offset(config.utc_offset_s)
    );
    let stop_runtime = StopRuntime(state.clone());
    Ok(Running { addr, state, server: handle, server_task, stop_driver, _stop_runtime: stop_runtime })
}

/// Every `--save-every-s` real seconds, save the state file, on a blocking thread (the
/// world is copied in a long read and written outside every lock). Time itself is moved by
/// the driver thread (`driver`).
async fn save_periodically(state: web::Data<AppState>, mut stop: watch::Receiver<bool>) {
    if state.config.state_file.is_none() || state.config.save_every_s == 0 {
        return;
    }
    let save_every = Duration::from_secs(state.config.save_every_s);
    let mut saves = tokio::time::interval_at(tokio::time::Instant::now() + save_every, save_every);
    saves.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = saves.tick() => {
                let (st, path) = (state.clone(), state.config.state_file.clone());
                let saved = tokio::task::spawn_blocking(move || match path {
                    Some(p) => control::state::save_file(&st, &p),
                    None => Ok(()),
                })
                .await;
                if let Ok(Err(e)) = saved {
                    log::error!("{e}");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
