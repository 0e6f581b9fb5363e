//! `sweep`: measure a grid of cells, saving results after every cell.

use super::{check_writable, invocation, workers_or_cores};
use crate::cli::args::SweepArgs;
use crate::cli::table;
use crate::lab::cell::ChildProcess;
use crate::lab::memory;
use crate::lab::sweep::{self, SweepOptions};
use crate::model;
use crate::os::error::UsageError;
use crate::os::interrupt;
use crate::os::output::path_in;
use crate::record::export::repair_last_line;
use crate::record::reader::read_records;
use crate::server::placement::Placement;
use crate::server::python as python_servers;
use crate::server::sweep as server_sweep;
use crate::workload;
use anyhow::Context;

pub(super) fn sweep(args: SweepArgs) -> anyhow::Result<i32> {
    refuse_cell_flags_without_cells(&args)?;
    let mut profile = sweep::profile(&args.profile).expect("clap checked the profile name");
    if !args.tasks.is_empty() {
        profile.tasks = distinct(args.tasks);
    }
    if let Some(repeat) = args.repeat {
        profile.repeats = repeat;
    }
    if let Some(timeout_s) = args.timeout_s {
        profile.timeout_s = timeout_s;
    }
    if let Some(sleep_ms) = args.sleep_ms {
        // The profile's time budget per cell is counted in waits: keep the
        // same number of waits, so a longer wait does not empty the grid.
        profile.max_expected_ms *= (sleep_ms / profile.sleep_ms).max(1.0);
        profile.sleep_ms = sleep_ms;
    }
    if let Some(cpu_us) = args.cpu_us {
        profile.cpu_us = cpu_us;
    }
    if let Some(kib) = args.stack_kib {
        profile.stack_kib = vec![Some(kib)];
    }
    if let Some(kib) = args.file_kib {
        profile.file_kib = kib;
    }
    if !args.pools.is_empty() {
        profile.pools = distinct(args.pools.clone());
    }
    let or_default = |chosen: Vec<String>, preset: &[&str], all: Vec<&str>| {
        if !chosen.is_empty() {
            distinct(chosen)
        } else if !preset.is_empty() {
            preset.iter().map(|s| s.to_string()).collect()
        } else {
            all.into_iter().map(String::from).collect()
        }
    };
    // The server sweep is not a cell workload: it runs after the cells
    // (asked for by name, or as part of the full profile).
    let server_sweep = args.workloads.iter().any(|w| w == server_sweep::WORKLOAD)
        || (args.workloads.is_empty() && args.profile == "full");
    let cell_workloads: Vec<String> =
        or_default(args.workloads, &profile.workloads, workload::names())
            .into_iter()
            .filter(|w| w != server_sweep::WORKLOAD)
            .collect();
    let server_alone = server_sweep && cell_workloads.is_empty();
    let mut models = or_default(args.models.clone(), &profile.models, model::names());
    if server_alone && args.models.is_empty() && args.profile == "full" {
        // The full server sweep drives the Python servers beside the models,
        // where their virtual environment exists.
        match python_servers::python() {
            Ok(_) => models.extend(python_servers::names().into_iter().map(String::from)),
            Err(_) => crate::os::output::stderr_line!(
                "server sweep: leaving out the Python servers ({}): their virtual environment \
                 is missing; create it with {}",
                python_servers::names().join(", "),
                python_servers::SETUP_SCRIPT
            ),
        }
    }
    let placement_choice = args.placement.clone();
    if !server_sweep && placement_choice != "auto" {
        return Err(UsageError(format!(
            "error: --placement {placement_choice} places the server sweep, and this sweep runs \
             none; add server to --workloads, or drop --placement"
        ))
        .into());
    }
    let options = SweepOptions {
        workloads: cell_workloads,
        models,
        profile,
        workers: workers_or_cores(args.workers),
        out: args.out,
        invocation: invocation(),
        resume: args.resume,
        policy: args.busy.policy(),
        db_rows: args.db_rows,
    };
    let file_cells = options
        .workloads
        .iter()
        .filter_map(|name| workload::by_name(name))
        .any(|w| w.uses_files());
    if let (true, Some(&most)) = (file_cells, options.profile.tasks.iter().max()) {
        crate::workload::files::check_fit(most, options.profile.file_kib)
            .map_err(|reason| UsageError(format!("error: {reason}")))?;
    }
    check_python_servers(
        &options.models,
        server_sweep && options.workloads.is_empty(),
    )?;
    check_writable(&options.out)?;
    // One run per output directory: a second would pass the checks below
    // too, and the two would interleave their records.
    let _lock = crate::os::output::lock_output_dir(&options.out)?;
    if server_sweep {
        let servers = path_in(&options.out, crate::record::server_point::FILE_NAME)?;
        if args.overwrite {
            let _ = std::fs::remove_file(&servers);
        } else if options.resume && servers.is_file() {
            // A damaged file is the user's input: say where, before anything runs.
            crate::record::export::repair_last_line_of::<crate::record::server_point::ServerPoint>(
                &servers,
            )?;
            crate::record::server_point::read_points(&servers)?;
        } else if holds_data(&servers) {
            return Err(UsageError(format!(
                "error: {} already holds server points; continue that sweep with --resume, \
                 replace them with --overwrite, or choose another --out",
                servers.display()
            ))
            .into());
        }
    }
    let apart = server_sweep && server_apart(&placement_choice)?;
    if server_sweep && options.workloads.is_empty() {
        interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
        return run_server_sweep(&options, apart);
    }
    let existing = path_in(&options.out, "results.jsonl")?;
    if options.resume && existing.exists() {
        // A damaged file is the user's input: say where, before anything runs.
        repair_last_line(&existing)?;
        read_records(&existing)?;
    } else if !args.overwrite && holds_data(&existing) {
        return Err(UsageError(format!(
            "error: {} already holds results; continue that sweep with --resume, \
             replace them with --overwrite, or choose another --out",
            existing.display()
        ))
        .into());
    }
    crate::lab::doctor::before_measuring(&options.out);
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let executor = ChildProcess::current()?;
    let summary = sweep::run_sweep(&options, &executor)?;
    if summary.interrupted {
        crate::os::output::stderr_line!(
            "interrupted by {}: stopped the running cell; kept {} finished cells in {} and {}; \
             rerun with --resume to continue",
            interrupt::signal_name().unwrap_or("a signal"),
            summary.records.len(),
            summary.jsonl.display(),
            summary.csv.display()
        );
        return Ok(interrupt::EXIT_CODE);
    }
    if summary.resumed > 0 {
        say!(
            "Resumed: skipped {} cells already in {}",
            summary.resumed,
            summary.jsonl.display()
        );
    }
    say!("{}", table::record_table(&summary.records));
    if !summary.skipped.is_empty() {
        say!(
            "Left out {} cells whose expected time exceeds {:.1} s (their result is arithmetic): {}",
            summary.skipped.len(),
            options.profile.max_expected_ms / 1e3,
            summary
                .skipped
                .iter()
                .map(|s| format!("{}/{}/{}", s.workload, s.model, s.tasks))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(first) = summary.records.first() {
        say!("{}", table::machine_line(&first.machine));
    }
    if let Some((fits, path)) = &summary.memory {
        say!("Memory per unit (slope of peak memory against tasks; r² = fit quality):");
        say!("{}", memory::table(fits));
        say!(
            "Resident = RSS, pages actually touched; virtual = address space reserved \
             (a thread's whole stack). Kernel memory per thread (kernel stack, task \
             structures) is in neither."
        );
        say!("{}", path.display());
    }
    say!("{}", summary.csv.display());
    say!("{}", summary.jsonl.display());
    if server_sweep {
        return run_server_sweep(&options, apart);
    }
    Ok(0)
}

/// `--placement`: true for apart. `shared`, `apart` (refused in one line
/// where it cannot run), or `auto` — apart on 4 or more CPUs where it can
/// run, since splitting 2 or 3 CPUs would leave the server one and measure
/// the split more than the server.
fn server_apart(choice: &str) -> anyhow::Result<bool> {
    use crate::server::placement;
    match choice {
        "shared" => Ok(false),
        "apart" => match placement::unavailable() {
            Some(reason) => Err(UsageError(format!(
                "error: {reason}; or use --placement shared (valid: auto, shared, apart)"
            ))
            .into()),
            None => Ok(true),
        },
        _ => Ok(placement::allowed_cpus().len() >= AUTO_APART_CPUS
            && placement::unavailable().is_none()),
    }
}

/// `--placement auto` keeps generator and server apart from this many CPUs on.
const AUTO_APART_CPUS: usize = 4;

/// The `server` sweep (see [`server_sweep`]), after any cells; `apart`
/// creates the namespaces for it and removes them after.
fn run_server_sweep(options: &SweepOptions, apart: bool) -> anyhow::Result<i32> {
    let apart = if apart {
        Some(crate::server::placement::Apart::create()?)
    } else {
        None
    };
    let placement = apart
        .as_ref()
        .map_or_else(Placement::shared, |a| a.placement.clone());
    let async_models = options
        .models
        .iter()
        .filter(|m| server_sweep::WAIT_BLOCK.applies_to(m))
        .count();
    let (points, seconds) = server_sweep::estimate_s(&options.models);
    crate::os::output::stderr_line!(
        "server sweep: {} x {} at {:?} connections, {} x mode=block and mode=offload at \
         {:?} connections, and {} mostly idle connections: {} searches from a capacity \
         estimate to the knee within {:.0} %; at most {points} points of {:.1} s, {:.1} min \
         (fewer and shorter where knees are found early or p99 converges); generator and \
         server {}",
        count(options.models.len(), "model"),
        count(
            server_sweep::HANDLERS
                .iter()
                .filter(|h| !h.async_only)
                .count(),
            "handler"
        ),
        server_sweep::LOADED_CONNECTIONS,
        count(async_models, "async model"),
        server_sweep::MODE_CONNECTIONS,
        server_sweep::IDLE_CONNECTIONS,
        server_sweep::plan(&options.models).len(),
        server_sweep::KNEE_SPREAD * 100.0,
        server_sweep::point_s_at_most(server_sweep::SWEEP_TIMING),
        seconds / 60.0,
        match &placement.netns {
            Some(_) => format!(
                "apart: server on CPUs {}, generator on CPUs {}, over a veth pair",
                placement.server_cpu_list(),
                placement.generator_cpu_list()
            ),
            None => "share every core, over loopback".to_string(),
        }
    );
    let exe = std::env::current_exe().context("finding the lab's own binary")?;
    let path = server_sweep::run(&server_sweep::SweepRun {
        exe: &exe,
        models: &options.models,
        workers: options.workers,
        out: &options.out,
        resume: options.resume,
        placement: &placement,
    })?;
    drop(apart);
    if interrupt::requested() {
        if path.is_file() {
            crate::os::output::stderr_line!(
                "interrupted: the finished server points are in {}; rerun with --resume to continue",
                path.display()
            );
        } else {
            crate::os::output::stderr_line!(
                "interrupted before the first server point: nothing was saved"
            );
        }
        return Ok(interrupt::EXIT_CODE);
    }
    let points = crate::record::server_point::read_points(&path)?;
    for sentence in crate::report::servers::verdicts(&points) {
        say!("{sentence}");
    }
    say!("{}", path.display());
    Ok(0)
}

/// The Python servers (`py-fastapi`, ...) serve HTTP but run no cells: they
/// are accepted only by the server sweep alone, and only once their
/// virtual environment exists (the error says how to create it).
fn check_python_servers(models: &[String], server_sweep_alone: bool) -> anyhow::Result<()> {
    let python: Vec<&str> = models
        .iter()
        .map(String::as_str)
        .filter(|m| python_servers::is_python(m))
        .collect();
    if python.is_empty() {
        return Ok(());
    }
    if !server_sweep_alone {
        return Err(UsageError(format!(
            "error: {} {} Python server{}, not a model: use {} with --workloads server alone \
             (models: {})",
            python.join(", "),
            if python.len() == 1 { "is a" } else { "are" },
            if python.len() == 1 { "" } else { "s" },
            if python.len() == 1 { "it" } else { "them" },
            model::names().join(", ")
        ))
        .into());
    }
    python_servers::python()?;
    Ok(())
}

/// The values in their first order, each once: `--tasks 1,1` is one cell.
fn distinct<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut kept = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

/// True when `path` exists and holds more than white space.
fn holds_data(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.iter().any(|b| !b.is_ascii_whitespace()))
}

/// `--workloads server` alone runs no cell: the flags that shape cells would
/// be silently ignored, so they are refused (exit 2) instead.
fn refuse_cell_flags_without_cells(args: &SweepArgs) -> anyhow::Result<()> {
    let server_alone =
        !args.workloads.is_empty() && args.workloads.iter().all(|w| w == server_sweep::WORKLOAD);
    if !server_alone {
        return Ok(());
    }
    let given: Vec<&str> = [
        ("--tasks", !args.tasks.is_empty()),
        ("--repeat", args.repeat.is_some()),
        ("--timeout-s", args.timeout_s.is_some()),
        ("--sleep-ms", args.sleep_ms.is_some()),
        ("--cpu-us", args.cpu_us.is_some()),
        ("--stack-kib", args.stack_kib.is_some()),
        ("--file-kib", args.file_kib.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(UsageError(format!(
        "error: {} shape{} cells, and --workloads server runs none; drop {}, or add cell \
         workloads to --workloads",
        given.join(", "),
        if given.len() == 1 { "s" } else { "" },
        if given.len() == 1 { "it" } else { "them" }
    ))
    .into())
}

/// "1 model", "2 models".
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
