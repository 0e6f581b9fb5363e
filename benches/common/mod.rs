//! What the workload benches (`io_sleep`, `io_socket`, `cpu_bound`,
//! `mixed`) share: one criterion group per workload, one line per model, a
//! point per task count. Each bench file holds its essay, its constants
//! (wait, compute, task counts, measurement time) and one call to
//! [`WorkloadBench::run`].
//!
//! For every model the runtime is built once, with one worker per core,
//! outside the timed region; each sample times `Runner::run` of the lab's
//! own models through `iter_custom`, and every run is checked (every task
//! finished, checksums match). A cell is skipped, and named on stderr, when
//! its expected time (`Plan::expected_ms` from the model's wait concurrency
//! and parallelism) exceeds the bench's cap: its answer, N·D/K, is known
//! without waiting for it. For a workload that talks to the latency server,
//! each cell gets its own server (a separate process, as in `run` and
//! `sweep`), started before its samples and stopped after them, and a cell that would hold more connections than
//! the descriptor or port limits allow is skipped with the reason.

use async_vs_blocking::lab::experiments::{self, expected_ms, time_runs};
use async_vs_blocking::model::{self, Model, ModelConfig, Runner};
use async_vs_blocking::net::latency::process::ServerProcess;
use async_vs_blocking::os::descriptors;
use async_vs_blocking::workload::compute;
use async_vs_blocking::workload::{self, Params, Workload};
use criterion::measurement::WallTime;
use criterion::{
    AxisScale, BenchmarkGroup, BenchmarkId, Criterion, PlotConfiguration, SamplingMode, Throughput,
};
use std::path::Path;
use std::time::Duration;

/// Samples per cell: criterion's minimum, to keep `cargo bench` short.
const SAMPLES: usize = 10;
/// Bootstrap resamples for criterion's confidence intervals (default
/// 100,000). With 10 samples, 10,000 give the same intervals to within a
/// few percent, and drawing the report's distribution plots gets ten times
/// cheaper (those plots took ~5 s of CPU per cell at the default).
const RESAMPLES: usize = 10_000;
/// Warm-up per cell (at least one full run happens regardless).
const WARM_UP: Duration = Duration::from_millis(500);
/// The lab's own binary, which cargo builds for the benches; the latency
/// server runs as `<it> serve` in a process of its own, as in `run` and
/// `sweep`, so the bench process holds only the clients.
const LAB_BINARY: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

/// One workload bench: the group is named after the workload.
pub struct WorkloadBench {
    /// The workload's CLI name, also the criterion group's name.
    pub workload: &'static str,
    /// Task counts, one point each on a logarithmic axis.
    pub tasks: &'static [u64],
    /// Wait per task, ms (for `socket`: the server's delay).
    pub sleep_ms: f64,
    /// Compute per task, µs. When it is not zero the compute kernel is
    /// calibrated once, before the group, as `run` and `sweep` do.
    pub cpu_us: f64,
    /// Skip a cell whose expected time exceeds this many ms.
    pub max_expected_ms: f64,
    /// Measured time per cell (criterion runs at least one run per sample).
    pub measurement: Duration,
}

impl WorkloadBench {
    /// Benchmarks every model at every task count in one criterion group.
    pub fn run(&self, c: &mut Criterion) {
        let workload = workload::by_name(self.workload)
            .unwrap_or_else(|| panic!("no workload named {:?}", self.workload));
        let iters_per_us = if self.cpu_us > 0.0 {
            compute::calibrate()
        } else {
            1.0
        };
        let mut params = Params::new(0, self.sleep_ms, self.cpu_us, iters_per_us);
        let mut group = c.benchmark_group(self.workload);
        group
            .plot_config(PlotConfiguration::default().summary_scale(AxisScale::Logarithmic))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(SAMPLES)
            .nresamples(RESAMPLES)
            .warm_up_time(WARM_UP)
            .measurement_time(self.measurement);
        for model in model::all() {
            let mut runner = runner(*model);
            for &tasks in self.tasks {
                params.tasks = tasks;
                if let Some(reason) = self.skip(workload, *model, &params) {
                    eprintln!(
                        "{}/{}/{tasks}: skipped, {reason}",
                        self.workload,
                        model.name()
                    );
                    continue;
                }
                // As in `run` and `sweep`, each cell gets its own server,
                // started before and stopped after its samples.
                let server = workload.uses_server().then(|| {
                    let server = ServerProcess::start(
                        Path::new(LAB_BINARY),
                        params.sleep_ms,
                        params.reply_bytes,
                    )
                    .unwrap_or_else(|error| panic!("starting the latency server: {error:#}"));
                    params.server = Some(server.addr);
                    server
                });
                let runs = bench_cell(&mut group, runner.as_mut(), *model, workload, &params);
                // How late the server's delays ended: a slow cell with a
                // late server is the machine's doing, not the model's. (No
                // runs: the command line's filter left the cell out.)
                if let Some(report) = server.and_then(ServerProcess::finish) {
                    if runs > 0 {
                        eprintln!("{}/{}/{tasks}: {report}", self.workload, model.name());
                    }
                }
            }
        }
        group.finish();
    }

    /// Why this cell is not measured, if it is not.
    fn skip(&self, workload: &dyn Workload, model: &dyn Model, params: &Params) -> Option<String> {
        let plan = workload.plan(params);
        let expected = expected_ms(model, &plan, experiments::workers());
        if expected > self.max_expected_ms {
            return Some(format!(
                "expected {expected:.0} ms > {} ms",
                self.max_expected_ms
            ));
        }
        if workload.uses_server() {
            let connections = model
                .wait_concurrency(experiments::workers(), params.tasks)
                .min(params.tasks);
            let nofile = descriptors::raise_nofile_limit();
            if let Err(reason) =
                descriptors::check_connections(connections, nofile, descriptors::ephemeral_ports())
            {
                return Some(reason);
            }
        }
        None
    }
}

/// Builds a model's runtime with one worker per core. Not timed.
fn runner(model: &dyn Model) -> Box<dyn Runner> {
    model
        .prepare(&ModelConfig {
            workers: experiments::workers(),
            stack_kib: None,
        })
        .unwrap_or_else(|error| panic!("building the {} runtime: {error:#}", model.name()))
}

/// One point: `params.tasks` tasks of `workload` under `model`. Returns how
/// many runs criterion made (none when its filter left the point out).
fn bench_cell(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runner: &mut dyn Runner,
    model: &dyn Model,
    workload: &dyn Workload,
    params: &Params,
) -> u64 {
    let plan = workload.plan(params);
    let mut runs_made = 0;
    group.throughput(Throughput::Elements(params.tasks));
    group.bench_with_input(
        BenchmarkId::new(model.name(), params.tasks),
        &plan,
        |b, plan| {
            b.iter_custom(|runs| {
                runs_made += runs;
                time_runs(runner, plan, runs)
                    .unwrap_or_else(|error| panic!("{}: {error:#}", model.name()))
            })
        },
    );
    runs_made
}
