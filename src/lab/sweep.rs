//! Sweeps: a grid of cells over workloads × models × task counts.
//!
//! Cells that are compared with one another (same workload, task count and
//! parameters, different models) run interleaved, the way tango-bench pairs
//! what it compares: model A repeat 1, model B repeat 1, ..., then A repeat
//! 2, so a burst of outside load spreads over the models instead of
//! sinking one. Every finished repeat is appended to `repeats.jsonl` at
//! once, and a cell's record goes to `results.jsonl`/`results.csv` the
//! moment its last repeat is in; `--resume` reuses both.

use crate::lab::busy::BusyPolicy;
use crate::lab::cell::{
    self, CellKey, CellRun, CellSpec, Provenance, Refused, RepeatExecutor, RepeatLine,
};
use crate::lab::memory;
use crate::model;
use crate::net::latency::process::ServerProcess;
use crate::os::descriptors;
use crate::os::interrupt;
use crate::os::measure;
use crate::record::export::ExportManager;
use crate::record::memory::MemoryPerUnit;
pub use crate::record::result::Skipped;
use crate::record::result::{CellRecord, Status};
use crate::workload::compute;
use crate::workload::{self, Params};
use anyhow::Context;
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
    /// Workloads swept when `--workloads` is not given (empty: all).
    pub workloads: Vec<&'static str>,
    /// Models swept when `--models` is not given (empty: all).
    pub models: Vec<&'static str>,
    /// Stack sizes (KiB; None = the platform's) swept for the models that
    /// create threads with a settable stack; other models run once.
    pub stack_kib: Vec<Option<u64>>,
    /// Size of every task's file for the `file` workloads, KiB.
    pub file_kib: u64,
    /// Connections in each model's database pool, one cell per size (the
    /// `db` workload; other workloads run once).
    pub pools: Vec<usize>,
    /// `report` with this profile also measures the reduced server run
    /// ([`crate::server::sweep::run_quick`]), so its page shows "Servers
    /// under load". (`sweep` runs servers only when asked: `--workloads
    /// server`, or the full profile's whole server sweep.)
    pub report_servers: bool,
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
            // Leaves out the pools' and rayon's 100 waits (N·D/K = 1 s each,
            // three repeats): their answer is arithmetic, and measuring them
            // would take a third of the minute this profile has.
            max_expected_ms: 600.0,
            // The workloads whose cells fit the minute (not the file ones).
            workloads: workload::all()
                .iter()
                .filter(|w| w.fits_the_quick_profile())
                .map(|w| w.name())
                .collect(),
            models: Vec::new(),
            stack_kib: vec![None],
            file_kib: workload::DEFAULT_FILE_KIB,
            pools: vec![workload::db::DEFAULT_POOL],
            report_servers: true,
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
            // Every workload but the database's, which needs PostgreSQL
            // installed (its own profile, `db`, sweeps it).
            workloads: workload::all()
                .iter()
                .filter(|w| !w.uses_database())
                .map(|w| w.name())
                .collect(),
            models: Vec::new(),
            stack_kib: vec![None],
            file_kib: workload::DEFAULT_FILE_KIB,
            pools: vec![workload::db::DEFAULT_POOL],
            report_servers: true,
        }),
        // Peak RSS of N sleeping tasks at four counts per model, for memory per
        // unit (the slope of a linear fit). Only the models that hold all N
        // waits at once; threads with the default 2 MiB stack and with 64 KiB,
        // to show that a stack is reserved in full but resident only as used.
        // 10,000 threads stays well under the usual limits (vm.max_map_count
        // 65,530 allows about 16,000 Rust threads). About two minutes on 2 cores.
        "memory" => Some(Profile {
            name: "memory",
            tasks: vec![1000, 2000, 5000, 10_000],
            sleep_ms: 2000.0,
            cpu_us: 1000.0,
            repeats: 2,
            timeout_s: 60,
            max_expected_ms: 10_000.0,
            workloads: vec!["sleep"],
            models: holding_every_wait(10_000),
            stack_kib: vec![None, Some(64)],
            file_kib: workload::DEFAULT_FILE_KIB,
            pools: vec![workload::db::DEFAULT_POOL],
            report_servers: false,
        }),
        // The pool is the bound: 1,000 tasks each waiting 20 ms in the
        // database, through pools of 2, 8 and 32 connections, under every
        // model with a driver. The ideal is ceil(N/pool) waits, whatever the
        // model. About ten minutes (the pool of 2 takes 10 s a repeat).
        "db" => Some(Profile {
            name: "db",
            tasks: vec![DB_TASKS],
            sleep_ms: 20.0,
            cpu_us: 1000.0,
            repeats: 5,
            timeout_s: 120,
            max_expected_ms: 30_000.0,
            workloads: vec!["db"],
            models: model::with_database_driver(),
            stack_kib: vec![None],
            file_kib: workload::DEFAULT_FILE_KIB,
            pools: DB_POOLS.to_vec(),
            report_servers: false,
        }),
        _ => None,
    }
}

/// The `db` profile's tasks: a thousand waiting at once.
pub const DB_TASKS: u64 = 1000;

/// The `db` profile's pool sizes.
pub const DB_POOLS: [usize; 3] = [2, 8, 32];

/// The models that hold all of `tasks` waits at once (threads, and every
/// async runtime), from the registry.
fn holding_every_wait(tasks: u64) -> Vec<&'static str> {
    model::all()
        .iter()
        .filter(|model| model.wait_concurrency(1, tasks) == tasks)
        .map(|model| model.name())
        .collect()
}

/// The profile names `--profile` accepts.
pub const PROFILES: &[&str] = &["quick", "full", "memory", "db"];

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
    /// Keep the records already in `out/results.jsonl` and skip their cells
    /// (and reuse the finished repeats of unfinished cells in `repeats.jsonl`).
    pub resume: bool,
    /// What to do with repeats disturbed by outside load (`--on-busy`, `--retries`).
    pub policy: BusyPolicy,
    /// Rows of the database's table, for a sweep with `db` cells.
    pub db_rows: u64,
}

/// Every finished repeat of a sweep, one JSON line each, written the moment
/// it finishes (beside `results.jsonl`).
pub const REPEATS_FILE: &str = "repeats.jsonl";

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
        let pools = if workload.uses_database() {
            profile.pools.clone()
        } else {
            vec![workload::db::DEFAULT_POOL]
        };
        for model_name in &options.models {
            let Some(model) = model::by_name(model_name) else {
                continue;
            };
            // A model without a driver runs no database cell (`list` says so).
            if workload.uses_database() && model.database_driver().is_none() {
                continue;
            }
            let stacks = if model.uses_stack_size() {
                profile.stack_kib.clone()
            } else {
                vec![None]
            };
            for (&tasks, stack_kib, pool) in profile.tasks.iter().flat_map(|t| {
                let pools = &pools;
                stacks
                    .iter()
                    .flat_map(move |s| pools.iter().map(move |p| (t, *s, *p)))
            }) {
                let plan = workload.plan(&Params {
                    file_kib: profile.file_kib,
                    pool,
                    ..Params::new(tasks, profile.sleep_ms, profile.cpu_us, 1.0)
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
                cells.push(
                    CellSpec::new(workload_name, model_name, tasks)
                        .with_workers(options.workers)
                        .with_sleep_ms(profile.sleep_ms)
                        .with_cpu_us(profile.cpu_us)
                        .with_stack_kib(stack_kib.map(|k| k as usize))
                        .with_file_kib(profile.file_kib)
                        .with_pool(pool),
                );
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
    spec: CellSpec,
    repeats: u32,
    timeout: Duration,
    executor: &dyn RepeatExecutor,
    provenance: &Provenance,
) -> CellRecord {
    measure_cell_noting_server(
        spec,
        repeats,
        timeout,
        executor,
        provenance,
        BusyPolicy::default(),
    )
    .0
}

/// [`measure_cell`], plus the latency server's report on how late its
/// delays ended (for the `socket` workload), so a reader can tell the
/// server's share of a slow cell from the model's.
pub fn measure_cell_noting_server(
    mut spec: CellSpec,
    repeats: u32,
    timeout: Duration,
    executor: &dyn RepeatExecutor,
    provenance: &Provenance,
    policy: BusyPolicy,
) -> (CellRecord, Option<String>) {
    let workload = workload::by_name(&spec.workload);
    let computes = workload.is_some_and(|w| w.uses_cpu());
    spec.iters_per_us = if computes { compute::calibrate() } else { 1.0 };
    if !workload.is_some_and(|w| w.uses_server()) {
        let record = cell::run_cell_with(&spec, repeats, timeout, executor, provenance, policy);
        return (record, None);
    }
    // The guard kills the server when dropped, on every path out of here.
    let server = match server_for_cell(&spec) {
        Ok(server) => server,
        Err(reason) => {
            let refused = Refused(reason);
            let record = cell::run_cell_with(&spec, repeats, timeout, &refused, provenance, policy);
            return (record, None);
        }
    };
    spec.server = Some(server.addr);
    let record = cell::run_cell_with(&spec, repeats, timeout, executor, provenance, policy);
    let note = server.finish();
    (record, note)
}

/// What a sweep produced.
pub struct SweepSummary {
    /// Every record in the results file: resumed ones first, then this run's.
    pub records: Vec<CellRecord>,
    pub skipped: Vec<Skipped>,
    /// Cells left out because `--resume` found them already recorded.
    pub resumed: usize,
    /// True when SIGINT or SIGTERM stopped the sweep early.
    pub interrupted: bool,
    /// Memory per unit, for the `memory` profile (and where it was written).
    pub memory: Option<(Vec<MemoryPerUnit>, PathBuf)>,
    pub jsonl: PathBuf,
    pub csv: PathBuf,
}

/// Splits the grid into groups of cells that are compared with one
/// another: same everything but the model. Order is kept (a group sits
/// where its first cell was).
pub fn compared_groups(cells: Vec<CellSpec>) -> Vec<Vec<CellSpec>> {
    let mut groups: Vec<Vec<CellSpec>> = Vec::new();
    for spec in cells {
        let same = |other: &CellSpec| {
            other.workload == spec.workload
                && other.tasks == spec.tasks
                && other.workers == spec.workers
                && other.sleep_ms == spec.sleep_ms
                && other.cpu_us == spec.cpu_us
                && other.reply_bytes == spec.reply_bytes
                && other.file_kib == spec.file_kib
                && other.stack_kib == spec.stack_kib
                && other.pool == spec.pool
        };
        match groups.iter_mut().find(|g| same(&g[0])) {
            Some(group) => group.push(spec),
            None => groups.push(vec![spec]),
        }
    }
    groups
}

/// A cell of a running group: its repeats so far, its latency server
/// (stopped when dropped) or the reason it could not start.
struct Running {
    run: Option<CellRun>,
    server: Option<ServerProcess>,
    refused: Option<Refused>,
    label: String,
}

/// Runs every cell of the grid, compared cells interleaved, saving every
/// repeat and every cell as it finishes.
pub fn run_sweep(
    options: &SweepOptions,
    executor: &dyn RepeatExecutor,
) -> anyhow::Result<SweepSummary> {
    let (mut cells, skipped) = grid(options);
    let mut exports = ExportManager::create(&options.out, options.resume)?;
    let repeats_path = crate::os::output::path_in(&options.out, REPEATS_FILE)?;
    let earlier: Vec<RepeatLine> = if options.resume && repeats_path.exists() {
        read_saved_repeats(&repeats_path)?
    } else {
        crate::os::output::replace_file(&repeats_path, b"")?;
        Vec::new()
    };
    let done: Vec<CellKey> = exports.records().iter().map(CellKey::of_record).collect();
    let before = cells.len();
    cells.retain(|spec| {
        let key = CellKey::of_spec(spec);
        !done.iter().any(|d| d.matches(&key))
    });
    let resumed = before - cells.len();
    // One database for the whole sweep (start and load take seconds); the
    // guard stops it and removes its directory on every path out of here.
    let database = database_for(&cells, options.db_rows)?;
    for spec in &mut cells {
        if workload::by_name(&spec.workload).is_some_and(|w| w.uses_database()) {
            spec.database = database.as_ref().map(|d| d.ready.target());
        }
    }
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
    let mut interrupted = false;
    let mut save_error = None;
    'groups: for group in compared_groups(cells) {
        if interrupt::requested() {
            interrupted = true;
            break;
        }
        let mut running = start_group(group, &earlier, options, timeout);
        // Round-robin: one repeat of each unfinished cell per round.
        while running.iter().any(|r| r.run.is_some()) {
            for cell in running.iter_mut() {
                let Some(run) = cell.run.as_mut() else {
                    continue;
                };
                if interrupt::requested() {
                    interrupted = true;
                    break 'groups;
                }
                progress.set_message(cell.label.clone());
                let executor: &dyn RepeatExecutor = match &cell.refused {
                    Some(refused) => refused,
                    None => executor,
                };
                run.step(executor, &mut |line| {
                    if let Err(error) = crate::record::export::append_jsonl(&repeats_path, line) {
                        save_error.get_or_insert(error);
                    }
                });
                if let Some(error) = save_error.take() {
                    return Err(error);
                }
                if run.interrupted() || interrupt::requested() {
                    // The cell was cut short: it is not a result, so it is not recorded.
                    interrupted = true;
                    break 'groups;
                }
                if !run.done() {
                    continue;
                }
                let record = cell.run.take().expect("checked above").finish(&provenance);
                let server_note = cell.server.take().and_then(ServerProcess::finish);
                let mut line = summary_line(&cell.label, &record);
                // Only how late the server was; the counts are in `run`'s output.
                if let Some((_, lateness)) = server_note.as_deref().and_then(|n| n.split_once("; "))
                {
                    line += &format!(" (server: {lateness})");
                }
                if progress.is_hidden() {
                    crate::os::output::stderr_line!("{line}");
                } else {
                    progress.println(line);
                }
                exports.add(record)?;
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();
    let memory = if options.profile.name == "memory" && !interrupted {
        let fits = memory::memory_per_unit(exports.records());
        let path = crate::record::memory::write_json(&options.out, &fits)?;
        Some((fits, path))
    } else {
        None
    };
    Ok(SweepSummary {
        records: exports.records().to_vec(),
        skipped,
        resumed,
        interrupted,
        memory,
        jsonl: exports.jsonl.clone(),
        csv: exports.csv.clone(),
    })
}

/// Reads `repeats.jsonl` for `--resume`. A last line cut off by a kill
/// mid-write (no newline, not a whole repeat) is dropped: that repeat is
/// simply run again. Any other malformed line is an error naming it.
fn read_saved_repeats(path: &std::path::Path) -> anyhow::Result<Vec<RepeatLine>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let torn = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut repeats = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(repeat) => repeats.push(repeat),
            Err(_) if torn && number + 1 == lines.len() => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("{}:{}: not a saved repeat", path.display(), number + 1)
                })
            }
        }
    }
    Ok(repeats)
}

/// Prepares a group of compared cells: one compute calibration for all of
/// them (so every model gets exactly the same work; a resumed group keeps
/// the calibration its saved repeats were sized with), a latency server per
/// cell that talks to one, and the repeats an interrupted run had finished.
fn start_group(
    group: Vec<CellSpec>,
    earlier: &[RepeatLine],
    options: &SweepOptions,
    timeout: Duration,
) -> Vec<Running> {
    let saved_of = |spec: &CellSpec| -> Vec<&RepeatLine> {
        let key = CellKey::of_spec(spec);
        earlier
            .iter()
            .filter(|line| line.kept && line.key().matches(&key))
            .collect()
    };
    let computes = group
        .first()
        .and_then(|s| workload::by_name(&s.workload))
        .is_some_and(|w| w.uses_cpu());
    let saved_calibration = group
        .iter()
        .flat_map(&saved_of)
        .map(|line| line.iters_per_us)
        .find(|rate| *rate > 0.0);
    let iters_per_us = match (computes, saved_calibration) {
        (false, _) => 1.0,
        (true, Some(rate)) => rate,
        (true, None) => compute::calibrate(),
    };
    group
        .into_iter()
        .map(|mut spec| {
            spec.iters_per_us = iters_per_us;
            let mut label = format!("{} / {} / {} tasks", spec.workload, spec.model, spec.tasks);
            if let Some(kib) = spec.stack_kib {
                label += &format!(" / {kib} KiB stacks");
            }
            let mut server = None;
            let mut refused = None;
            if workload::by_name(&spec.workload).is_some_and(|w| w.uses_server()) {
                match server_for_cell(&spec) {
                    Ok(started) => {
                        spec.server = Some(started.addr);
                        server = Some(started);
                    }
                    Err(reason) => refused = Some(Refused(reason)),
                }
            }
            let saved = saved_of(&spec);
            let mut run =
                CellRun::new(spec, options.profile.repeats, timeout, options.policy).sequential();
            for line in saved {
                run.reuse(line.result.clone(), line.disturbed.clone());
            }
            Running {
                run: Some(run),
                server,
                refused,
                label,
            }
        })
        .collect()
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

/// Starts the sweep's database when one of its cells queries one.
fn database_for(
    cells: &[CellSpec],
    rows: u64,
) -> anyhow::Result<Option<crate::net::database::Database>> {
    let wanted = cells
        .iter()
        .any(|spec| workload::by_name(&spec.workload).is_some_and(|w| w.uses_database()));
    if !wanted {
        return Ok(None);
    }
    let exe = std::env::current_exe().context("finding the lab's own binary")?;
    let database = crate::net::database::Database::start(&exe, rows)?;
    let ready = &database.ready;
    crate::os::output::stderr_line!(
        "PostgreSQL for the db cells: {} rows, started in {:.0} ms, loaded in {:.0} ms ({})",
        ready.rows,
        ready.start_ms,
        ready.load_ms,
        ready.version
    );
    Ok(Some(database))
}

/// Checks that a socket cell fits the OS limits, then starts its server:
/// delay = the cell's `sleep_ms`, reply = its `reply_bytes`. The error is
/// the reason the cell cannot run, for its record.
fn server_for_cell(spec: &CellSpec) -> Result<ServerProcess, String> {
    let model =
        model::by_name(&spec.model).ok_or_else(|| format!("unknown model {:?}", spec.model))?;
    let connections = model
        .wait_concurrency(spec.workers, spec.tasks)
        .min(spec.tasks);
    let nofile = descriptors::raise_nofile_limit();
    descriptors::check_connections(connections, nofile, descriptors::ephemeral_ports())?;
    let exe = std::env::current_exe()
        .map_err(|error| format!("finding the lab's own binary: {error}"))?;
    ServerProcess::start(&exe, spec.sleep_ms, spec.reply_bytes)
        .map_err(|error| format!("starting the latency server: {error:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(profile_name: &str) -> SweepOptions {
        let profile = profile(profile_name).unwrap();
        SweepOptions {
            workloads: profile.workloads.iter().map(|s| s.to_string()).collect(),
            models: profile.models.iter().map(|s| s.to_string()).collect(),
            profile,
            workers: 2,
            out: PathBuf::from("unused"),
            invocation: String::new(),
            resume: false,
            policy: BusyPolicy::default(),
            db_rows: crate::workload::db::DEFAULT_ROWS,
        }
    }

    #[test]
    fn the_db_profile_sweeps_every_pool_under_every_model_with_a_driver() {
        let options = options("db");
        let (cells, _) = grid(&options);
        let with_driver = model::with_database_driver();
        assert!(!with_driver.is_empty());
        assert_eq!(cells.len(), with_driver.len() * DB_POOLS.len());
        for spec in &cells {
            assert!(with_driver.contains(&spec.model.as_str()), "{}", spec.model);
            assert!(DB_POOLS.contains(&spec.pool));
            assert_eq!(spec.tasks, DB_TASKS);
        }
        // Every pool is a group of its own: cells at different pools are not compared.
        assert_eq!(compared_groups(cells).len(), DB_POOLS.len());
        // No other profile sweeps the database by default.
        for name in ["quick", "full", "memory"] {
            let (cells, _) = grid(&super::tests::options(name));
            assert!(cells.iter().all(|spec| spec.workload != "db"), "{name}");
        }
    }

    #[test]
    fn memory_profile_sweeps_two_stacks_for_threads_only() {
        let (cells, skipped) = grid(&options("memory"));
        assert!(skipped.is_empty(), "{skipped:?}");
        let threads = cells.iter().filter(|c| c.model == "threads").count();
        let tokio = cells.iter().filter(|c| c.model == "tokio").count();
        assert_eq!(threads, 2 * tokio);
        assert!(cells
            .iter()
            .filter(|c| c.model != "threads")
            .all(|c| c.stack_kib.is_none()));
        assert!(cells.iter().all(|c| c.workload == "sleep"));
        assert!(cells.iter().all(|c| c.tasks <= 10_000));
    }

    #[test]
    fn the_file_workloads_are_in_the_full_profile_and_not_the_quick_one() {
        let every_model: Vec<String> = model::names().into_iter().map(String::from).collect();
        let mut quick = options("quick");
        quick.models = every_model.clone();
        let (quick, _) = grid(&quick);
        assert!(quick.iter().all(|c| !c.workload.starts_with("file")));
        assert!(quick.iter().any(|c| c.workload == "socket"));
        let mut full = options("full");
        full.models = every_model;
        full.workloads = workload::names().into_iter().map(String::from).collect();
        let (cells, _) = grid(&full);
        let files: Vec<&CellSpec> = cells.iter().filter(|c| c.workload == "file-cold").collect();
        assert_eq!(
            files.len(),
            5 * model::names().len(),
            "every model, 1..10,000 tasks"
        );
        assert!(files
            .iter()
            .all(|c| c.file_kib == workload::DEFAULT_FILE_KIB));
    }

    #[test]
    fn cell_keys_match_the_way_records_store_cells() {
        let spec = |workload: &str, model: &str, sleep_ms: f64| {
            CellSpec::new(workload, model, 100)
                .with_workers(2)
                .with_sleep_ms(sleep_ms)
                .with_cpu_us(500.0)
                .with_iters_per_us(1.0)
        };
        // A record stores threads' workers as one per task and a cpu cell's wait as 0.
        let threads = CellKey::of_spec(&spec("sleep", "threads", 20.0));
        assert_eq!(threads.workers, 100);
        let recorded = CellKey {
            sleep_ms: 0.0,
            ..CellKey::of_spec(&spec("cpu", "tokio", 20.0))
        };
        assert!(recorded.matches(&CellKey::of_spec(&spec("cpu", "tokio", 99.0))));
        assert!(!threads.matches(&CellKey::of_spec(&spec("sleep", "threads", 21.0))));
        let small_stacks = CellKey {
            stack_kib: Some(64),
            ..threads.clone()
        };
        assert!(!threads.matches(&small_stacks));
    }

    /// Records the order repeats ran in; every repeat succeeds at once.
    struct Recorder(std::cell::RefCell<Vec<String>>);

    impl RepeatExecutor for Recorder {
        fn run_repeat(&self, spec: &CellSpec, _timeout: Duration) -> cell::RepeatOutcome {
            self.0.borrow_mut().push(spec.model.clone());
            cell::RepeatOutcome::Ok(cell::RepeatResult {
                wall_ms: 10.0,
                latency_ms: Default::default(),
                cpu_user_ms: 1.0,
                cpu_sys_ms: 0.0,
                ctx_voluntary: 0,
                ctx_involuntary: 0,
                peak_rss_kib: 1,
                peak_threads: 1,
                spawn_ms: None,
                peak_vm_kib: 1,
                conditions: None,
                threads_at_start: None,
                file_cache: None,
                connect_cost_us: None,
            })
        }
    }

    fn small_sweep(out: &std::path::Path, resume: bool) -> SweepOptions {
        let mut options = options("quick");
        options.profile.tasks = vec![1, 10];
        options.workloads = vec!["sleep".into()];
        options.models = vec!["threads".into(), "tokio".into()];
        options.out = out.to_path_buf();
        options.resume = resume;
        options
    }

    #[test]
    fn compared_cells_run_round_robin_and_every_repeat_is_saved() {
        let out = tempfile::tempdir().unwrap();
        let recorder = Recorder(Default::default());
        let summary = run_sweep(&small_sweep(out.path(), false), &recorder).unwrap();
        assert_eq!(summary.records.len(), 4);
        // Three repeats of each task count: threads, tokio, threads, tokio, ...
        let order = recorder.0.borrow().clone();
        assert_eq!(order.len(), 12);
        assert!(
            order[..6]
                .chunks(2)
                .all(|pair| pair == ["threads", "tokio"]),
            "{order:?}"
        );
        let lines: Vec<RepeatLine> =
            crate::record::export::read_lines(&out.path().join(REPEATS_FILE), "a repeat").unwrap();
        assert_eq!(lines.len(), 12);
        assert!(lines.iter().all(|l| l.kept && l.disturbed.is_none()));
    }

    #[test]
    fn a_resumed_sweep_reuses_finished_repeats() {
        let out = tempfile::tempdir().unwrap();
        let recorder = Recorder(Default::default());
        run_sweep(&small_sweep(out.path(), false), &recorder).unwrap();
        // Pretend the sweep stopped after the first group's first round: the
        // records are gone, two repeats of the first group remain.
        let repeats = out.path().join(REPEATS_FILE);
        let text = std::fs::read_to_string(&repeats).unwrap();
        let first_two: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(&repeats, first_two.join("\n") + "\n").unwrap();
        std::fs::write(out.path().join("results.jsonl"), "").unwrap();
        let again = Recorder(Default::default());
        let summary = run_sweep(&small_sweep(out.path(), true), &again).unwrap();
        assert_eq!(summary.records.len(), 4);
        assert_eq!(again.0.borrow().len(), 10, "two repeats were reused");
        assert!(summary.records.iter().all(|r| r.repeats == 3));
    }
}
