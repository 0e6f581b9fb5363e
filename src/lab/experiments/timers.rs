//! The timer-precision experiment: how long a sleep of 0.1, 1 and 10 ms
//! really takes with each async runtime's own timer and with
//! `std::thread::sleep`.
//!
//! Every sleep in the lab's workloads goes through one of these timers, so
//! this small experiment explains a systematic gap in the other charts:
//! tokio's timer wheel ticks once per millisecond and rounds a sleep up to
//! the next tick, while async-io (smol, async-std) and the kernel's
//! `nanosleep` wake close to the requested time. Each runtime is built
//! before any sleep is timed, one untimed sleep warms its timer up, and every
//! figure is the spread of several samples (min / median / max). The records
//! it produces are the report's `timers.jsonl` ([`TimerRecord`]).

use crate::model::{self, Model, ModelConfig};
use crate::os::measure;
use crate::record::timers::TimerRecord;
use anyhow::Context;
use std::time::Duration;

/// The sleeps requested, in ms.
pub const REQUESTED_MS: [f64; 3] = [0.1, 1.0, 10.0];

/// Timed samples per timer and requested sleep. Nine keeps the whole
/// experiment under a tenth of a second per timer (9 × ~11 ms) while giving
/// a median that one scheduler hiccup cannot move.
pub const SAMPLES: usize = 9;

/// The timers measured, in the registry's order: each model that offers a
/// timer of its own, by the timer's name, with the model whose colour it
/// takes (`std::thread::sleep` is drawn in `threads`' colour).
pub fn timers() -> Vec<(&'static str, &'static str)> {
    model::all()
        .iter()
        .filter_map(|model| model.offers().timer.map(|timer| (timer, model.name())))
        .collect()
}

/// Samples `model`'s timer in a task on its runtime, built the way the
/// model builds it (one worker per core).
fn sample_timer(
    model: &dyn Model,
    requested: &[Duration],
    samples: usize,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let config = ModelConfig {
        workers: measure::cores(),
        stack_kib: None,
    };
    model
        .lab(&config)
        .with_context(|| {
            format!(
                "building the {} runtime for the timer experiment",
                model.name()
            )
        })?
        .sample_sleeps(requested, samples)
}

/// Measures every timer at every requested sleep.
pub fn measure_timers(requested_ms: &[f64], samples: usize) -> anyhow::Result<Vec<TimerRecord>> {
    let machine = crate::lab::machine::machine();
    let started_unix_s = measure::unix_now_s();
    let durations: Vec<Duration> = requested_ms
        .iter()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    let mut records = Vec::new();
    for (timer, model) in timers() {
        if crate::os::interrupt::requested() {
            break; // the caller stops the report; what finished is kept
        }
        let taken = sample_timer(
            model::by_name(model).context("a timer names an unknown model")?,
            &durations,
            samples,
        )?;
        for (requested, taken) in requested_ms.iter().zip(taken) {
            records.push(TimerRecord {
                timer: timer.to_string(),
                model: model.to_string(),
                requested_ms: *requested,
                samples: taken.len() as u32,
                actual_ms: crate::record::result::WallMs::spread_of(&taken),
                machine: machine.clone(),
                started_unix_s,
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_timer_wakes_before_the_requested_time() {
        // Two samples at 1 ms and 5 ms: a timer may be late, never early, and
        // even on a busy machine a 5 ms sleep does not take half a second.
        let records = measure_timers(&[1.0, 5.0], 2).unwrap();
        assert_eq!(records.len(), timers().len() * 2);
        for record in &records {
            assert!(
                record.actual_ms.min >= record.requested_ms * 0.999,
                "{} woke early: {record:?}",
                record.timer
            );
            assert!(
                record.actual_ms.max < record.requested_ms + 500.0,
                "{record:?}"
            );
            assert_eq!(record.samples, 2);
        }
    }
}
