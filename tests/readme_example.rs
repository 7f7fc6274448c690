//! The Rust example of docs/testing.md, compiled and run here so it stays true: a client developer's
//! integration test against bajie-sim, using the clock and the fault controls. In your own
//! crate, add `bajie-sim` (and `reqwest`, `serde_json`, `tokio`) as dev-dependencies.

use bajie_sim::{app, config::Config};
use serde_json::Value;
use std::time::Duration;

type Res = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_rental_is_called_back_and_billed_and_a_failed_eject_is_reported() -> Res {
    // A private simulator: port 0, seed 42, virtual clock frozen at 2026-03-02 09:00:00 (the
    // default world would start at the real time), no autonomous activity.
    let sim = app::build(Config::for_tests()).await?;
    let (base, http) = (sim.url(), reqwest::Client::new());
    let api = format!("{base}/cdb-open-api/v1");
    // Callbacks go to the simulator's built-in receiver; the journal shows what arrived.
    let callback = format!("{base}/_sim/ui/sink/rent");
    let platform = |method: reqwest::Method, path: String| {
        http.request(method, format!("{api}{path}")).basic_auth("demo", Some("demo")).send()
    };
    let control = |path: String| http.post(format!("{base}/_sim{path}")).send();

    // Rent from BJD60151: the cabinet ejects one virtual second later and calls back status=1.
    let v: Value =
        platform(reqwest::Method::POST, format!("/rent/order/create?deviceId=BJD60151&callbackURL={callback}"))
            .await?
            .json()
            .await?;
    let trade = v["data"]["tradeNo"].as_str().ok_or("no tradeNo")?.to_string();
    control("/clock?advance=1".into()).await?;
    let wait = format!("{base}/_sim/pushes/wait?order={trade}&count=1&timeoutMs=5000");
    let j: Value = http.get(&wait).send().await?.json().await?;
    assert_eq!(j["data"]["records"][0]["body"], format!("status=1&tradeNo={trade}"));

    // An hour later the customer returns it to the next cabinet: 60 minutes - 5 free = 55
    // billable minutes, two started periods of 1.50 = 3.00.
    let d: Value = platform(reqwest::Method::GET, format!("/rent/order/detail?tradeNo={trade}")).await?.json().await?;
    let battery = d["data"]["batteryId"].as_str().ok_or("no battery")?.to_string();
    control("/clock?advance=3600".into()).await?;
    control(format!("/cabinets/BJD60152/return?batteryId={battery}")).await?;
    let d: Value = platform(reqwest::Method::GET, format!("/rent/order/detail?tradeNo={trade}")).await?.json().await?;
    assert_eq!(d["data"]["borrowStatus"], 3);
    assert_eq!(d["data"]["orderAmount"], 3);

    // Make the next eject of BJD60151 fail with fault type 4: the order fails, status=0.
    control("/faults?effect=ejectFailure&faultType=4&device=BJD60151&times=1".into()).await?;
    let v: Value =
        platform(reqwest::Method::POST, format!("/rent/order/create?deviceId=BJD60151&callbackURL={callback}"))
            .await?
            .json()
            .await?;
    let failed = v["data"]["tradeNo"].as_str().ok_or("no tradeNo")?.to_string();
    control("/clock?advance=1".into()).await?;
    let wait = format!("{base}/_sim/pushes/wait?order={failed}&count=1&timeoutMs=5000");
    let j: Value = http.get(&wait).send().await?.json().await?;
    assert_eq!(j["data"]["records"][0]["body"], format!("status=0&tradeNo={failed}"));

    // Every battery is still in exactly one place.
    let check: Value = http.get(format!("{base}/_sim/check")).send().await?.json().await?;
    assert_eq!(check["code"], 0);
    sim.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

/// docs/testing.md shows this file and the Python example verbatim: a change to either without
/// the other fails here (copy the file into its fenced block of the doc).
#[test]
fn docs_testing_md_shows_both_examples_verbatim() {
    let doc = include_str!("../docs/testing.md");
    let examples = [
        ("rust", "tests/readme_example.rs", include_str!("readme_example.rs")),
        ("python", "examples/python/test_rent.py", include_str!("../examples/python/test_rent.py")),
    ];
    for (lang, file, text) in examples {
        let block = format!("```{lang}\n{text}```\n");
        assert!(doc.contains(&block), "docs/testing.md does not show {file} verbatim in a {lang} block");
    }
}
