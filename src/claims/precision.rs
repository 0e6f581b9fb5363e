//! Where a claim's figure meets its line: the one place the judges turn
//! repeats into a 95 % interval and decide a line with it.
//!
//! A judge never compares a single median with its threshold. It takes an
//! [`Estimate`] — the figure with its interval, from the repeats of one
//! side ([`Estimate::median_of`]) or of both sides of a ratio
//! ([`Estimate::ratio`], a bootstrap over each side's repeats) — and asks
//! [`Estimate::side`] where it lies. A rule that combines several lines
//! goes through [`unanimous`]: the outcome stands only when every way the
//! straddling intervals could fall gives the same outcome; otherwise the
//! claim is "too close to call at this precision" ([`too_close`]), with the
//! intervals that straddled shown.

use super::{Figure, Threshold, Trial, Verdict};
use crate::stats::interval::{self, Interval, IntervalMethod, Side};

/// A figure and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// The point figure (a median, or a ratio of medians).
    pub value: f64,
    pub interval: Interval,
}

impl Estimate {
    /// The median of `repeats` with its order-statistics interval (the
    /// min–max range below 6 repeats). `None` for no repeats.
    pub fn median_of(repeats: &[f64]) -> Option<Estimate> {
        let interval = interval::median_interval(repeats)?;
        Some(Estimate {
            value: crate::stats::median(repeats),
            interval,
        })
    }

    /// `median(top) / median(bottom)`, with its percentile-bootstrap
    /// interval over the repeats of both (e.g. a speedup: the sequential
    /// walls over a model's). `None` when a side is empty or not positive.
    pub fn ratio(top: &[f64], bottom: &[f64]) -> Option<Estimate> {
        let estimate = interval::ratio_of_medians(top, bottom)?;
        Some(Estimate {
            value: estimate.ratio,
            interval: estimate.interval,
        })
    }

    /// The ratio of two estimates whose repeats are gone (only their
    /// intervals are known): the extreme ratios, at least as wide as the
    /// truth.
    pub fn ratio_of(top: &Estimate, bottom: &Estimate) -> Option<Estimate> {
        let interval = interval::ratio_of_intervals(&top.interval, &bottom.interval)?;
        Some(Estimate {
            value: top.value / bottom.value,
            interval,
        })
    }

    /// A figure known exactly (a count, or a fixed input): its interval is
    /// the point itself.
    pub fn exact(value: f64) -> Estimate {
        Estimate {
            value,
            interval: Interval {
                low: value,
                high: value,
                method: IntervalMethod::Range,
                coverage: 1.0,
            },
        }
    }

    /// Where the whole interval lies against `line`.
    pub fn side(&self, line: f64) -> Side {
        interval::side_of_line(&self.interval, line)
    }

    /// "1.91 (1.85–1.97)" with `decimals` decimals.
    pub fn text(&self, decimals: usize) -> String {
        format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, self.value, decimals, self.interval.low, decimals, self.interval.high
        )
    }

    /// The estimate as a figure of the record, interval included.
    pub fn figure(&self, label: impl Into<String>, unit: &str) -> Figure {
        Figure {
            interval: Some(self.interval),
            ..super::figure(label, self.value, unit)
        }
    }
}

/// The outcome of `rule` over lines judged by `sides` (true = above the
/// line), when every way the too-close sides could fall gives the same
/// outcome; `None` (too close to call) otherwise. Clear sides keep their
/// side; each straddling side is tried both ways.
pub(crate) fn unanimous<V: PartialEq>(sides: &[Side], rule: impl Fn(&[bool]) -> V) -> Option<V> {
    let open: Vec<usize> = (0..sides.len())
        .filter(|&i| sides[i] == Side::TooClose)
        .collect();
    let mut above: Vec<bool> = sides.iter().map(|side| *side == Side::Above).collect();
    let mut outcome = None;
    // The lines a claim combines are a handful, so every assignment of the
    // open ones is tried (2^open, a few dozen at most).
    for assignment in 0..(1u64 << open.len().min(16)) {
        for (bit, &i) in open.iter().enumerate() {
            above[i] = assignment & (1 << bit) != 0;
        }
        let this = rule(&above);
        match &outcome {
            None => outcome = Some(this),
            Some(first) if *first != this => return None,
            Some(_) => {}
        }
    }
    outcome
}

/// The trial of a claim whose intervals straddle its lines: "too close to
/// call at this precision", naming each straddling figure with its interval
/// and the line it straddles, and how many repeats it had.
pub(crate) fn too_close(
    measured: String,
    figures: Vec<Figure>,
    straddling: &[String],
    repeats: usize,
    thresholds: Vec<Threshold>,
    cell_commands: Vec<String>,
) -> Trial {
    Trial {
        measured,
        figures,
        verdict: Verdict::TooCloseToCall,
        caveat: None,
        decided_by: format!(
            "too close to call at this precision: {} (95 % intervals from {repeats} repeat(s)); \
             more repeats narrow the interval (`--repeat N`)",
            straddling.join("; ")
        ),
        thresholds,
        cell_commands,
        chart: None,
    }
}

/// "thread-pool ×1.49 (1.41–1.58) straddles 1.50" for a too-close line
/// (`what` is written right before the figure: "thread-pool ×").
pub(crate) fn straddles(what: &str, estimate: &Estimate, line: f64, decimals: usize) -> String {
    format!(
        "{what}{} straddles {line:.*}",
        estimate.text(decimals),
        decimals
    )
}

/// Test helpers: repeats spread around a value.
#[cfg(test)]
pub(crate) mod spread {
    /// Five repeats around `median`, each `relative` apart (0.01 gives
    /// median × 0.98, 0.99, 1, 1.01, 1.02): a tight spread for a clear
    /// verdict, a wide one for "too close to call".
    pub fn around(median: f64, relative: f64) -> Vec<f64> {
        [-2.0, -1.0, 0.0, 1.0, 2.0]
            .iter()
            .map(|k| median * (1.0 + k * relative))
            .collect()
    }

    /// A tight spread (0.5 % steps): every test's default.
    pub fn tight(median: f64) -> Vec<f64> {
        around(median, 0.005)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_estimate_holds_its_ratio_and_decides_only_off_the_line() {
        let slow = spread::tight(200.0);
        let fast = spread::tight(100.0);
        let speedup = Estimate::ratio(&slow, &fast).unwrap();
        assert!((speedup.value - 2.0).abs() < 1e-9);
        assert!(speedup.interval.contains(2.0));
        assert_eq!(speedup.side(1.5), Side::Above);
        assert_eq!(speedup.side(2.5), Side::Below);
        assert_eq!(speedup.side(2.0), Side::TooClose);
        assert!(Estimate::ratio(&[], &fast).is_none());
        assert!(Estimate::median_of(&[]).is_none());
        assert_eq!(Estimate::exact(3.0).side(3.0), Side::TooClose);
        assert_eq!(
            Estimate::median_of(&spread::around(10.0, 0.1))
                .unwrap()
                .text(1),
            "10.0 (8.0–12.0)"
        );
    }

    #[test]
    fn an_outcome_stands_only_when_every_open_side_gives_it() {
        let all_above = |above: &[bool]| above.iter().all(|a| *a);
        assert_eq!(
            unanimous(&[Side::Above, Side::Above], all_above),
            Some(true)
        );
        assert_eq!(
            unanimous(&[Side::Below, Side::TooClose], all_above),
            Some(false),
            "one clear miss decides 'not all'"
        );
        assert_eq!(unanimous(&[Side::Above, Side::TooClose], all_above), None);
        assert_eq!(unanimous(&[], all_above), Some(true));
    }

    #[test]
    fn a_too_close_trial_names_the_interval_and_the_line() {
        let estimate =
            Estimate::ratio(&spread::around(150.0, 0.05), &spread::tight(100.0)).unwrap();
        let line = straddles("thread-pool ×", &estimate, 1.5, 2);
        let trial = too_close(String::new(), vec![], &[line], 5, vec![], vec![]);
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial.decided_by.contains("straddles 1.50") && trial.decided_by.contains("5 repeat"),
            "{}",
            trial.decided_by
        );
    }
}
