//! The platform's response envelope, built in one place for every answer, errors included.
//!
//! Success: HTTP 200 `{"msg":"Successful operation","code":0,"data":...}`. Business errors:
//! HTTP 200 with a non-zero `code` and no `data` key. Credentials: HTTP 401. Unknown routes:
//! HTTP 404. All in the same shape, always `application/json`.
//!
//! A few operations answer in an odd shape that strict clients depend on; each is a named
//! variant of [`Envelope`] rather than a hand-built tree in its handler.

use crate::error::Error;
use crate::model::Money;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Serialize, Serializer};

/// The success `msg` seen in production.
pub const OK_MSG: &str = "Successful operation";

/// Every shape of answer, in production's key order (serialised as the variant's fields).
#[derive(Serialize)]
#[serde(untagged)]
pub enum Envelope<'a, T: Serialize> {
    /// `{"msg","code","data"}`: almost every success, and a control-API failure that carries
    /// what it found (a wait that timed out, the check's violations).
    Data {
        /// `Successful operation`, or the failure's message.
        msg: &'a str,
        /// `0`, or the failure's code.
        code: i64,
        /// The payload.
        data: T,
    },
    /// `{"msg","code":"0","data"}`: the successes of S1 and C4, whose `code` is a string.
    StringCode {
        /// `Successful operation`.
        msg: &'a str,
        /// Always `"0"`.
        code: &'static str,
        /// The payload.
        data: T,
    },
    /// `{"msg","code","list"}`: O6, whose array is top-level.
    List {
        /// `Successful operation`.
        msg: &'a str,
        /// Always `0`.
        code: i64,
        /// The items.
        list: T,
    },
    /// `{"msg","code","page"}`: R1, whose page object is top-level.
    Page {
        /// `Successful operation`.
        msg: &'a str,
        /// Always `0`.
        code: i64,
        /// The page.
        page: T,
    },
    /// `{"code","msg","data"}`: E2, documented code first.
    CodeFirst {
        /// Always `0`.
        code: i64,
        /// `Successful operation`.
        msg: &'a str,
        /// The payload.
        data: T,
    },
}

/// `{"msg","code"}`: a success without payload, or a business error.
#[derive(Serialize)]
struct Bare<'a> {
    msg: &'a str,
    code: i64,
}

impl<T: Serialize> Envelope<'static, T> {
    /// `{"msg":"Successful operation","code":0,"data":data}`.
    pub fn ok(data: T) -> Self {
        Envelope::Data { msg: OK_MSG, code: 0, data }
    }
    /// The string-code success (S1, C4).
    pub fn ok_string_code(data: T) -> Self {
        Envelope::StringCode { msg: OK_MSG, code: "0", data }
    }
    /// The top-level `list` success (O6).
    pub fn ok_list(list: T) -> Self {
        Envelope::List { msg: OK_MSG, code: 0, list }
    }
    /// The top-level `page` success (R1).
    pub fn ok_page(page: T) -> Self {
        Envelope::Page { msg: OK_MSG, code: 0, page }
    }
    /// The code-first success (E2).
    pub fn ok_code_first(data: T) -> Self {
        Envelope::CodeFirst { code: 0, msg: OK_MSG, data }
    }
}

impl<'a, T: Serialize> Envelope<'a, T> {
    /// A failure that carries data (control API: a wait that timed out, check violations).
    pub fn failure(code: i64, msg: &'a str, data: T) -> Self {
        Envelope::Data { msg, code, data }
    }
    /// As a 200 JSON response.
    pub fn respond(&self) -> HttpResponse {
        json(self)
    }
    /// As bytes (for building inside a read lock from borrowed rows).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        to_bytes(self)
    }
}

/// Serialise into a buffer sized for a typical answer (an O1 body is about 1.2 KB), so the
/// hot paths do not grow it through seven reallocations.
fn to_vec_sized<T: Serialize + ?Sized>(body: &T) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(2048);
    serde_json::to_writer(&mut buf, body)?;
    Ok(buf)
}

/// A JSON response with status 200. A large body (a state export, C4 over a large fleet) is
/// handed to the connection in pieces: actix copies each chunk it is given into the
/// connection's write buffer at once, and copying hundreds of megabytes in one go stalled
/// the HTTP worker, and every request it serves, for most of a second. The length is still
/// announced (`Content-Length`), so clients see the same response.
pub fn json_bytes(bytes: impl Into<actix_web::web::Bytes>) -> HttpResponse {
    let bytes: actix_web::web::Bytes = bytes.into();
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
    if bytes.len() <= PIECE_BYTES {
        return answer.body(bytes);
    }
    let size = bytes.len() as u64;
    answer.body(actix_web::body::SizedStream::new(size, Pieces { rest: bytes }))
}

/// Bytes of one piece of a large answer body ([`json_bytes`]).
const PIECE_BYTES: usize = 256 * 1024;

/// A body as a stream of pieces of at most [`PIECE_BYTES`], each a view of the one buffer
/// (no copy).
struct Pieces {
    rest: actix_web::web::Bytes,
}

impl futures_core::Stream for Pieces {
    type Item = Result<actix_web::web::Bytes, actix_web::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.rest.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.rest.len().min(PIECE_BYTES);
        std::task::Poll::Ready(Some(Ok(self.rest.split_to(n))))
    }
}

/// Serialise any body as a 200 JSON response.
pub fn json<T: Serialize>(body: &T) -> HttpResponse {
    match to_vec_sized(body) {
        Ok(b) => json_bytes(b),
        Err(e) => Error::Internal(format!("serialising a response: {e}")).error_response(),
    }
}

/// Success with `data`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    json(&Envelope::ok(data))
}

/// Success with `data`, serialised to bytes (for building inside a read lock).
pub fn ok_bytes<T: Serialize>(data: T) -> Result<Vec<u8>, Error> {
    to_vec_sized(&Envelope::ok(data)).map_err(|e| Error::Internal(e.to_string()))
}

/// Any body serialised to bytes (for building inside a read lock).
pub fn to_bytes<T: Serialize>(body: &T) -> Result<Vec<u8>, Error> {
    to_vec_sized(body).map_err(|e| Error::Internal(format!("serialising a response: {e}")))
}

/// Success without payload.
pub fn ok_empty() -> HttpResponse {
    json(&Bare { msg: OK_MSG, code: 0 })
}

/// The error envelope of `e`, with its status.
pub fn error_body(e: &Error) -> Vec<u8> {
    serde_json::to_vec(&Bare { msg: e.message(), code: e.code() }).expect("a string and a number serialise")
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Business { .. } => StatusCode::OK,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Http { status, .. } => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Error::Internal(detail) => {
                // Logged, not echoed: the client gets a generic message.
                log::error!("internal error: {detail}");
                error_body(&Error::Internal("Internal error of the simulator.".into()))
            }
            e => error_body(e),
        };
        let mut r = HttpResponse::build(self.status_code());
        r.extensions_mut().insert(crate::metrics::AnswerCode(self.code()));
        r.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
        if matches!(self, Error::Unauthorized(_)) {
            r.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"bajie-sim\"")));
        }
        r.body(body)
    }
}

/// Money as a JSON number: whole amounts as integers (`30`, never `30.0`), others as decimals.
#[derive(Debug, Clone, Copy)]
pub struct Amount(pub Money);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_whole() {
            s.serialize_i64(self.0 .0 / 100)
        } else {
            s.serialize_f64(self.0.major())
        }
    }
}

impl schemars::JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "description": "Money in major units: an integer when whole (30), a decimal otherwise (1.5)."
        })
    }
}

/// Serialise a number as the platform's text (`"12"`), for views that keep the number.
pub fn number_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Serialise a coordinate as [`coord`]'s text, `""` when absent, for views that keep the
/// number.
pub fn coord_or_empty<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.map(coord).unwrap_or_default())
}

/// A coordinate as the platform's string (`"48.860611"`): the text `f64`'s `Display` writes.
pub fn coord(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_coord(&mut out, v);
    String::from_utf8(out).expect("a float's decimal text is ASCII")
}

/// [`coord`]'s text appended to `out`, without an allocation where ryu writes it, and from
/// this thread's [`CoordMemo`] where the same coordinate was written lately.
pub fn write_coord(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        return write_coord_afresh(out, v);
    }
    COORDS.with_borrow_mut(|memo| {
        if let Some(text) = memo.get(v) {
            out.extend_from_slice(text);
            return;
        }
        let start = out.len();
        write_coord_afresh(out, v);
        memo.put(v, &out[start..]);
    })
}

/// [`write_coord`] without the memo.
fn write_coord_afresh(out: &mut Vec<u8>, v: f64) {
    let mut buf = ryu::Buffer::new();
    match coord_text(&mut buf, v) {
        Some(text) => out.extend_from_slice(text.as_bytes()),
        None => {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{v}");
        }
    }
}

thread_local! {
    static COORDS: std::cell::RefCell<CoordMemo> = const { std::cell::RefCell::new(CoordMemo::EMPTY) };
}

/// The texts of the coordinates this thread wrote last: 256 sets of two, found by a hash of
/// the number's bits. A coordinate's text is a function of the number alone, so a memo can
/// never answer for a world that changed, only for another number, which the full bits
/// rule out. Lists repeat their coordinates: a dashboard polls the same C7 page, whose twenty
/// rows write two each (ryu and the checks around it were a tenth of the page), and O6 the
/// same map tiles. Fresh reads spread over a fleet mostly miss and pay a look-up.
struct CoordMemo {
    /// The number's bits (a NaN's when empty: only finite numbers are kept) and its text, the
    /// text's length in the last byte.
    slots: [(u64, [u8; COORD_TEXT]); 512],
}

/// Bytes of a kept text and its length; longer texts (none a coordinate writes) are not kept.
const COORD_TEXT: usize = 24;

impl CoordMemo {
    const EMPTY: CoordMemo = CoordMemo { slots: [(u64::MAX, [0; COORD_TEXT]); 512] };

    /// The first slot of `v`'s set.
    fn set(v: f64) -> usize {
        ((v.to_bits().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize) * 2
    }

    fn get(&self, v: f64) -> Option<&[u8]> {
        let at = Self::set(v);
        let bits = v.to_bits();
        self.slots[at..at + 2]
            .iter()
            .find(|(b, _)| *b == bits)
            .map(|(_, text)| &text[..usize::from(text[COORD_TEXT - 1])])
    }

    /// Keep `text` for `v` in the first slot of its set; the one there moves to the second.
    fn put(&mut self, v: f64, text: &[u8]) {
        if text.len() >= COORD_TEXT {
            return;
        }
        let at = Self::set(v);
        self.slots[at + 1] = self.slots[at];
        let mut kept = [0; COORD_TEXT];
        kept[..text.len()].copy_from_slice(text);
        kept[COORD_TEXT - 1] = text.len() as u8;
        self.slots[at] = (v.to_bits(), kept);
    }
}

/// [`coord`]'s text without an allocation, or `None` where it must come from `Display`.
/// `Display` and ryu both write the shortest digits that read back as the same number, and
/// ryu is several times faster (`Display`'s float formatting was a tenth of a C7 page's cost,
/// two coordinates a row). They differ in three places, each sent to `Display`: whole numbers
/// (ryu adds `.0`, stripped here), magnitudes where ryu switches to an exponent, and ties,
/// where the number lies exactly halfway between two shortest texts (`Display` rounds the
/// half up, ryu to even). A tie needs the number's exact decimal expansion to end one digit
/// after the shortest text's last one; a float with `k` binary fraction digits has exactly
/// `k` decimal ones, so that is checked from its bits.
pub fn coord_text(buf: &mut ryu::Buffer, v: f64) -> Option<&str> {
    let a = v.abs();
    if !v.is_finite() || (a != 0.0 && a < 1e-4) || a >= 1e13 {
        return None;
    }
    let text = buf.format_finite(v);
    let text = text.strip_suffix(".0").unwrap_or(text);
    let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
    if text.contains('e') || fraction_bits(v) == decimals + 1 {
        return None;
    }
    Some(text)
}

/// How many binary digits `v` has after the point (0 for whole numbers).
fn fraction_bits(v: f64) -> usize {
    if v == 0.0 {
        return 0;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
    (-(exponent + i64::from(mantissa.trailing_zeros()))).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coordinate_reads_as_display_writes_it() {
        let mut samples =
            vec![0.0, -0.0, 1.0, -1.0, 180.0, -180.0, 90.0, 1e-4, -1e-4, 9.99e-5, 1e-7, 1e15, 1e16, 0.1, 0.3];
        samples.extend([48.860611, -2.3522219, 2.2750444607082394, 48.855823561779054, 1e14 + 0.5]);
        // Ties between two shortest texts (Display rounds the half up, ryu to even).
        samples.extend([1.0 + 2f64.powi(-17), 4.0887857548312813e12, 9.612558037550293e14, 0.125, 0.375]);
        for k in 1..60 {
            samples.push(1.0 + 2f64.powi(-k));
            samples.push(179.0 + 3.0 * 2f64.powi(-k));
        }
        // A deterministic spread over every magnitude a coordinate (and more) can have.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            samples.push((unit - 0.5) * 360.0);
            samples.push(unit * 10f64.powi((x % 24) as i32 - 8));
            samples.push(f64::from_bits(x));
        }
        for v in samples {
            if v.is_finite() {
                assert_eq!(coord(v), format!("{v}"), "{v:e}");
            }
        }
    }

    #[test]
    fn remembered_coordinates_are_written_as_each_alone() {
        // A pool larger than the memo (sets collide and evict), drawn near and far: a memo that
        // answered for another number, or cut a text, fails here.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut pool = vec![-0.00012345678901234567, 1e15, 1e12 + 0.5, -179.99999999999997, 0.0, -0.0];
        pool.extend([1.0 + 2f64.powi(-17), 4.0887857548312813e12, f64::NAN, f64::INFINITY]);
        while pool.len() < 3_000 {
            let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
            pool.push((unit - 0.5) * 360.0);
        }
        for i in 0..60_000 {
            let r = next() as usize;
            let v = if i % 3 == 0 { pool[r % pool.len()] } else { pool[(i / 40 + r % 40) % pool.len()] };
            let mut out = b"[".to_vec();
            write_coord(&mut out, v);
            let want = if v.is_finite() { format!("[{v}") } else { "[".to_string() + &coord_text_or_display(v) };
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v:e}");
        }
    }

    /// What a non-finite number writes (no memo takes part).
    fn coord_text_or_display(v: f64) -> String {
        let mut out = Vec::new();
        write_coord_afresh(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn amounts_are_integers_when_whole() {
        assert_eq!(serde_json::to_string(&Amount(Money(3000))).unwrap(), "30");
        assert_eq!(serde_json::to_string(&Amount(Money(150))).unwrap(), "1.5");
        assert_eq!(error_body(&Error::device_offline()), br#"{"msg":"Device not online.","code":2004}"#);
    }
}
