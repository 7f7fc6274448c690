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
//! The clock is read on every request by every worker, so a reading takes no lock and writes
//! nothing: its settings are published under a sequence number (a seqlock) that readers check
//! before and after. A mutex reading wrote its lock's cache line from every worker, and that
//! line went back and forth between the cores twice a reading. Writers (the driver's brake,
//! the control API) are rare and take a mutex among themselves.

use chrono::{DateTime, NaiveDateTime, Utc};
use parking_lot::Mutex;
use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Virtual milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// One minute in [`Millis`].
pub const MINUTE: Millis = 60_000;
/// One day in [`Millis`].
pub const DAY: Millis = 86_400_000;

/// The clock's settings at one moment.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Virtual time at `anchor_real`.
    anchor_virtual: Millis,
    /// Real nanoseconds from [`Clock::base`] to the anchor.
    anchor_real: u64,
    speed: f64,
    frozen: bool,
    /// The brake: virtual time does not pass this point (see [`Clock::hold_below`]).
    limit: Option<Millis>,
}

/// The simulator's virtual clock.
#[derive(Debug)]
pub struct Clock {
    /// The real time every anchor is counted from.
    base: Instant,
    /// Even when the fields below are settled; odd while a writer changes them.
    version: AtomicU64,
    anchor_virtual: AtomicI64,
    anchor_real: AtomicU64,
    speed: AtomicU64,
    frozen: AtomicBool,
    /// `i64::MAX`: no brake.
    limit: AtomicI64,
    /// Serialises the writers.
    writer: Mutex<()>,
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
            base: Instant::now(),
            version: AtomicU64::new(0),
            anchor_virtual: AtomicI64::new(start),
            anchor_real: AtomicU64::new(0),
            speed: AtomicU64::new(speed.to_bits()),
            frozen: AtomicBool::new(frozen),
            limit: AtomicI64::new(Millis::MAX),
            writer: Mutex::new(()),
        }
    }

    /// Real nanoseconds since [`Self::base`].
    fn real_now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The settings, as one writer left them, and the real time read while they held: read
    /// again when a writer was at work meanwhile. The time is read inside, so that a reading
    /// never combines settings a writer has just replaced with a time after the writer's own
    /// (which could put a reading after the change ahead of one before it).
    fn settings(&self) -> (State, u64) {
        loop {
            let before = self.version.load(Ordering::Acquire);
            if before & 1 == 0 {
                let s = State {
                    anchor_virtual: self.anchor_virtual.load(Ordering::Relaxed),
                    anchor_real: self.anchor_real.load(Ordering::Relaxed),
                    speed: f64::from_bits(self.speed.load(Ordering::Relaxed)),
                    frozen: self.frozen.load(Ordering::Relaxed),
                    limit: Some(self.limit.load(Ordering::Relaxed)).filter(|&l| l != Millis::MAX),
                };
                let real = if s.frozen { s.anchor_real } else { self.real_now() };
                fence(Ordering::Acquire);
                if self.version.load(Ordering::Relaxed) == before {
                    return (s, real);
                }
            }
            std::hint::spin_loop();
        }
    }

    /// Change the settings: `change` gets them and returns what the caller wants back. With
    /// `reanchor` the anchor is moved to now first, so a new speed or freeze applies from now
    /// on. A clock standing at its brake is re-anchored there in any case, so that time goes
    /// on from the limit once the brake is raised. Otherwise the anchor stays: moving it cuts
    /// the virtual time to whole milliseconds, and the driver's brake, set many times a
    /// second, would slow the clock down by the fractions.
    fn write<T>(&self, reanchor: bool, change: impl FnOnce(&mut State) -> T) -> T {
        let _one_writer = self.writer.lock();
        let (mut s, _) = self.settings();
        let v = self.version.load(Ordering::Relaxed);
        self.version.store(v.wrapping_add(1), Ordering::Relaxed);
        // Readers see the change begun before the time it is made at is read.
        fence(Ordering::SeqCst);
        let real = self.real_now();
        let now = Self::virtual_at(&s, real);
        let at_brake = now < Self::virtual_at(&State { limit: None, ..s }, real);
        if reanchor || at_brake {
            s.anchor_virtual = now;
            s.anchor_real = real;
        }
        let out = change(&mut s);
        // A brake set behind now stops the clock where it is: it never moves back.
        if s.limit.is_some_and(|l| l < now) && s.anchor_virtual < now {
            s.anchor_virtual = now;
            s.anchor_real = real;
        }
        self.anchor_virtual.store(s.anchor_virtual, Ordering::Relaxed);
        self.anchor_real.store(s.anchor_real, Ordering::Relaxed);
        self.speed.store(s.speed.to_bits(), Ordering::Relaxed);
        self.frozen.store(s.frozen, Ordering::Relaxed);
        self.limit.store(s.limit.unwrap_or(Millis::MAX), Ordering::Relaxed);
        self.version.store(v.wrapping_add(2), Ordering::Release);
        out
    }

    /// Virtual time at real time `real` under `s`. A clock that reaches its brake stands at
    /// it (a brake behind the anchor: at the anchor), so when the brake is raised (a writer
    /// re-anchors there) time goes on from the limit at the requested speed instead of
    /// jumping to where it would have been: the clock slows, it never runs backwards.
    fn virtual_at(s: &State, real: u64) -> Millis {
        if s.frozen {
            return s.anchor_virtual;
        }
        let real_ms = real.saturating_sub(s.anchor_real) as f64 / 1e6;
        let now = s.anchor_virtual + (real_ms * s.speed) as Millis;
        match s.limit {
            Some(limit) if now > limit => limit.max(s.anchor_virtual),
            _ => now,
        }
    }

    /// Virtual now.
    pub fn now(&self) -> Millis {
        let (s, real) = self.settings();
        Self::virtual_at(&s, real)
    }

    /// The clock's settings and time.
    pub fn reading(&self) -> ClockReading {
        let (s, real) = self.settings();
        ClockReading { now: Self::virtual_at(&s, real), speed: s.speed, frozen: s.frozen }
    }

    /// Apply the brake: virtual time will not pass `limit` until the brake is raised again.
    /// The driver keeps it a bounded distance ahead of the time the world has been brought
    /// to, so a world that cannot keep up with the requested speed slows its clock down
    /// instead of falling ever further behind. A limit behind now stops the clock where it
    /// is (it never moves back). `advance` and `set` release the brake.
    pub fn hold_below(&self, limit: Millis) {
        self.write(false, |s| s.limit = Some(limit));
    }

    /// Freeze (`true`) or resume (`false`) virtual time.
    pub fn set_frozen(&self, frozen: bool) {
        self.write(true, |s| s.frozen = frozen);
    }

    /// Change the speed factor from now on.
    pub fn set_speed(&self, speed: f64) {
        self.write(true, |s| s.speed = speed);
    }

    /// Jump forward by `ms` virtual milliseconds; returns the new now.
    pub fn advance(&self, ms: Millis) -> Millis {
        self.write(true, |s| {
            s.anchor_virtual += ms.max(0);
            s.limit = None;
            s.anchor_virtual
        })
    }

    /// Set virtual now outright (reset, snapshot restore).
    pub fn set(&self, now: Millis) {
        self.write(true, |s| {
            s.anchor_virtual = now;
            s.limit = None;
        });
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
        // Braked before it runs (a limit already behind now would stop it where it is).
        let c = Clock::new(1_000, 1_000_000.0, true);
        c.hold_below(2_000);
        c.set_frozen(false);
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
    fn a_brake_behind_now_stops_the_clock_where_it_is() {
        let c = Clock::new(0, 1_000.0, false);
        while c.now() < 5_000 {
            std::thread::yield_now();
        }
        let before = c.now();
        // Behind now but ahead of the anchor (0): the clock must not fall back to it.
        c.hold_below(1);
        let held = c.now();
        assert!(held >= before, "{held} after {before}");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.now(), held, "stands still");
    }

    /// The driver sets the brake many times a second; setting it must not cost the clock the
    /// fractions of a millisecond a re-anchoring cuts off.
    #[test]
    fn setting_the_brake_again_and_again_does_not_slow_the_clock() {
        let braked = Clock::new(0, 1_000.0, false);
        let free = Clock::new(0, 1_000.0, false);
        while free.now() < 20_000 {
            braked.hold_below(Millis::MAX / 2);
        }
        let f = free.now();
        let b = braked.now();
        // Re-anchored at every call (a few hundred nanoseconds apart, under a millisecond of
        // virtual time each), the braked clock would have stayed near 0.
        assert!(b + 100 >= f, "braked {b}, free {f}");
    }

    /// Readers on other threads never see a reading torn between two writes: time read by one
    /// thread never goes back while a writer changes speed and jumps forward.
    #[test]
    fn readings_never_go_back_while_a_writer_changes_the_clock() {
        let c = std::sync::Arc::new(Clock::new(0, 1_000.0, false));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (c, stop) = (c.clone(), stop.clone());
                std::thread::spawn(move || {
                    let (mut last, mut reads) = (0, 0u64);
                    while !stop.load(Ordering::Relaxed) || reads < 1_000 {
                        let r = c.reading();
                        assert!(r.now >= last, "{} after {last}", r.now);
                        assert!(r.speed == 1_000.0 || r.speed == 2_000.0, "{}", r.speed);
                        last = r.now;
                        reads += 1;
                    }
                })
            })
            .collect();
        for i in 0..20_000 {
            c.set_speed(if i % 2 == 0 { 2_000.0 } else { 1_000.0 });
            c.advance(i % 7);
            c.hold_below(Millis::MAX / 2);
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().expect("a reader saw time go back");
        }
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
