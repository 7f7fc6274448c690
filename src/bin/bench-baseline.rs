//! The benchmark's yardstick: a minimal actix-web server answering every request with the same
//! fixed bytes (an O1 response captured from the simulator). `scripts/bench.sh` runs it beside
//! the simulator so throughput is reported as a ratio to what actix-web itself can do here.
//!
//! Usage: `bench-baseline ADDR BODY_FILE [MEDIAN_MS P99_MS [HELD_BODY_FILE]]` (prints
//! `listening on http://ADDR` when ready). It is also the benchmark's push receiver: POSTs get
//! the same answer once their body is read. With a median and a p99, GETs under `/held/` wait
//! a log-normal time of that median and p99 (an async sleep, as the simulator's latency
//! profiles wait), then answer HELD_BODY_FILE's bytes (or BODY_FILE's): the yardstick of the
//! latency-profile row, a bare handler beside the same held connections.

use actix_web::{web, App, HttpResponse, HttpServer};
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::io::Write;
use std::time::Duration;

/// The z-score of the 99th percentile of a standard normal distribution.
const Z99: f64 = 2.326_347_874;

thread_local! {
    /// Each worker's draws (seeded: a run draws the same waits).
    static RNG: RefCell<rand::rngs::StdRng> = RefCell::new(rand::rngs::StdRng::seed_from_u64(1));
}

/// A log-normal wait of this median and p99 (Box-Muller).
fn lognormal(median_ms: f64, p99_ms: f64) -> Duration {
    let sigma = (p99_ms / median_ms).ln() / Z99;
    let (u1, u2): (f64, f64) = RNG.with_borrow_mut(|r| (r.random_range(f64::EPSILON..1.0), r.random()));
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    Duration::from_secs_f64(median_ms * (sigma * z).exp() / 1000.0)
}

/// The fixed answer.
async fn answer(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18099".into());
    let body = match args.next() {
        Some(path) => std::fs::read(&path)?,
        None => br#"{"msg":"Successful operation","code":0}"#.to_vec(),
    };
    let hold: Option<(f64, f64)> = match (args.next(), args.next()) {
        (Some(m), Some(p)) => Some((
            m.parse().map_err(|_| std::io::Error::other(format!("median '{m}' is not a number")))?,
            p.parse().map_err(|_| std::io::Error::other(format!("p99 '{p}' is not a number")))?,
        )),
        _ => None,
    };
    let held_body = match args.next() {
        Some(path) => web::Bytes::from(std::fs::read(&path)?),
        None => web::Bytes::from(body.clone()),
    };
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let (get, post, held) = (body.clone(), body.clone(), held_body.clone());
        App::new()
            // The held connections: the same answer after a log-normal wait.
            .route(
                "/held/{tail:.*}",
                web::get().to(move || {
                    let held = held.clone();
                    async move {
                        if let Some((median, p99)) = hold {
                            tokio::time::sleep(lognormal(median, p99)).await;
                        }
                        answer(held).await
                    }
                }),
            )
            // As a push sink: read the request body before answering. actix-web closes a
            // connection whose request body was left unread, so a sink that skips it would
            // make every delivery open a new connection, which no real receiver does.
            .route("/{tail:.*}", web::post().to(move |_request: web::Bytes| answer(post.clone())))
            // As the yardstick for O1 (a GET): nothing but the fixed bytes.
            .default_service(web::to(move || answer(get.clone())))
    })
    .disable_signals()
    .bind(&addr)?
    .run();
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    server.await
}
