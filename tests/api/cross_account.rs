//! Agents never see or change each other's objects (Open API O1-O7, C3, E1/E2, the
//! generic cross-account cases; the Advance API has its own isolation tests): every request
//! aimed at the other account's cabinet or order answers exactly like one aimed at a record
//! that does not exist, in both directions and with both credential kinds, and changes
//! nothing (the whole world compared, the journal too).

use crate::helpers::*;
use serde_json::{json, Value};

/// How one request authenticates.
#[derive(Clone, Copy)]
enum Cred<'a> {
    Basic((&'a str, &'a str)),
    Bearer(&'a str),
}

async fn call(app: &TestApp, cred: Cred<'_>, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut req = app.client.request(method.parse().unwrap(), app.api(path));
    req = match cred {
        Cred::Basic((u, p)) => req.basic_auth(u, Some(p)),
        Cred::Bearer(t) => req.bearer_auth(t),
    };
    if let Some(b) = body {
        req = req.json(b);
    }
    read(req.send().await.unwrap()).await
}

async fn token(app: &TestApp, who: &str) -> String {
    let sha = bajie_sim::api::auth::sha256_hex(who);
    let r = app.client.post(app.api(&format!("/oauth2/login?username={who}&password={sha}"))).send().await.unwrap();
    read(r).await.1["key"].as_str().unwrap().to_string()
}

/// An order of `who` on `cab`, leased (`eject`) or pending, with a callback to `cb`.
async fn order(app: &TestApp, who: (&str, &str), cab: &str, cb: &str, eject: bool) -> String {
    let t = app.create_order(who, cab, cb).await;
    if eject {
        app.rent_slot(who, cab, &t, 0).await;
    }
    t
}

#[tokio::test]
async fn no_open_api_request_reaches_the_other_accounts_cabinets_or_orders() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let cb = format!("{}/cb", sink.url);
    // Each side: a leased and a pending order.
    let demo_leased = order(&app, DEMO, DEMO_CAB, &cb, true).await;
    let demo_pending = order(&app, DEMO, "BJD60152", &cb, false).await;
    let acme_leased = order(&app, ACME, ACME_CAB, &cb, true).await;
    let acme_pending = order(&app, ACME, "SAB30202", &cb, false).await;
    sink.wait_for(2, |_| true, std::time::Duration::from_secs(5)).await;
    let (demo_token, acme_token) = (token(&app, "demo").await, token(&app, "acme").await);

    // (attacker credentials, victim's cabinet, victim's leased order, victim's pending order)
    let sides = [
        (Cred::Basic(DEMO), ACME_CAB, acme_leased.clone(), acme_pending.clone()),
        (Cred::Bearer(&demo_token), ACME_CAB, acme_leased.clone(), acme_pending.clone()),
        (Cred::Basic(ACME), DEMO_CAB, demo_leased.clone(), demo_pending.clone()),
        (Cred::Bearer(&acme_token), DEMO_CAB, demo_leased.clone(), demo_pending.clone()),
    ];
    let before = app.running.state.store.snapshot();
    let journal_before = app.running.state.push.list(&Default::default(), None).len();
    let (missing_cab, missing_order) = ("ZZZ99999", "26010100000000000000");
    for (cred, cab, leased, pending) in &sides {
        // (method, path for the victim's record, path for a missing one)
        let table: Vec<(&str, String, String)> = vec![
            (
                "GET",
                format!("/rent/cabinet/query?deviceId={cab}"),
                format!("/rent/cabinet/query?deviceId={missing_cab}"),
            ),
            (
                "POST",
                format!("/rent/cabinet/query?deviceId={cab}"),
                format!("/rent/cabinet/query?deviceId={missing_cab}"),
            ),
            (
                "POST",
                format!("/cdb-open-api/v1/rent/cabinet/query?deviceId={cab}"),
                format!("/cdb-open-api/v1/rent/cabinet/query?deviceId={missing_cab}"),
            ),
            (
                "POST",
                format!("/rent/order/create?deviceId={cab}&callbackURL={cb}"),
                format!("/rent/order/create?deviceId={missing_cab}&callbackURL={cb}"),
            ),
            (
                "POST",
                format!("/rent/order/query?tradeNo={leased}"),
                format!("/rent/order/query?tradeNo={missing_order}"),
            ),
            (
                "GET",
                format!("/rent/order/query?tradeNo={pending}"),
                format!("/rent/order/query?tradeNo={missing_order}"),
            ),
            (
                "POST",
                format!("/rent/order/close?tradeNo={leased}"),
                format!("/rent/order/close?tradeNo={missing_order}"),
            ),
            (
                "POST",
                format!("/rent/order/close?tradeNo={pending}"),
                format!("/rent/order/close?tradeNo={missing_order}"),
            ),
            (
                "GET",
                format!("/rent/order/detail?tradeNo={leased}"),
                format!("/rent/order/detail?tradeNo={missing_order}"),
            ),
            (
                "POST",
                format!("/rent/order/detail?orderId={pending}"),
                format!("/rent/order/detail?orderId={missing_order}"),
            ),
            (
                "POST",
                format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId={pending}&slotNum=0"),
                format!("/cabinet/ejectByRent?cabinetid={missing_cab}&rentOrderId={missing_order}&slotNum=0"),
            ),
        ];
        for (method, theirs, missing) in table {
            let (s1, v1) = call(&app, *cred, method, &theirs, None).await;
            let (s2, v2) = call(&app, *cred, method, &missing, None).await;
            let norm = |v: &Value| {
                v.to_string()
                    .replace(cab, "ID")
                    .replace(missing_cab, "ID")
                    .replace(leased.as_str(), "T")
                    .replace(pending.as_str(), "T")
                    .replace(missing_order, "T")
            };
            assert_eq!(
                (s1, norm(&v1)),
                (s2, norm(&v2)),
                "{method} {theirs}: the other account's record answers like a missing one"
            );
            assert_ne!(v1["code"], 0, "{method} {theirs}: {v1}");
            assert!(v1.get("data").is_none(), "{v1}");
        }
        // ejectByRent on one's own cabinet naming the other's order: refused, and no
        // back-office order is created under that id.
        let own = if *cab == ACME_CAB { DEMO_CAB } else { ACME_CAB };
        let (_, v) = call(
            &app,
            *cred,
            "POST",
            &format!("/cabinet/ejectByRent?cabinetid={own}&rentOrderId={pending}&slotNum=0"),
            None,
        )
        .await;
        assert_eq!(v["code"], 2006, "{v}");
    }
    assert!(app.running.state.store.snapshot() == before, "a cross-account request changed the world");
    assert_eq!(app.running.state.push.list(&Default::default(), None).len(), journal_before, "no callback was re-sent");

    // O6 lists only one's own shops, wherever one looks.
    for (who, other) in [(DEMO, ACME), (ACME, DEMO)] {
        let own_shops = app
            .running
            .state
            .store
            .read(|w| w.shops().values().filter(|s| s.agent == who.0).map(|s| s.id.clone()).collect::<Vec<_>>());
        let theirs = app.running.state.store.read(|w| {
            w.shops().values().filter(|s| s.agent == other.0).map(|s| (s.latitude, s.longitude)).collect::<Vec<_>>()
        });
        for (lat, lng) in theirs.iter().take(3) {
            let (_, v) =
                app.post_as(who, &format!("/rent/cabinet/list?coordType=WGS-84&zoomLevel=1&lat={lat}&lng={lng}")).await;
            for item in v["list"].as_array().unwrap() {
                assert!(own_shops.iter().any(|s| *s == item["shop"]["id"].as_str().unwrap()), "{}: {item}", who.0);
            }
        }
    }
    // E2 shows one's own configuration only; E1 by one never changes the other's.
    let (_, v) =
        app.post_json_as(DEMO, "/cabinet/eventPush/config", &json!({"pushUrl": "http://127.0.0.1:9/demo"})).await;
    assert_eq!(v["code"], 0);
    let (_, v) = call(&app, Cred::Bearer(&acme_token), "GET", "/cabinet/eventPush/config/get", None).await;
    assert_eq!(v["data"], json!({"pushUrl": "", "eventSubscriptions": []}));
    app.assert_consistent().await;
}

#[tokio::test]
async fn control_routes_keep_batteries_within_their_fleet() {
    let app = spawn_app().await;
    let demo_battery =
        app.device(DEMO, DEMO_CAB).await["data"]["batteries"][0]["batteryId"].as_str().unwrap().to_string();
    let leased = order(&app, ACME, ACME_CAB, "http://127.0.0.1:9/cb", true).await;
    let (_, v) = app.get_as(ACME, &format!("/rent/order/detail?tradeNo={leased}")).await;
    let acme_battery = v["data"]["batteryId"].as_str().unwrap().to_string();
    let before = app.running.state.store.snapshot();
    // An acme battery cannot be docked into a demo cabinet (and so close demo's books), nor
    // the other way round.
    for (cab, battery) in [(EMPTY_CAB, acme_battery.as_str()), (ACME_CAB, demo_battery.as_str())] {
        let v = app.control(&format!("/cabinets/{cab}/return?batteryId={battery}")).await;
        assert_eq!(v["code"], 2010, "{v}");
        assert!(v["msg"].as_str().unwrap().contains("another merchant"), "{v}");
    }
    assert!(app.running.state.store.snapshot() == before);
}
