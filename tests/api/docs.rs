//! What the user documentation promises beyond single operations: the hint a frozen clock
//! gives a waiting test, and the default world and enumerations the docs list.

use crate::helpers::*;

/// With the clock frozen an order's automatic eject never comes, so a test waiting for its
/// callback would time out without a clue; the time-out message names the frozen clock and
/// the order, and stays quiet when nothing is due or the clock runs.
#[tokio::test]
async fn a_wait_that_times_out_on_a_frozen_clock_with_an_eject_due_says_why() {
    let app = spawn_app().await;
    let sink = format!("{}/_sim/ui/sink/rent", app.base);
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={sink}")).await;
    let trade = v["data"]["tradeNo"].as_str().expect("tradeNo").to_string();

    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=50")).await;
    assert_eq!(v["code"], 9001, "{v}");
    let msg = v["msg"].as_str().unwrap_or_default();
    assert!(msg.starts_with("Timed out after 50 ms with 0 of 1 matching deliveries."), "{msg}");
    assert!(msg.contains("virtual clock is frozen") && msg.contains(&trade), "{msg}");
    assert!(msg.contains("/_sim/clock?advance=") && msg.contains("ejectByRent"), "{msg}");

    // Another order's wait is not about this eject: no hint.
    let v = app.control_get("/pushes/wait?order=26030209000000000000&count=1&timeoutMs=10").await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 0 of 1 matching deliveries.", "{v}");

    // Once the clock moves the eject happens and the callback arrives.
    app.advance(1).await;
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=5000")).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["records"][0]["body"], format!("status=1&tradeNo={trade}"));

    // Nothing is due any more: a time-out is a plain one again.
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=5&timeoutMs=10")).await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 1 of 5 matching deliveries.", "{v}");

    // A running clock gives no hint either, even with an eject due.
    app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={sink}")).await;
    app.control("/clock?freeze=false&speed=0").await;
    let v = app.control_get("/pushes/wait?event=RENT_CALLBACK_1&count=2&timeoutMs=10").await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 1 of 2 matching deliveries.", "{v}");
}
