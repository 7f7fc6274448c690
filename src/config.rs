//! Configuration from the command line and the environment.
//!
//! Every flag is declared once, as a field of [`Cli`] (clap derive): its name, its environment
//! variable `BAJIE_SIM_<NAME>` (upper case, `-` as `_`), its default, its validation and its
//! `--help` text sit together. A flag on the command line wins over the environment; a flag
//! given twice takes the later value. Boolean flags take an optional value (`--frozen`,
//! `--frozen=true`, `--frozen=false`; in the environment `true/false/1/0/yes/no/on/off`).
//! [`Config`] is the validated result `app::build` takes; tests build one with
//! [`Config::for_tests`].

use crate::model::Shard;
use clap::builder::{BoolishValueParser, RangedU64ValueParser};
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// Default of `--body-timeout-ms`: how long a request body may take to arrive.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 5_000;

/// Default of `--state-max-mb`: the largest snapshot `PUT /_sim/state` reads, in MiB. A
/// 100,000-cabinet world exports to about 400 MiB; the body is parsed as it streams in, so
/// the limit bounds the time an upload may take, not memory held for it.
pub const DEFAULT_STATE_MAX_MB: u64 = 4096;

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
    /// Virtual start time (`YYYY-MM-DD HH:mm:ss`), overriding the fixtures' `start`; neither:
    /// the real time now, in whole seconds.
    pub start: Option<String>,
    /// Seconds east of UTC of the wall clock the platform's times are written in (`--utc-offset`,
    /// default 0: UTC). Shifts only a start taken from the real time; a pinned start is read
    /// as written.
    pub utc_offset_s: i32,
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
    /// Deliveries (pushes and callbacks) queued at most; beyond, new ones are dropped.
    pub push_queue: usize,
    /// Bytes of queued delivery bodies at most; beyond, new deliveries are dropped.
    pub push_queue_bytes: usize,
    /// Entries the delivery journal (`/_sim/pushes`) keeps.
    pub push_journal: usize,
    /// Real seconds between two saves of the state file (0: only at shutdown).
    pub save_every_s: u64,
    /// Customer rentals per cabinet per hour at demand factor 1, overriding the fixtures.
    pub rent_rate: Option<f64>,
    /// Token every `/_sim` request must carry (`X-Sim-Token` or `Authorization: Bearer`);
    /// `None` leaves the control API open, as on a developer's loopback.
    pub control_token: Option<Secret>,
    /// Accounts of a synthetic fleet: `agent0001`.. with the name as password (with `fleet`);
    /// `None`: `demo` and `acme`.
    pub agents: Option<usize>,
    /// Keep only this shard's accounts (`--shard K/S`).
    pub shard: Option<Shard>,
    /// Every agent's event pushes (all nine events) go here, at start and after every reset;
    /// a path starting with `/` is on this simulator (see [`Config::with_own_address`]).
    pub push_url: Option<String>,
    /// Rent callback URL of simulated customers' orders, overriding the fixtures'
    /// `sim.customerCallbackUrl`; a path starting with `/` is on this simulator.
    pub customer_callback_url: Option<String>,
    /// Print the JSON Schema of fixture files and exit instead of starting.
    pub fixture_schema: bool,
    /// Live OAuth2 bearer tokens one account may hold; a login past it is refused (HTTP 429).
    pub max_tokens_per_account: usize,
    /// Virtual seconds a bearer token stays valid (0: forever).
    pub token_ttl_s: u64,
    /// Real milliseconds a request body may stall before the request is answered 408 and its
    /// connection closed.
    pub body_timeout_ms: u64,
    /// Largest snapshot `PUT /_sim/state` reads, MiB.
    pub state_max_mb: u64,
    /// Answer what production would answer where the simulator would only warn (contract
    /// warnings, `docs/request-journal.md`).
    pub strict: bool,
    /// Entries of the request journal (`/_sim/requests`); 0 turns it off.
    pub request_journal: usize,
    /// Record Prometheus metrics (`/_sim/metrics`); on by default.
    pub metrics: bool,
    /// Answer-time profiles per operation, `OP=PROFILE,...` (see `latency::parse_spec`).
    pub latency: Option<String>,
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

    /// The secret itself, to send it (`bajie-sim probe`); never log it.
    pub fn expose(&self) -> &str {
        &self.0
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

const ABOUT: &str = "A simulator of the Bajie Charging / ChargeNow open API (/cdb-open-api/v1)";

const AFTER_HELP: &str = "\
Every flag is also an environment variable BAJIE_SIM_<NAME> (BAJIE_SIM_SEED=7,
BAJIE_SIM_FROZEN=true); the command line wins. Boolean flags take =true or =false.

On start it prints one line to stdout, `bajie-sim listening on http://HOST:PORT`; logs go to
stderr (RUST_LOG=debug for more).

Accounts of the default world (HTTP Basic on /cdb-open-api/v1):
  demo/demo   Paris, EUR
  acme/acme   London, GBP

Dashboard: http://127.0.0.1:8080/_sim/ui (at the --bind address)

A typical integration-test target (free port, fixed ids, time moves only when told):
  bajie-sim --bind 127.0.0.1:0 --seed 42 --start '2026-03-02 09:00:00' --frozen --no-sim
A demo: bajie-sim --speed 60          A load test: bajie-sim --fleet 100000 --no-sim";

/// The command line: one field per flag, each with its environment variable, default,
/// validation and help text. Converted into a [`Config`].
#[derive(Debug, Parser)]
#[command(name = "bajie-sim", version, about = ABOUT, after_help = AFTER_HELP, args_override_self = true,
          allow_negative_numbers = true)]
pub struct Cli {
    /// Listen address HOST:PORT; port 0 picks a free port; a host name is resolved
    /// (localhost:8080 listens on 127.0.0.1:8080)
    #[arg(long, env = "BAJIE_SIM_BIND", value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    bind: SocketAddr,

    /// World file (JSON) instead of the embedded default world; a bad file is refused at start,
    /// naming the bad record
    #[arg(long, env = "BAJIE_SIM_FIXTURES", value_name = "PATH")]
    fixtures: Option<PathBuf>,

    /// Seed of every id and random choice [default: random, logged]
    #[arg(long, env = "BAJIE_SIM_SEED", value_name = "N")]
    seed: Option<u64>,

    /// Virtual seconds per real second
    #[arg(long, env = "BAJIE_SIM_SPEED", value_name = "X", default_value = "1", value_parser = parse_speed)]
    speed: f64,

    /// Virtual milliseconds of one simulation step: POST /_sim/tick?n=N moves the clock by N steps
    #[arg(long, env = "BAJIE_SIM_TICK_MS", value_name = "N", default_value = "1000",
          value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,

    /// No autonomous activity: the world changes only through requests
    #[arg(long, env = "BAJIE_SIM_NO_SIM", value_name = "BOOL", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    no_sim: bool,

    /// Start with the virtual clock frozen (it then moves only by POST /_sim/clock?advance=S)
    #[arg(long, env = "BAJIE_SIM_FROZEN", value_name = "BOOL", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    frozen: bool,

    /// Virtual start time, YYYY-MM-DD HH:mm:ss [default: the fixture file's start if it names
    /// one, else the real time now in whole seconds; the embedded default world names none].
    /// Pin it with --seed for runs that repeat byte for byte
    #[arg(long, env = "BAJIE_SIM_START", value_name = "TIME", value_parser = parse_start)]
    start: Option<String>,

    /// Zone of every time the platform writes (YYYY-MM-DD HH:mm:ss, push timestamps, trade
    /// numbers): +08:00, -05:30, Z, or local (this machine's offset). Only shifts a start taken
    /// from the real time; a --start is read as written
    #[arg(long, env = "BAJIE_SIM_UTC_OFFSET", value_name = "OFFSET", default_value = "+00:00",
          value_parser = parse_utc_offset, allow_hyphen_values = true)]
    utc_offset: i32,

    /// Restore the world from PATH at start (when the file exists), save it there periodically
    /// and on shutdown
    #[arg(long, env = "BAJIE_SIM_STATE_FILE", value_name = "PATH")]
    state_file: Option<PathBuf>,

    /// Real seconds between two saves of the state file (0: only on shutdown)
    #[arg(long, env = "BAJIE_SIM_SAVE_EVERY_S", value_name = "N", default_value = "60")]
    save_every_s: u64,

    /// Simulated rentals per cabinet per hour at demand factor 1, overriding the fixtures'
    /// sim.rentsPerCabinetHour [default: 0.5]
    #[arg(long, env = "BAJIE_SIM_RENT_RATE", value_name = "X", value_parser = parse_rent_rate)]
    rent_rate: Option<f64>,

    /// HTTP worker threads (0: one per CPU); on a machine shared with the load generator, fewer
    /// workers than CPUs can serve more
    #[arg(long, env = "BAJIE_SIM_WORKERS", value_name = "N", default_value = "0",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=256))]
    workers: usize,

    /// Generate a synthetic fleet of N cabinets instead of the fixtures
    #[arg(long, env = "BAJIE_SIM_FLEET", value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    fleet: Option<usize>,

    /// With --fleet: M accounts agent0001, agent0002, ... (password: the account name) share the
    /// fleet shop by shop [default: demo and acme]
    #[arg(long, env = "BAJIE_SIM_AGENTS", value_name = "M",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    agents: Option<usize>,

    /// Keep only shard K of S (K from 0, S up to 100): the accounts whose FNV-1a 64 hash of the
    /// name, modulo S, is K. Bearer tokens then start with sK- and trade numbers carry K; run S
    /// processes with the same other flags behind scripts/cluster.sh (docs/scale.md)
    #[arg(long, env = "BAJIE_SIM_SHARD", value_name = "K/S", value_parser = Shard::parse)]
    shard: Option<Shard>,

    /// Per-attempt timeout of pushes and callbacks, milliseconds
    #[arg(long, env = "BAJIE_SIM_PUSH_TIMEOUT_MS", value_name = "N", default_value = "5000",
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    push_timeout_ms: u64,

    /// Deliveries (pushes and callbacks) waiting or in flight at most; beyond, new ones are
    /// dropped and counted (pushDropped in /_sim/health). One receiving host may fill a fifth of
    /// it, all of it below 1000
    #[arg(long, env = "BAJIE_SIM_PUSH_QUEUE", value_name = "N", default_value = "100000",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 40))]
    push_queue: usize,

    /// Bytes of waiting delivery bodies at most (64 MiB by default)
    #[arg(long, env = "BAJIE_SIM_PUSH_QUEUE_BYTES", value_name = "N", default_value = "67108864",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 40))]
    push_queue_bytes: usize,

    /// Deliveries the journal (/_sim/pushes) keeps, the latest
    #[arg(long, env = "BAJIE_SIM_PUSH_JOURNAL", value_name = "N", default_value = "20000",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 40))]
    push_journal: usize,

    /// Comma-separated delays before each retry of a failed push or callback, real
    /// milliseconds, +-20 % jitter; empty for no retries (the default: five retries, capped
    /// exponential)
    // `::std::vec::Vec` rather than `Vec`: clap's derive would read a bare `Vec` as "the flag
    // repeats"; this is one value, a list parsed by `parse_retries`.
    #[arg(long, env = "BAJIE_SIM_PUSH_RETRIES_MS", value_name = "LIST", default_value = "1000,2000,4000,8000,16000",
          value_parser = parse_retries)]
    push_retries_ms: ::std::vec::Vec<u64>,

    /// Virtual seconds before a new order's battery is ejected when no ejectByRent names a slot
    /// first (0: inside the create request)
    #[arg(long, env = "BAJIE_SIM_EJECT_DELAY_S", value_name = "N", default_value = "1")]
    eject_delay_s: u64,

    /// Require TOKEN on every /_sim request, as the header X-Sim-Token or Authorization: Bearer
    /// TOKEN (the dashboard also takes ?token=) [default: none: the control API is open, bind to
    /// loopback]. Prefer the environment variable: a command line is visible to other users
    // The environment's value is never shown by --help.
    #[arg(long, env = "BAJIE_SIM_CONTROL_TOKEN", value_name = "TOKEN", hide_env_values = true,
          value_parser = parse_token)]
    control_token: Option<Secret>,

    /// Every agent's event pushes (all nine events) go to URL, at start and after every
    /// POST /_sim/reset; a path such as /_sim/ui/sink is this simulator's own built-in receiver
    /// [default: none, as E1 leaves it]
    #[arg(long, env = "BAJIE_SIM_PUSH_URL", value_name = "URL", value_parser = wiring_url)]
    push_url: Option<String>,

    /// Rent callback URL of simulated customers' orders, at start and after every reset
    /// (overrides the fixtures' sim.customerCallbackUrl); a path such as /_sim/ui/sink is this
    /// simulator's built-in receiver
    #[arg(long, env = "BAJIE_SIM_CUSTOMER_CALLBACK_URL", value_name = "URL", value_parser = wiring_url)]
    customer_callback_url: Option<String>,

    /// Print the JSON Schema of fixture files (--fixtures) and exit
    #[arg(long, env = "BAJIE_SIM_FIXTURE_SCHEMA", value_name = "BOOL", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    fixture_schema: bool,

    /// Live OAuth2 bearer tokens one account may hold; a login past it answers HTTP 429 (no
    /// live token is ever retired to make room)
    #[arg(long, env = "BAJIE_SIM_MAX_TOKENS_PER_ACCOUNT", value_name = "N", default_value = "10000",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    max_tokens_per_account: usize,

    /// Virtual seconds a bearer token stays valid (30 days: 72 real minutes at --speed 600);
    /// 0: tokens never expire
    #[arg(long, env = "BAJIE_SIM_TOKEN_TTL_S", value_name = "N", default_value = "2592000",
          value_parser = clap::value_parser!(u64).range(0..=3_153_600_000))]
    token_ttl_s: u64,

    /// A request body that stalls this many real milliseconds (no byte arrives) is answered
    /// HTTP 408 and its connection closed
    #[arg(long, env = "BAJIE_SIM_BODY_TIMEOUT_MS", value_name = "N", default_value = "5000",
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    body_timeout_ms: u64,

    /// Largest snapshot PUT /_sim/state reads, MiB (a 100,000-cabinet world is about 450 MiB);
    /// it is parsed as it streams in, so the limit bounds the upload, not memory held for it
    #[arg(long, env = "BAJIE_SIM_STATE_MAX_MB", value_name = "N", default_value = "4096",
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    state_max_mb: u64,
    /// Answer what production would answer instead of only warning where the simulator
    /// tolerates a request (X-Sim-Warnings; the answers are listed in docs/request-journal.md)
    #[arg(long, env = "BAJIE_SIM_STRICT", value_name = "BOOL", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_value = "false", default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    strict: bool,

    /// Platform requests kept in the request journal (/_sim/requests), newest first; 0 turns
    /// the journal off (load tests)
    #[arg(long, env = "BAJIE_SIM_REQUEST_JOURNAL", value_name = "N", default_value = "10000",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=1_000_000))]
    request_journal: usize,
    /// Record Prometheus metrics, served at GET /_sim/metrics (--metrics=false turns recording
    /// off; the scrape then answers code 9001)
    #[arg(long, env = "BAJIE_SIM_METRICS", value_name = "BOOL", action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    metrics: bool,

    /// Answer-time profiles per operation: comma-separated OP=PROFILE, OP an operation id
    /// (O1..O7, C1..C13, S1..S5, P1..P6, R1, E1, E2, A1) or * (every other operation), PROFILE
    /// none, fixed:MS or lognormal:MEDIAN_MS:P99_MS, e.g. O1=lognormal:80:400,*=fixed:20; they
    /// override a fixture's latency object and can be changed by POST /_sim/latency
    /// [default: none]
    #[arg(long, env = "BAJIE_SIM_LATENCY", value_name = "SPEC", value_parser = parse_latency)]
    latency: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// What to do instead of serving; the flags above still apply.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Ask the simulator at --bind (0.0.0.0 as 127.0.0.1; with --control-token if set) for
    /// GET /_sim/health; exit 0 when it answers up within 2 s, 1 otherwise. The container
    /// image's health check (it has no curl)
    Probe,
    /// Print the OpenAPI document of the platform and control APIs (what GET
    /// /_sim/openapi.json serves) and exit
    Openapi,
}

/// What the process was asked to do: serve with [`Invocation::config`], or run a
/// [`Command`] with it.
#[derive(Debug)]
pub struct Invocation {
    /// The configuration from the flags and the environment.
    pub config: Config,
    /// A subcommand, if one was given.
    pub command: Option<Command>,
}

impl Invocation {
    /// Parse this process's command line over its environment. On `--help` or `--version`
    /// prints and exits 0; on a bad flag or value prints what is wrong and exits 2.
    pub fn from_process() -> Self {
        let mut cli = Cli::parse();
        let command = cli.command.take();
        Invocation { config: cli.into(), command }
    }
}

impl From<Cli> for Config {
    fn from(c: Cli) -> Self {
        Config {
            bind: c.bind,
            fixtures: c.fixtures,
            seed: c.seed,
            speed: c.speed,
            tick_ms: c.tick_ms,
            no_sim: c.no_sim,
            frozen: c.frozen,
            start: c.start,
            utc_offset_s: c.utc_offset,
            state_file: c.state_file,
            fleet: c.fleet,
            push_timeout_ms: c.push_timeout_ms,
            push_retries_ms: c.push_retries_ms,
            eject_delay_s: c.eject_delay_s,
            workers: c.workers,
            push_queue: c.push_queue,
            push_queue_bytes: c.push_queue_bytes,
            push_journal: c.push_journal,
            save_every_s: c.save_every_s,
            rent_rate: c.rent_rate,
            control_token: c.control_token,
            agents: c.agents,
            shard: c.shard,
            push_url: c.push_url,
            customer_callback_url: c.customer_callback_url,
            fixture_schema: c.fixture_schema,
            max_tokens_per_account: c.max_tokens_per_account,
            token_ttl_s: c.token_ttl_s,
            body_timeout_ms: c.body_timeout_ms,
            state_max_mb: c.state_max_mb,
            strict: c.strict,
            request_journal: c.request_journal,
            metrics: c.metrics,
            latency: c.latency,
        }
    }
}

/// An address, or a host name resolved to one; IPv4 first, as `localhost` most often means
/// 127.0.0.1 to the clients that will connect.
fn parse_bind(v: &str) -> Result<SocketAddr, String> {
    let v = v.trim();
    if let Ok(addr) = v.parse() {
        return Ok(addr);
    }
    let bad = |why: String| format!("'{v}' is not an address like 127.0.0.1:8080 or localhost:8080 ({why})");
    let addrs: Vec<SocketAddr> = v.to_socket_addrs().map_err(|e| bad(e.to_string()))?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| bad("the name resolves to no address".into()))
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("'{v}' is not a valid number"))
}

fn parse_latency(v: &str) -> Result<String, String> {
    crate::latency::parse_spec(v)?;
    Ok(v.to_string())
}

fn parse_speed(v: &str) -> Result<f64, String> {
    let s: f64 = number(v)?;
    if !(s.is_finite() && s >= 0.0) {
        return Err(format!("'{v}' must be a non-negative number"));
    }
    Ok(s)
}

fn parse_rent_rate(v: &str) -> Result<f64, String> {
    let r: f64 = number(v)?;
    if !(r.is_finite() && (0.0..=1.0e6).contains(&r)) {
        return Err(format!("'{v}' must be a non-negative number up to 1000000"));
    }
    Ok(r)
}

fn parse_start(v: &str) -> Result<String, String> {
    let v = v.trim();
    if crate::clock::parse_datetime(v).is_none() {
        return Err(format!("'{v}' is not a time like 2026-03-02 09:00:00"));
    }
    Ok(v.to_string())
}

fn parse_utc_offset(v: &str) -> Result<i32, String> {
    crate::clock::parse_utc_offset(v)
        .ok_or_else(|| format!("'{v}' is not an offset like +08:00, -05:30, Z or local (at most 14 hours)"))
}

fn parse_retries(v: &str) -> Result<Vec<u64>, String> {
    let v = v.trim();
    let list: Vec<u64> = if v.is_empty() { Vec::new() } else { v.split(',').map(number).collect::<Result<_, _>>()? };
    if list.len() > 50 {
        return Err(format!("{} retries is more than 50", list.len()));
    }
    if let Some(d) = list.iter().find(|d| **d > 3_600_000) {
        return Err(format!("a delay of {d} ms is more than an hour"));
    }
    Ok(list)
}

/// A `--push-url` or `--customer-callback-url` value: an absolute http(s) URL, or a path on
/// this simulator.
fn wiring_url(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.starts_with('/') && !v.starts_with("//") {
        return Ok(v.to_string());
    }
    crate::model::push_config::check_url(v)
        .map_err(|why| format!("'{v}': {why} (or give a path such as /_sim/ui/sink)"))?;
    Ok(v.to_string())
}

fn parse_token(raw: &str) -> Result<Secret, String> {
    // Not trimmed: a token is compared byte for byte. Blank would protect nothing.
    if raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if raw.len() > 1024 || raw.chars().any(|c| c.is_control()) {
        return Err("must be at most 1024 characters without control characters".into());
    }
    Ok(Secret::new(raw))
}

/// The virtual start of [`Config::for_tests`], the examples and the docs: one fixed moment, so
/// ids, trade numbers and times repeat byte for byte (`--start` with `--seed`).
pub const TEST_START: &str = "2026-03-02 09:00:00";

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
            utc_offset_s: 0,
            state_file: None,
            fleet: None,
            push_timeout_ms: 5000,
            push_retries_ms: vec![1000, 2000, 4000, 8000, 16000],
            eject_delay_s: 1,
            workers: 0,
            push_queue: 100_000,
            push_queue_bytes: 64 << 20,
            push_journal: 20_000,
            save_every_s: 60,
            rent_rate: None,
            control_token: None,
            agents: None,
            shard: None,
            push_url: None,
            customer_callback_url: None,
            fixture_schema: false,
            max_tokens_per_account: crate::model::credentials::DEFAULT_MAX_TOKENS_PER_ACCOUNT,
            token_ttl_s: crate::model::credentials::DEFAULT_TOKEN_TTL_S,
            body_timeout_ms: DEFAULT_BODY_TIMEOUT_MS,
            state_max_mb: DEFAULT_STATE_MAX_MB,
            strict: false,
            request_journal: 10_000,
            metrics: true,
            latency: None,
        }
    }
}

impl Config {
    /// The bearer-token rules these flags ask for.
    pub fn token_policy(&self) -> crate::model::credentials::TokenPolicy {
        crate::model::credentials::TokenPolicy {
            max_per_account: self.max_tokens_per_account,
            ttl_ms: self.token_ttl_s as crate::clock::Millis * 1000,
        }
    }

    /// Parse `args` (the program name first) over the process's environment; `Err` also
    /// carries `--help` and `--version` (print it with `err.exit()` or `err.to_string()`).
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Cli::try_parse_from(args).map(Config::from)
    }

    /// The `--help` text: every flag, its environment variable and its default.
    pub fn help() -> String {
        Cli::command().render_long_help().to_string()
    }

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

    /// This configuration with the wiring URLs that are paths (`--push-url /_sim/ui/sink`)
    /// made absolute on `addr`, the address the simulator listens on: the demo's receiver is
    /// the simulator itself, whose port is only known once it is bound.
    pub fn with_own_address(mut self, addr: SocketAddr) -> Self {
        let host = match addr.ip() {
            // A wildcard bind is reachable on loopback; "0.0.0.0" is no address to call.
            ip if ip.is_unspecified() => SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()),
            _ => addr,
        };
        for url in [&mut self.push_url, &mut self.customer_callback_url].into_iter().flatten() {
            if url.starts_with('/') {
                *url = format!("http://{host}{url}");
            }
        }
        self
    }

    /// A configuration for tests: port 0, fixed seed and start (`2026-03-02 09:00:00`, UTC),
    /// frozen clock, no simulation, short push timeouts and retries.
    pub fn for_tests() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Some(42),
            start: Some(TEST_START.into()),
            no_sim: true,
            frozen: true,
            push_timeout_ms: 2000,
            push_retries_ms: vec![50, 100, 200],
            workers: 2,
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::FromArgMatches;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Parse `args` over the environment `env`, given as (`BAJIE_SIM_` name, value) pairs.
    /// Each call renames the command's variables to a prefix of its own
    /// (`BAJIE_SIM_T<n>_SEED`), so tests running in parallel, and the developer's own
    /// `BAJIE_SIM_*` variables, cannot leak into each other.
    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, clap::Error> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!("BAJIE_SIM_T{}_", NEXT.fetch_add(1, Ordering::Relaxed));
        let rename = |name: &str| name.replacen("BAJIE_SIM_", &prefix, 1);
        // Set first: clap reads a variable's value when the argument is declared.
        for (k, v) in env {
            std::env::set_var(rename(k), v);
        }
        let cmd = Cli::command().mut_args(|a| {
            let renamed = a.get_env().map(|e| &*Box::leak(rename(&e.to_string_lossy()).into_boxed_str()));
            a.env(renamed)
        });
        let parsed = cmd
            .try_get_matches_from(std::iter::once("bajie-sim").chain(args.iter().copied()))
            .and_then(|m| Cli::from_arg_matches(&m))
            .map(Config::from);
        for (k, _) in env {
            std::env::remove_var(rename(k));
        }
        parsed
    }

    fn run(args: &[&str]) -> Config {
        parse(args, &[]).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn refused(args: &[&str]) -> String {
        match parse(args, &[]) {
            Ok(c) => panic!("{args:?} was accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_load_test_limits_have_defaults_ranges_and_environment_variables() {
        let c = run(&[]);
        assert_eq!(
            (c.max_tokens_per_account, c.token_ttl_s, c.body_timeout_ms, c.state_max_mb),
            (10_000, 2_592_000, 5000, 4096)
        );
        let c = run(&[
            "--max-tokens-per-account",
            "50000",
            "--token-ttl-s=0",
            "--body-timeout-ms",
            "250",
            "--state-max-mb",
            "1",
        ]);
        assert_eq!((c.max_tokens_per_account, c.token_ttl_s, c.body_timeout_ms, c.state_max_mb), (50_000, 0, 250, 1));
        assert_eq!(c.token_policy().ttl_ms, 0);
        let c = parse(&[], &[("BAJIE_SIM_BODY_TIMEOUT_MS", "900"), ("BAJIE_SIM_STATE_MAX_MB", "8")]).unwrap();
        assert_eq!((c.body_timeout_ms, c.state_max_mb), (900, 8));
        for bad in [["--max-tokens-per-account", "0"], ["--body-timeout-ms", "0"], ["--state-max-mb", "0"]] {
            assert!(refused(&bad).contains(bad[0]), "{bad:?}");
        }
    }

    #[test]
    fn every_flag_reads_its_environment_variable_bajie_sim_name() {
        let cmd = Cli::command();
        let mut flags = 0;
        for a in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            let long = a.get_long().expect("every flag is a long flag");
            let expected = format!("BAJIE_SIM_{}", long.to_uppercase().replace('-', "_"));
            assert_eq!(a.get_env().map(|e| e.to_string_lossy().into_owned()), Some(expected), "--{long}");
            flags += 1;
        }
        assert!(flags >= 17, "{flags} flags");
    }

    #[test]
    fn strict_and_the_request_journal_have_flags_and_variables() {
        let c = run(&[]);
        assert!(!c.strict);
        assert_eq!(c.request_journal, 10_000);
        let c = run(&["--strict", "--request-journal", "0"]);
        assert!(c.strict);
        assert_eq!(c.request_journal, 0);
        assert!(!parse(&["--strict=false"], &[("BAJIE_SIM_STRICT", "true")]).unwrap().strict);
        let c = parse(&[], &[("BAJIE_SIM_STRICT", "1"), ("BAJIE_SIM_REQUEST_JOURNAL", "5")]).unwrap();
        assert!(c.strict && c.request_journal == 5);
        assert!(refused(&["--strict=maybe"]).contains("--strict"));
        assert!(refused(&["--request-journal", "x"]).contains("--request-journal"));
    }

    #[test]
    fn every_flag_and_subcommand_is_documented_in_docs_configuration() {
        let doc = include_str!("../docs/configuration.md");
        let cmd = Cli::command();
        for a in cmd.get_arguments().filter_map(|a| a.get_long()).filter(|l| !matches!(*l, "help" | "version")) {
            let env = format!("BAJIE_SIM_{}", a.to_uppercase().replace('-', "_"));
            assert!(doc.contains(&format!("| `--{a}")) && doc.contains(&format!("`{env}`")), "docs lack --{a}");
        }
        for sub in cmd.get_subcommands() {
            assert!(doc.contains(&format!("`bajie-sim {}`", sub.get_name())), "docs lack {}", sub.get_name());
        }
    }

    #[test]
    fn wiring_urls_are_absolute_or_paths_on_this_simulator() {
        let c = parse(&["--push-url", "/_sim/ui/sink"], &[("BAJIE_SIM_CUSTOMER_CALLBACK_URL", "/cb")]).unwrap();
        let c = c.with_own_address("0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.push_url.as_deref(), Some("http://127.0.0.1:8080/_sim/ui/sink"));
        assert_eq!(c.customer_callback_url.as_deref(), Some("http://127.0.0.1:8080/cb"));
        let c = run(&["--push-url=https://example.com/ev"]);
        assert_eq!(
            c.with_own_address("127.0.0.1:1".parse().unwrap()).push_url.as_deref(),
            Some("https://example.com/ev")
        );
        assert!(refused(&["--push-url", "ftp://x/y"]).contains("--push-url"));
        assert!(refused(&["--customer-callback-url", "//host/x"]).contains("--customer-callback-url"));
        assert!(run(&["--fixture-schema"]).fixture_schema);
        assert!(!run(&["--fixture-schema=false"]).fixture_schema);
        assert!(Config::help().contains("--push-url") && Config::help().contains("--fixture-schema"));
    }

    #[test]
    fn metrics_switch_off_and_latency_specs_are_checked() {
        assert!(run(&[]).metrics && run(&["--metrics"]).metrics);
        assert!(!run(&["--metrics=false"]).metrics);
        assert!(!parse(&[], &[("BAJIE_SIM_METRICS", "false")]).unwrap().metrics);
        assert_eq!(run(&["--latency", "O1=fixed:5"]).latency.as_deref(), Some("O1=fixed:5"));
        let err = refused(&["--latency", "O1=slow"]);
        assert!(err.contains("--latency") && err.contains("not none, fixed:MS"), "{err}");
    }

    #[test]
    fn no_flags_give_the_default_configuration() {
        assert_eq!(format!("{:?}", run(&[])), format!("{:?}", Config::default()));
    }

    #[test]
    fn flags_override_environment() {
        let c = parse(&["--seed", "9", "--no-sim"], &[("BAJIE_SIM_SEED", "3"), ("BAJIE_SIM_SPEED", "60")]).unwrap();
        assert_eq!(c.seed, Some(9));
        assert_eq!(c.speed, 60.0);
        assert!(c.no_sim);
    }

    #[test]
    fn a_later_flag_wins_over_an_earlier_one() {
        // scripts/demo.sh passes its own --speed first and the user's flags after it.
        assert_eq!(run(&["--speed", "60", "--speed", "600"]).speed, 600.0);
        assert!(!run(&["--frozen", "--frozen=false"]).frozen);
    }

    #[test]
    fn booleans_take_true_and_false_on_the_command_line() {
        // The hand-made parser froze the clock on `--frozen=false` and stopped the
        // simulation on `--no-sim=false`.
        let c = run(&["--frozen=false", "--no-sim=false"]);
        assert!(!c.frozen && !c.no_sim, "{c:?}");
        let c = run(&["--frozen=true", "--no-sim=true"]);
        assert!(c.frozen && c.no_sim, "{c:?}");
        let c = run(&["--frozen", "--no-sim", "--seed", "4"]);
        assert!(c.frozen && c.no_sim && c.seed == Some(4), "{c:?}");
        let c = run(&[]);
        assert!(!c.frozen && !c.no_sim, "{c:?}");
        // A bare switch does not swallow the next argument as its value.
        assert!(refused(&["--frozen", "false"]).contains("false"));
        assert!(refused(&["--frozen=maybe"]).contains("maybe"));
    }

    #[test]
    fn booleans_take_true_false_1_0_in_the_environment() {
        for (value, on) in [("true", true), ("1", true), ("yes", true), ("false", false), ("0", false), ("no", false)] {
            let c = parse(&[], &[("BAJIE_SIM_FROZEN", value), ("BAJIE_SIM_NO_SIM", value)]).unwrap();
            assert_eq!((c.frozen, c.no_sim), (on, on), "BAJIE_SIM_FROZEN={value}");
        }
        let c = parse(&["--frozen=false"], &[("BAJIE_SIM_FROZEN", "1")]).unwrap();
        assert!(!c.frozen);
        assert!(parse(&[], &[("BAJIE_SIM_FROZEN", "maybe")]).is_err());
    }

    #[test]
    fn a_flag_missing_its_value_is_named_not_read_as_the_next_flag() {
        // The hand-made parser read `--seed --bind 127.0.0.1:0` as seed "--bind".
        let err = refused(&["--seed", "--bind", "127.0.0.1:0"]);
        assert!(err.contains("--seed") && err.contains("value is required"), "{err}");
        assert!(!err.contains("not a valid number"), "{err}");
        let err = refused(&["--bind"]);
        assert!(err.contains("--bind"), "{err}");
    }

    #[test]
    fn bind_accepts_a_host_name() {
        let c = run(&["--bind", "localhost:8080"]);
        assert!(c.bind.ip().is_loopback() && c.bind.port() == 8080, "{:?}", c.bind);
        assert!(c.exposure_warning().is_none());
        assert_eq!(run(&["--bind=127.0.0.1:0"]).bind.port(), 0);
        assert!(refused(&["--bind", "8080"]).contains("not an address"));
    }

    #[test]
    fn version_and_help_are_answered() {
        let err = parse(&["--version"], &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DisplayVersion);
        assert!(err.to_string().contains(env!("CARGO_PKG_VERSION")));
        let err = parse(&["--help"], &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DisplayHelp);
        let help = Config::help();
        for needle in [
            "demo/demo",
            "acme/acme",
            "/_sim/ui",
            "bajie-sim --bind 127.0.0.1:0 --seed 42 --start '2026-03-02 09:00:00' --frozen --no-sim",
            "BAJIE_SIM_TICK_MS",
            "--control-token",
            "[default: 127.0.0.1:8080]",
        ] {
            assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for args in [
            &["--speed=fast"][..],
            &["--speed", "-1"],
            &["--seed", "-5"],
            &["--tick-ms", "0"],
            &["--fleet", "0"],
            &["--workers", "257"],
            &["--start", "tomorrow"],
            &["--rent-rate", "NaN"],
        ] {
            let err = refused(args);
            assert!(err.contains(args[0].split('=').next().unwrap()), "{args:?}: {err}");
        }
        assert!(refused(&["--nope"]).contains("unexpected argument"));
        assert!(refused(&["stray"]).contains("unrecognized subcommand"));
        assert!(parse(&["probe"], &[]).is_ok());
        let err = parse(&[], &[("BAJIE_SIM_SEED", "x")]).unwrap_err().to_string();
        assert!(err.contains("--seed"), "{err}");
    }

    #[test]
    fn binding_beyond_loopback_warns_and_names_the_token() {
        assert_eq!(Config::default().bind.to_string(), "127.0.0.1:8080");
        assert!(Config::default().exposure_warning().is_none());
        assert!(run(&["--bind", "[::1]:0"]).exposure_warning().is_none());
        let mut c = run(&["--bind", "0.0.0.0:8080"]);
        assert!(c.exposure_warning().unwrap().contains("--control-token"));
        c.control_token = Some(Secret::new("t"));
        assert!(c.exposure_warning().unwrap().contains("requires its token"));
    }

    #[test]
    fn the_control_token_comes_from_a_flag_or_the_environment_and_never_prints() {
        let c = parse(&[], &[("BAJIE_SIM_CONTROL_TOKEN", "s3cret")]).unwrap();
        let token = c.control_token.clone().unwrap();
        assert!(token.matches("s3cret") && !token.matches("s3cre") && !token.matches("s3cret "));
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let c = parse(&["--control-token=flag"], &[("BAJIE_SIM_CONTROL_TOKEN", "env")]).unwrap();
        assert!(c.control_token.unwrap().matches("flag"));
        assert!(refused(&["--control-token", " "]).contains("must not be empty"));
        assert!(Config::default().control_token.is_none());
        let arg = Cli::command();
        let arg = arg.get_arguments().find(|a| a.get_id() == "control_token").unwrap();
        assert!(arg.is_hide_env_values_set(), "--help must not print the environment's token");
    }

    #[test]
    fn agents_and_shard_are_flags_and_environment_variables() {
        let c = run(&["--fleet", "100", "--agents=12", "--shard", "2/3"]);
        assert_eq!((c.agents, c.shard), (Some(12), Some(Shard { index: 2, count: 3 })));
        let c = parse(&[], &[("BAJIE_SIM_AGENTS", "5"), ("BAJIE_SIM_SHARD", "0/2")]).unwrap();
        assert_eq!((c.agents, c.shard), (Some(5), Some(Shard { index: 0, count: 2 })));
        assert!(refused(&["--shard", "3/3"]).contains("--shard"));
        assert!(refused(&["--agents", "0"]).contains("--agents"));
        let help = Config::help();
        assert!(help.contains("--agents") && help.contains("--shard"), "{help}");
    }

    #[test]
    fn the_start_is_unpinned_by_default_and_the_offset_comes_from_a_flag_or_the_environment() {
        assert_eq!(Config::default().start, None);
        assert_eq!(Config::default().utc_offset_s, 0);
        assert_eq!(Config::for_tests().start.as_deref(), Some(TEST_START));
        assert_eq!(run(&["--utc-offset", "+08:00"]).utc_offset_s, 8 * 3600);
        assert_eq!(run(&["--utc-offset", "-05:30"]).utc_offset_s, -(5 * 3600 + 1800));
        assert_eq!(run(&["--utc-offset=Z"]).utc_offset_s, 0);
        let c = parse(&[], &[("BAJIE_SIM_UTC_OFFSET", "-05:30")]).unwrap();
        assert_eq!(c.utc_offset_s, -(5 * 3600 + 1800));
        assert!(refused(&["--utc-offset=Mars"]).contains("--utc-offset"));
        assert!(Config::help().contains("--utc-offset"));
    }

    #[test]
    fn the_retry_schedule_is_a_bounded_list_of_delays() {
        assert_eq!(run(&["--push-retries-ms", "10, 20,40"]).push_retries_ms, vec![10, 20, 40]);
        assert!(run(&["--push-retries-ms="]).push_retries_ms.is_empty());
        assert_eq!(Config::default().push_retries_ms, vec![1000, 2000, 4000, 8000, 16000]);
        assert!(refused(&["--push-retries-ms", "1,x"]).contains("--push-retries-ms"));
        assert!(refused(&["--push-retries-ms", "7200000"]).contains("more than an hour"));
        assert!(parse(&["--push-timeout-ms", "0"], &[]).is_err());
    }
}
