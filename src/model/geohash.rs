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
pub fn encode_bytes(lat: f64, lng: f64, precision: usize) -> ([u8; 12], usize) {
    let precision = precision.clamp(1, 12);
    let (mut lat_lo, mut lat_hi) = (-90.0_f64, 90.0_f64);
    let (mut lng_lo, mut lng_hi) = (-180.0_f64, 180.0_f64);
    let lat = lat.clamp(-90.0, 90.0);
    let lng = lng.clamp(-180.0, 180.0);
    let mut out = [0u8; 12];
    let mut n = 0;
    // Bits alternate longitude, latitude, longitude, ...; every five make one character.
    let mut even = true;
    let (mut bits, mut ch) = (0u8, 0usize);
    while n < precision {
        if even {
            let mid = (lng_lo + lng_hi) / 2.0;
            if lng >= mid {
                ch = (ch << 1) | 1;
                lng_lo = mid;
            } else {
                ch <<= 1;
                lng_hi = mid;
            }
        } else {
            let mid = (lat_lo + lat_hi) / 2.0;
            if lat >= mid {
                ch = (ch << 1) | 1;
                lat_lo = mid;
            } else {
                ch <<= 1;
                lat_hi = mid;
            }
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out[n] = BASE32[ch];
            n += 1;
            bits = 0;
            ch = 0;
        }
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

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
