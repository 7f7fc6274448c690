//! The benchmark's yardstick: a minimal actix-web server answering every request with the same
//! fixed bytes (an O1 response captured from the simulator). `scripts/bench.sh` runs it beside
//! the simulator so throughput is reported as a ratio to what actix-web itself can do here.
//!
//! Usage: `bench-baseline ADDR BODY_FILE` (prints `listening on http://ADDR` when ready). It
//! is also the benchmark's push receiver: POSTs get the same answer once their body is read.

use actix_web::{web, App, HttpResponse, HttpServer};
use std::io::Write;

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
    let body = web::Bytes::from(body);
    let server = HttpServer::new(move || {
        let (get, post) = (body.clone(), body.clone());
        App::new()
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
