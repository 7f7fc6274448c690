//! The one error type of the simulator and the wording of every message it can carry.
//!
//! Every failure a request can meet ends here: the api layer turns an [`Error`] into the
//! platform's envelope in exactly one place (`api::envelope`). Messages are written once, as
//! small named constructors, so the same failure always reads the same way; the two messages
//! clients compare verbatim (`2004`, `2002`) are the production strings.

use std::fmt;

/// Any failure of a platform or control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Missing or wrong credentials: HTTP 401 with the envelope.
    Unauthorized(String),
    /// No such route: HTTP 404 with the envelope.
    NotFound(String),
    /// A business error: HTTP 200, a non-zero `code`, no `data` key.
    Business { code: i64, msg: String },
    /// The simulator itself failed; logged, never echoed in detail.
    Internal(String),
    /// Refused at the HTTP level before any handler ran (body or URL over the size limits, a
    /// malformed request): that HTTP status, and the same number as `code`, in the envelope.
    Http { status: u16, msg: String },
}

/// Business error codes used by the simulator. The two production codes are 2002 and 2004;
/// the others are the simulator's own and are listed in docs/errors.md.
pub mod code {
    /// A required parameter is missing, malformed or out of range.
    pub const BAD_PARAM: i64 = 1001;
    /// The request body is not valid JSON or has the wrong shape.
    pub const BAD_BODY: i64 = 1002;
    /// Device id unknown to this account (production wording).
    pub const UNBOUND_DEVICE: i64 = 2002;
    /// Device offline (production wording).
    pub const DEVICE_OFFLINE: i64 = 2004;
    /// No such order for this account.
    pub const ORDER_NOT_FOUND: i64 = 2006;
    /// The order is not in a state that allows the operation.
    pub const ORDER_STATE: i64 = 2007;
    /// The slot does not exist, is empty, faulty or locked.
    pub const SLOT_UNAVAILABLE: i64 = 2008;
    /// The cabinet has no free slot for a return.
    pub const CABINET_FULL: i64 = 2009;
    /// The battery is unknown or not where the request expects it.
    pub const BATTERY_STATE: i64 = 2010;
    /// No such shop for this account.
    pub const SHOP_NOT_FOUND: i64 = 3001;
    /// A shop with this id already exists.
    pub const SHOP_EXISTS: i64 = 3002;
    /// The shop still has cabinets bound to it.
    pub const SHOP_IN_USE: i64 = 3003;
    /// No such price strategy for this account.
    pub const PRICE_NOT_FOUND: i64 = 3101;
    /// The price strategy is still bound to a shop.
    pub const PRICE_IN_USE: i64 = 3102;
    /// A fault-injection rule asked for this error.
    pub const INJECTED: i64 = 5000;
    /// A control-API request that cannot be honoured.
    pub const CONTROL: i64 = 9001;
}

impl Error {
    /// A business error with an explicit code.
    pub fn business(code: i64, msg: impl Into<String>) -> Self {
        Error::Business { code, msg: msg.into() }
    }
    /// A required parameter is absent.
    pub fn missing_param(name: &str) -> Self {
        Self::business(code::BAD_PARAM, format!("Required parameter '{name}' is missing."))
    }
    /// A parameter is present but unusable.
    pub fn bad_param(name: &str, why: impl fmt::Display) -> Self {
        Self::business(code::BAD_PARAM, format!("Parameter '{name}' is invalid: {why}."))
    }
    /// The body is not what the endpoint takes.
    pub fn bad_body(why: impl fmt::Display) -> Self {
        Self::business(code::BAD_BODY, format!("Request body is invalid: {why}."))
    }
    /// `2002 QR code unbound device.`: the device is not one of this account's cabinets.
    pub fn unbound_device() -> Self {
        Self::business(code::UNBOUND_DEVICE, "QR code unbound device.")
    }
    /// `2004 Device not online.`
    pub fn device_offline() -> Self {
        Self::business(code::DEVICE_OFFLINE, "Device not online.")
    }
    /// The order id is unknown to this account.
    pub fn order_not_found(trade_no: &str) -> Self {
        Self::business(code::ORDER_NOT_FOUND, format!("Order {trade_no} does not exist."))
    }
    /// The order cannot do that now.
    pub fn order_state(msg: impl Into<String>) -> Self {
        Self::business(code::ORDER_STATE, msg)
    }
    /// The slot cannot do that now.
    pub fn slot_unavailable(msg: impl Into<String>) -> Self {
        Self::business(code::SLOT_UNAVAILABLE, msg)
    }
    /// The shop id is unknown to this account.
    pub fn shop_not_found(id: &str) -> Self {
        Self::business(code::SHOP_NOT_FOUND, format!("Shop {id} does not exist."))
    }
    /// The price strategy is unknown to this account.
    pub fn price_not_found(id: impl fmt::Display) -> Self {
        Self::business(code::PRICE_NOT_FOUND, format!("Price strategy {id} does not exist."))
    }
    /// A shop id that is already taken.
    pub fn shop_exists(id: &str) -> Self {
        Self::business(code::SHOP_EXISTS, format!("Shop {id} already exists."))
    }
    /// The shop still has cabinets bound to it.
    pub fn shop_in_use(msg: impl Into<String>) -> Self {
        Self::business(code::SHOP_IN_USE, msg)
    }
    /// The price strategy is still bound to a shop.
    pub fn price_in_use(msg: impl Into<String>) -> Self {
        Self::business(code::PRICE_IN_USE, msg)
    }
    /// A control request that cannot be honoured.
    pub fn control(msg: impl Into<String>) -> Self {
        Self::business(code::CONTROL, msg)
    }
    /// The body is larger than the simulator reads (HTTP 413).
    pub fn payload_too_large(limit: usize) -> Self {
        Error::Http { status: 413, msg: format!("Request body is larger than {} KiB.", limit / 1024) }
    }
    /// The URL (path and query string) is longer than the simulator reads (HTTP 414).
    pub fn uri_too_long(len: usize, limit: usize) -> Self {
        Error::Http {
            status: 414,
            msg: format!("Request URL is {len} bytes long; at most {} KiB are accepted.", limit / 1024),
        }
    }
    /// An OAuth2 login for an account that already holds `live` unexpired tokens, the cap
    /// (HTTP 429): no live token is ever retired to make room.
    pub fn token_cap(account: &str, live: usize) -> Self {
        Error::Http {
            status: 429,
            msg: format!(
                "Account {account} already has {live} live bearer tokens, the limit (--max-tokens-per-account); \
                 reuse a token, wait for one to expire (--token-ttl-s) or raise the limit."
            ),
        }
    }
    /// A snapshot upload larger than `--state-max-mb` (HTTP 413).
    pub fn state_too_large(mb: u64) -> Self {
        Error::Http {
            status: 413,
            msg: format!("Snapshot is larger than {mb} MiB, the limit of PUT /_sim/state (--state-max-mb)."),
        }
    }
    /// A request body stalled for `ms` milliseconds (HTTP 408; the connection is closed).
    pub fn body_timeout(ms: u64) -> Self {
        Error::Http {
            status: 408,
            msg: format!(
                "Request body did not arrive: nothing came for {ms} ms (--body-timeout-ms); the connection is closed."
            ),
        }
    }
    /// The control API's token is missing or wrong (HTTP 401).
    pub fn control_token() -> Self {
        Error::Unauthorized(
            "The control API needs its token: send the header X-Sim-Token or Authorization: Bearer <token>.".into(),
        )
    }
    /// The `code` this error carries in the envelope.
    pub fn code(&self) -> i64 {
        match self {
            Error::Unauthorized(_) => 401,
            Error::NotFound(_) => 404,
            Error::Business { code, .. } => *code,
            Error::Internal(_) => 500,
            Error::Http { status, .. } => i64::from(*status),
        }
    }
    /// The `msg` this error carries in the envelope.
    pub fn message(&self) -> &str {
        match self {
            Error::Unauthorized(m) | Error::NotFound(m) | Error::Internal(m) => m,
            Error::Business { msg, .. } | Error::Http { msg, .. } => msg,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

/// Result with the simulator's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorten an echoed value so a huge parameter does not make a huge error message.
pub fn clip(v: &str) -> String {
    if v.chars().count() > 40 {
        format!("{}…", v.chars().take(40).collect::<String>())
    } else {
        v.to_string()
    }
}
