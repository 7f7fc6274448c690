//! `bajie-sim probe`: whether the simulator the configuration describes is up, for container
//! health checks. The runtime image is `FROM scratch` (no shell, no curl), so the binary asks
//! its own `GET /_sim/health`.

use crate::config::Config;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// How long the probe waits for the whole answer; a health check has its own timeout on top.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Ask `GET /_sim/health` of the simulator at `config.bind` (a wildcard address asked on
/// loopback), with the control token when one is configured. `Ok` names the URL and the
/// virtual time when it answers `status: up`; `Err` says what went wrong.
pub async fn probe(config: &Config) -> Result<String, String> {
    let mut addr = config.bind;
    if addr.port() == 0 {
        return Err("--bind has port 0 (a free port chosen at start): give the port to probe".into());
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    let url = format!("http://{addr}/_sim/health");
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| format!("HTTP client: {e}"))?;
    let mut request = client.get(&url);
    if let Some(token) = &config.control_token {
        request = request.header("X-Sim-Token", token.expose());
    }
    let answer = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = answer.status();
    let text = answer.text().await.map_err(|e| format!("{url}: {e}"))?;
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match (status.as_u16(), body["data"]["status"].as_str()) {
        (200, Some("up")) => Ok(format!("{url}: up, virtual time {}", body["data"]["now"].as_str().unwrap_or("?"))),
        _ => Err(format!("{url}: HTTP {status}: {}", text.chars().take(200).collect::<String>())),
    }
}
