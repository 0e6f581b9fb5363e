//! The command line: clap definitions, input checks and the subcommands.
//!
//! Every mistake a user can make on the command line ends in one line on
//! stderr that says what was wrong (and the valid choices, where there is a
//! list) and exit code 2 — never a panic or a backtrace.

use crate::cell::{self, CellSpec, ChildProcess, Provenance};
use crate::interrupt;
use crate::measure;
use crate::memory;
use crate::model;
use crate::report;
use crate::result::CellRecord;
use crate::sweep::{self, SweepOptions};
use crate::table;
use crate::workload;
use anyhow::Context;
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// A user mistake found after parsing: reported in one line with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[derive(Debug, Parser)]
#[command(
    name = "async-vs-blocking",
    version,
    about = "Measure the same workloads under blocking threads, a thread pool, tokio, async-std, smol and rayon",
    long_about = "Measure the same workloads under blocking threads, a thread pool, tokio, \
async-std, smol and rayon.\n\nEach measurement (a cell) runs in its own child process; \
results are written after every cell to JSON Lines and CSV.\n\n\
Start with `async-vs-blocking list`, then `run` one cell or `sweep` a grid."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the execution models and workloads.
    List {
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Measure one cell (workload × model × tasks) and print its record.
    Run(RunArgs),
    /// Measure a grid of cells, saving results.jsonl and results.csv after every cell.
    Sweep(SweepArgs),
    /// Sweep (or read results) and write charts and a self-contained HTML report.
    Report(ReportArgs),
    /// Put popular claims about async on trial: one experiment each, a verdict from the numbers.
    Claims(ClaimsArgs),
    /// Run the loopback latency server: every request is answered after --delay-ms.
    Serve(crate::server::ServeArgs),
    /// Internal: run one repeat of a cell in this process (used by the lab itself).
    #[command(name = cell::CHILD_SUBCOMMAND, hide = true)]
    Cell {
        /// The cell spec as JSON.
        spec: String,
    },
}

fn model_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(model::names())
}

fn workload_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(workload::names())
}

/// Milliseconds: positive and at most one hour.
fn parse_ms(text: &str) -> Result<f64, String> {
    parse_duration(text, 3_600_000.0, "ms")
}

/// Microseconds: positive and at most one hour.
fn parse_us(text: &str) -> Result<f64, String> {
    parse_duration(text, 3_600_000_000.0, "µs")
}

fn parse_duration(text: &str, max: f64, unit: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of {unit}"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("must be more than 0 {unit}"));
    }
    if value > max {
        return Err(format!("must be at most one hour ({max} {unit})"));
    }
    Ok(value)
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workload each task performs.
    #[arg(long, value_parser = workload_parser())]
    pub workload: String,
    /// The execution model that runs the tasks.
    #[arg(long, value_parser = model_parser())]
    pub model: String,
    /// Number of tasks (1 to 10,000,000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub tasks: u64,
    /// Wait per task in milliseconds (sleep and mixed workloads).
    #[arg(long, default_value = "100", value_parser = parse_ms, allow_negative_numbers = true)]
    pub sleep_ms: f64,
    /// Compute per task in microseconds (cpu and mixed workloads).
    #[arg(long, default_value = "1000", value_parser = parse_us, allow_negative_numbers = true)]
    pub cpu_us: f64,
    /// Worker threads for pools and executors [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub workers: Option<u64>,
    /// Stack size of threads the models create, in KiB [default: the platform's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub stack_kib: Option<u64>,
    /// Reply size of the latency server in bytes (socket workload; 0 to 64 MiB).
    #[arg(long, default_value_t = crate::server::DEFAULT_REPLY_BYTES,
          value_parser = clap::value_parser!(u64).range(0..=crate::server::MAX_REPLY_BYTES))]
    pub reply_bytes: u64,
    /// Repeats, each in a fresh process; the record shows min/median/max.
    #[arg(long, default_value = "3", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Seconds one repeat may take before it is killed and recorded as a timeout (at most 3600).
    #[arg(long, default_value = "120", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_s: u64,
    /// Print the record as one JSON line instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// quick: every model and workload at 1..1,000 tasks in about a minute;
    /// full: up to 10,000 tasks, longer waits, more repeats;
    /// memory: peak RSS of 1,000..10,000 sleeping tasks per model, and memory
    /// per task or thread (writes memory.json).
    #[arg(long, default_value = "quick", value_parser = PossibleValuesParser::new(sweep::PROFILES))]
    pub profile: String,
    /// Workloads to include, comma-separated [default: the profile's, or all].
    #[arg(long, value_delimiter = ',', value_parser = workload_parser())]
    pub workloads: Vec<String>,
    /// Models to include, comma-separated [default: the profile's, or all].
    #[arg(long, value_delimiter = ',', value_parser = model_parser())]
    pub models: Vec<String>,
    /// Task counts, comma-separated [default: the profile's].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub tasks: Vec<u64>,
    /// Worker threads for pools and executors [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub workers: Option<u64>,
    /// Repeats per cell [default: the profile's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: Option<u32>,
    /// Seconds one repeat may take, at most 3600 [default: the profile's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_s: Option<u64>,
    /// Wait per task in milliseconds [default: the profile's].
    #[arg(long, value_parser = parse_ms, allow_negative_numbers = true)]
    pub sleep_ms: Option<f64>,
    /// Compute per task in microseconds [default: the profile's].
    #[arg(long, value_parser = parse_us, allow_negative_numbers = true)]
    pub cpu_us: Option<f64>,
    /// Stack size of threads the thread models create, in KiB [default: the profile's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub stack_kib: Option<u64>,
    /// Keep the records already in OUT/results.jsonl and skip those cells
    /// (continue a sweep that was interrupted).
    #[arg(long)]
    pub resume: bool,
    /// Directory for results.jsonl and results.csv.
    #[arg(long, default_value = "reports/data")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The sweep to run when no --input is given (see `sweep --help`).
    #[arg(long, default_value = "quick", value_parser = PossibleValuesParser::new(sweep::PROFILES))]
    pub profile: String,
    /// Draw from these results.jsonl files instead of measuring (several are
    /// merged; a timers.jsonl beside a file is read too).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub input: Vec<PathBuf>,
    /// Directory for index.html, the charts (.svg) and the data.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Also put every claim on trial (`claims`, about 45 s more on 2 cores)
    /// for the "Claims on trial" section. Without it the report shows the
    /// newest claims.json found beside an input or in --out.
    #[arg(long)]
    pub claims: bool,
}

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// Claims to run, comma-separated [default: all].
    #[arg(long, value_name = "ID", value_delimiter = ',', value_parser = PossibleValuesParser::new(crate::claims::ids()))]
    pub only: Vec<String>,
    /// Repeats per timing (cells: each in a fresh process); medians decide.
    #[arg(long, default_value = "3", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Print the results as one JSON document instead of a table.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the results as a Markdown table (for a README).
    #[arg(long)]
    pub markdown: bool,
    /// List the claims and their experiments without measuring.
    #[arg(long)]
    pub list: bool,
    /// Directory to save the results in, as claims.json (where `report` finds them).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
}

/// Turns a clap error into the lab's one-line form.
pub fn one_line_error(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = error.render().to_string();
    let mut line = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim()
        .to_string();
    if !line.starts_with("error:") {
        line = format!("error: {line}");
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        if !line.contains(&valid.join(", ")) {
            line += &format!(" (valid: {})", valid.join(", "));
        }
    }
    line + " (see --help)"
}

/// The exact command line of this process.
pub fn invocation() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn workers_or_cores(workers: Option<u64>) -> usize {
    workers.map_or_else(measure::cores, |w| w as usize)
}

/// Runs a parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    // Every socket costs a descriptor: allow as many as the hard limit does.
    crate::descriptors::raise_nofile_limit();
    match cli.command {
        Command::List { json } => {
            println!(
                "{}",
                if json {
                    table::list_json()
                } else {
                    table::list_text()
                }
            );
            Ok(0)
        }
        Command::Run(args) => run(args),
        Command::Sweep(args) => run_sweep(args),
        Command::Report(args) => run_report(args),
        Command::Claims(args) => run_claims(args),
        Command::Serve(args) => crate::server::serve_main(args),
        Command::Cell { spec } => Ok(cell::child_main(&spec)),
    }
}

fn run(args: RunArgs) -> anyhow::Result<i32> {
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let spec = CellSpec::new(&args.workload, &args.model, args.tasks)
        .with_workers(workers_or_cores(args.workers))
        .with_sleep_ms(args.sleep_ms)
        .with_cpu_us(args.cpu_us)
        .with_stack_kib(args.stack_kib.map(|k| k as usize))
        .with_reply_bytes(args.reply_bytes);
    let executor = ChildProcess::current()?;
    let (record, server_note) = sweep::measure_cell_noting_server(
        spec,
        args.repeat,
        Duration::from_secs(args.timeout_s),
        &executor,
        &Provenance {
            profile: None,
            invocation: invocation(),
        },
    );
    if interrupt::requested() {
        eprintln!(
            "interrupted by {}: the cell was stopped and not recorded",
            interrupt::signal_name().unwrap_or("a signal")
        );
        return Ok(interrupt::EXIT_CODE);
    }
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        println!("{}", table::record_table(std::slice::from_ref(&record)));
        if let (Some(bytes), Some(rate)) = (record.reply_bytes, record.bytes_per_s) {
            println!(
                "replies: {bytes} bytes each, {:.2} MB/s of payload",
                rate / 1e6
            );
        }
        if let Some(note) = server_note {
            println!("{note}");
        }
        println!("{}", table::machine_line(&record.machine));
        if let Some(error) = &record.error {
            println!("{}: {error}", record.status.as_str());
        }
    }
    Ok(0)
}

fn run_sweep(args: SweepArgs) -> anyhow::Result<i32> {
    let mut profile = sweep::profile(&args.profile).expect("clap checked the profile name");
    if !args.tasks.is_empty() {
        profile.tasks = args.tasks;
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
    let or_default = |chosen: Vec<String>, preset: &[&str], all: Vec<&str>| {
        if !chosen.is_empty() {
            chosen
        } else if !preset.is_empty() {
            preset.iter().map(|s| s.to_string()).collect()
        } else {
            all.into_iter().map(String::from).collect()
        }
    };
    let options = SweepOptions {
        workloads: or_default(args.workloads, profile.workloads, workload::names()),
        models: or_default(args.models, &profile.models, model::names()),
        profile,
        workers: workers_or_cores(args.workers),
        out: args.out,
        invocation: invocation(),
        resume: args.resume,
    };
    check_writable(&options.out)?;
    let existing = options.out.join("results.jsonl");
    if options.resume && existing.exists() {
        // A damaged file is the user's input: say where, before anything runs.
        read_records(&existing)?;
    }
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let executor = ChildProcess::current()?;
    let summary = sweep::run_sweep(&options, &executor)?;
    if summary.interrupted {
        eprintln!(
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
        println!(
            "Resumed: skipped {} cells already in {}",
            summary.resumed,
            summary.jsonl.display()
        );
    }
    println!("{}", table::record_table(&summary.records));
    if !summary.skipped.is_empty() {
        println!(
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
        println!("{}", table::machine_line(&first.machine));
    }
    if let Some((fits, path)) = &summary.memory {
        println!("Memory per unit (slope of peak memory against tasks; r² = fit quality):");
        println!("{}", memory::table(fits));
        println!(
            "Resident = RSS, pages actually touched; virtual = address space reserved \
             (a thread's whole stack). Kernel memory per thread (kernel stack, task \
             structures) is in neither."
        );
        println!("{}", path.display());
    }
    println!("{}", summary.csv.display());
    println!("{}", summary.jsonl.display());
    Ok(0)
}

fn run_report(args: ReportArgs) -> anyhow::Result<i32> {
    check_writable(&args.out)?;
    // The claims run first, before the sweep installs its Ctrl-C handler:
    // an interrupted claims run just ends the command.
    let measured_claims = if args.claims {
        eprintln!("putting the claims on trial (about 45 s on 2 cores) ...");
        let claims = measure_claims(&[], 3)?;
        let path = args.out.join(report::claims::FILE_NAME);
        report::claims::write_claims(&path, &claims)?;
        Some(report::claims::FoundClaims {
            report: claims,
            source: "Measured by this report (--claims)".into(),
        })
    } else {
        None
    };
    let mut data = if args.input.is_empty() {
        let options = SweepOptions {
            profile: sweep::profile(&args.profile).expect("clap checked the profile name"),
            workloads: workload::names().into_iter().map(String::from).collect(),
            models: model::names().into_iter().map(String::from).collect(),
            workers: measure::cores(),
            out: args.out.clone(),
            invocation: invocation(),
            resume: false,
        };
        interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
        let data = crate::measure_report::measure(&options, &ChildProcess::current()?)?;
        if data.interrupted {
            eprintln!(
                "interrupted by {}: stopped the running cell; kept {} finished cells in {}; \
                 draw them with: async-vs-blocking report --input {}",
                interrupt::signal_name().unwrap_or("a signal"),
                data.records.len(),
                options.out.join("results.jsonl").display(),
                options.out.join("results.jsonl").display()
            );
            return Ok(interrupt::EXIT_CODE);
        }
        data
    } else {
        report::read_inputs(&args.input, &invocation())?
    };
    let measured = args.input.is_empty();
    data.claims = match measured_claims {
        Some(found) => Some(found),
        None => report::claims::find(&report::claims::candidates(&args.input, &args.out)).map_err(
            |error| {
                UsageError(format!(
                    "error: {}",
                    format!("{error:#}").replace('\n', " ")
                ))
            },
        )?,
    };
    if !measured {
        // Measuring wrote each data file once; drawn from saved files, the
        // report keeps a copy of what it was drawn from beside the page.
        report::save_data(&args.out, &data)?;
    }
    let written = report::draw(&args.out, &data)?;
    for sentence in &written.verdicts {
        println!("{sentence}");
    }
    println!("{} charts in {}", written.charts.len(), args.out.display());
    println!("{}", written.index.display());
    Ok(0)
}

/// Reads a results file given by the user (`--input`). A missing,
/// unreadable, empty or malformed file is a usage error: one line naming the
/// file (and the line), exit code 2.
pub fn load_records(path: &std::path::Path) -> anyhow::Result<Vec<CellRecord>> {
    let records = read_records(path)?;
    if records.is_empty() {
        return Err(UsageError(format!(
            "error: {} holds no records (run `async-vs-blocking sweep` first)",
            path.display()
        ))
        .into());
    }
    Ok(records)
}

/// Like [`load_records`], but an empty file is fine (a sweep interrupted
/// before its first cell finished leaves one).
fn read_records(path: &std::path::Path) -> anyhow::Result<Vec<CellRecord>> {
    crate::export::read_jsonl(path).map_err(|error| {
        UsageError(format!(
            "error: {} (expected results.jsonl written by `async-vs-blocking sweep`)",
            format!("{error:#}").replace('\n', " ")
        ))
        .into()
    })
}
/// Runs the claims in `only` (all when empty) with progress on stderr.
fn measure_claims(only: &[String], repeats: u32) -> anyhow::Result<crate::claims::ClaimsReport> {
    use crate::claims;
    let executor = ChildProcess::current()?;
    let started = std::time::Instant::now();
    let started_unix_s = measure::unix_now_s();
    let progress = |position: usize, total: usize, id: &str| {
        eprintln!(
            "[{position}/{total}] {id} ({:.0} s so far)",
            started.elapsed().as_secs_f64()
        )
    };
    let options = claims::ClaimOptions {
        executor: &executor,
        repeats,
        invocation: invocation(),
        on_start: &progress,
    };
    let results = claims::run_claims(only, &options);
    Ok(claims::ClaimsReport {
        machine: measure::machine(),
        started_unix_s,
        seconds: started.elapsed().as_secs_f64(),
        invocation: options.invocation.clone(),
        claims: results,
    })
}

fn run_claims(args: ClaimsArgs) -> anyhow::Result<i32> {
    use crate::claims;
    if args.list {
        println!("{}", claims::list_text());
        return Ok(0);
    }
    check_writable(&args.out)?;
    let report = measure_claims(&args.only, args.repeat)?;
    let saved = args.out.join(report::claims::FILE_NAME);
    report::claims::write_claims(&saved, &report)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if args.markdown {
        print!("{}", claims::claims_markdown(&report));
    } else {
        println!("{}", claims::claims_table(&report.claims));
        println!(
            "{} — in {:.0} s. Verdicts come from thresholds named in src/claims/; \
             with another number of cores some may change.",
            claims::tally(&report.claims),
            report.seconds
        );
        println!("{}", table::machine_line(&report.machine));
        let busiest = report
            .claims
            .iter()
            .map(|c| c.load_average)
            .fold(0.0, f64::max);
        if busiest > report.machine.cores as f64 {
            println!(
                "The machine was busy: load average up to {busiest:.1} on {} cores. Timings are noisy; \
                 claims that need free cores say so instead of judging.",
                report.machine.cores
            );
        }
    }
    let shown = format!(
        "saved {}: a report written to {} (or drawn from a results.jsonl there) shows these verdicts",
        saved.display(),
        args.out.display()
    );
    if args.json || args.markdown {
        // stdout is the document itself.
        eprintln!("{shown}");
    } else {
        println!("{shown}");
    }
    Ok(0)
}

/// Fails early, as a usage error, when results could not be written to `dir`.
pub fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".write-test");
    let outcome = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b""));
    let _ = std::fs::remove_file(&probe);
    outcome.map_err(|error| {
        UsageError(format!(
            "error: cannot write to the output directory {}: {error} (choose another with --out)",
            dir.display()
        ))
        .into()
    })
}
