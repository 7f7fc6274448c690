//! Shards (`--fleet N --agents M --shard K/S`): each process serves its own accounts only, its
//! bearer tokens and trade numbers carry its number, and a device of another shard answers
//! like a device that does not exist.

use super::helpers::*;
use bajie_sim::config::Config;
use bajie_sim::model::shard::{agent_name, shard_of};
use bajie_sim::model::Shard;
use serde_json::Value;

const AGENTS: usize = 9;
const SHARDS: u32 = 3;

fn shard_config(index: u32) -> Config {
    Config {
        fleet: Some(180),
        agents: Some(AGENTS),
        shard: Some(Shard { index, count: SHARDS }),
        eject_delay_s: 0,
        ..Config::for_tests()
    }
}

/// An account of `shard` and one of its online cabinets, found through C4 on that shard.
async fn account_and_cabinet(app: &TestApp, shard: u32) -> (String, String) {
    let account = (1..=AGENTS).map(agent_name).find(|a| shard_of(a, SHARDS) == shard).expect("an account");
    let who = (account.as_str(), account.as_str());
    let (_, v) = app.get_as(who, "/cabinet/getAllDevice").await;
    let rows = v["data"].as_array().cloned().unwrap_or_default();
    let id = rows.iter().find(|c| c["pOnline"] == true).and_then(|c| c["pCabinetid"].as_str()).expect("a cabinet");
    (account, id.to_string())
}

#[tokio::test]
async fn a_shard_serves_its_own_accounts_with_routable_tokens_and_trade_numbers() {
    let app = spawn_with(shard_config(1)).await;
    let health = app.control_get("/health").await;
    assert_eq!(health["data"]["shard"], "1/3");

    let (account, cabinet) = account_and_cabinet(&app, 1).await;
    let who = (account.as_str(), account.as_str());
    // Basic works for the shard's account; accounts of other shards are unknown here: 401.
    let other = (1..=AGENTS).map(agent_name).find(|a| shard_of(a, SHARDS) != 1).expect("another account");
    let (status, body) = app.get_as((&other, &other), "/cabinet/getAllDevice").await;
    let (unknown_status, unknown_body) = app.get_as(("nobody", "nobody"), "/cabinet/getAllDevice").await;
    assert_eq!((status, body), (unknown_status, unknown_body), "another shard's account is an unknown account");
    assert_eq!(unknown_status, 401);

    // A1 issues a token that starts with the shard's prefix and works as Bearer.
    let hash = bajie_sim::api::auth::sha256_hex(&account);
    let login = app.api(&format!("/oauth2/login?username={account}&password={hash}"));
    let (_, v) = read(app.client.post(login).send().await.expect("answers")).await;
    let token = v["key"].as_str().unwrap_or_else(|| panic!("a token: {v}")).to_string();
    assert!(token.starts_with("s1-") && token.len() == 35, "{token}");
    let r = app.client.get(app.api("/cabinet/getAllDevice")).bearer_auth(&token).send().await.expect("answers");
    let (status, v) = read(r).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["data"].as_array().is_some_and(|rows| !rows.is_empty()), "{v}");

    // A rent: the trade number's two digits after the time stamp are the shard.
    let (_, v) = app.post_as(who, &format!("/rent/order/create?deviceId={cabinet}")).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap_or_else(|| panic!("a trade number: {v}"));
    assert_eq!(trade.len(), 20, "{trade}");
    assert_eq!(&trade[12..14], "01", "{trade}");
    app.running.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test]
async fn another_shards_device_answers_like_an_unknown_device_and_ids_never_repeat() {
    let a = spawn_with(shard_config(0)).await;
    let b = spawn_with(shard_config(2)).await;
    let (account, _) = account_and_cabinet(&a, 0).await;
    let (_, foreign) = account_and_cabinet(&b, 2).await;
    let who = (account.as_str(), account.as_str());
    let (s1, v1) = a.get_as(who, &format!("/rent/cabinet/query?deviceId={foreign}")).await;
    let (s2, v2) = a.get_as(who, "/rent/cabinet/query?deviceId=ZZZ99999").await;
    assert_eq!((s1, &v1["code"], &v1["msg"]), (s2, &v2["code"], &v2["msg"]), "{v1} vs {v2}");
    assert_ne!(v1["code"], 0);

    // The two shards' snapshots share no cabinet, battery or shop id.
    let sa = a.control_get("/state").await;
    let sb = b.control_get("/state").await;
    for table in ["cabinets", "batteries", "shops", "agents"] {
        let keys = |s: &Value| -> Vec<String> {
            s["data"]["world"][table].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        };
        let (ka, kb) = (keys(&sa), keys(&sb));
        assert!(!ka.is_empty() && !kb.is_empty(), "{table} on both shards");
        assert!(ka.iter().all(|k| !kb.contains(k)), "{table} shared between shards");
    }
    a.running.shutdown(std::time::Duration::from_secs(1)).await;
    b.running.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test]
async fn agents_without_a_fleet_and_an_empty_shard_are_refused_at_start() {
    let err = bajie_sim::app::build(Config { agents: Some(3), ..Config::for_tests() }).await.err();
    assert!(err.is_some_and(|e| e.contains("--fleet")));
    // Two accounts cannot fill five shards.
    let empty = (0..5).find(|&k| ["demo", "acme"].iter().all(|a| shard_of(a, 5) != k)).expect("an empty shard");
    let config = Config { shard: Some(Shard { index: empty, count: 5 }), ..Config::for_tests() };
    let err = bajie_sim::app::build(config).await.err();
    assert!(err.is_some_and(|e| e.contains("owns none")));
}
