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
//! runtime is built once per model, outside the timed region.

use async_vs_blocking::compute;
use async_vs_blocking::experiments::{self, expected_ms, time_runs};
use async_vs_blocking::model::{self, Model, ModelConfig, Runner};
use async_vs_blocking::workload::{self, Params};
use criterion::{
    criterion_group, criterion_main, AxisScale, BenchmarkId, Criterion, PlotConfiguration,
    SamplingMode, Throughput,
};
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
const MEASUREMENT: Duration = Duration::from_secs(2);

/// Builds a model's runtime with one worker per core. Not timed.
fn runner(model: &dyn Model) -> Box<dyn Runner> {
    model
        .prepare(&ModelConfig {
            workers: experiments::workers(),
            stack_kib: None,
        })
        .unwrap_or_else(|error| panic!("building the {} runtime: {error:#}", model.name()))
}

fn mixed(c: &mut Criterion) {
    let iters_per_us = compute::calibrate();
    let workload = workload::by_name("mixed").expect("the mixed workload");
    let mut group = c.benchmark_group("mixed");
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
                sleep_ms: SLEEP_MS,
                cpu_us: CPU_US,
                iters_per_us,
                reply_bytes: async_vs_blocking::server::DEFAULT_REPLY_BYTES,
                server: None,
            });
            let expected = expected_ms(*model, &plan, experiments::workers());
            if expected > MAX_EXPECTED_MS {
                eprintln!(
                    "mixed/{}/{tasks}: skipped, expected {expected:.0} ms > {MAX_EXPECTED_MS} ms",
                    model.name()
                );
                continue;
            }
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

criterion_group!(benches, mixed);
criterion_main!(benches);
