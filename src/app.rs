//! Wiring: build a running simulator from a [`Config`], shared by `main` and the tests.
//!
//! `build` loads the world, starts the HTTP server on an already bound listener, the delivery
//! engine and the driver that moves virtual time, and returns a [`Running`] handle holding the
//! bound address. Tests call it with port 0.

use crate::api;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::control;
use crate::driver;
use crate::model::World;
use crate::push::{Hub, PushSettings};
use crate::state::load::{configured_start, load_world_at};
use crate::state::runtime::Runtime;
use crate::store::Store;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use crate::state::load::load_world;
pub use crate::state::AppState;

/// Seconds an idle HTTP/1.1 connection stays open, announced in a `Keep-Alive: timeout=75`
/// header. actix's default (5 s) closed connections that client pools (which keep theirs for
/// 30-90 s) reused after a pause, and the client saw "connection closed without response";
/// 75 s is what production platforms behind a usual front server keep (nginx's default).
pub const KEEP_ALIVE_S: u64 = 75;

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
    let latency = crate::latency::Latency::new(seed, crate::state::load::start_profiles(&config)?);
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
    let plots = web::Data::new(control::ui::Plots::default());
    let server = HttpServer::new(move || {
        // Built once per worker; each request clones the `Rc`, a plain increment.
        let steps = Rc::new(Steps { state: data.clone(), journal: requests.clone() });
        App::new()
            .app_data(data.clone())
            .app_data(requests.clone())
            .app_data(plots.clone())
            .app_data(api::json_config())
            .app_data(api::guard::path_config())
            .app_data(api::guard::query_config())
            .app_data(api::guard::payload_config())
            .configure(api::routes)
            .configure(control::routes)
            .default_service(web::to(api::not_found))
            .wrap(actix_web::middleware::from_fn(move |req, next| pipeline(steps.clone(), req, next)))
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

/// What the pipeline's steps read on every request, held once per worker. The steps used to
/// clone the `web::Data` handles out of the request, and a clone and its drop are atomic
/// operations on a counter that every worker writes: the line went back and forth between the
/// cores on every request (perf, O1 over a 100,000-cabinet fleet).
struct Steps {
    state: web::Data<AppState>,
    journal: web::Data<control::requests::Requests>,
}

/// Every request's way through the simulator: the steps of `api::layer`, in order, as one
/// middleware. The `Keep-Alive` header goes on every answer that reaches the journal from
/// inside (the deadline's 408 closes its connection; the journal's strict refusals answer
/// before it).
async fn pipeline(steps: Rc<Steps>, req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> api::layer::Answer {
    let next = &next;
    let (state, journal) = (&*steps.state, &*steps.journal);
    api::body_deadline::deadline(req, |req| {
        control::requests::record(state, journal, req, |req| async move {
            let res = api::guard::guard(req, |req| {
                control::faults::inject(
                    state,
                    req,
                    |req| async move { Ok(next.call(req).await?.map_into_boxed_body()) },
                )
            })
            .await?;
            Ok(keep_alive(res))
        })
    })
    .await
}

/// The `Keep-Alive` header's value: [`KEEP_ALIVE_S`] as text (a test checks the two agree).
const KEEP_ALIVE_VALUE: &str = "timeout=75";

/// `res` with the `Keep-Alive` header. Nothing before this step sets one, so it is inserted
/// without asking first: the question hashed the name a second time on every answer.
fn keep_alive(mut res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    res.headers_mut().insert(HeaderName::from_static("keep-alive"), HeaderValue::from_static(KEEP_ALIVE_VALUE));
    res
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keep_alive_header_announces_the_idle_timeout() {
        assert_eq!(KEEP_ALIVE_VALUE, format!("timeout={KEEP_ALIVE_S}"));
    }
}
