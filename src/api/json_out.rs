//! A small JSON writer for the hottest answer (O1), writing exactly the bytes `serde_json`
//! writes for the same typed view, without its per-byte key escaping and per-field dispatch.
//!
//! Keys are written as literals (they are the views' own names, nothing to escape). Strings
//! are copied as they are when they hold nothing JSON escapes (control characters, `"`, `\`),
//! and otherwise handed to `serde_json`, so an odd shop name is escaped by the same code as
//! everywhere else. Integers are written digit by digit; non-whole amounts go through
//! `serde_json` (its float formatting is the reference). The views stay the description of
//! the answer: tests compare this writer with `serde_json` over the same views.

use super::envelope::Amount;

/// Whether `s` holds nothing JSON escapes (control characters, `"`, `\`).
///
/// Eight bytes at a time (a byte-by-byte test was a tenth of a fresh O1's instructions: its
/// answer writes some forty strings): a word holds such a byte when one of its bytes is below
/// 0x20, or equal to `"` or `\` (zero after an exclusive or), found with the usual carry
/// tricks on the whole word. The bytes past the last whole word, and texts shorter than a
/// word (most of them: slot numbers, signal words, short ids), are tested as one more word
/// built from overlapping reads, not byte by byte: a C7 page writes 142 strings, and the loop
/// over their last bytes was a third of their cost. Tested against the byte-by-byte rule.
pub fn is_plain(s: &str) -> bool {
    let b = s.as_bytes();
    let n = b.len();
    if n <= 16 {
        return !short_escapes(b);
    }
    let mut at = 0;
    while at + 8 <= n {
        if escapes(word_at(b, at)) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes, some of them tested already.
    at == n || !escapes(word_at(b, n - 8))
}

/// Whether a text of at most sixteen bytes holds a byte JSON escapes, told from one or two
/// words of overlapping reads: the first, middle and last bytes are every byte of one to
/// three; the first four and the last four cover four to seven; the first eight and the last
/// eight cover eight to sixteen.
// Inlined into both callers: called, it cost C7's page 1.2 % and O1 1.3 % more instructions.
#[inline(always)]
fn short_escapes(b: &[u8]) -> bool {
    let n = b.len();
    let half =
        |at: usize| b.get(at..at + 4).map_or(0, |w| u64::from(u32::from_le_bytes(w.try_into().unwrap_or_default())));
    match n {
        0 => false,
        1..=3 => {
            let at = |i: usize| u64::from(b.get(i).copied().unwrap_or(b' '));
            escapes(at(0) | at(n / 2) << 8 | at(n - 1) << 16 | SPACES << 24)
        }
        4..=7 => escapes(half(0) | half(n - 4) << 32),
        _ => escapes(word_at(b, 0)) || escapes(word_at(b, n - 8)),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
/// Spaces fill a word's unused bytes: a space is plain.
const SPACES: u64 = ONES * 0x20;

/// Whether one of the eight bytes of `v` is one JSON escapes (see [`is_plain`]).
fn escapes(v: u64) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bytes of `v` below `n` (n <= 0x80) have their high bit set in the result; so do some
    // bytes above a byte that is, which does not matter here: any set bit means "escape".
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH;
    below(v, 0x20) | below(v ^ (ONES * u64::from(b'"')), 1) | below(v ^ (ONES * u64::from(b'\\')), 1) != 0
}

/// The eight bytes of `b` from `at` as a word (zero past its end; callers stay within it).
fn word_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
}

/// Write `b` quoted when it is at most sixteen bytes long and plain (most texts of an answer:
/// ids, slot and signal words, addresses); `false`, having written nothing, otherwise. It is
/// tested as [`is_plain`] tests it ([`short_escapes`]); then 24 quotes are appended, its bytes
/// stored over them and the vector cut back after the closing quote.
/// A copy of a fixed size is a few moves where a copy of the string's own length was a call
/// to `memcpy`; nothing stored is read back, which would stall the store buffer.
fn short_plain(out: &mut Vec<u8>, b: &[u8]) -> bool {
    let n = b.len();
    if n > 16 || short_escapes(b) {
        return false;
    }
    let at = out.len();
    // Room for the longest case, quotes everywhere: the string's bytes go over them in
    // pieces of a fixed size (overlapping where the text is shorter than two pieces).
    out.extend_from_slice(&[b'"'; 24]);
    match n {
        0 => {}
        1..=3 => {
            out[at + 1] = b[0];
            out[at + 1 + n / 2] = b[n / 2];
            out[at + n] = b[n - 1];
        }
        4..=7 => {
            out[at + 1..at + 5].copy_from_slice(&b[..4]);
            out[at + n - 3..at + n + 1].copy_from_slice(&b[n - 4..]);
        }
        _ => {
            out[at + 1..at + 9].copy_from_slice(&b[..8]);
            out[at + n - 7..at + n + 1].copy_from_slice(&b[n - 8..]);
        }
    }
    out.truncate(at + n + 2);
    true
}

/// [`short_plain`] for a text of 17 to 32 bytes (trade numbers, ICCIDs, longer shop names):
/// four overlapping words test it and hold its bytes, stored over 34 quotes. Its own step,
/// after the short one, so that shorter texts pay nothing for it: a third word in
/// [`short_plain`] cost every shorter text more than these gained.
fn medium_plain(out: &mut Vec<u8>, b: &[u8]) -> bool {
    let n = b.len();
    if !(17..=32).contains(&n) {
        return false;
    }
    let words = [word_at(b, 0), word_at(b, 8), word_at(b, n - 16), word_at(b, n - 8)];
    if words.iter().any(|&w| escapes(w)) {
        return false;
    }
    let at = out.len();
    out.extend_from_slice(&[b'"'; 34]);
    for (&w, place) in words.iter().zip([1, 9, n - 15, n - 7]) {
        out[at + place..at + place + 8].copy_from_slice(&w.to_le_bytes());
    }
    out.truncate(at + n + 2);
    true
}

/// A JSON string: quoted, escaped as `serde_json` escapes it.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if !short_plain(out, s.as_bytes()) {
        longer_string(out, s);
    }
}

/// [`string`] for a text [`short_plain`] did not take. Out of line: inlined, its registers
/// were saved and restored for every string, the short ones too (most of them).
#[inline(never)]
fn longer_string(out: &mut Vec<u8>, s: &str) {
    if medium_plain(out, s.as_bytes()) {
        return;
    }
    // The two steps before took every plain text of up to 32 bytes: a shorter one here holds
    // an escape, and is not tested again.
    if s.len() > 32 && is_plain(s) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail; serde_json only fails on I/O or maps with odd keys.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// The digits of the last two times written (`YYYY-MM-DD HH:mm:ss`), for a run of rows that
/// mostly share their times: a fleet's cabinets were registered in the same second, and
/// their reports often came in the same second. Working out the civil date costs some 280
/// instructions a time, and a C7 row writes three (a page of twenty: 8 % of the request).
#[derive(Debug, Default)]
pub struct Times {
    last: [Option<(crate::clock::Millis, [u8; 19])>; 2],
    /// The slot the next new time replaces.
    next: usize,
}

impl Times {
    /// The digits of `ms` (see `clock::datetime_digits`), `None` for a year outside 0..=9999.
    fn digits(&mut self, ms: crate::clock::Millis) -> Option<[u8; 19]> {
        if let Some((_, d)) = self.last.iter().flatten().find(|(m, _)| *m == ms) {
            return Some(*d);
        }
        let d = crate::clock::datetime_digits(ms, b' ')?;
        self.last[self.next] = Some((ms, d));
        self.next = (self.next + 1) % self.last.len();
        Some(d)
    }

    /// A time as the platform writes it (`YYYY-MM-DD HH:mm:ss`), quoted.
    pub fn write(&mut self, out: &mut Vec<u8>, ms: crate::clock::Millis) {
        out.push(b'"');
        self.write_bare(out, ms);
        out.push(b'"');
    }

    /// The same without the quotes (inside a JSON text written as a string); a year outside
    /// 0..=9999 as `clock::fmt_datetime` writes it.
    pub fn write_bare(&mut self, out: &mut Vec<u8>, ms: crate::clock::Millis) {
        match self.digits(ms) {
            Some(b) => out.extend_from_slice(&b),
            None => out.extend_from_slice(crate::clock::fmt_datetime(ms).as_bytes()),
        }
    }
}

/// A page's envelope up to its first record: `{"msg":"Successful operation","code":0,` then
/// `"<key>":{"records":[` (C7 keeps its page in `data`, R1 in `page`).
pub fn page_start(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(br#"{"msg":"#);
    string(out, super::envelope::OK_MSG);
    out.extend_from_slice(br#","code":0,"#);
    string(out, key);
    out.extend_from_slice(br#":{"records":["#);
}

/// The rest of a page's envelope after its records, as `paging::Page` serialises.
pub fn page_end<T>(out: &mut Vec<u8>, page: &super::paging::Page<T>) {
    out.extend_from_slice(br#"],"total":"#);
    uint(out, page.total as u64);
    out.extend_from_slice(br#","size":"#);
    uint(out, page.size as u64);
    out.extend_from_slice(br#","current":"#);
    uint(out, page.current as u64);
    out.extend_from_slice(br#","pages":"#);
    uint(out, page.pages as u64);
    out.extend_from_slice(b"}}");
}

/// An unsigned integer as a JSON string (`"12"`): the platform writes some counts as text.
pub fn uint_text(out: &mut Vec<u8>, v: u64) {
    out.push(b'"');
    uint(out, v);
    out.push(b'"');
}

/// A signed integer as a JSON string (`"-5"`).
pub fn int_text(out: &mut Vec<u8>, v: i64) {
    out.push(b'"');
    int(out, v);
    out.push(b'"');
}

/// A coordinate as the platform's string (see `envelope::coord`), quoted; `""` when absent.
/// A float's decimal text holds nothing to escape.
pub fn coord(out: &mut Vec<u8>, v: Option<f64>) {
    out.push(b'"');
    if let Some(v) = v {
        super::envelope::write_coord(out, v);
    }
    out.push(b'"');
}

/// An unsigned integer in decimal.
pub fn uint(out: &mut Vec<u8>, v: u64) {
    // Slot numbers, charges and counts: most values have one to three digits, written without
    // the general path's variable-length copy.
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    if v < 100 {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
        return;
    }
    // Price ids (R1 writes one an order), pages and totals.
    if v < 1000 {
        out.extend_from_slice(&[b'0' + (v / 100) as u8, b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A signed integer in decimal.
pub fn int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    uint(out, v.unsigned_abs());
}

/// A position's 12-character geohash (`geohash::encode_bytes`), from this thread's memo where
/// the same position was written lately. A geohash is a function of the two numbers alone, so
/// the memo answers only for the same bits and can never be stale. A polled C7 page writes the
/// same twenty (some 180 instructions each afresh, 2 % of the page); a memo of 256 positions
/// found by a hash of their bits, a position replacing the one in its place.
pub fn geohash12(out: &mut Vec<u8>, lat: f64, lng: f64) {
    type Memo = [Option<((u64, u64), [u8; 12])>; 256];
    thread_local! {
        static GEOHASHES: std::cell::RefCell<Memo> = const { std::cell::RefCell::new([None; 256]) };
    }
    let key = (lat.to_bits(), lng.to_bits());
    let at = ((key.0 ^ key.1.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize;
    GEOHASHES.with_borrow_mut(|memo| {
        let chars = match memo[at] {
            Some((k, chars)) if k == key => chars,
            _ => {
                let (chars, _) = crate::model::geohash::encode_bytes(lat, lng, 12);
                memo[at] = Some((key, chars));
                chars
            }
        };
        out.extend_from_slice(&chars);
    });
}

/// `true` or `false`.
pub fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// An amount as the platform's string amounts are written (`Money`'s text: two decimals),
/// quoted. Digits, a sign and a point: nothing to escape, and no formatter (R1 writes one
/// per order).
pub fn money_text(out: &mut Vec<u8>, m: crate::model::Money) {
    out.push(b'"');
    if m.0 < 0 {
        out.push(b'-');
    }
    let cents = m.0.unsigned_abs();
    uint(out, cents / 100);
    let c = (cents % 100) as u8;
    out.extend_from_slice(&[b'.', b'0' + c / 10, b'0' + c % 10, b'"']);
}

/// An amount as [`Amount`] serialises: whole amounts as integers, others as `serde_json`
/// writes the decimal.
pub fn amount(out: &mut Vec<u8>, a: Amount) {
    if a.0.is_whole() {
        int(out, a.0 .0 / 100);
    } else {
        let _ = serde_json::to_writer(&mut *out, &a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Money;

    #[test]
    fn remembered_times_are_written_as_each_time_alone() {
        use rand::{Rng, SeedableRng};
        let alone = |ms: crate::clock::Millis| format!("\"{}\"", crate::clock::fmt_datetime(ms));
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut times = Times::default();
        // Few distinct times, in runs and alternations, a year past 9999 and one before 0.
        let pool =
            [0, 1_796_085_318_000, 1_796_085_319_000, 1_796_085_318_999, 253_402_300_800_000, -62_167_219_201_000];
        for _ in 0..5_000 {
            let ms = pool[rng.random_range(0..pool.len())];
            let mut out = Vec::new();
            times.write(&mut out, ms);
            assert_eq!(String::from_utf8(out).unwrap(), alone(ms));
        }
    }

    #[test]
    fn remembered_geohashes_are_the_geohash_of_each_position() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        // A pool larger than the memo, drawn from again and again: hits, misses and positions
        // replacing each other in one place; the edges and a negative zero among them.
        let mut pool: Vec<(f64, f64)> =
            (0..1_000).map(|_| (rng.random_range(-90.0..=90.0), rng.random_range(-180.0..=180.0))).collect();
        pool.extend([(90.0, 180.0), (-90.0, -180.0), (0.0, -0.0), (-0.0, 0.0), (48.8566, 2.3522)]);
        for _ in 0..20_000 {
            let (lat, lng) = pool[rng.random_range(0..pool.len())];
            let mut out = Vec::new();
            geohash12(&mut out, lat, lng);
            assert_eq!(String::from_utf8(out).unwrap(), crate::model::geohash::encode(lat, lng, 12), "{lat} {lng}");
        }
    }

    #[test]
    fn plain_text_is_told_word_by_word_as_byte_by_byte() {
        use rand::{Rng, SeedableRng};
        let naive = |s: &str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        let alphabet: Vec<char> =
            (0u32..0x90).filter_map(char::from_u32).chain(['é', '€', '漢', '😀', '\u{7f}']).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for i in 0..200_000 {
            let len = rng.random_range(0..40);
            // Mostly plain text, so that escapes land at every offset of a long plain run.
            let s: String = (0..len)
                .map(|_| {
                    if i % 3 == 0 || rng.random_range(0..12) == 0 {
                        alphabet[rng.random_range(0..alphabet.len())]
                    } else {
                        char::from(rng.random_range(b'#'..b'['))
                    }
                })
                .collect();
            assert_eq!(is_plain(&s), naive(&s), "{s:?}");
            // The short strings' own way (words stored over quotes appended to the answer)
            // writes what serde_json writes, after whatever the answer held before.
            if i % 4 == 0 {
                assert_eq!(
                    with(|o| {
                        o.extend_from_slice(b"[1,");
                        string(o, &s)
                    }),
                    format!("[1,{}", serde_json::to_string(&s).unwrap()),
                    "{s:?}"
                );
            }
        }
        // Every length a word test treats apart (short, a word, a word and a piece, the
        // medium texts' four words, past them), an escape at every place.
        for c in ['"', '\\', '\0', '\n', '\u{1f}'] {
            for len in 1..=40 {
                assert!(is_plain(&"a".repeat(len)));
                let plain: String = (0..len).map(|i| char::from(b'a' + i as u8)).collect();
                assert_eq!(with(|o| string(o, &plain)), format!("\"{plain}\""));
                for at in 0..len {
                    let mut s = "a".repeat(len);
                    s.replace_range(at..at + 1, &c.to_string());
                    assert!(!is_plain(&s), "{s:?}");
                    assert_eq!(with(|o| string(o, &s)), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        assert!(is_plain(" !#[]~\u{7f}é€"));
    }

    fn with(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers_match_the_standard_formatting() {
        let mut values: Vec<i64> = vec![0, 1, -1, 9, 10, 99, 100, i64::MAX, i64::MIN, i64::MIN + 1];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            // xorshift: values of every magnitude and sign.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> (x % 64)) as i64 * if x & 1 == 0 { 1 } else { -1 });
        }
        for p in 0..19 {
            let t = 10i64.pow(p);
            values.extend([t - 1, t, t + 1, -t]);
        }
        for v in values {
            assert_eq!(with(|o| int(o, v)), v.to_string());
            assert_eq!(with(|o| uint(o, v.unsigned_abs())), v.unsigned_abs().to_string());
        }
        assert_eq!(with(|o| uint(o, u64::MAX)), u64::MAX.to_string());
    }

    #[test]
    fn strings_and_amounts_match_serde_json() {
        let texts = [
            "",
            "BAA00000",
            "Caf\u{e9} de la Gare \u{20ac}",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "\u{1}\u{1f}\u{7f}",
            "\u{2028}",
            "emoji \u{1F50B}",
        ];
        for t in texts {
            assert_eq!(with(|o| string(o, t)), serde_json::to_string(t).unwrap(), "{t:?}");
        }
        for cents in (-100_000..100_000).step_by(7).chain([i64::MAX, i64::MIN + 1, i64::MIN, 150, 3000, 1, -1, -50, 99])
        {
            let a = Amount(Money(cents));
            assert_eq!(with(|o| amount(o, a)), serde_json::to_string(&a).unwrap(), "{cents}");
            assert_eq!(with(|o| money_text(o, Money(cents))), format!("\"{}\"", Money(cents)), "{cents}");
        }
        assert_eq!(with(|o| boolean(o, true)), "true");
        assert_eq!(with(|o| boolean(o, false)), "false");
    }
}
