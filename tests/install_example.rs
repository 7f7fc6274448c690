//! docs/install.md's Rust example, compiled and run here so it stays true; the last test checks
//! that the document still shows exactly the code between the markers.

// BEGIN EXAMPLE
use bajie_sim::{app, config::Config};
use std::time::Duration;

#[tokio::test]
async fn my_client_finds_a_cabinet() -> Result<(), Box<dyn std::error::Error>> {
    // A private simulator: port 0, seed 42, frozen virtual clock, no autonomous activity.
    let sim = app::build(Config::for_tests()).await?;
    let api = format!("{}/cdb-open-api/v1", sim.url()); // your client's base URL
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!("{api}/rent/cabinet/query?deviceId=BJD60151"))
        .basic_auth("demo", Some("demo"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(answer["code"], 0);
    sim.shutdown(Duration::from_secs(1)).await;
    Ok(())
}
// END EXAMPLE

#[test]
fn docs_install_shows_this_example() {
    let source = include_str!("install_example.rs");
    let example = source.split("// BEGIN EXAMPLE\n").nth(1).and_then(|s| s.split("// END EXAMPLE").next()).unwrap();
    let doc = include_str!("../docs/install.md");
    assert!(doc.contains(example), "docs/install.md no longer shows tests/install_example.rs's example:\n{example}");
}
