//! Distances and coordinate systems for the geo list (O6).
//!
//! Shops are stored in WGS-84. O6 callers may send GCJ-02 (China's offset system, identical
//! to WGS-84 outside China) or BD-09 (Baidu's, offset from GCJ-02 everywhere); both are
//! converted to WGS-84 with the usual published approximations before measuring.

use std::f64::consts::PI;

/// Mean Earth radius in metres, the sphere every distance is measured on.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Metres per degree of latitude on that sphere (and of longitude at the equator), rounded
/// down: search boxes and rings built from it are never too small.
pub const METRES_PER_DEGREE: f64 = 111_195.0;

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Search radius in metres for an O6 `zoomLevel` (1 = 2500 km .. 8 = 19 m), per the docs.
pub fn zoom_radius_m(zoom: u8) -> Option<f64> {
    Some(match zoom {
        1 => 2_500_000.0,
        2 => 630_000.0,
        3 => 78_000.0,
        4 => 30_000.0,
        5 => 2_400.0,
        6 => 610.0,
        7 => 76.0,
        8 => 19.0,
        _ => return None,
    })
}

fn out_of_china(lat: f64, lng: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lng(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// GCJ-02 to WGS-84 (one-step inverse, metre-level accuracy; identity outside China).
pub fn gcj02_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    if out_of_china(lat, lng) {
        return (lat, lng);
    }
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let mut dlat = transform_lat(lng - 105.0, lat - 35.0);
    let mut dlng = transform_lng(lng - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - EE * radlat.sin() * radlat.sin();
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    dlng = (dlng * 180.0) / (A / sqrt_magic * radlat.cos() * PI);
    (lat - dlat, lng - dlng)
}

/// BD-09 to WGS-84 (via GCJ-02).
pub fn bd09_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    let x_pi = PI * 3000.0 / 180.0;
    let (x, y) = (lng - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * x_pi).sin();
    let theta = y.atan2(x) - 0.000003 * (x * x_pi).cos();
    gcj02_to_wgs84(z * theta.sin(), z * theta.cos())
}

/// Display text for a distance: `850m` below a kilometre, `1.2km` above.
pub fn distance_text(m: f64) -> String {
    if m < 1000.0 {
        format!("{}m", m.round() as i64)
    } else {
        format!("{:.1}km", m / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_louvre_to_gare_du_nord_is_about_3_km() {
        let d = distance_m(48.860611, 2.337644, 48.880931, 2.355323);
        assert!((2_500.0..3_000.0).contains(&d), "{d}");
        assert_eq!(distance_text(850.4), "850m");
        assert_eq!(distance_text(1_234.0), "1.2km");
    }

    #[test]
    fn gcj_is_identity_outside_china_and_small_inside() {
        assert_eq!(gcj02_to_wgs84(48.86, 2.33), (48.86, 2.33));
        let (lat, lng) = gcj02_to_wgs84(22.989442, 113.327761);
        assert!(distance_m(lat, lng, 22.989442, 113.327761) < 1_000.0);
    }
}
