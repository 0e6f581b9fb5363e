//! Sweeps: a grid of cells over workloads × models × task counts, run one
//! after another, each saved the moment it finishes.

use crate::cell::{self, CellSpec, Provenance, Refused, RepeatExecutor};
use crate::compute;
use crate::export::ExportManager;
use crate::measure;
use crate::model;
use crate::result::{CellRecord, Status};
use crate::server_process::ServerProcess;
use crate::workload::{self, Params};
use std::path::PathBuf;
use std::time::Duration;

/// A named set of sweep settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tasks: Vec<u64>,
    pub sleep_ms: f64,
    pub cpu_us: f64,
    pub repeats: u32,
    pub timeout_s: u64,
    /// Cells whose expected time exceeds this are left out of the grid
    /// (e.g. `sequential` sleeping 1,000 times): their answer is arithmetic,
    /// and waiting for it would blow the profile's time budget.
    pub max_expected_ms: f64,
}

/// The profiles, by name.
pub fn profile(name: &str) -> Option<Profile> {
    match name {
        // Every model × workload at 1..1,000 tasks in about a minute on 2 cores.
        "quick" => Some(Profile {
            name: "quick",
            tasks: vec![1, 10, 100, 1000],
            sleep_ms: 20.0,
            cpu_us: 500.0,
            repeats: 3,
            timeout_s: 30,
            max_expected_ms: 1_100.0,
        }),
        // Up to 10,000 tasks, longer waits (fair to tokio's 1 ms timer), more repeats.
        "full" => Some(Profile {
            name: "full",
            tasks: vec![1, 10, 100, 1000, 10_000],
            sleep_ms: 100.0,
            cpu_us: 1000.0,
            repeats: 5,
            timeout_s: 120,
            max_expected_ms: 6_000.0,
        }),
        _ => None,
    }
}

/// The profile names `--profile` accepts.
pub const PROFILES: &[&str] = &["quick", "full"];

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub profile: Profile,
    pub workloads: Vec<String>,
    pub models: Vec<String>,
    pub workers: usize,
    pub out: PathBuf,
    /// The exact command line, stored in every record.
    pub invocation: String,
}

/// A cell the grid leaves out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub workload: String,
    pub model: String,
    pub tasks: u64,
    pub expected_ms: f64,
}

/// The cells of a sweep, in order, and the ones left out for time.
pub fn grid(options: &SweepOptions) -> (Vec<CellSpec>, Vec<Skipped>) {
    let profile = &options.profile;
    let cores = measure::cores() as u64;
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for workload_name in &options.workloads {
        let Some(workload) = workload::by_name(workload_name) else {
            continue;
        };
        for model_name in &options.models {
            let Some(model) = model::by_name(model_name) else {
                continue;
            };
            for &tasks in &profile.tasks {
                let plan = workload.plan(&Params {
                    tasks,
                    sleep_ms: profile.sleep_ms,
                    cpu_us: profile.cpu_us,
                    iters_per_us: 1.0,
                    reply_bytes: crate::server::DEFAULT_REPLY_BYTES,
                    server: None,
                });
                let expected_ms = plan.expected_ms(
                    model.wait_concurrency(options.workers, tasks),
                    model.cpu_parallelism(options.workers, tasks).min(cores),
                );
                if expected_ms > profile.max_expected_ms {
                    skipped.push(Skipped {
                        workload: workload_name.clone(),
                        model: model_name.clone(),
                        tasks,
                        expected_ms,
                    });
                    continue;
                }
                cells.push(CellSpec {
                    workload: workload_name.clone(),
                    model: model_name.clone(),
                    tasks,
                    workers: options.workers,
                    sleep_ms: profile.sleep_ms,
                    cpu_us: profile.cpu_us,
                    stack_kib: None,
                    iters_per_us: 0.0,
                    reply_bytes: crate::server::DEFAULT_REPLY_BYTES,
                    server: None,
                });
            }
        }
    }
    (cells, skipped)
}

/// Measures a cell the way `run` and `sweep` do: calibrate compute for this
/// cell (when the workload computes), start the latency server (when the
/// workload talks to one; it is stopped when the cell ends, however it
/// ends), then run the repeats.
pub fn measure_cell(
    mut spec: CellSpec,
    repeats: u32,
    timeout: Duration,
    executor: &dyn RepeatExecutor,
    provenance: &Provenance,
) -> CellRecord {
    let workload = workload::by_name(&spec.workload);
    let computes = workload.is_some_and(|w| w.uses_cpu());
    spec.iters_per_us = if computes { compute::calibrate() } else { 1.0 };
    let mut _server = None;
    if workload.is_some_and(|w| w.uses_server()) {
        match ServerProcess::for_cell(&spec) {
            Ok(server) => {
                spec.server = Some(server.addr);
                _server = Some(server);
            }
            Err(reason) => {
                return cell::run_cell(&spec, repeats, timeout, &Refused(reason), provenance)
            }
        }
    }
    cell::run_cell(&spec, repeats, timeout, executor, provenance)
}

/// What a finished sweep produced.
pub struct SweepSummary {
    pub records: Vec<CellRecord>,
    pub skipped: Vec<Skipped>,
    pub jsonl: PathBuf,
    pub csv: PathBuf,
}

/// Runs every cell of the grid, saving each one as it finishes.
pub fn run_sweep(
    options: &SweepOptions,
    executor: &dyn RepeatExecutor,
) -> anyhow::Result<SweepSummary> {
    let (cells, skipped) = grid(options);
    let mut exports = ExportManager::create(&options.out, false)?;
    let progress = indicatif::ProgressBar::new(cells.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32.cyan/blue}] {pos}/{len} cells  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let provenance = Provenance {
        profile: Some(options.profile.name.to_string()),
        invocation: options.invocation.clone(),
    };
    let timeout = Duration::from_secs(options.profile.timeout_s);
    for spec in cells {
        let label = format!("{} / {} / {} tasks", spec.workload, spec.model, spec.tasks);
        progress.set_message(label.clone());
        let record = measure_cell(
            spec,
            options.profile.repeats,
            timeout,
            executor,
            &provenance,
        );
        let line = summary_line(&label, &record);
        if progress.is_hidden() {
            eprintln!("{line}");
        } else {
            progress.println(line);
        }
        exports.add(record)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(SweepSummary {
        records: exports.records().to_vec(),
        skipped,
        jsonl: exports.jsonl.clone(),
        csv: exports.csv.clone(),
    })
}

fn summary_line(label: &str, record: &CellRecord) -> String {
    match record.status {
        Status::Ok => format!(
            "{label}: median {:.1} ms, ideal {:.1} ms, efficiency {:.2}",
            record.wall_ms.median, record.ideal_ms, record.efficiency
        ),
        _ => format!(
            "{label}: {} ({})",
            record.status.as_str(),
            record.error.as_deref().unwrap_or("no detail")
        ),
    }
}
