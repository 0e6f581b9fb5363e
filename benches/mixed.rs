//! `mixed`: N tasks that each wait 20 ms and then compute 0.5 ms — a request
//! handler that fetches something and then works on it — under every model,
//! N from 1 to 1,000. It teaches that the two limits add up: the waits
//! overlap only where the model lets them (async runtimes, a thread per
//! task), the compute only spreads over cores where the model has several
//! threads, so the ideal is D + N·C/P and each model misses it in its own
//! way. It does not teach how compute between awaits delays other tasks'
//! wake-ups (per-task latency; the `run` command reports it), nor real I/O.
//!
//! Cells a model would need more than [`MAX_EXPECTED_MS`] for are skipped
//! and named on stderr. The compute kernel is calibrated once for this
//! bench. Each sample times `Runner::run` of the lab's own models; the
//! runtime is built once per model, outside the timed region (shared code:
//! `benches/common/mod.rs`).

mod common;

use common::WorkloadBench;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// Wait per task, ms: long enough for tokio's 1 ms timer granularity.
const SLEEP_MS: f64 = 20.0;
/// Compute per task after its wait, µs.
const CPU_US: f64 = 500.0;
/// Task counts, decades on a logarithmic axis. At 1,000 tasks the compute
/// (0.25 s on 2 cores) outweighs the wait.
const TASKS: [u64; 4] = [1, 10, 100, 1_000];
/// Skip a cell whose expected time exceeds this.
const MAX_EXPECTED_MS: f64 = 1_000.0;
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_secs(2);

fn mixed(c: &mut Criterion) {
    WorkloadBench {
        workload: "mixed",
        tasks: &TASKS,
        sleep_ms: SLEEP_MS,
        cpu_us: CPU_US,
        max_expected_ms: MAX_EXPECTED_MS,
        measurement: MEASUREMENT,
    }
    .run(c);
}

criterion_group!(benches, mixed);
criterion_main!(benches);
