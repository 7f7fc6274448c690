//! Prometheus metrics (`GET /_sim/metrics`): what a load test's dashboard watches while it runs.
//!
//! Kept per simulator (tests run several in one process), recorded by small handles so the
//! code that does the work gains one line each:
//! - every request, by operation id (`O1`, `C7`, ...; `control` for `/_sim`, `unknown` for
//!   anything else) and envelope `code`, with a latency histogram per operation, recorded at
//!   the end of the guard step (`api::guard::answered`), which also holds answers
//!   back by the latency profiles (`latency/`);
//! - pushes and callbacks by event and outcome, and retries ([`PushMetrics`], owned by the
//!   delivery engine);
//! - the simulation step's duration and events ([`Metrics::observe_step`]);
//! - gauges read when scraped: delivery queue depth, world size, journal sizes.
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client) rather than on
//! hand-written counters and text: its families, histograms and the text format's escaping
//! and ordering rules are what a scraper expects, and they are tested there.

use crate::operations;
use crate::push::journal::Status;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// The `Content-Type` of the Prometheus text format the scrape answers in.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request latency buckets, seconds: 100 us to 30 s (profiles hold answers for seconds).
const LATENCY_BUCKETS: [f64; 18] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The envelope `code` of an error answer, left in the response's extensions by the one place
/// errors become responses, so counting by code never parses a body.
#[derive(Debug, Clone, Copy)]
pub struct AnswerCode(pub i64);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    code: i64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    kind: &'static str,
    event: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
    event: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThingLabels {
    thing: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JournalLabels {
    journal: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Outcomes of pushes and callbacks, counted by the delivery engine (`push/`).
#[derive(Debug, Clone, Default)]
pub struct PushMetrics {
    deliveries: Family<DeliveryLabels, Counter>,
    retries: Family<EventLabels, Counter>,
}

impl PushMetrics {
    /// A delivery of `kind` (`event` or `callback`) and `event` reached `status`: delivered,
    /// failed or dropped are outcomes; retrying counts one retry.
    pub fn count(&self, kind: &'static str, event: &'static str, status: Status) {
        let outcome = match status {
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Dropped => "dropped",
            Status::Retrying => {
                self.retries.get_or_create(&EventLabels { kind, event }).inc();
                return;
            }
            Status::Pending => return,
        };
        self.deliveries.get_or_create(&DeliveryLabels { kind, event, outcome }).inc();
    }
}

/// The label of a journaled delivery's event name: the nine push events and the three rent
/// callbacks by name, anything else `other` (labels must stay a small fixed set).
pub fn event_label(name: &str) -> &'static str {
    // The nine push events are the model's list; the rent callbacks are this label set's own.
    const CALLBACKS: [&str; 3] = ["RENT_CALLBACK_0", "RENT_CALLBACK_1", "RENT_CALLBACK_2"];
    match crate::model::event::EventName::from_name(name) {
        Some(e) => e.as_str(),
        None => CALLBACKS.iter().find(|n| **n == name).copied().unwrap_or("other"),
    }
}

/// Figures read from the world and the engines when scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Deliveries queued or in flight.
    pub queue_depth: usize,
    /// Cabinets in the world.
    pub cabinets: usize,
    /// Batteries in the world.
    pub batteries: usize,
    /// Orders pending or in lease.
    pub open_orders: usize,
    /// Orders the world remembers, open or not.
    pub orders: usize,
    /// Entries in the push and callback journal.
    pub push_journal: usize,
}

/// Handles of one operation's series, resolved once: a request then costs an atomic add and
/// one histogram update, with no look-up in a label family (a hash and a shared lock each).
struct OperationSeries {
    ok: Counter,
    duration: Histogram,
}

/// One simulator's metrics.
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    /// By operation index (`operation`), for every operation id, `control` and `unknown`.
    series: Vec<OperationSeries>,
    requests: Family<RequestLabels, Counter>,
    waits: Histograms<OperationLabels>,
    step_seconds: Histogram,
    step_events: Histogram,
    queue_depth: Gauge,
    world: Family<ThingLabels, Gauge>,
    journals: Family<JournalLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("enabled", &self.enabled).finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics recording when `enabled`, with the delivery engine's own counters.
    pub fn new(enabled: bool, push: &PushMetrics) -> Self {
        let mut registry = Registry::with_prefix("bajie_sim");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: Histograms<OperationLabels> = Family::new_with_constructor(latency_histogram);
        let waits: Histograms<OperationLabels> = Family::new_with_constructor(latency_histogram);
        let step_seconds = Histogram::new(LATENCY_BUCKETS);
        let step_events = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 16));
        let queue_depth = Gauge::default();
        let world = Family::<ThingLabels, Gauge>::default();
        let journals = Family::<JournalLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests answered, by operation id (control: /_sim; unknown: no route) and envelope code",
            requests.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time from a request's arrival to its answer, including any latency-profile wait",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register_with_unit(
            "latency_profile_wait",
            "Waits added to answers by latency profiles (/_sim/latency), by operation",
            Unit::Seconds,
            waits.clone(),
        );
        registry.register(
            "deliveries",
            "Pushes and callbacks by kind, event and outcome (delivered, failed after every retry, dropped)",
            push.deliveries.clone(),
        );
        registry.register(
            "delivery_retries",
            "Failed delivery attempts that were scheduled again",
            push.retries.clone(),
        );
        registry.register("delivery_queue_depth", "Deliveries queued or in flight", queue_depth.clone());
        registry.register_with_unit(
            "sim_step_duration",
            "Time one simulation step held the world (write lock) for",
            Unit::Seconds,
            step_seconds.clone(),
        );
        registry.register("sim_step_events", "Events one simulation step produced", step_events.clone());
        registry.register(
            "world",
            "World size: cabinets, batteries, open orders (pending or in lease), orders remembered",
            world.clone(),
        );
        registry.register("journal_entries", "Entries kept in a journal", journals.clone());
        let series = (0..operations::INDEXES)
            .map(|i| {
                let operation = operations::name(i);
                OperationSeries {
                    ok: requests.get_or_create(&RequestLabels { operation, code: 0 }).clone(),
                    duration: durations.get_or_create(&OperationLabels { operation }).clone(),
                }
            })
            .collect();
        Metrics { enabled, registry, series, requests, waits, step_seconds, step_events, queue_depth, world, journals }
    }

    /// Whether metrics are recorded (`--metrics`, default on).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Count one answered request of the operation with index `op` (`operations::index`).
    pub fn request(&self, op: usize, code: i64, took: Duration, wait: Option<Duration>) {
        let Some(series) = self.series.get(op).filter(|_| self.enabled) else {
            return;
        };
        let operation = operations::name(op);
        if code == 0 {
            series.ok.inc();
        } else {
            self.requests.get_or_create(&RequestLabels { operation, code }).inc();
        }
        series.duration.observe(took.as_secs_f64());
        if let Some(w) = wait {
            self.waits.get_or_create(&OperationLabels { operation }).observe(w.as_secs_f64());
        }
    }

    /// Record a simulation step that ran elsewhere (the store's bounded step): how long it
    /// held the world and how many events it produced. Steps that produced no event are not
    /// recorded, so the histograms describe work, not the driver's polling.
    pub fn observe_step(&self, took: std::time::Duration, events: usize) {
        if self.enabled {
            self.step_seconds.observe(took.as_secs_f64());
            self.step_events.observe(events as f64);
        }
    }

    /// The text exposition, with the gauges set from `s`.
    pub fn render(&self, s: Snapshot) -> Result<String, std::fmt::Error> {
        let g = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.queue_depth.set(g(s.queue_depth));
        for (thing, v) in
            [("cabinets", s.cabinets), ("batteries", s.batteries), ("open_orders", s.open_orders), ("orders", s.orders)]
        {
            self.world.get_or_create(&ThingLabels { thing }).set(g(v));
        }
        self.journals.get_or_create(&JournalLabels { journal: "pushes" }).set(g(s.push_journal));
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_family() {
        let push = PushMetrics::default();
        let m = Metrics::new(true, &push);
        let o1 = operations::index("/cdb-open-api/v1/rent/cabinet/query");
        m.request(o1, 0, Duration::from_millis(2), None);
        m.request(o1, 2004, Duration::from_millis(1), Some(Duration::from_millis(5)));
        push.count("callback", event_label("RENT_CALLBACK_1"), Status::Delivered);
        push.count("event", event_label("NOT_AN_EVENT"), Status::Retrying);
        m.observe_step(std::time::Duration::from_millis(1), 3);
        let text = m.render(Snapshot { cabinets: 7, ..Snapshot::default() }).unwrap();
        for line in [
            "bajie_sim_requests_total{operation=\"O1\",code=\"0\"} 1",
            "bajie_sim_requests_total{operation=\"O1\",code=\"2004\"} 1",
            "bajie_sim_request_duration_seconds_count{operation=\"O1\"} 2",
            "bajie_sim_latency_profile_wait_seconds_count{operation=\"O1\"} 1",
            "bajie_sim_deliveries_total{kind=\"callback\",event=\"RENT_CALLBACK_1\",outcome=\"delivered\"} 1",
            "bajie_sim_delivery_retries_total{kind=\"event\",event=\"other\"} 1",
            "bajie_sim_sim_step_events_sum 3.0",
            "bajie_sim_world{thing=\"cabinets\"} 7",
            "bajie_sim_delivery_queue_depth 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        let off = Metrics::new(false, &PushMetrics::default());
        off.request(o1, 0, Duration::from_millis(2), None);
        assert!(!off.render(Snapshot::default()).unwrap().contains(r#"requests_total{operation="O1",code="0"} 1"#));
    }
}
