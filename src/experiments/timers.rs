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

use crate::measure;
use crate::model::TokioPrimitives;
use crate::model::{self, AsyncRuntime, AsyncStdPrimitives, ModelConfig, SmolPrimitives};
use crate::report::timers::TimerRecord;
use crate::stats;
use anyhow::Context;
use std::time::{Duration, Instant};

/// The timers measured: the name shown, and the model whose colour it takes.
pub const TIMERS: [(&str, &str); 4] = [
    ("tokio", "tokio"),
    ("async-std", "async-std"),
    ("smol", "smol"),
    ("std::thread::sleep", "threads"),
];

/// Timed samples per timer and requested sleep. Nine keeps the whole
/// experiment under half a second (4 timers × 9 × ~11 ms) while giving a
/// median that one scheduler hiccup cannot move.
pub const SAMPLES: usize = 9;

/// The sleeps requested, in ms.
pub const REQUESTED_MS: [f64; 3] = [0.1, 1.0, 10.0];

/// Sleeps once untimed, then `samples` times timed, for each request.
async fn sample_async<R: AsyncRuntime>(requested: Vec<Duration>, samples: usize) -> Vec<Vec<f64>> {
    let mut all = Vec::new();
    for duration in requested {
        R::sleep(duration).await;
        let mut taken = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            R::sleep(duration).await;
            taken.push(start.elapsed().as_secs_f64() * 1e3);
        }
        all.push(taken);
    }
    all
}

fn sample_std(requested: Vec<Duration>, samples: usize) -> Vec<Vec<f64>> {
    let mut all = Vec::new();
    for duration in requested {
        std::thread::sleep(duration);
        let mut taken = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            std::thread::sleep(duration);
            taken.push(start.elapsed().as_secs_f64() * 1e3);
        }
        all.push(taken);
    }
    all
}

/// Runs the sampling on each runtime as a task, the way the models run
/// tasks, with the runtime configured as the model configures it.
fn sample_timer(
    timer: &str,
    requested: Vec<Duration>,
    samples: usize,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let workers = measure::cores();
    match timer {
        "tokio" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .context("building the tokio runtime for the timer experiment")?;
            let task = runtime.spawn(sample_async::<TokioPrimitives>(requested, samples));
            runtime
                .block_on(task)
                .context("the tokio timer task failed")
        }
        "async-std" => {
            // The model's own setup sizes async-std's global executor.
            model::by_name("async-std")
                .context("the async-std model is missing")?
                .prepare(&ModelConfig {
                    workers,
                    stack_kib: None,
                })?;
            Ok(async_std::task::block_on(async_std::task::spawn(
                sample_async::<AsyncStdPrimitives>(requested, samples),
            )))
        }
        "smol" => {
            let executor = async_executor::Executor::new();
            Ok(smol::block_on(executor.run(executor.spawn(
                sample_async::<SmolPrimitives>(requested, samples),
            ))))
        }
        "std::thread::sleep" => Ok(sample_std(requested, samples)),
        other => anyhow::bail!("no timer named {other:?}"),
    }
}

/// Measures every timer at every requested sleep.
pub fn measure_timers(requested_ms: &[f64], samples: usize) -> anyhow::Result<Vec<TimerRecord>> {
    let machine = measure::machine();
    let started_unix_s = measure::unix_now_s();
    let durations: Vec<Duration> = requested_ms
        .iter()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    let mut records = Vec::new();
    for (timer, model) in TIMERS {
        let taken = sample_timer(timer, durations.clone(), samples)?;
        for (requested, taken) in requested_ms.iter().zip(taken) {
            records.push(TimerRecord {
                timer: timer.to_string(),
                model: model.to_string(),
                requested_ms: *requested,
                samples: taken.len() as u32,
                actual_ms: stats::wall_spread(&taken),
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
        assert_eq!(records.len(), TIMERS.len() * 2);
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
