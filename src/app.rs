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
use crate::model::event::Subscription;
use crate::model::push_config::EVENT_NAMES;
use crate::model::{Event, PushConfig, SimSettings, Snapshot, World};
use crate::push::{Hub, PushSettings};
use crate::sim;
use crate::store::Store;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

type StepGate = parking_lot::Mutex<()>;

/// Seconds an idle HTTP/1.1 connection stays open, announced in a `Keep-Alive: timeout=75`
/// header. actix's default (5 s) closed connections that client pools (which keep theirs for
/// 30-90 s) reused after a pause, and the client saw "connection closed without response";
/// 75 s is what production platforms behind a usual front server keep (nginx's default).
pub const KEEP_ALIVE_S: u64 = 75;

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
    /// Wall-clock time the world was first loaded at: a reset rebuilds it with the same
    /// registration times, so the rebuilt world equals the loaded one.
    pub loaded_at: Millis,
    /// Held while the world is brought up to a time and its events are handed on, so steps
    /// from the driver and from `advance` publish their events in the order they happened.
    /// Never held across an `.await`.
    pub stepping: StepGate,
    /// The dashboard's plots: a bounded ring of samples over virtual time per agent.
    pub ui_samples: parking_lot::Mutex<control::ui::Samples>,
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
    /// the clock by N steps; `advance` runs its span in steps of at least this size.
    pub fn step_ms(&self) -> Millis {
        self.config.tick_ms.max(1) as Millis
    }

    /// Move virtual time forward by `ms`, running everything due in the span at its own time
    /// (orders time out, customers come and go, pushes carry the time things happened). The
    /// span is run in steps, releasing the world lock in between; the outcome does not depend
    /// on the step size (see `sim`). Returns the number of events.
    pub fn advance(&self, ms: Millis) -> usize {
        // At most ~2000 steps however long the span: the lock is released between them, and
        // more steps would only cost time.
        let chunk = self.step_ms().max(ms / 2000).max(1);
        let mut left = ms.max(0);
        let mut count = 0;
        while left > 0 {
            let d = left.min(chunk);
            let _gate = self.stepping.lock();
            let now = self.clock.advance(d);
            count += self.catch_up_locked(now);
            left -= d;
        }
        count
    }

    /// Run what is due up to `now`: due actions and, when the simulation is on, its steps.
    /// Returns the number of events.
    pub fn catch_up(&self, now: Millis) -> usize {
        let _gate = self.stepping.lock();
        self.catch_up_locked(now)
    }

    fn catch_up_locked(&self, now: Millis) -> usize {
        let events = if self.config.no_sim {
            self.store.run_due(now)
        } else {
            // Cheap check under the read lock first: the driver calls this many times a second.
            if self.store.read(|w| sim::next_at(w).is_none_or(|t| t > now)) {
                return 0;
            }
            self.store
                .write(|w, out| {
                    sim::step(w, now, out);
                    Ok(())
                })
                .map(|(_, e)| e)
                .unwrap_or_default()
        };
        let n = events.len();
        self.publish(events);
        n
    }

    /// Run `n` simulation steps, each moving virtual time forward by [`Self::step_ms`];
    /// returns the number of events.
    pub fn tick(&self, n: u64) -> usize {
        let step = self.step_ms();
        let mut count = 0;
        for _ in 0..n {
            let _gate = self.stepping.lock();
            let now = self.clock.advance(step);
            count += self.catch_up_locked(now);
        }
        count
    }

    /// The world brought up to the clock, and the time it was brought to (snapshots).
    pub fn caught_up_world(&self) -> (Millis, World) {
        let _gate = self.stepping.lock();
        let now = self.clock.now();
        self.catch_up_locked(now);
        (now, self.store.snapshot())
    }

    /// Replace the world with a (validated) snapshot and set the clock to its time; the
    /// journal is kept. `reset` still returns to the loaded fixtures.
    pub fn restore(&self, snap: Snapshot) {
        let _gate = self.stepping.lock();
        let mut world = snap.world;
        // The process's shard, not the snapshot's, stamps the tokens and trade numbers it issues.
        world.shard = self.config.shard;
        apply_sim_flags(&self.config, &mut world.sim.settings);
        world.warm_indexes();
        self.store.replace(world);
        self.clock.set(snap.now);
    }

    /// Back to the loaded world and start time; the journal is emptied. The world is rebuilt
    /// from the configuration (same seed, same load time) rather than copied from a kept
    /// original, which would double the memory of a large fleet.
    pub fn reset(&self) {
        let _gate = self.stepping.lock();
        match load_world_at(&self.config, self.seed, self.loaded_at) {
            Ok((world, _)) => self.store.replace(world),
            // It loaded at start, so it loads again; if the file changed on disk meanwhile,
            // keep the current world rather than serve half of one.
            Err(e) => log::error!("reset: cannot reload the world: {e}"),
        }
        self.clock.set(self.start);
        self.push.clear();
        // The simulation starts again from the start time.
        self.catch_up_locked(self.start);
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
    if let Some(shard) = config.shard.filter(|_| world.shard.is_none()) {
        world.keep_shard(shard, seed);
    }
    if let Some(shard) = config.shard.filter(|_| world.agents.is_empty()) {
        return Err(format!("shard {shard} owns none of the world's accounts; use fewer shards or more --agents"));
    }
    world.settings.eject_delay_ms = config.eject_delay_s as Millis * 1000;
    if let Some(sim) = loaded.sim {
        world.sim.settings = serde_json::from_value::<SimSettings>(sim).map_err(|e| format!("fixtures: sim: {e}"))?;
    }
    apply_sim_flags(config, &mut world.sim.settings);
    // Part of the world as loaded, so a reset (which reloads) keeps the wiring of a demo.
    if let Some(url) = &config.push_url {
        let all = PushConfig {
            push_url: url.clone(),
            event_subscriptions: EVENT_NAMES
                .iter()
                .map(|e| Subscription { event: e.to_string(), push_url: String::new(), enable: true })
                .collect(),
        };
        let all = Arc::new(all);
        for agent in world.agents.values_mut() {
            agent.push = Some(all.clone());
        }
    }
    let problems = world.sim.settings.problems();
    if !problems.is_empty() {
        return Err(format!("simulation settings: {}", problems.join("; ")));
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
    let push = Hub::new(
        PushSettings {
            timeout: Duration::from_millis(config.push_timeout_ms.max(1)),
            retries: config.push_retries_ms.iter().map(|ms| Duration::from_millis(*ms)).collect(),
            ..PushSettings::default()
        },
        clock.clone(),
        seed,
    );
    let state = web::Data::new(AppState {
        store: Store::new(world),
        clock,
        push,
        config: config.clone(),
        seed,
        start,
        loaded_at,
        stepping: StepGate::new(()),
        ui_samples: Default::default(),
    });
    if let Some(snap) = saved {
        log::info!("restored the world saved at {}", snap.time);
        state.restore(snap);
    }
    // The simulation's processes start now, not at the first tick of the driver.
    state.catch_up(state.clock.now());

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
            .wrap(actix_web::middleware::from_fn(api::body_deadline::deadline))
            .wrap(actix_web::middleware::from_fn(api::guard::guard))
            .wrap(actix_web::middleware::DefaultHeaders::new().add((
                actix_web::http::header::HeaderName::from_static("keep-alive"),
                format!("timeout={KEEP_ALIVE_S}"),
            )))
            .wrap(actix_web::middleware::from_fn(control::requests::record))
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

    let (stop_driver, stop) = watch::channel(false);
    tokio::spawn(drive(state.clone(), stop));
    log::info!(
        "seed {seed}, virtual start {} (UTC{})",
        clock::fmt_datetime(start),
        clock::fmt_utc_offset(config.utc_offset_s)
    );
    Ok(Running { addr, state, server: handle, server_task, stop_driver })
}

/// The timer that moves the world with virtual time: every 50 ms of real time it brings the
/// world (due actions and simulated activity, in time order) up to the clock, and every
/// `--save-every-s` it saves the state file. It only sleeps and calls synchronous code.
async fn drive(state: web::Data<AppState>, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let save_every = Duration::from_secs(state.config.save_every_s.max(1));
    let mut saves = tokio::time::interval_at(tokio::time::Instant::now() + save_every, save_every);
    saves.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if !state.clock.reading().frozen {
                    state.catch_up(state.clock.now());
                }
            }
            _ = saves.tick(), if state.config.state_file.is_some() && state.config.save_every_s > 0 => {
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
