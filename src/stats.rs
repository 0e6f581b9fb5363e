//! Small statistics: spread over repeats and latency quantiles.

use crate::result::{LatencyMs, WallMs};
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
    let mut histogram = Histogram::<u64>::new(3).expect("3 significant digits is valid");
    for ns in completions_ns {
        // Round up to whole microseconds so a task never looks faster than it was.
        histogram.saturating_record(ns.div_ceil(1_000).max(1));
    }
    if histogram.is_empty() {
        return LatencyMs::default();
    }
    let ms = |us: u64| us as f64 / 1e3;
    LatencyMs {
        p50: ms(histogram.value_at_quantile(0.50)),
        p99: ms(histogram.value_at_quantile(0.99)),
        max: ms(histogram.max()),
    }
}

/// True when the slowest repeat took more than 1.5× the fastest.
pub fn is_noisy(wall: &WallMs) -> bool {
    wall.min > 0.0 && wall.max / wall.min > 1.5
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!((l.max - 100.0).abs() < 0.1, "{l:?}");
        assert_eq!(latency_quantiles(&[]), LatencyMs::default());
    }
}
