//! Small statistics: spread over repeats and latency quantiles.

use crate::record::result::{LatencyMs, WallMs};
use hdrhistogram::Histogram;

/// The median of `values` (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Index of the value that stands for the median: the middle one, or the
/// lower of the two middle ones for an even count.
pub fn median_index(values: &[f64]) -> Option<usize> {
    if values.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    Some(order[(values.len() - 1) / 2])
}

/// min / median / max of wall times in ms.
pub fn wall_spread(wall_ms: &[f64]) -> WallMs {
    if wall_ms.is_empty() {
        return WallMs::default();
    }
    WallMs {
        min: wall_ms.iter().copied().fold(f64::INFINITY, f64::min),
        median: median(wall_ms),
        max: wall_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// p50 / p99 / max of completion times given in nanoseconds, in ms.
///
/// Recorded with an HDR histogram at microsecond resolution and three
/// significant digits, so a million tasks cost a few KiB, not a sort.
pub fn latency_quantiles(completions_ns: &[u64]) -> LatencyMs {
    // 1 µs to 10 hours: longer than any cell may run (timeouts are at most a day,
    // but a task completing after 10 h would be recorded at 10 h, not lost).
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 36_000_000_000, 3)
        .expect("the bounds and 3 significant digits are valid");
    for ns in completions_ns {
        // Round up to whole microseconds so a task never looks faster than it was.
        histogram.saturating_record(ns.div_ceil(1_000).max(1));
    }
    if histogram.is_empty() {
        return LatencyMs::default();
    }
    let ms = |us: u64| us as f64 / 1e3;
    // The histogram reports the top of a value's bucket (up to 0.1% above
    // it), so the exact maximum comes from the data, and no quantile may
    // exceed it: a task cannot finish after the last one did.
    let max_us = completions_ns
        .iter()
        .map(|ns| ns.div_ceil(1_000).max(1))
        .max()
        .unwrap_or(0);
    LatencyMs {
        p50: ms(histogram.value_at_quantile(0.50).min(max_us)),
        p99: ms(histogram.value_at_quantile(0.99).min(max_us)),
        max: ms(max_us),
    }
}

/// True when the slowest repeat took more than 1.5× the fastest.
pub fn is_noisy(wall: &WallMs) -> bool {
    wall.min > 0.0 && wall.max / wall.min > 1.5
}

/// A least-squares line `y = intercept + slope · x` and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    /// Coefficient of determination: 1.0 is a perfect line, 0 explains nothing.
    pub r_squared: f64,
}

/// Fits a line through `(x, y)` points; `None` with fewer than two distinct x.
///
/// Used for memory per unit of work: the slope of peak RSS against the
/// number of tasks or threads is the cost of one more, without the fixed
/// cost of the runtime and the binary.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let ss_total: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let ss_residual: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let r_squared = if ss_total == 0.0 {
        1.0
    } else {
        1.0 - ss_residual / ss_total
    };
    Some(LinearFit {
        slope,
        intercept,
        r_squared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_fit_recovers_a_line_and_rates_noise() {
        let exact: Vec<(f64, f64)> = (1..=5).map(|x| (x as f64, 3.0 + 2.0 * x as f64)).collect();
        let fit = linear_fit(&exact).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-9 && (fit.intercept - 3.0).abs() < 1e-9);
        assert!((fit.r_squared - 1.0).abs() < 1e-9);
        let noisy = [(1.0, 1.0), (2.0, 5.0), (3.0, 2.0), (4.0, 6.0)];
        assert!(linear_fit(&noisy).unwrap().r_squared < 0.9);
        assert!(linear_fit(&[(1.0, 1.0)]).is_none());
        assert!(linear_fit(&[(2.0, 1.0), (2.0, 3.0)]).is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn median_index_points_at_the_middle_value() {
        assert_eq!(median_index(&[30.0, 10.0, 20.0]), Some(2));
        assert_eq!(median_index(&[40.0, 10.0, 30.0, 20.0]), Some(3));
        assert_eq!(median_index(&[]), None);
    }

    #[test]
    fn spread_is_ordered() {
        let w = wall_spread(&[12.0, 10.0, 30.0]);
        assert_eq!((w.min, w.median, w.max), (10.0, 12.0, 30.0));
        assert!(is_noisy(&w));
        assert!(!is_noisy(&wall_spread(&[10.0, 11.0, 14.0])));
    }

    #[test]
    fn latency_quantiles_from_nanoseconds() {
        // 100 tasks finishing at 1, 2, ..., 100 ms.
        let ns: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let l = latency_quantiles(&ns);
        assert!((l.p50 - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.p99 - 99.0).abs() < 0.1, "{l:?}");
        assert_eq!(l.max, 100.0, "the maximum is exact");
        assert_eq!(latency_quantiles(&[]), LatencyMs::default());
    }

    #[test]
    fn latency_never_exceeds_the_last_completion() {
        // 51.6 ms sits in a histogram bucket about 30 µs wide; the top of
        // that bucket must not be reported as the max.
        let ns = [51_583_000, 51_600_123];
        let l = latency_quantiles(&ns);
        assert_eq!(l.max, 51.601);
        assert!(l.p99 <= l.max && l.p50 <= l.max, "{l:?}");
    }
}
