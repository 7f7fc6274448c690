//! Random draws of the simulation, all from the world's one generator (`SimRng`).

use crate::clock::Millis;
use crate::model::SimRng;

/// An exponentially distributed delay with mean `mean_ms`, at least 1 ms (Poisson arrivals).
pub fn exp_ms(rng: &mut SimRng, mean_ms: f64) -> Millis {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let d = -(1.0 - rng.unit()).ln() * mean_ms;
    if d.is_finite() {
        (d.round() as Millis).max(1)
    } else {
        1
    }
}

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with median `median` and log-spread `sigma`, clamped to `lo..=hi`.
pub fn log_normal(rng: &mut SimRng, median: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    (median * (sigma * normal(rng)).exp()).clamp(lo, hi.max(lo))
}

/// One element of `items`, uniformly (`None` when empty).
pub fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.below(items.len() as u64) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_have_the_intended_shape() {
        let mut rng = SimRng::new(3);
        let n = 4000;
        let mean = (0..n).map(|_| exp_ms(&mut rng, 1000.0)).sum::<i64>() as f64 / n as f64;
        assert!((900.0..1100.0).contains(&mean), "{mean}");
        let mut d: Vec<f64> = (0..n).map(|_| log_normal(&mut rng, 75.0, 0.6, 5.0, 720.0)).collect();
        d.sort_by(f64::total_cmp);
        let median = d[n / 2];
        assert!((68.0..82.0).contains(&median), "{median}");
        let mostly = d.iter().filter(|m| (30.0..=180.0).contains(*m)).count();
        assert!(mostly * 100 >= n * 80, "{mostly} of {n} within 30 min..3 h");
    }
}
