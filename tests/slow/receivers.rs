//! Faulty receivers, all at once (tests/api/pushes.rs covers each failure alone: 500 until
//! recovery, refusals, one hanging receiver, shutdown): receivers that hang, answer slowly,
//! answer 500, accept and drop the connection, or do not resolve, for event pushes and rent
//! callbacks of one account, while the other account's healthy receiver and the API keep
//! their pace. Every failure is journaled with its cause; the queue and the journal stay
//! within their caps under a flood.

use crate::helpers::*;
use bajie_sim::config::Config;
use bajie_sim::push::journal::{Filter, Status};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A receiver that accepts every connection (and reads a little) and then closes it without
/// a word.
fn slammer() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slam", l.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::Read;
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 64];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            drop(s);
        }
    });
    url
}

async fn config(app: &TestApp, who: (&str, &str), default: &str, per_event: &[(&str, &str)]) {
    let subs: Vec<Value> = per_event.iter().map(|(e, u)| json!({"event": e, "pushUrl": u, "enable": true})).collect();
    let (_, v) = app
        .post_json_as(who, "/cabinet/eventPush/config", &json!({"pushUrl": default, "eventSubscriptions": subs}))
        .await;
    assert_eq!(v["code"], 0, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_slow_failing_slamming_and_unresolvable_receivers_leave_the_api_and_other_receivers_alone() {
    let mut cfg = Config::for_tests();
    cfg.push_timeout_ms = 600;
    cfg.push_retries_ms = vec![50, 100];
    let app = spawn_with(cfg).await;
    let (hang, slow, failing, healthy) =
        (Sink::start().await, Sink::start().await, Sink::start().await, Sink::start().await);
    hang.set(Behaviour::Hang);
    slow.set(Behaviour::Delay(250));
    failing.set(Behaviour::Status(500));
    let slam = slammer();
    let nowhere = "http://nonexistent.invalid/hook";

    // demo: every event to a faulty receiver; acme: everything to the healthy one.
    config(
        &app,
        DEMO,
        &hang.url,
        &[
            ("CABINET_OFFLINE", &slow.url),
            ("CABINET_ONLINE", &failing.url),
            ("CABINET_STATUS", &slam),
            ("BATTERY_BORROW_OUT", nowhere),
            ("BATTERY_IN", ""),
        ],
    )
    .await;
    config(
        &app,
        ACME,
        &format!("{}/acme", healthy.url),
        &[("CABINET_OFFLINE", ""), ("CABINET_ONLINE", ""), ("CABINET_STATUS", "")],
    )
    .await;

    // Rent callbacks of demo orders go to the faulty receivers too.
    let mut orders = Vec::new();
    for (cab, cb) in [
        ("BJD60151", slam.as_str()),
        ("BJD60152", nowhere),
        ("DTA10342", failing.url.as_str()),
        ("BJD60188", hang.url.as_str()),
    ] {
        let (_, v) = app.post(&format!("/rent/order/create?deviceId={cab}&callbackURL={cb}")).await;
        let t = v["data"]["tradeNo"].as_str().unwrap().to_string();
        let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId={t}&slotNum=0")).await;
        assert_eq!(v["code"], 0, "{v}");
        orders.push((t, cb.to_string()));
    }
    for cab in ["BJD60151", "BJD60152", "DTA10341", "DTA10342"] {
        app.control(&format!("/cabinets/{cab}/offline")).await;
        app.control(&format!("/cabinets/{cab}/online")).await;
        app.control(&format!("/cabinets/{cab}/report")).await;
    }

    // Meanwhile the API keeps its pace and acme's receiver gets its pushes at once.
    let t = Instant::now();
    for cab in ["SAB30201", "SAB30202"] {
        app.control(&format!("/cabinets/{cab}/offline")).await;
        app.control(&format!("/cabinets/{cab}/online")).await;
    }
    let got = healthy.wait_for(4, |r| r.path == "/acme", Duration::from_secs(3)).await;
    let healthy_latency = t.elapsed();
    assert!(healthy_latency < Duration::from_millis(1500), "acme's pushes took {healthy_latency:?}");
    assert_eq!(got.len(), 4);
    let mut slowest = Duration::ZERO;
    for _ in 0..200 {
        let t = Instant::now();
        let (s, v) = app.get("/rent/cabinet/query?deviceId=BJD60203").await;
        assert_eq!((s, &v["code"]), (200, &json!(0)));
        slowest = slowest.max(t.elapsed());
    }
    assert!(slowest < Duration::from_millis(500), "an API request took {slowest:?} while receivers misbehaved");

    // Every failure is journaled with its cause once the (short) retry schedule is spent.
    let journal = |f: Filter| app.running.state.push.list(&f, None);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let unsettled: Vec<_> = journal(Filter { agent: Some("demo".into()), ..Filter::default() })
            .into_iter()
            .filter(|e| !e.url.starts_with(&hang.url) && matches!(e.status, Status::Pending | Status::Retrying))
            .collect();
        if unsettled.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still unsettled: {unsettled:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = journal(Filter::default());
    let demo: Vec<_> = all.iter().filter(|e| e.agent == "demo").collect();
    let cause = |url: &str| -> Vec<(Status, String, usize)> {
        demo.iter()
            .filter(|e| e.url.starts_with(url))
            .map(|e| (e.status, e.error.clone().unwrap_or_default(), e.attempts.len()))
            .collect()
    };
    for (status, error, attempts) in cause(&slow.url) {
        assert_eq!((status, attempts), (Status::Delivered, 1), "{error}");
    }
    for (status, error, attempts) in cause(&failing.url) {
        assert_eq!((status, attempts), (Status::Failed, 3));
        assert_eq!(error, "receiver answered HTTP 500");
    }
    for (status, error, attempts) in cause(&slam) {
        assert_eq!((status, attempts), (Status::Failed, 3), "{error}");
        assert!(!error.is_empty());
    }
    for (status, error, attempts) in cause(nowhere) {
        assert_eq!((status, attempts), (Status::Failed, 3), "{error}");
        assert!(error.contains("connection failed") || error.contains("dns") || error.contains("timed out"), "{error}");
    }
    let hung = cause(&hang.url);
    assert!(!hung.is_empty());
    for (status, error, _) in &hung {
        assert!(matches!(status, Status::Pending | Status::Retrying | Status::Failed), "{status:?}");
        if *status != Status::Pending {
            assert_eq!(error, "timed out");
        }
    }
    for (t, cb) in &orders {
        let e = all
            .iter()
            .find(|e| e.order.as_deref() == Some(t.as_str()) && e.kind == "callback")
            .expect("callback journaled");
        assert!(e.url.starts_with(cb.as_str()), "{cb}");
    }
    eprintln!(
        "faulty receivers: {} demo deliveries ({} failed, {} still hanging), acme's pushes in {healthy_latency:?}, slowest of 200 API requests {slowest:?}",
        demo.len(),
        demo.iter().filter(|e| e.status == Status::Failed).count(),
        hung.len()
    );
}

/// Memory stays bounded: a flood towards a receiver that never answers fills only its own
/// share of the queue; past the caps deliveries are journaled `dropped` with the reason, and
/// the journal keeps only its latest entries. (Library-level: the caps are not flags.)
#[tokio::test]
async fn a_flood_towards_a_dead_receiver_stays_within_the_queue_and_journal_caps() {
    use bajie_sim::clock::Clock;
    use bajie_sim::model::event::Subscription;
    use bajie_sim::model::{Event, EventKind, PushConfig};
    use bajie_sim::push::{Hub, PushSettings};
    use std::sync::Arc;

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap(); // accepts, never answers
    let alive = Sink::start().await;
    let settings = PushSettings {
        timeout: Duration::from_secs(30),
        retries: vec![],
        max_pending: 300,
        max_pending_per_host: 100,
        max_pending_bytes: 1 << 20,
        journal_cap: 250,
        journal_bytes: 1 << 20,
    };
    let hub = Hub::new(settings, Arc::new(Clock::new(0, 1.0, true)), 1);
    let event = |cab: String, url: String| Event {
        at: 0,
        agent: "demo".into(),
        kind: EventKind::CabinetOffline { cabinet: cab },
        push: Some(Arc::new(PushConfig {
            push_url: url,
            event_subscriptions: vec![Subscription {
                event: bajie_sim::model::event::EventName::CabinetOffline,
                push_url: "".into(),
                enable: true,
            }],
        })),
        seq: 0,
        fault: None,
    };
    let dead_url = format!("http://{}/", dead.local_addr().unwrap());
    // 1,000 deliveries to the dead receiver, spread over 50 cabinets.
    hub.publish((0..1000).map(|i| event(format!("C{}", i % 50), dead_url.clone())).collect());
    assert_eq!(hub.pending(), 100, "only the per-host share is queued");
    // The healthy receiver still gets its own deliveries through.
    hub.publish((0..20).map(|i| event(format!("H{i}"), alive.url.clone())).collect());
    alive.wait_for(20, |_| true, Duration::from_secs(5)).await;
    let entries = hub.list(&Filter::default(), None);
    assert_eq!(entries.len(), 250, "the journal keeps its latest 250 entries");
    let dropped: Vec<_> = entries.iter().filter(|e| e.status == Status::Dropped).collect();
    assert!(!dropped.is_empty());
    assert!(dropped.iter().all(|e| e.error.as_deref().is_some_and(|m| m.starts_with("delivery queue for 127.0.0.1:"))));
    // A reset cancels what is queued and in flight; the drain tasks retire at once.
    hub.clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.pending() > 0 {
        assert!(Instant::now() < deadline, "{} deliveries still pending after a reset", hub.pending());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
