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
//! model, outside the timed region.

use async_vs_blocking::compute;
use async_vs_blocking::experiments::{self, time_runs};
use async_vs_blocking::model::{self, Model, ModelConfig, Runner};
use async_vs_blocking::workload::{self, Params};
use criterion::{
    criterion_group, criterion_main, AxisScale, BenchmarkId, Criterion, PlotConfiguration,
    SamplingMode, Throughput,
};
use std::time::Duration;

/// Compute per task, µs: long beside any spawn cost (µs), short enough
/// that 64 tasks on one thread stay under 0.1 s.
const CPU_US: f64 = 1_000.0;
/// Task counts: 1 (no parallelism possible), 2 (one per core on a
/// 2-core machine), then up to 64 on a logarithmic axis.
const TASKS: [u64; 5] = [1, 2, 4, 16, 64];
/// Samples per cell: criterion's minimum, to keep `cargo bench` short.
const SAMPLES: usize = 10;
/// Bootstrap resamples for criterion's confidence intervals (default
/// 100,000). With 10 samples, 10,000 give the same intervals to within a
/// few percent, and drawing the report's distribution plots gets ten times
/// cheaper (those plots took ~5 s of CPU per cell at the default).
const RESAMPLES: usize = 10_000;
/// Warm-up per cell.
const WARM_UP: Duration = Duration::from_millis(500);
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_secs(1);

/// Builds a model's runtime with one worker per core. Not timed.
fn runner(model: &dyn Model) -> Box<dyn Runner> {
    model
        .prepare(&ModelConfig {
            workers: experiments::workers(),
            stack_kib: None,
        })
        .unwrap_or_else(|error| panic!("building the {} runtime: {error:#}", model.name()))
}

fn cpu(c: &mut Criterion) {
    let iters_per_us = compute::calibrate();
    let workload = workload::by_name("cpu").expect("the cpu workload");
    let mut group = c.benchmark_group("cpu");
    group
        .plot_config(PlotConfiguration::default().summary_scale(AxisScale::Logarithmic))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(SAMPLES)
        .nresamples(RESAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT);
    for model in model::all() {
        let mut runner = runner(*model);
        for tasks in TASKS {
            let plan = workload.plan(&Params {
                tasks,
                sleep_ms: 0.0,
                cpu_us: CPU_US,
                iters_per_us,
                reply_bytes: async_vs_blocking::server::DEFAULT_REPLY_BYTES,
                server: None,
            });
            group.throughput(Throughput::Elements(tasks));
            group.bench_with_input(BenchmarkId::new(model.name(), tasks), &plan, |b, plan| {
                b.iter_custom(|runs| {
                    time_runs(runner.as_mut(), plan, runs)
                        .unwrap_or_else(|error| panic!("{}: {error:#}", model.name()))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, cpu);
criterion_main!(benches);
