//! Geohash encoding (Gustavo Niemeyer's public-domain scheme), for the `pHash` of device lists.
//!
//! Written out here rather than pulled in as a crate: the encoder is twenty lines of bit
//! interleaving and the simulator only ever encodes.

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The geohash of a WGS-84 position with `precision` characters (clamped to 1..=12).
pub fn encode(lat: f64, lng: f64, precision: usize) -> String {
    let (chars, n) = encode_bytes(lat, lng, precision);
    chars[..n].iter().map(|&c| c as char).collect()
}

/// [`encode`] without the allocation: the characters and how many of them are used (the
/// device pages write a 12-character geohash per row straight into their answer).
///
/// Geohash halves the longitude and latitude ranges in turn and writes a 1 where the position
/// lies in the upper half. Every bound of those halvings is a point of the grid
/// `-180 + k * 360 / 2^30` (and `-90 + k * 180 / 2^30`), exact in an `f64`, so thirty halvings
/// find the largest `k` whose grid point is at most the position: that `k` is estimated with
/// one multiplication and corrected by comparing with its exact grid points, and the two
/// numbers are interleaved. The sixty halvings one by one (kept as the tests' reference)
/// branched at random on every one of them: a tenth of a C7 page's time.
pub fn encode_bytes(lat: f64, lng: f64, precision: usize) -> ([u8; 12], usize) {
    let precision = precision.clamp(1, 12);
    let bits = interleave(cell(lng, 180.0), cell(lat, 90.0));
    let mut out = [0u8; 12];
    for (i, c) in out.iter_mut().enumerate() {
        *c = BASE32[((bits >> (55 - 5 * i)) & 31) as usize];
    }
    (out, precision)
}

/// Bits of one axis: thirty halvings of `[-half, half]`.
const AXIS_BITS: u32 = 30;

/// The largest `k` below `2^30` with `-half + k * 2 * half / 2^30 <= v` (0 when none is, or
/// `v` is not a number): the thirty bits the halvings of `[-half, half]` give `v`.
fn cell(v: f64, half: f64) -> u64 {
    let max = (1u64 << AXIS_BITS) - 1;
    let step = 2.0 * half / f64::from(1u32 << AXIS_BITS);
    // `k * step` is exact (`step` is 45 or 22.5 times a power of two, `k` below 2^30) and so
    // is adding `-half` (the result's last bit is far above the f64's 53-bit limit).
    let grid = |k: u64| -half + k as f64 * step;
    // `as` saturates: below 0 and NaN give 0, above the top gives `u64::MAX`. Rounding is
    // monotone and `(grid(k) + half) / step` is exactly `k`, so the estimate is never below
    // the answer; it can be above it by one where rounding carried `v` onto the next grid
    // point.
    let k = (((v + half) / step) as u64).min(max);
    // One correction, not a loop: a `while` here was turned by the compiler into a vectorised
    // search (a few hundred bytes of code run for every axis of every C7 row, 4 % of a page).
    if k > 0 && grid(k) > v {
        k - 1
    } else {
        k
    }
}

/// `x` and `y` (30 bits each) interleaved, `x`'s bits in the higher place of each pair.
fn interleave(x: u64, y: u64) -> u64 {
    // Spread 30 bits to the even places of 60, by halves.
    fn spread(mut v: u64) -> u64 {
        v &= 0x3fff_ffff;
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    (spread(x) << 1) | spread(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The halvings one by one, as the scheme describes them: the reference.
    fn by_halving(lat: f64, lng: f64, precision: usize) -> String {
        let precision = precision.clamp(1, 12);
        let (mut lat_lo, mut lat_hi) = (-90.0_f64, 90.0_f64);
        let (mut lng_lo, mut lng_hi) = (-180.0_f64, 180.0_f64);
        let (lat, lng) = (lat.clamp(-90.0, 90.0), lng.clamp(-180.0, 180.0));
        let mut out = String::new();
        let (mut even, mut bits, mut ch) = (true, 0, 0usize);
        while out.len() < precision {
            let (v, lo, hi) = if even { (lng, &mut lng_lo, &mut lng_hi) } else { (lat, &mut lat_lo, &mut lat_hi) };
            let mid = (*lo + *hi) / 2.0;
            ch <<= 1;
            if v >= mid {
                ch |= 1;
                *lo = mid;
            } else {
                *hi = mid;
            }
            even = !even;
            bits += 1;
            if bits == 5 {
                out.push(BASE32[ch] as char);
                (bits, ch) = (0, 0);
            }
        }
        out
    }

    #[test]
    fn the_grid_answers_as_the_halvings_do() {
        let mut samples = vec![0.0, -0.0, 90.0, -90.0, 180.0, -180.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300];
        samples.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 48.860611, 2.337644, 57.64911, 10.40744]);
        // Grid points of every depth and their neighbours, where a halving's comparison is
        // decided by the last bit.
        for depth in [1, 2, 5, 17, 29, 30, 31] {
            for k in [0u64, 1, 3, 7, 12_345, (1 << depth) - 1, 1 << (depth - 1)] {
                for half in [90.0, 180.0] {
                    let g = -half + k as f64 * (2.0 * half / (1u64 << depth) as f64);
                    samples.extend([g, f64::from_bits(g.to_bits() + 1), f64::from_bits(g.to_bits().wrapping_sub(1))]);
                }
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            samples.push((next() % 4_000_000_000) as f64 / 1e7 - 200.0);
            samples.push(f64::from_bits(next()));
        }
        for (i, &lat) in samples.iter().enumerate() {
            let lng = samples[(i * 7 + 3) % samples.len()];
            for (a, b) in [(lat, lng), (lng, lat)] {
                assert_eq!(encode(a, b, 12), by_halving(a, b, 12), "{a:e} {b:e}");
            }
        }
        assert_eq!(encode(48.86, 2.33, 5), by_halving(48.86, 2.33, 5));
    }

    #[test]
    fn known_geohashes() {
        // The classic example from the geohash article.
        assert_eq!(encode(57.64911, 10.40744, 11), "u4pruydqqvj");
        // Louvre, Paris.
        assert_eq!(encode(48.860611, 2.337644, 5), "u09tv");
        assert_eq!(encode(0.0, 0.0, 1), "s");
        assert_eq!(encode(-90.0, -180.0, 3), "000");
        assert_eq!(encode(90.0, 180.0, 3), "zzz");
        assert_eq!(encode(48.86, 2.33, 40).len(), 12);
    }
}
