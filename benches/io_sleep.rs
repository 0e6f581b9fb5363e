//! `io_sleep`: N tasks that each wait 20 ms, under every model, N from 1 to
//! 10,000. It teaches how waits overlap: async runtimes and a thread per
//! task finish N waits in about one wait (the thread per task paying its
//! spawn cost as N grows), while one thread or a fixed pool of K workers
//! needs about N·D/K. It does not teach anything about real I/O — a timer
//! stands in for a slow service, so there is no kernel network stack, no
//! bytes and no readiness events — nor about memory (the `sweep` command
//! records peak RSS per cell, each in its own process).
//!
//! Cells a model would need more than [`MAX_EXPECTED_MS`] for (by
//! `Plan::expected_ms` from its wait concurrency) are skipped and named on
//! stderr: their answer, N·D/K, is known without waiting for it. Each sample
//! times `Runner::run` of the lab's own models; the runtime is built once per
//! model, outside the timed region.

use async_vs_blocking::experiments::{self, expected_ms, time_runs};
use async_vs_blocking::model::{self, Model, ModelConfig, Runner};
use async_vs_blocking::workload::{self, Params};
use criterion::{
    criterion_group, criterion_main, AxisScale, BenchmarkId, Criterion, PlotConfiguration,
    SamplingMode, Throughput,
};
use std::time::Duration;

/// Wait per task. Long enough that tokio's timer, which rounds sleeps up to
/// the next millisecond, adds at most ~5%.
const SLEEP_MS: f64 = 20.0;
/// Task counts: decades from 1 to 10,000 (a logarithmic axis).
const TASKS: [u64; 5] = [1, 10, 100, 1_000, 10_000];
/// Skip a cell whose expected time exceeds this (sequential at 100 tasks
/// would take 2 s per sample; a pool of 2 at 10,000 tasks, 100 s).
const MAX_EXPECTED_MS: f64 = 1_000.0;
/// Samples per cell: criterion's minimum, to keep `cargo bench` short.
const SAMPLES: usize = 10;
/// Bootstrap resamples for criterion's confidence intervals (default
/// 100,000). With 10 samples, 10,000 give the same intervals to within a
/// few percent, and drawing the report's distribution plots gets ten times
/// cheaper (those plots took ~5 s of CPU per cell at the default).
const RESAMPLES: usize = 10_000;
/// Warm-up per cell (at least one full run happens regardless).
const WARM_UP: Duration = Duration::from_millis(500);
/// Measured time per cell (criterion runs at least one run per sample).
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

fn sleep(c: &mut Criterion) {
    let workload = workload::by_name("sleep").expect("the sleep workload");
    let mut group = c.benchmark_group("sleep");
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
                cpu_us: 0.0,
                iters_per_us: 1.0,
                reply_bytes: async_vs_blocking::server::DEFAULT_REPLY_BYTES,
                server: None,
            });
            let expected = expected_ms(*model, &plan, experiments::workers());
            if expected > MAX_EXPECTED_MS {
                eprintln!(
                    "sleep/{}/{tasks}: skipped, expected {expected:.0} ms > {MAX_EXPECTED_MS} ms",
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

criterion_group!(benches, sleep);
criterion_main!(benches);
