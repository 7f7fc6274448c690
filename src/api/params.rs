//! Request parameters, read like a Spring `@RequestParam`: from the query string, from an
//! `application/x-www-form-urlencoded` body, or (control API) from a flat JSON object body.
//! The first occurrence of a name wins; unknown names are ignored, as production does.

use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use compact_str::CompactString;
use std::future::Future;
use std::pin::Pin;

/// One name and value. Names and most values are short (`deviceId=BAA00000`): compact strings
/// keep up to 24 bytes inline, so reading a typical query costs one allocation, not one per
/// name and value.
pub type Pair = (CompactString, CompactString);

/// The pairs of URL-encoded text (a query string, a form body), in order: `+` is a space,
/// percent escapes decoded, bytes that are not UTF-8 replaced. What `serde_urlencoded` reads
/// into pairs (tests compare the two), without its deserializer around each name and value:
/// every platform request reads its query this way, twice (the journal's contract check and
/// the handler's parameters).
///
/// Text without `%` or `+` (nearly every query a client sends) decodes to itself: it is split
/// where `form_urlencoded` splits it, without its decoding of each piece (a C7 query's two
/// pairs cost 1,500 instructions that way).
pub fn decode_pairs(text: &str) -> Vec<Pair> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return text
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
                (CompactString::from(k), CompactString::from(v))
            })
            .collect();
    }
    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (CompactString::from(k), CompactString::from(v))).collect()
}

/// The query string's pairs of a request that announces no body, decoded by an earlier step of
/// the pipeline (the journal's contract check, which reads them anyway) and left in the
/// request's extensions for the handler's extractor: a GET's query is then decoded once per
/// request, not twice. Only what [`Params::parse`] would read from such a request (its query
/// string, no body) may be put here.
pub struct DecodedQuery(pub Vec<Pair>);

/// The parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<Pair>,
}

/// Largest body a parameter-style request may carry.
pub const MAX_PARAM_BODY: usize = 256 * 1024;

impl Params {
    /// Parse the query string and body of a request.
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, Error> {
        let mut pairs = decode_pairs(req.query_string());
        let ctype = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let text = std::str::from_utf8(body).map_err(|_| Error::bad_body("it is not UTF-8"))?;
        let trimmed = text.trim();
        if ctype.starts_with("application/json") || (ctype.is_empty() && trimmed.starts_with('{')) {
            if !trimmed.is_empty() {
                let v: serde_json::Value =
                    serde_json::from_str(trimmed).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))?;
                let serde_json::Value::Object(m) = v else {
                    return Err(Error::bad_body("expected a JSON object"));
                };
                for (k, v) in m {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    pairs.push((k.into(), s.into()));
                }
            }
        } else if !trimmed.is_empty()
            && (ctype.is_empty()
                || ctype.starts_with("application/x-www-form-urlencoded")
                || ctype.starts_with("text/plain"))
        {
            pairs.extend(decode_pairs(trimmed));
        }
        Ok(Params { pairs })
    }

    /// Every name/value pair, in the order sent.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of any of `names` (tolerated spelling variants).
    pub fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// A required, non-blank value.
    pub fn required(&self, name: &str) -> Result<&str, Error> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| Error::missing_param(name))
    }

    /// An optional integer; blank counts as absent.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| Error::bad_param(name, format!("'{}' is not an integer", clip(v))))
            }
        }
    }

    /// An optional integer within `lo..=hi`.
    pub fn int_in(&self, name: &str, lo: i64, hi: i64) -> Result<Option<i64>, Error> {
        match self.int(name)? {
            Some(v) if v < lo || v > hi => Err(Error::bad_param(name, format!("{v} is outside {lo}..{hi}"))),
            v => Ok(v),
        }
    }

    /// An optional number.
    pub fn float(&self, name: &str) -> Result<Option<f64>, Error> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(Error::bad_param(name, format!("'{}' is not a number", clip(v)))),
            },
        }
    }

    /// An optional boolean (`true`/`false`/`1`/`0`).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(Error::bad_param(name, format!("'{}' is not true or false", clip(&v)))),
            },
        }
    }
}

pub use crate::error::clip;

/// A body that could not be read: over the limit is HTTP 413, anything else (a broken
/// compressed stream, a client that hung up) a business error naming the cause.
pub fn read_error(e: &actix_web::Error) -> Error {
    if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::payload_too_large(MAX_PARAM_BODY)
    } else {
        Error::bad_body(format!("it could not be read ({e})"))
    }
}

impl FromRequest for Params {
    type Error = Error;
    type Future = Binding<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Most platform requests (O1 above all) are a GET with no body: read the query at
        // once, without the boxed wait for a body that is not coming.
        if !announces_body(req.headers()) {
            if let Some(DecodedQuery(pairs)) = req.extensions_mut().remove::<DecodedQuery>() {
                return Binding::Ready(Some(Ok(Params { pairs })));
            }
            return Binding::Ready(Some(Params::parse(req, b"")));
        }
        let req = req.clone();
        let body = Bytes::from_request(&req, payload);
        Binding::Waiting(Box::pin(async move {
            let body = body.await.map_err(|e| read_error(&e))?;
            if body.len() > MAX_PARAM_BODY {
                return Err(Error::payload_too_large(MAX_PARAM_BODY));
            }
            Params::parse(&req, &body)
        }))
    }
}

/// Whether a request's headers announce a body: a non-zero `Content-Length`, or any
/// `Transfer-Encoding` (chunked). Without either, HTTP/1.1 gives it none. The one rule for the
/// extractors and the request journal.
pub fn announces_body(headers: &actix_web::http::header::HeaderMap) -> bool {
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    if headers.contains_key(TRANSFER_ENCODING) {
        return true;
    }
    match headers.get(CONTENT_LENGTH) {
        None => false,
        // An unreadable length goes the long way, where the body reader judges it.
        Some(v) => v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0),
    }
}

/// The future of an extractor that is often ready at once: [`Ready`](Binding::Ready) costs no
/// allocation; [`Waiting`](Binding::Waiting) waits for the body.
pub enum Binding<T> {
    Ready(Option<Result<T, Error>>),
    Waiting(Pin<Box<dyn Future<Output = Result<T, Error>>>>),
}

// Nothing is ever pinned inside a `Binding`: the ready value is moved out, the waiting future
// is boxed.
impl<T> Unpin for Binding<T> {}

impl<T> Future for Binding<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            Binding::Ready(value) => std::task::Poll::Ready(value.take().expect("a ready binding is polled once")),
            Binding::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_as_serde_urlencoded_decodes_them() {
        let texts = [
            "",
            "deviceId=BAA00000",
            "a=1&b=2&a=3",
            "a",
            "=b",
            "a=b=c",
            "&&a=1&&",
            "q=a+b%20c%2Bd",
            "bad=%zz%4&x=%",
            "utf=%C3%A9%E2%82%AC&broken=%ff%fe",
            "callbackURL=http://h/cb?x=1&y=2",
            "k%3Dy=v%26w",
            "é=ü&😀=1",
        ];
        for t in texts {
            let ours = decode_pairs(t);
            let theirs: Vec<(String, String)> = serde_urlencoded::from_str(t).unwrap();
            let ours: Vec<(String, String)> = ours.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
            assert_eq!(ours, theirs, "{t}");
        }
    }

    /// The plain texts' own way splits as `form_urlencoded` splits: random texts over the
    /// characters that matter (`&`, `=`, `%`, `+`, letters, a non-ASCII one), with and without
    /// the escapes that send a text the decoding way.
    #[test]
    fn plain_texts_split_as_the_decoder_splits_them() {
        use rand::{Rng, SeedableRng};
        let alphabet = ['&', '=', 'a', 'b', 'Z', '0', '.', '-', '_', '/', ':', '?', 'é', '%', '+', '2', 'B'];
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        let mut plain = 0;
        for i in 0..50_000 {
            let len = rng.random_range(0..24);
            // Two in three without escapes, so the split itself is tried most.
            let pool = if i % 3 == 0 { alphabet.len() } else { alphabet.len() - 4 };
            let t: String = (0..len).map(|_| alphabet[rng.random_range(0..pool)]).collect();
            plain += usize::from(!t.contains(['%', '+']));
            let theirs: Vec<Pair> = form_urlencoded::parse(t.as_bytes())
                .map(|(k, v)| (CompactString::from(k), CompactString::from(v)))
                .collect();
            assert_eq!(decode_pairs(&t), theirs, "{t:?}");
        }
        assert!(plain > 30_000, "{plain}");
    }
}
