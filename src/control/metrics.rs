//! `GET /_sim/metrics`: the simulator's metrics in the Prometheus text format (`metrics/`).

use crate::error::Error;
use crate::metrics::Snapshot;
use crate::push::journal::Filter;
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

/// `GET /_sim/metrics`: counters and histograms since start, gauges as of now. A scrape reads
/// the world's size under the read lock (counting open orders walks the orders, about a
/// millisecond per 100,000); the counters take no world lock.
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    if !state.metrics.enabled() {
        return Err(Error::control("Metrics are off (--metrics=false); start without it to record them."));
    }
    let (cabinets, batteries, open_orders, orders) = state.store.read(|w| {
        let open = w.orders().values().filter(|o| !o.status.is_final()).count();
        (w.cabinets().len(), w.batteries().len(), open, w.orders().len())
    });
    let snapshot = Snapshot {
        queue_depth: state.push.pending(),
        cabinets,
        batteries,
        open_orders,
        orders,
        push_journal: state.push.count(&Filter::default()),
    };
    let text = state.metrics.render(snapshot).map_err(|e| Error::Internal(format!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE)))
        .body(text))
}
