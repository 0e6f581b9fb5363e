//! 95 % confidence intervals, and the one rule that decides a line with them.
//!
//! A verdict drawn from a single median changes when the run is repeated:
//! the cells move by more than the gaps the verdicts cut at. So every
//! comparison that decides a sentence goes through this module: an interval
//! for the median of a cell's repeats, an interval for the ratio of two
//! cells' medians, and [`side_of_line`] / [`side_of_band`], which judge a
//! line only when the interval lies wholly on one side of it and otherwise
//! say "too close to call at this precision".
//!
//! Pure functions: slices of `f64` in, small structs out. Deterministic: the
//! bootstrap uses a fixed seed, so the same repeats always give the same
//! interval (a report can be rebuilt and compared byte for byte).

use serde::{Deserialize, Serialize};

/// The confidence the lab's intervals aim at.
pub const CONFIDENCE: f64 = 0.95;

/// Bootstrap resamples for a ratio: criterion uses 100,000; 10,000 puts the
/// 2.5 % and 97.5 % percentiles within a fraction of a percent of their
/// limit and costs a few milliseconds for a handful of repeats.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The bootstrap's fixed seed (any constant: it only has to be the same
/// every time).
const BOOTSTRAP_SEED: u64 = 0x5eed_a5c1_0b10_c4ed;

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalMethod {
    /// Two order statistics of the repeats chosen so that the median lies
    /// between them with at least 95 % probability, whatever the
    /// distribution (binomial argument; needs at least 6 repeats).
    OrderStatistics,
    /// Fewer than 6 repeats: no pair of order statistics reaches 95 %, so
    /// the interval is the whole min–max range, and `coverage` says how
    /// sure it is (1 − 2^(1−n): 75 % for 3 repeats, 94 % for 5).
    Range,
    /// Percentile bootstrap over repeats (fixed seed), for a ratio of medians.
    Bootstrap,
    /// Student's t on a least-squares slope (memory per task).
    Regression,
}

impl IntervalMethod {
    /// The words a caption or legend uses for the method.
    pub fn describe(self) -> &'static str {
        match self {
            IntervalMethod::OrderStatistics => "95 % interval of the median (order statistics)",
            IntervalMethod::Range => "min–max range (too few repeats for a 95 % interval)",
            IntervalMethod::Bootstrap => "95 % bootstrap interval",
            IntervalMethod::Regression => "95 % interval of the slope",
        }
    }
}

/// A confidence interval `[low, high]` around an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    pub method: IntervalMethod,
    /// The probability that the interval holds the true value (at least
    /// 0.95 except for [`IntervalMethod::Range`], where it is what the
    /// repeats allow).
    pub coverage: f64,
}

impl Interval {
    /// True when `value` lies inside the interval (ends included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    /// The interval of `scale / x` for x in this interval (e.g. efficiency =
    /// ideal / wall): the ends swap. `None` when the interval touches zero.
    pub fn reciprocal_scaled(&self, scale: f64) -> Option<Interval> {
        if self.low <= 0.0 || self.high <= 0.0 {
            return None;
        }
        Some(Interval {
            low: scale / self.high,
            high: scale / self.low,
            ..*self
        })
    }
}

/// Probability that a binomial(n, 1/2) count is below `k`: the chance that
/// fewer than `k` repeats fall below the true median.
fn binomial_half_below(n: usize, k: usize) -> f64 {
    // Sum C(n, i) / 2^n for i < k in floating point; n is a count of
    // repeats (tens at most), so this is exact enough and never overflows.
    let mut term = 0.5_f64.powi(n as i32); // C(n, 0) / 2^n
    let mut sum = 0.0;
    for i in 0..k {
        sum += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    sum
}

/// A 95 % interval for the median of `values`, distribution-free.
///
/// With n sorted repeats, `[x(k), x(n−k+1)]` holds the true median with
/// probability `1 − 2·P(Binomial(n, ½) < k)`; the narrowest such interval
/// that reaches 95 % is returned. Below 6 repeats no k reaches 95 % and the
/// min–max range is returned, labelled [`IntervalMethod::Range`] with its
/// real coverage (chosen over a bootstrap: a bootstrap of 3 values can only
/// return those values and would claim a confidence it does not have).
/// `None` for an empty slice.
pub fn median_interval(values: &[f64]) -> Option<Interval> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let coverage_of = |k: usize| 1.0 - 2.0 * binomial_half_below(n, k);
    let best_k = (1..=n.div_ceil(2))
        .take_while(|&k| coverage_of(k) >= CONFIDENCE)
        .last();
    Some(match best_k {
        Some(k) => Interval {
            low: sorted[k - 1],
            high: sorted[n - k],
            method: IntervalMethod::OrderStatistics,
            coverage: coverage_of(k),
        },
        None => Interval {
            low: sorted[0],
            high: sorted[n - 1],
            method: IntervalMethod::Range,
            coverage: coverage_of(1).max(0.0),
        },
    })
}

/// The ratio of two samples' medians, `median(a) / median(b)`, with its
/// 95 % percentile-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// median(a) / median(b) of the samples themselves.
    pub ratio: f64,
    pub interval: Interval,
}

/// SplitMix64: a tiny, well-mixed generator; enough to draw resample
/// indices reproducibly without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        // Multiply-shift: unbiased enough for n of a few hundred at most.
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn resampled_median(values: &[f64], rng: &mut SplitMix64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..values.len()).map(|_| values[rng.below(values.len())]));
    scratch.sort_by(f64::total_cmp);
    median_of_sorted(scratch)
}

/// `median(a) / median(b)` with a 95 % percentile bootstrap over the
/// repeats of each (resampled independently, [`BOOTSTRAP_RESAMPLES`]
/// times, fixed seed). `None` when either sample is empty or a median is
/// not positive (a ratio of times or rates is meaningless there).
///
/// To state "A ran r × faster than B" from wall times, pass B's walls as
/// `a` and A's as `b` (the slower over the faster).
pub fn ratio_of_medians(a: &[f64], b: &[f64]) -> Option<RatioEstimate> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let sorted = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    };
    let (median_a, median_b) = (median_of_sorted(&sorted(a)), median_of_sorted(&sorted(b)));
    if median_a <= 0.0 || median_b <= 0.0 || !median_a.is_finite() || !median_b.is_finite() {
        return None;
    }
    let mut rng = SplitMix64(BOOTSTRAP_SEED);
    let mut scratch = Vec::with_capacity(a.len().max(b.len()));
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let top = resampled_median(a, &mut rng, &mut scratch);
            let bottom = resampled_median(b, &mut rng, &mut scratch);
            top / bottom
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let at =
        |q: f64| ratios[((q * (ratios.len() - 1) as f64).round() as usize).min(ratios.len() - 1)];
    Some(RatioEstimate {
        ratio: median_a / median_b,
        interval: Interval {
            low: at(tail),
            high: at(1.0 - tail),
            method: IntervalMethod::Bootstrap,
            coverage: CONFIDENCE,
        },
    })
}

/// Two-sided 97.5 % quantiles of Student's t for 1 to 30 degrees of
/// freedom (beyond 30, 1.96 is within 4 %).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// A 95 % interval for the slope of a least-squares line through
/// `(x, y)` points (Student's t on the slope's standard error). `None`
/// with fewer than 3 points or a single x: two points always lie on a
/// line, so they say nothing about how sure the slope is.
pub fn slope_interval(points: &[(f64, f64)]) -> Option<Interval> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = points
        .iter()
        .map(|p| (p.0 - mean_x) * (p.1 - mean_y))
        .sum::<f64>()
        / sxx;
    let intercept = mean_y - slope * mean_x;
    let residual: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let freedom = points.len() - 2;
    let t = T_975.get(freedom - 1).copied().unwrap_or(1.96);
    let half = t * (residual / freedom as f64 / sxx).sqrt();
    Some(Interval {
        low: slope - half,
        high: slope + half,
        method: IntervalMethod::Regression,
        coverage: CONFIDENCE,
    })
}

/// The ratio `a / b` of two positive quantities known by their
/// intervals, as an interval whose ends are the extreme ratios (at least
/// as wide as the truth; [`IntervalMethod::Range`]). `high` is infinite
/// when `b` may be zero; `None` when `a` may be zero or negative too, or
/// either is unknown.
pub fn ratio_of_intervals(a: &Interval, b: &Interval) -> Option<Interval> {
    if a.low <= 0.0 || b.high <= 0.0 {
        return None;
    }
    Some(Interval {
        low: a.low / b.high,
        high: if b.low > 0.0 {
            a.high / b.low
        } else {
            f64::INFINITY
        },
        method: IntervalMethod::Range,
        coverage: a.coverage.min(b.coverage),
    })
}

/// Where an interval lies against one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Wholly above the line.
    Above,
    /// Wholly below the line.
    Below,
    /// The interval straddles (or touches) the line: too close to call at
    /// this precision.
    TooClose,
}

/// Judges `interval` against `line`: a side only when the whole interval is
/// on it.
pub fn side_of_line(interval: &Interval, line: f64) -> Side {
    if interval.low > line {
        Side::Above
    } else if interval.high < line {
        Side::Below
    } else {
        Side::TooClose
    }
}

/// Where a ratio's interval lies against a tolerance band `[1/t, t]` around 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandSide {
    /// Wholly above `t`: larger by more than the tolerance.
    Above,
    /// Wholly inside `[1/t, t]`: the same within the tolerance.
    Within,
    /// Wholly below `1/t`: smaller by more than the tolerance.
    Below,
    /// Straddles `t` or `1/t`: too close to call at this precision.
    TooClose,
}

/// Judges a ratio's interval against the band `[1/tolerance, tolerance]`
/// (e.g. 1.1 for ±10 %). A `tolerance` below 1 is read as its reciprocal.
pub fn side_of_band(interval: &Interval, tolerance: f64) -> BandSide {
    let upper = tolerance.max(1.0 / tolerance);
    let lower = 1.0 / upper;
    if interval.low > upper {
        BandSide::Above
    } else if interval.high < lower {
        BandSide::Below
    } else if interval.low >= lower && interval.high <= upper {
        BandSide::Within
    } else {
        BandSide::TooClose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(low: f64, high: f64) -> Interval {
        Interval {
            low,
            high,
            method: IntervalMethod::Bootstrap,
            coverage: CONFIDENCE,
        }
    }

    #[test]
    fn fewer_than_six_repeats_give_the_range_with_its_true_coverage() {
        let i = median_interval(&[12.0, 10.0, 11.0]).unwrap();
        assert_eq!(
            (i.low, i.high, i.method),
            (10.0, 12.0, IntervalMethod::Range)
        );
        assert!((i.coverage - 0.75).abs() < 1e-12, "{i:?}");
        let five = median_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(five.method, IntervalMethod::Range);
        assert!((five.coverage - 0.9375).abs() < 1e-12);
        let one = median_interval(&[7.0]).unwrap();
        assert_eq!((one.low, one.high, one.coverage), (7.0, 7.0, 0.0));
        assert!(median_interval(&[]).is_none());
    }

    #[test]
    fn six_repeats_or_more_use_order_statistics_of_at_least_95_percent() {
        let six = median_interval(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0]).unwrap();
        assert_eq!(six.method, IntervalMethod::OrderStatistics);
        assert_eq!((six.low, six.high), (1.0, 6.0));
        // 20 repeats: the classic table gives x(6) .. x(15) (coverage 95.9 %).
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        let i = median_interval(&twenty).unwrap();
        assert_eq!((i.low, i.high), (6.0, 15.0), "{i:?}");
        assert!(i.coverage >= CONFIDENCE && i.coverage < 0.97);
        assert!(i.contains(10.5));
    }

    #[test]
    fn the_ratio_bootstrap_is_deterministic_and_holds_the_ratio() {
        let threads = [19.0, 20.0, 21.0, 20.5, 19.5];
        let tokio = [10.0, 10.4, 9.8, 10.1, 10.2];
        let first = ratio_of_medians(&threads, &tokio).unwrap();
        let again = ratio_of_medians(&threads, &tokio).unwrap();
        assert_eq!(
            first, again,
            "a fixed seed gives the same interval every time"
        );
        assert!((first.ratio - 20.0 / 10.1).abs() < 1e-12);
        assert!(first.interval.contains(first.ratio), "{first:?}");
        assert!(
            first.interval.low > 1.7 && first.interval.high < 2.3,
            "{first:?}"
        );
        assert!(ratio_of_medians(&[], &tokio).is_none());
        assert!(ratio_of_medians(&threads, &[0.0]).is_none());
    }

    #[test]
    fn identical_samples_give_a_ratio_interval_around_one() {
        let same = [10.0, 11.0, 12.0, 10.5, 11.5];
        let r = ratio_of_medians(&same, &same).unwrap();
        assert_eq!(r.ratio, 1.0);
        assert!(r.interval.low < 1.0 && r.interval.high > 1.0, "{r:?}");
    }

    #[test]
    fn a_line_is_judged_only_when_the_interval_is_wholly_on_one_side() {
        assert_eq!(side_of_line(&interval(0.91, 0.95), 0.9), Side::Above);
        assert_eq!(side_of_line(&interval(0.80, 0.88), 0.9), Side::Below);
        assert_eq!(side_of_line(&interval(0.88, 0.93), 0.9), Side::TooClose);
        assert_eq!(
            side_of_line(&interval(0.90, 0.93), 0.9),
            Side::TooClose,
            "touching is not clear"
        );
    }

    #[test]
    fn a_ratio_band_reaches_above_within_below_and_too_close() {
        assert_eq!(side_of_band(&interval(1.6, 2.3), 1.1), BandSide::Above);
        assert_eq!(side_of_band(&interval(0.95, 1.05), 1.1), BandSide::Within);
        assert_eq!(side_of_band(&interval(0.4, 0.6), 1.1), BandSide::Below);
        assert_eq!(side_of_band(&interval(1.05, 1.3), 1.1), BandSide::TooClose);
        assert_eq!(side_of_band(&interval(0.8, 0.95), 1.1), BandSide::TooClose);
        assert_eq!(
            side_of_band(&interval(0.4, 0.6), 1.0 / 1.1),
            BandSide::Below
        );
    }

    #[test]
    fn a_slope_interval_is_tight_on_a_line_and_holds_zero_for_noise() {
        let line: Vec<(f64, f64)> = (1..=5)
            .map(|x| (x as f64, 2.0 * x as f64 + 0.01 * (x % 2) as f64))
            .collect();
        let tight = slope_interval(&line).unwrap();
        assert!(tight.low > 1.9 && tight.high < 2.1, "{tight:?}");
        let flat = [(1.0, 5.0), (2.0, 4.0), (3.0, 6.0), (4.0, 5.0)];
        assert!(slope_interval(&flat).unwrap().contains(0.0));
        assert!(slope_interval(&[(1.0, 1.0), (2.0, 2.0)]).is_none());
    }

    #[test]
    fn a_ratio_of_intervals_spans_the_extreme_ratios() {
        let r = ratio_of_intervals(&interval(8.0, 12.0), &interval(2.0, 4.0)).unwrap();
        assert_eq!((r.low, r.high), (2.0, 6.0));
        let open = ratio_of_intervals(&interval(8.0, 12.0), &interval(-1.0, 4.0)).unwrap();
        assert!(open.high.is_infinite());
        assert!(ratio_of_intervals(&interval(-1.0, 12.0), &interval(2.0, 4.0)).is_none());
    }

    #[test]
    fn an_efficiency_interval_is_the_wall_interval_inverted() {
        let wall = median_interval(&[100.0, 125.0, 110.0]).unwrap();
        let efficiency = wall.reciprocal_scaled(100.0).unwrap();
        assert_eq!((efficiency.low, efficiency.high), (0.8, 1.0));
        assert!(interval(0.0, 1.0).reciprocal_scaled(1.0).is_none());
    }
}
