//! The virtual clock: the only source of time in the simulator.
//!
//! Virtual time is milliseconds since 1970-01-01 00:00:00 *on the wall clock the platform
//! writes*: UTC by default, shifted by `--utc-offset`. Keeping the zone out of the number (the
//! offset is applied once, when the clock starts from the real time) makes every derived
//! wall-clock reading agree without a zone argument: formatted times, trade-number prefixes,
//! shop opening hours and the demand curve's time of day. It runs at `speed` virtual seconds
//! per real second from an anchor, can be frozen, and can jump forward. Every timestamp the
//! platform shows (order times, push timestamps, billing) comes from here, so a test that
//! freezes the clock and advances it by hand sees the same bytes every run.
//!
//! The clock has its own small mutex rather than living in the world: reading the time must
//! not contend with the world lock, and the critical section is a handful of arithmetic.

use chrono::{DateTime, NaiveDateTime, Utc};
use parking_lot::Mutex;
use std::time::Instant;

/// Virtual milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// One minute in [`Millis`].
pub const MINUTE: Millis = 60_000;
/// One day in [`Millis`].
pub const DAY: Millis = 86_400_000;

#[derive(Debug)]
struct State {
    /// Virtual time at `anchor_real`.
    anchor_virtual: Millis,
    anchor_real: Instant,
    speed: f64,
    frozen: bool,
    /// The brake: virtual time does not pass this point (see [`Clock::hold_below`]).
    limit: Option<Millis>,
}

/// The simulator's virtual clock.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<State>,
}

/// A reading of the clock's settings, for the control API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    /// Virtual now.
    pub now: Millis,
    /// Virtual seconds per real second.
    pub speed: f64,
    /// Whether time stands still.
    pub frozen: bool,
}

impl Clock {
    /// A clock starting at `start`, running at `speed` unless `frozen`.
    pub fn new(start: Millis, speed: f64, frozen: bool) -> Self {
        Clock {
            state: Mutex::new(State { anchor_virtual: start, anchor_real: Instant::now(), speed, frozen, limit: None }),
        }
    }

    /// Virtual now. A clock that reaches its brake stops there and re-anchors, so when the
    /// brake is raised time goes on from the limit at the requested speed instead of jumping
    /// to where it would have been: the clock slows, it never runs backwards.
    fn now_locked(s: &mut State) -> Millis {
        if s.frozen {
            return s.anchor_virtual;
        }
        let real = s.anchor_real.elapsed().as_secs_f64() * 1000.0;
        let now = s.anchor_virtual + (real * s.speed) as Millis;
        match s.limit {
            Some(limit) if now > limit => {
                s.anchor_virtual = limit.max(s.anchor_virtual);
                s.anchor_real = Instant::now();
                s.anchor_virtual
            }
            _ => now,
        }
    }

    /// Re-anchor at the current virtual time so a change of speed or freeze applies from now.
    fn reanchor(s: &mut State) {
        s.anchor_virtual = Self::now_locked(s);
        s.anchor_real = Instant::now();
    }

    /// Virtual now.
    pub fn now(&self) -> Millis {
        Self::now_locked(&mut self.state.lock())
    }

    /// The clock's settings and time.
    pub fn reading(&self) -> ClockReading {
        let mut s = self.state.lock();
        ClockReading { now: Self::now_locked(&mut s), speed: s.speed, frozen: s.frozen }
    }

    /// Apply the brake: virtual time will not pass `limit` until the brake is raised again.
    /// The driver keeps it a bounded distance ahead of the time the world has been brought
    /// to, so a world that cannot keep up with the requested speed slows its clock down
    /// instead of falling ever further behind. A limit behind now stops the clock where it
    /// is (it never moves back). `advance` and `set` release the brake.
    pub fn hold_below(&self, limit: Millis) {
        let mut s = self.state.lock();
        Self::now_locked(&mut s);
        s.limit = Some(limit);
    }

    /// Freeze (`true`) or resume (`false`) virtual time.
    pub fn set_frozen(&self, frozen: bool) {
        let mut s = self.state.lock();
        Self::reanchor(&mut s);
        s.frozen = frozen;
    }

    /// Change the speed factor from now on.
    pub fn set_speed(&self, speed: f64) {
        let mut s = self.state.lock();
        Self::reanchor(&mut s);
        s.speed = speed;
    }

    /// Jump forward by `ms` virtual milliseconds; returns the new now.
    pub fn advance(&self, ms: Millis) -> Millis {
        let mut s = self.state.lock();
        Self::reanchor(&mut s);
        s.anchor_virtual += ms.max(0);
        s.limit = None;
        s.anchor_virtual
    }

    /// Set virtual now outright (reset, snapshot restore).
    pub fn set(&self, now: Millis) {
        let mut s = self.state.lock();
        s.anchor_virtual = now;
        s.anchor_real = Instant::now();
        s.limit = None;
    }
}

/// Wall-clock now in milliseconds (UTC): the request journal's real time beside the virtual.
pub fn wall_now() -> Millis {
    Utc::now().timestamp_millis()
}

/// The real time now as a virtual start: whole seconds (a client's `YYYY-MM-DD HH:mm:ss`
/// filters and the platform's times then agree to the millisecond), on the wall clock
/// `utc_offset_s` seconds east of UTC. Used once at start when no start time is pinned.
pub fn wall_start(utc_offset_s: i32) -> Millis {
    (Utc::now().timestamp() + i64::from(utc_offset_s)) * 1000
}

/// Largest offset accepted: the zones in use span -12:00..+14:00.
const MAX_OFFSET_S: i32 = 14 * 3600;

/// Parse a UTC offset into seconds east of UTC: `+08:00`, `-05:30`, `+0800`, `+8`, `0`, `Z`,
/// `UTC`, or `local` (this machine's offset now, read once).
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    match s.to_ascii_lowercase().as_str() {
        "z" | "utc" | "0" => return Some(0),
        "local" => return Some(chrono::Local::now().offset().local_minus_utc()),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |t: &str| !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    let secs = sign * (h * 3600 + m * 60);
    (m < 60 && secs.abs() <= MAX_OFFSET_S).then_some(secs)
}

/// An offset in seconds as `+HH:MM`.
pub fn fmt_utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// The calendar time of `ms`. Every virtual time comes from a parsed date or the wall clock
/// plus a bounded advance, far inside chrono's range (±262,000 years); the epoch stands in for
/// a time outside it rather than a panic in a formatter.
fn to_naive(ms: Millis) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().naive_utc()
}

/// `YYYY-MM-DD HH:mm:ss`, the platform's format for times in queries and responses.
pub fn fmt_datetime(ms: Millis) -> String {
    fmt_with(ms, ' ')
}

/// `YYYY-MM-DDTHH:mm:ss` (no zone), the format of event-push `timestamp`.
pub fn fmt_push_timestamp(ms: Millis) -> String {
    fmt_with(ms, 'T')
}

/// Date and time with `sep` between them. Years outside 0..=9999 (never reached in practice)
/// go through chrono's pattern so the text stays what chrono writes.
fn fmt_with(ms: Millis, sep: char) -> String {
    match datetime_digits(ms, sep as u8) {
        Some(b) => b.iter().map(|&c| c as char).collect(),
        None => to_naive(ms).format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string(),
    }
}

/// `YYYY-MM-DD?HH:mm:ss` with `sep` at `?`, as ASCII bytes, or `None` for a year outside
/// 0..=9999. Written field by field rather than through a strftime pattern, which is parsed
/// again on every call: list rows and pushes format several times each, and the device
/// pages write these bytes straight into their answer.
pub fn datetime_digits(ms: Millis, sep: u8) -> Option<[u8; 19]> {
    // The civil date from the day number (H. Hinnant's `civil_from_days`), in integers: the
    // same calendar as chrono's (tested), without its checked construction on every call.
    let secs = ms.div_euclid(1000);
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let d2 = |v: i64| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    let mut b = [0u8; 19];
    b[..2].copy_from_slice(&d2(year / 100));
    b[2..4].copy_from_slice(&d2(year));
    b[4] = b'-';
    b[5..7].copy_from_slice(&d2(month));
    b[7] = b'-';
    b[8..10].copy_from_slice(&d2(day));
    b[10] = sep;
    b[11..13].copy_from_slice(&d2(second_of_day / 3600));
    b[13] = b':';
    b[14..16].copy_from_slice(&d2(second_of_day / 60 % 60));
    b[16] = b':';
    b[17..19].copy_from_slice(&d2(second_of_day % 60));
    Some(b)
}

/// `yyMMddHHmmss`, the time prefix of trade numbers.
pub fn fmt_trade_prefix(ms: Millis) -> String {
    use chrono::{Datelike, Timelike};
    let t = to_naive(ms);
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}",
        t.year().rem_euclid(100),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parse `YYYY-MM-DD HH:mm:ss` (also accepts a `T` separator and a bare date).
pub fn parse_datetime(s: &str) -> Option<Millis> {
    let s = s.trim();
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_boundaries_are_written_as_chrono_writes_them() {
        // Every day boundary of five centuries either side of 1970 (leap days and century
        // years included), the instants either side of them, and the edges of the four-digit
        // years and of chrono's range.
        let mut samples = vec![0, -1, 1, 951_782_400_000, 4_107_542_400_000, -62_167_219_200_000, 253_402_300_799_999];
        samples.extend([-62_167_219_200_001, 253_402_300_800_000, i64::MIN / 4, i64::MAX / 4]);
        let mut ms = -15_000_000_000_000_i64;
        while ms < 15_000_000_000_000 {
            samples.extend([ms, ms - 1, ms + 43_199_999]);
            ms += 86_400_000 + 7;
        }
        for ms in samples {
            let chrono_text = to_naive(ms).format("%Y-%m-%d %H:%M:%S").to_string();
            // Outside the four-digit years (and chrono's range) the text is chrono's own.
            if let Some(b) = datetime_digits(ms, b' ') {
                assert_eq!(std::str::from_utf8(&b).unwrap(), chrono_text, "{ms}");
            }
            assert_eq!(fmt_datetime(ms), chrono_text, "{ms}");
        }
    }

    #[test]
    fn dates_are_written_as_chronos_pattern_writes_them() {
        let mut ms: i64 = -62_167_219_200_000; // 0000-01-01
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut checked = 0;
        while ms < 253_402_300_800_000 {
            // 9999-12-31 and a little beyond
            for sep in [' ', 'T'] {
                let reference = to_naive(ms).format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string();
                assert_eq!(fmt_with(ms, sep), reference, "{ms}");
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms += (x % 20_000_000_000) as i64 + 1;
            checked += 1;
        }
        for ms in [0, -1, 999, 1_000, 86_399_999, 1_772_441_100_000, 253_402_300_799_999, 253_402_300_800_000] {
            assert_eq!(fmt_datetime(ms), to_naive(ms).format("%Y-%m-%d %H:%M:%S").to_string(), "{ms}");
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn frozen_clock_only_moves_when_advanced() {
        let c = Clock::new(1_000, 1.0, true);
        assert_eq!(c.now(), 1_000);
        assert_eq!(c.advance(5_000), 6_000);
        assert_eq!(c.now(), 6_000);
    }

    #[test]
    fn a_braked_clock_stops_at_its_limit_and_goes_on_from_there() {
        let c = Clock::new(1_000, 1_000_000.0, false);
        c.hold_below(2_000);
        // A million times real time passes 2,000 within microseconds: held at the limit.
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(c.now(), 2_000);
        c.hold_below(3_000);
        assert!(c.now() >= 2_000);
        // An advance releases the brake.
        let jumped = c.advance(10_000);
        assert!((12_000..=13_000).contains(&jumped), "{jumped}");
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(c.now() > 13_000);
    }

    #[test]
    fn formats_write_what_chrono_patterns_write() {
        // Every field boundary over two centuries, plus times before 1970 and past 9999.
        let mut ms: Millis = -2_000_000_000_000;
        while ms < 400_000_000_000_000 {
            let t = to_naive(ms);
            assert_eq!(fmt_datetime(ms), t.format("%Y-%m-%d %H:%M:%S").to_string(), "{ms}");
            assert_eq!(fmt_push_timestamp(ms), t.format("%Y-%m-%dT%H:%M:%S").to_string(), "{ms}");
            assert_eq!(fmt_trade_prefix(ms), t.format("%y%m%d%H%M%S").to_string(), "{ms}");
            ms += 86_399_999_937;
        }
    }

    #[test]
    fn utc_offsets_parse_in_the_usual_spellings() {
        assert_eq!(parse_utc_offset("+08:00"), Some(8 * 3600));
        assert_eq!(parse_utc_offset("-05:30"), Some(-(5 * 3600 + 1800)));
        assert_eq!(parse_utc_offset("+0100"), Some(3600));
        assert_eq!(parse_utc_offset("+2"), Some(7200));
        assert_eq!(parse_utc_offset("Z"), Some(0));
        assert_eq!(parse_utc_offset("utc"), Some(0));
        assert!(parse_utc_offset("local").is_some());
        for bad in ["8", "+15:00", "+01:60", "+1:2:3", "Paris", "", "+", "+123"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
        assert_eq!(fmt_utc_offset(-(5 * 3600 + 1800)), "-05:30");
        assert_eq!(fmt_utc_offset(0), "+00:00");
    }

    #[test]
    fn the_wall_start_is_whole_seconds_shifted_by_the_offset() {
        let a = wall_start(0);
        let b = wall_start(3600);
        assert_eq!(a % 1000, 0);
        assert!((b - a - 3_600_000).abs() <= 1000, "{a} {b}");
    }

    #[test]
    fn formats_round_trip() {
        let t = parse_datetime("2026-03-02 09:00:00").unwrap();
        assert_eq!(fmt_datetime(t), "2026-03-02 09:00:00");
        assert_eq!(fmt_push_timestamp(t), "2026-03-02T09:00:00");
        assert_eq!(fmt_trade_prefix(t), "260302090000");
        assert!(parse_datetime("yesterday").is_none());
    }
}
