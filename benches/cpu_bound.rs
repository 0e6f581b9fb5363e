//! `cpu_bound`: N tasks that each compute 1 ms of checked work, under every
//! model, N from 1 to 64. It teaches that only cores make compute faster:
//! models that run tasks on several threads (a thread per task, pools,
//! rayon, multi-thread async runtimes) approach N·C/P on P cores, while one
//! thread (sequential, tokio's current-thread runtime) needs N·C whatever
//! the syntax — concurrency is not parallelism. It does not teach what
//! compute does to the other tasks of an async runtime while it runs (the
//! latency of waits stuck behind it); the `claims` experiments cover that.
//!
//! The compute kernel is calibrated once for this bench, so "1 ms" is
//! 1 ms of this machine's fastest observed core speed. Each sample times
//! `Runner::run` of the lab's own models; the runtime is built once per
//! model, outside the timed region (shared code: `benches/common/mod.rs`).

mod common;

use common::WorkloadBench;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// Compute per task, µs: long beside any spawn cost (µs), short enough
/// that 64 tasks on one thread stay under 0.1 s.
const CPU_US: f64 = 1_000.0;
/// Task counts: 1 (no parallelism possible), 2 (one per core on a
/// 2-core machine), then up to 64 on a logarithmic axis.
const TASKS: [u64; 5] = [1, 2, 4, 16, 64];
/// The expected-time cap shared with the other workload benches; no cell
/// here comes near it (64 tasks on one thread: 64 ms), so none is skipped.
const MAX_EXPECTED_MS: f64 = 1_000.0;
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_secs(1);

fn cpu(c: &mut Criterion) {
    WorkloadBench {
        workload: "cpu",
        tasks: &TASKS,
        sleep_ms: 0.0,
        cpu_us: CPU_US,
        max_expected_ms: MAX_EXPECTED_MS,
        measurement: MEASUREMENT,
    }
    .run(c);
}

criterion_group!(benches, cpu);
criterion_main!(benches);
