//! `io_sleep`: N tasks that each wait 20 ms, under every model, N from 1 to
//! 10,000. It teaches how waits overlap: async runtimes and a thread per
//! task finish N waits in about one wait (the thread per task paying its
//! spawn cost as N grows), while one thread or a fixed pool of K workers
//! needs about N·D/K. It does not teach anything about real I/O — a timer
//! stands in for a slow service, so there is no kernel network stack, no
//! bytes and no readiness events (`io_socket` has them) — nor about memory
//! (the `sweep` command records peak RSS per cell, each in its own process).
//!
//! Cells a model would need more than [`MAX_EXPECTED_MS`] for (by
//! `Plan::expected_ms` from its wait concurrency) are skipped and named on
//! stderr: their answer, N·D/K, is known without waiting for it. Each sample
//! times `Runner::run` of the lab's own models; the runtime is built once per
//! model, outside the timed region (shared code: `benches/common/mod.rs`).

mod common;

use common::WorkloadBench;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// Wait per task. Long enough that tokio's timer, which rounds sleeps up to
/// the next millisecond, adds at most ~5%.
const SLEEP_MS: f64 = 20.0;
/// Task counts: decades from 1 to 10,000 (a logarithmic axis).
const TASKS: [u64; 5] = [1, 10, 100, 1_000, 10_000];
/// Skip a cell whose expected time exceeds this (sequential at 100 tasks
/// would take 2 s per sample; a pool of 2 at 10,000 tasks, 100 s).
const MAX_EXPECTED_MS: f64 = 1_000.0;
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_secs(2);

fn sleep(c: &mut Criterion) {
    WorkloadBench {
        workload: "sleep",
        tasks: &TASKS,
        sleep_ms: SLEEP_MS,
        cpu_us: 0.0,
        max_expected_ms: MAX_EXPECTED_MS,
        measurement: MEASUREMENT,
    }
    .run(c);
}

criterion_group!(benches, sleep);
criterion_main!(benches);
