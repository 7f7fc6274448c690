//! The benchmark's yardstick: a minimal actix-web server answering every request with the same
//! fixed bytes (an O1 response captured from the simulator). `scripts/bench.sh` runs it beside
//! the simulator so throughput is reported as a ratio to what actix-web itself can do here.
//!
//! Usage: `bench-baseline ADDR BODY_FILE [PROFILE [HELD_BODY_FILE]]` (prints `listening on
//! http://ADDR` when ready). It is also the benchmark's push receiver: POSTs get the same
//! answer once their body is read. With a PROFILE in the simulator's form (`lognormal:500:900`,
//! `fixed:500`), GETs under `/held/` wait a time drawn from it, with the simulator's own draw
//! and the same async sleep, then answer HELD_BODY_FILE's bytes (or BODY_FILE's): the
//! yardstick of the latency-profile row, a bare handler beside the same held connections.

use actix_web::http::Method;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bajie_sim::latency::Profile;
use bajie_sim::model::SimRng;
use std::cell::RefCell;
use std::io::Write;

thread_local! {
    /// Each worker's draws (seeded: a run draws the same waits).
    static RNG: RefCell<SimRng> = RefCell::new(SimRng::new(1));
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
    let hold = match args.next() {
        Some(text) => Profile::parse(&text)
            .and_then(|p| p.validate().map(|()| p).map_err(|(field, why)| format!("{field}: {why}")))
            .map_err(std::io::Error::other)?,
        None => Profile::None,
    };
    let held_body = match args.next() {
        Some(path) => web::Bytes::from(std::fs::read(&path)?),
        None => web::Bytes::from(body.clone()),
    };
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let (get, post, held) = (body.clone(), body.clone(), held_body.clone());
        // No route here has a pattern: actix-web matches a pattern such as `/{tail:.*}` with a
        // regular expression, and the two this server had until 2026-12-01 (the held GETs and
        // the sink's POSTs) cost some 40,000 instructions a request (callgrind), more than the
        // rest of an answer: a yardstick slower than a bare handler, which flattered every
        // ratio read against it. A scope is a plain prefix test, and the method is one compare.
        App::new()
            // The held connections: the same answer after a wait drawn from the profile.
            .service(web::scope("/held").default_service(web::to(move || {
                let held = held.clone();
                async move {
                    let wait = RNG.with_borrow_mut(|rng| hold.draw(rng));
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    answer(held).await
                }
            })))
            // The yardstick for GETs: nothing but the fixed bytes. As a push sink, a POST's
            // body is read before the answer: actix-web closes a connection whose request body
            // was left unread, so a sink that skips it would make every delivery open a new
            // connection, which no real receiver does.
            .default_service(web::to(move |req: HttpRequest, payload: web::Payload| {
                let (get, post) = (get.clone(), post.clone());
                async move {
                    if req.method() == Method::POST {
                        payload.to_bytes().await?;
                        return Ok::<_, actix_web::Error>(answer(post).await);
                    }
                    Ok(answer(get).await)
                }
            }))
    })
    .disable_signals()
    .bind(&addr)?
    .run();
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    server.await
}
