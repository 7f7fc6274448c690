//! Configuration from the command line and the environment.
//!
//! Every flag also reads `BAJIE_SIM_<NAME>` (upper case, `-` as `_`); a flag on the command
//! line wins over the environment. The parser is hand-written: a dozen flags do not justify a
//! command-line crate, and the help text below is the single place they are documented.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `app::build` needs to start a simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// World file; `None` means the embedded default world.
    pub fixtures: Option<PathBuf>,
    /// Seed of every id and random choice; `None` draws one (and logs it).
    pub seed: Option<u64>,
    /// Virtual seconds per real second.
    pub speed: f64,
    /// Virtual milliseconds of one simulation step (`POST /_sim/tick`).
    pub tick_ms: u64,
    /// No autonomous activity: the world changes only through requests.
    pub no_sim: bool,
    /// Start with the virtual clock frozen.
    pub frozen: bool,
    /// Virtual start time (`YYYY-MM-DD HH:mm:ss`), overriding the fixtures' `start`.
    pub start: Option<String>,
    /// Snapshot file restored at start and saved on shutdown.
    pub state_file: Option<PathBuf>,
    /// Generate a synthetic fleet of this many cabinets instead of loading fixtures.
    pub fleet: Option<usize>,
    /// Per-attempt timeout of outbound pushes and callbacks, milliseconds.
    pub push_timeout_ms: u64,
    /// Retry delays of outbound deliveries, milliseconds; its length is the retry count.
    pub push_retries_ms: Vec<u64>,
    /// Virtual seconds between an order's creation and the cabinet ejecting on its own.
    pub eject_delay_s: u64,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Real seconds between two saves of the state file (0: only at shutdown).
    pub save_every_s: u64,
    /// Customer rentals per cabinet per hour at demand factor 1, overriding the fixtures.
    pub rent_rate: Option<f64>,
    /// Token every `/_sim` request must carry (`X-Sim-Token` or `Authorization: Bearer`);
    /// `None` leaves the control API open, as on a developer's loopback.
    pub control_token: Option<Secret>,
    /// Live OAuth2 bearer tokens one account may hold; a login past it is refused (HTTP 429).
    pub max_tokens_per_account: usize,
    /// Virtual seconds a bearer token stays valid (0: forever).
    pub token_ttl_s: u64,
    /// Real milliseconds a request body may stall before the request is answered 408 and its
    /// connection closed.
    pub body_timeout_ms: u64,
    /// Largest snapshot `PUT /_sim/state` reads, MiB.
    pub state_max_mb: u64,
}

/// A secret from the command line or the environment: compared in constant time, never
/// printed (`Debug` shows `***`, so a `{:?}` of the configuration cannot leak it).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Whether `candidate` is the secret, compared without an early exit.
    pub fn matches(&self, candidate: &str) -> bool {
        crate::model::world::ct_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The `--help` text: every flag, its environment variable and its default.
pub const HELP: &str = "\
bajie-sim: a simulator of the Bajie Charging / ChargeNow open API (/cdb-open-api/v1)

USAGE: bajie-sim [FLAGS]

Every flag can also be set as an environment variable BAJIE_SIM_<NAME>, e.g. BAJIE_SIM_SEED=7.

  --bind ADDR            listen address (default 127.0.0.1:8080; port 0 picks a free port)
  --fixtures PATH        world file (default: the embedded fixtures/default.json)
  --seed N               seed for every id and random choice (default: random, logged)
  --speed X              virtual seconds per real second (default 1)
  --tick-ms N            virtual milliseconds of one simulation step: POST /_sim/tick?n=N
                         moves the clock by N steps (default 1000)
  --no-sim               no autonomous activity; the world changes only through requests
  --frozen               start with the virtual clock frozen
  --start TIME           virtual start time, YYYY-MM-DD HH:mm:ss (default: the fixtures' start,
                         else the wall clock)
  --state-file PATH      restore the world from PATH at start (when the file exists), save it
                         there periodically and on shutdown
  --save-every-s N       real seconds between two saves of the state file (default 60; 0: only
                         on shutdown)
  --state-max-mb N       largest snapshot PUT /_sim/state reads, in MiB (default 4096; a
                         100,000-cabinet world is about 400 MiB); it is parsed as it streams
                         in, so the limit bounds the upload, not memory held for it
  --rent-rate X          simulated rentals per cabinet per hour at demand factor 1, overriding
                         the fixtures' sim.rentsPerCabinetHour (default 0.5)
  --workers N            HTTP worker threads (default 0: one per CPU). On a machine shared
                         with the load generator, fewer workers than CPUs can serve more
  --fleet N              generate a synthetic fleet of N cabinets instead of the fixtures
  --push-timeout-ms N    per-attempt timeout of pushes and callbacks (default 5000)
  --push-retries-ms LIST comma-separated delays before each retry of a failed push or callback,
                         real milliseconds, +-20 % jitter; empty for no retries (default
                         1000,2000,4000,8000,16000: five retries, capped exponential)
  --eject-delay-s N      virtual seconds before a new order's battery is ejected when no
                         ejectByRent names a slot first (default 1)
  --control-token TOKEN  require TOKEN on every /_sim request, as the header X-Sim-Token or
                         Authorization: Bearer TOKEN (the dashboard also takes ?token=);
                         default: none (the control API is open; bind to loopback). Prefer
                         the environment variable: a command line is visible to other users
  --max-tokens-per-account N
                         live OAuth2 bearer tokens one account may hold (default 10000); a
                         login past it answers HTTP 429, no live token is ever retired
  --token-ttl-s N        virtual seconds a bearer token stays valid (default 2592000, 30
                         days: 72 real minutes at --speed 600); 0: tokens never expire
  --body-timeout-ms N    a request body that stalls this many real milliseconds (no byte
                         arrives) is answered HTTP 408 and its connection closed (default
                         5000)
  -h, --help             this text
";

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            fixtures: None,
            seed: None,
            speed: 1.0,
            tick_ms: 1000,
            no_sim: false,
            frozen: false,
            start: None,
            state_file: None,
            fleet: None,
            push_timeout_ms: 5000,
            push_retries_ms: vec![1000, 2000, 4000, 8000, 16000],
            eject_delay_s: 1,
            workers: 0,
            save_every_s: 60,
            rent_rate: None,
            control_token: None,
            max_tokens_per_account: crate::model::credentials::DEFAULT_MAX_TOKENS_PER_ACCOUNT,
            token_ttl_s: crate::model::credentials::DEFAULT_TOKEN_TTL_S,
            body_timeout_ms: crate::api::body_deadline::DEFAULT_BODY_TIMEOUT_MS,
            state_max_mb: crate::control::state::DEFAULT_STATE_MAX_MB,
        }
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<Config>),
    /// Print [`HELP`] and exit.
    Help,
}

const FLAGS_WITH_VALUE: &[&str] = &[
    "bind",
    "fixtures",
    "seed",
    "speed",
    "tick-ms",
    "start",
    "state-file",
    "fleet",
    "push-timeout-ms",
    "push-retries-ms",
    "eject-delay-s",
    "save-every-s",
    "rent-rate",
    "control-token",
    "workers",
    "max-tokens-per-account",
    "token-ttl-s",
    "body-timeout-ms",
    "state-max-mb",
];
const SWITCHES: &[&str] = &["no-sim", "frozen"];

impl Config {
    /// The warning to log at start when the listening address is reachable from other
    /// machines, if it is: the platform API is then open to the network, and the control API
    /// (reset, state import, fault injection) too unless a control token is set.
    pub fn exposure_warning(&self) -> Option<String> {
        if self.bind.ip().is_loopback() {
            return None;
        }
        Some(match self.control_token {
            Some(_) => format!(
                "listening on {}, which is reachable from other machines; the control API requires its token",
                self.bind
            ),
            None => format!(
                "listening on {}, which is reachable from other machines, and the control API (/_sim) has no \
                 authentication: anyone who can connect can reset or rewrite the world; set --control-token \
                 (BAJIE_SIM_CONTROL_TOKEN) or bind to 127.0.0.1",
                self.bind
            ),
        })
    }

    /// The bearer-token rules these flags ask for.
    pub fn token_policy(&self) -> crate::model::credentials::TokenPolicy {
        crate::model::credentials::TokenPolicy {
            max_per_account: self.max_tokens_per_account,
            ttl_ms: self.token_ttl_s as crate::clock::Millis * 1000,
        }
    }

    /// A configuration for tests: port 0, fixed seed and start, frozen clock, no simulation,
    /// short push timeouts and retries.
    pub fn for_tests() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Some(42),
            no_sim: true,
            frozen: true,
            push_timeout_ms: 2000,
            push_retries_ms: vec![50, 100, 200],
            workers: 2,
            ..Config::default()
        }
    }

    /// Parse command-line arguments (without the program name) over the environment `env`.
    pub fn parse<I, E>(args: I, env: E) -> Result<Parsed, String>
    where
        I: IntoIterator<Item = String>,
        E: IntoIterator<Item = (String, String)>,
    {
        let mut cfg = Config::default();
        for (key, value) in env {
            let Some(name) = key.strip_prefix("BAJIE_SIM_") else {
                continue;
            };
            let flag = name.to_ascii_lowercase().replace('_', "-");
            if SWITCHES.contains(&flag.as_str()) {
                if matches!(value.as_str(), "1" | "true" | "yes") {
                    cfg.set(&flag, None)?;
                }
            } else if FLAGS_WITH_VALUE.contains(&flag.as_str()) {
                cfg.set(&flag, Some(&value)).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(Parsed::Help);
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument '{arg}' (see --help)"));
            };
            let (flag, inline) = match body.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            if SWITCHES.contains(&flag.as_str()) {
                cfg.set(&flag, None)?;
            } else if FLAGS_WITH_VALUE.contains(&flag.as_str()) {
                let value = match inline {
                    Some(v) => v,
                    None => args.next().ok_or_else(|| format!("--{flag} needs a value"))?,
                };
                cfg.set(&flag, Some(&value)).map_err(|e| format!("--{flag}: {e}"))?;
            } else {
                return Err(format!("unknown flag '--{flag}' (see --help)"));
            }
        }
        Ok(Parsed::Run(Box::new(cfg)))
    }

    fn set(&mut self, flag: &str, value: Option<&str>) -> Result<(), String> {
        let v = value.unwrap_or_default().trim();
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("'{v}' is not a valid number"))
        }
        match flag {
            "no-sim" => self.no_sim = true,
            "frozen" => self.frozen = true,
            "bind" => self.bind = v.parse().map_err(|_| format!("'{v}' is not an address like 127.0.0.1:8080"))?,
            "fixtures" => self.fixtures = Some(PathBuf::from(v)),
            "seed" => self.seed = Some(num(v)?),
            "speed" => {
                let s: f64 = num(v)?;
                if !(s.is_finite() && s >= 0.0) {
                    return Err(format!("'{v}' must be a non-negative number"));
                }
                self.speed = s;
            }
            "tick-ms" => {
                self.tick_ms = num(v)?;
                if self.tick_ms == 0 {
                    return Err("must be at least 1".into());
                }
            }
            "start" => {
                if crate::clock::parse_datetime(v).is_none() {
                    return Err(format!("'{v}' is not a time like 2026-03-02 09:00:00"));
                }
                self.start = Some(v.to_string());
            }
            "state-file" => self.state_file = Some(PathBuf::from(v)),
            "fleet" => {
                let n: usize = num(v)?;
                if n == 0 {
                    return Err("must be at least 1".into());
                }
                self.fleet = Some(n);
            }
            "push-timeout-ms" => {
                self.push_timeout_ms = num(v)?;
                if !(1..=600_000).contains(&self.push_timeout_ms) {
                    return Err("must be between 1 and 600000".into());
                }
            }
            "push-retries-ms" => {
                let list: Vec<u64> = if v.is_empty() {
                    Vec::new()
                } else {
                    v.split(',').map(|p| num(p.trim())).collect::<Result<_, _>>()?
                };
                if list.len() > 50 {
                    return Err(format!("{} retries is more than 50", list.len()));
                }
                if let Some(d) = list.iter().find(|d| **d > 3_600_000) {
                    return Err(format!("a delay of {d} ms is more than an hour"));
                }
                self.push_retries_ms = list;
            }
            "eject-delay-s" => self.eject_delay_s = num(v)?,
            "workers" => {
                self.workers = num(v)?;
                if self.workers > 256 {
                    return Err("must be at most 256 (0: one per CPU)".into());
                }
            }
            "save-every-s" => self.save_every_s = num(v)?,
            "rent-rate" => {
                let r: f64 = num(v)?;
                if !(r.is_finite() && (0.0..=1.0e6).contains(&r)) {
                    return Err(format!("'{v}' must be a non-negative number"));
                }
                self.rent_rate = Some(r);
            }
            "control-token" => {
                // Not trimmed: a token is compared byte for byte. Blank would protect nothing.
                let raw = value.unwrap_or_default();
                if raw.trim().is_empty() {
                    return Err("must not be empty".into());
                }
                if raw.len() > 1024 || raw.chars().any(|c| c.is_control()) {
                    return Err("must be at most 1024 characters without control characters".into());
                }
                self.control_token = Some(Secret::new(raw));
            }
            "max-tokens-per-account" => {
                self.max_tokens_per_account = num(v)?;
                if !(1..=10_000_000).contains(&self.max_tokens_per_account) {
                    return Err("must be between 1 and 10000000".into());
                }
            }
            "token-ttl-s" => {
                self.token_ttl_s = num(v)?;
                if self.token_ttl_s > 100 * 365 * 86_400 {
                    return Err("must be at most 100 years of seconds (0: never expire)".into());
                }
            }
            "body-timeout-ms" => {
                self.body_timeout_ms = num(v)?;
                if !(1..=3_600_000).contains(&self.body_timeout_ms) {
                    return Err("must be between 1 and 3600000".into());
                }
            }
            "state-max-mb" => {
                self.state_max_mb = num(v)?;
                if !(1..=1_048_576).contains(&self.state_max_mb) {
                    return Err("must be between 1 and 1048576 (1 TiB)".into());
                }
            }
            _ => return Err(format!("unknown flag '--{flag}'")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Parsed, String> {
        Config::parse(args.iter().map(|s| s.to_string()), env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn flags_override_environment() {
        let Parsed::Run(c) =
            parse(&["--seed", "9", "--no-sim"], &[("BAJIE_SIM_SEED", "3"), ("BAJIE_SIM_SPEED", "60")]).unwrap()
        else {
            panic!("expected a run")
        };
        assert_eq!(c.seed, Some(9));
        assert_eq!(c.speed, 60.0);
        assert!(c.no_sim);
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        let err = parse(&["--speed=fast"], &[]).unwrap_err();
        assert!(err.contains("--speed"), "{err}");
        assert!(parse(&["--nope"], &[]).unwrap_err().contains("unknown flag"));
        assert!(matches!(parse(&["--help"], &[]).unwrap(), Parsed::Help));
    }

    #[test]
    fn binding_beyond_loopback_warns_and_names_the_token() {
        assert_eq!(Config::default().bind.to_string(), "127.0.0.1:8080");
        assert!(Config::default().exposure_warning().is_none());
        let Parsed::Run(c) = parse(&["--bind", "[::1]:0"], &[]).unwrap() else { panic!("run") };
        assert!(c.exposure_warning().is_none());
        let Parsed::Run(mut c) = parse(&["--bind", "0.0.0.0:8080"], &[]).unwrap() else { panic!("run") };
        assert!(c.exposure_warning().unwrap().contains("--control-token"));
        c.control_token = Some(Secret::new("t"));
        assert!(c.exposure_warning().unwrap().contains("requires its token"));
    }

    #[test]
    fn the_control_token_comes_from_a_flag_or_the_environment_and_never_prints() {
        let Parsed::Run(c) = parse(&[], &[("BAJIE_SIM_CONTROL_TOKEN", "s3cret")]).unwrap() else { panic!("run") };
        let token = c.control_token.clone().unwrap();
        assert!(token.matches("s3cret") && !token.matches("s3cre") && !token.matches("s3cret "));
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let Parsed::Run(c) = parse(&["--control-token=flag"], &[("BAJIE_SIM_CONTROL_TOKEN", "env")]).unwrap() else {
            panic!("run")
        };
        assert!(c.control_token.unwrap().matches("flag"));
        assert!(parse(&["--control-token", " "], &[]).unwrap_err().contains("must not be empty"));
        assert!(Config::default().control_token.is_none());
        assert!(HELP.contains("--control-token"));
    }

    #[test]
    fn the_retry_schedule_is_a_bounded_list_of_delays() {
        let Parsed::Run(c) = parse(&["--push-retries-ms", "10, 20,40"], &[]).unwrap() else { panic!("expected a run") };
        assert_eq!(c.push_retries_ms, vec![10, 20, 40]);
        let Parsed::Run(c) = parse(&["--push-retries-ms="], &[]).unwrap() else { panic!("expected a run") };
        assert!(c.push_retries_ms.is_empty());
        assert_eq!(Config::default().push_retries_ms, vec![1000, 2000, 4000, 8000, 16000]);
        assert!(parse(&["--push-retries-ms", "1,x"], &[]).unwrap_err().contains("--push-retries-ms"));
        assert!(parse(&["--push-retries-ms", "7200000"], &[]).unwrap_err().contains("more than an hour"));
        assert!(parse(&["--push-timeout-ms", "0"], &[]).is_err());
    }
}
