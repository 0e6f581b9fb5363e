//! Clap definitions of every subcommand and its arguments, and the checks
//! that run while parsing (ranges, lists of valid names).
//!
//! Nothing here runs anything: the handlers in [`super::commands`] take the
//! parsed arguments. Every mistake a user can make on the command line ends in
//! one line on stderr that says what was wrong (and the valid choices, where
//! there is a list) and exit code 2 — never a panic or a backtrace.

use crate::lab::cell;
use crate::lab::sweep;
use crate::model;
use crate::workload;
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::PathBuf;

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
    /// Say what on this machine would disturb measurements now (one second
    /// of sampling): other programs' CPU, steal, load, cgroup limits,
    /// governor, THP, timer slack, swapping, a VM. Ends with fit / fit with
    /// warnings / unfit.
    Doctor {
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare the lab with a bare program doing the same: N tasks that
    /// sleep D, joined (examples/bare_tokio.rs, examples/bare_threads.rs).
    /// Prints both wall times and peak memories and their ratios (targets:
    /// time within 5 %, memory within 10 %). Needs `cargo build --release
    /// --examples` first.
    Overhead(OverheadArgs),
    /// Run the loopback latency server: every request is answered after --delay-ms.
    Serve(ServeArgs),
    /// Open-loop HTTP load (wrk2-style): a constant rate over keep-alive
    /// connections, latency from each request's due time.
    Load(crate::server::load::LoadArgs),
    /// The workshop's grader: build an exercise (exercises/), run it, and
    /// judge the fix by measuring it: pass, not yet, or could not judge.
    Check(CheckArgs),
    /// Start a throwaway PostgreSQL (Debian's package), load a generated
    /// table, print its URL, then run COMMAND with DATABASE_URL set (or wait
    /// for Ctrl-C); the server and its directory are removed on every path.
    Db(DbArgs),
    /// Internal: look after a throwaway PostgreSQL cluster until stdin closes (used by `db`).
    #[command(name = crate::net::database::KEEPER_SUBCOMMAND, hide = true)]
    DbKeeper {
        /// Rows of the generated table.
        #[arg(long, default_value_t = workload::db::DEFAULT_ROWS, value_parser = parse_rows)]
        rows: u64,
    },
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

/// The models, and the Python servers the `server` sweep also drives.
fn sweep_model_parser() -> PossibleValuesParser {
    let mut names = model::names();
    names.extend(crate::server::python::names());
    PossibleValuesParser::new(names)
}

/// The workloads, and `server` (a sweep of HTTP servers, not a cell workload).
fn sweep_workload_parser() -> PossibleValuesParser {
    let mut names = workload::names();
    names.push(crate::server::sweep::WORKLOAD);
    PossibleValuesParser::new(names)
}

/// The shortest wait or compute a cell accepts: 1 µs. The clocks resolve
/// nanoseconds, but a thread's sleep is stretched by the timer slack (50 µs by
/// default) and tokio's timer counts whole milliseconds, so a shorter request
/// would only measure overhead and print `ideal_ms` 0.0.
pub const MIN_DURATION_US: f64 = 1.0;

/// Milliseconds: at least [`MIN_DURATION_US`] and at most one hour.
fn parse_ms(text: &str) -> Result<f64, String> {
    parse_duration(text, MIN_DURATION_US / 1e3, 3_600_000.0, "ms")
}

/// Microseconds: at least [`MIN_DURATION_US`] and at most one hour.
fn parse_us(text: &str) -> Result<f64, String> {
    parse_duration(text, MIN_DURATION_US, 3_600_000_000.0, "µs")
}

fn parse_duration(text: &str, min: f64, max: f64, unit: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of {unit}"))?;
    if !value.is_finite() || value < min {
        return Err(format!(
            "must be at least {min} {unit} (1 µs: shorter is below what the timers resolve)"
        ));
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
    #[arg(long, default_value = "100", value_parser = parse_ms, allow_hyphen_values = true)]
    pub sleep_ms: f64,
    /// Compute per task in microseconds (cpu and mixed workloads).
    #[arg(long, default_value = "1000", value_parser = parse_us, allow_hyphen_values = true)]
    pub cpu_us: f64,
    /// Worker threads for pools and executors [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub workers: Option<u64>,
    /// Stack size of threads the models create, in KiB [default: the platform's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub stack_kib: Option<u64>,
    /// Reply size of the latency server in bytes (socket workload; 0 to 64 MiB).
    #[arg(long, default_value_t = crate::workload::DEFAULT_REPLY_BYTES,
          value_parser = clap::value_parser!(u64).range(0..=crate::net::latency::MAX_REPLY_BYTES))]
    pub reply_bytes: u64,
    /// Size of every task's own file in KiB (file and file-cold workloads; 1 to 65,536).
    #[arg(long, default_value_t = workload::DEFAULT_FILE_KIB,
          value_parser = clap::value_parser!(u64).range(1..=workload::MAX_FILE_KIB))]
    pub file_kib: u64,
    /// Connections in the model's database pool (db workload; 1 to 256).
    #[arg(long, default_value_t = workload::db::DEFAULT_POOL,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=workload::db::MAX_POOL as u64))]
    pub pool: usize,
    /// Rows of the database's generated table (db workload; 1 to 100,000,000).
    #[arg(long, default_value_t = workload::db::DEFAULT_ROWS, value_parser = parse_rows)]
    pub db_rows: u64,
    /// Repeats, each in a fresh process; the record shows min/median/max.
    #[arg(long, default_value = "3", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Seconds one repeat may take before it is killed and recorded as a timeout (at most 3600).
    #[arg(long, default_value = "120", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_s: u64,
    /// Print the record as one JSON line instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub busy: crate::lab::busy::BusyArgs,
}

#[derive(Debug, Args)]
pub struct OverheadArgs {
    /// The model to compare with its bare program: tokio (a multi-thread
    /// runtime, one worker per core) or threads (one OS thread per task).
    #[arg(long, default_value = "tokio", value_parser = PossibleValuesParser::new(crate::lab::overhead::MODELS))]
    pub model: String,
    /// Number of tasks (1 to 10,000,000; a million sleeping tokio tasks
    /// need about 600 MiB).
    #[arg(long, default_value = "5000", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub tasks: u64,
    /// Wait per task in milliseconds.
    #[arg(long, default_value = "30", value_parser = parse_ms, allow_hyphen_values = true)]
    pub sleep_ms: f64,
    /// Repeats of each program, interleaved; medians and largest peaks are compared.
    #[arg(long, default_value = "3", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Seconds one run of either program may take before it is stopped (at most 3600).
    #[arg(long, default_value = "600", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_s: u64,
    /// Print the comparison as one JSON line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// quick: every model and workload (but the file ones) at 1..1,000 tasks in about a minute;
    /// full: up to 10,000 tasks, longer waits, more repeats;
    /// memory: peak RSS of 1,000..10,000 sleeping tasks per model, and memory
    /// per task or thread (writes memory.json).
    #[arg(long, default_value = "quick", value_parser = PossibleValuesParser::new(sweep::PROFILES))]
    pub profile: String,
    /// Workloads to include, comma-separated [default: the profile's, or all].
    /// `server` sweeps every model's HTTP server under open-loop load
    /// (writes server.jsonl; part of --profile full).
    #[arg(long, value_delimiter = ',', value_parser = sweep_workload_parser())]
    pub workloads: Vec<String>,
    /// Models to include, comma-separated [default: the profile's, or all].
    /// With `--workloads server` only, also the Python servers (py-fastapi,
    /// py-aiohttp; see scripts/python/setup_servers_venv.sh).
    #[arg(long, value_delimiter = ',', value_parser = sweep_model_parser())]
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
    #[arg(long, value_parser = parse_ms, allow_hyphen_values = true)]
    pub sleep_ms: Option<f64>,
    /// Compute per task in microseconds [default: the profile's].
    #[arg(long, value_parser = parse_us, allow_hyphen_values = true)]
    pub cpu_us: Option<f64>,
    /// Stack size of threads the thread models create, in KiB [default: the profile's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub stack_kib: Option<u64>,
    /// Size of every task's own file in KiB, for the file workloads (1 to 65,536) [default: the profile's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=workload::MAX_FILE_KIB))]
    pub file_kib: Option<u64>,
    /// Connections in each model's database pool, one cell per size (db workload; 1 to 256 each).
    #[arg(long, value_delimiter = ',',
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=workload::db::MAX_POOL as u64))]
    pub pools: Vec<usize>,
    /// Rows of the database's generated table (db workload; 1 to 100,000,000).
    #[arg(long, default_value_t = workload::db::DEFAULT_ROWS, value_parser = parse_rows)]
    pub db_rows: u64,
    /// Keep the records already in OUT/results.jsonl and skip those cells
    /// (continue a sweep that was interrupted).
    #[arg(long)]
    pub resume: bool,
    /// Replace the records already in OUT/results.jsonl (without it, a sweep
    /// refuses to drop earlier results).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Directory for results.jsonl and results.csv.
    #[arg(long, default_value = "reports/data")]
    pub out: PathBuf,
    /// For the server sweep, where generator and server run. shared: the
    /// same cores, over loopback; apart: disjoint CPU sets and two network
    /// namespaces joined by a veth pair (root and iproute2 only); auto:
    /// apart on 4 or more CPUs when root, else shared.
    #[arg(long, default_value = "auto", value_parser = PossibleValuesParser::new(["auto", "shared", "apart"]))]
    pub placement: String,
    #[command(flatten)]
    pub busy: crate::lab::busy::BusyArgs,
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
    /// Put every claim on trial even when drawing from --input. A report
    /// that measures (no --input) does so anyway; there this flag changes
    /// nothing.
    #[arg(long, conflicts_with = "no_claims")]
    pub claims: bool,
    /// Leave the claims out of a measuring report: the page then shows the
    /// newest claims.json found in --out, if any. (By default a report that
    /// measures also puts every claim on trial, with the claims' quick
    /// budget.)
    #[arg(long)]
    pub no_claims: bool,
    #[command(flatten)]
    pub busy: crate::lab::busy::BusyArgs,
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

/// The value given to `flag` on this process's command line (`--flag V`
/// or `--flag=V`), if any.
fn given_value(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.iter().enumerate().find_map(|(i, arg)| {
        if arg == flag {
            args.get(i + 1).cloned()
        } else {
            arg.strip_prefix(flag)
                .and_then(|rest| rest.strip_prefix('='))
                .map(String::from)
        }
    })
}

/// Turns a clap error into the lab's one-line form.
pub fn one_line_error(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
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
    let invalid_arg = error.get(ContextKind::InvalidArg);
    match (error.kind(), invalid_arg) {
        // clap lists the missing arguments on the lines below: bring them up.
        (ErrorKind::MissingRequiredArgument, Some(ContextValue::Strings(missing))) => {
            line = format!("{line} {}", missing.join(", "));
        }
        // A value with a newline or other control character would cut the
        // line or hide itself: show it escaped, with the flag it was for.
        (ErrorKind::ValueValidation | ErrorKind::InvalidValue, Some(ContextValue::String(arg))) => {
            if let Some(ContextValue::String(value)) = error.get(ContextKind::InvalidValue) {
                if value.chars().any(char::is_control) {
                    let why = std::error::Error::source(error)
                        .map(|source| format!(": {source}"))
                        .unwrap_or_default();
                    line = format!("error: invalid value {value:?} for '{arg}'{why}");
                }
            }
            // `--only ','` or `--tasks 1,,2`: clap says "none was supplied",
            // which is not what happened; say what did.
            let flag = arg.split_whitespace().next().unwrap_or(arg);
            if line.contains("none was supplied") {
                if let Some(given) = given_value(flag).filter(|v| v.contains(',')) {
                    line = format!(
                        "error: {flag} {given:?} holds an empty item (a comma at an end, or two \
                         together); give items separated by single commas"
                    );
                }
            }
        }
        _ => {}
    }
    if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        if !line.contains(&valid.join(", ")) {
            line += &format!(" (valid: {})", valid.join(", "));
        }
    }
    line + " (see --help)"
}
/// `db`'s command line.
#[derive(Debug, clap::Args)]
pub struct DbArgs {
    /// Rows of the generated `items` table (1 to 100,000,000).
    #[arg(long, default_value_t = workload::db::DEFAULT_ROWS, value_parser = parse_rows)]
    pub rows: u64,
    /// The command to run while the database is up, with DATABASE_URL set
    /// (after `--`); without one, `db` waits for Ctrl-C.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Rows of the generated table: 1 to [`workload::db::MAX_ROWS`].
fn parse_rows(text: &str) -> Result<u64, String> {
    let max = workload::db::MAX_ROWS;
    match text.trim().parse::<u64>() {
        Ok(rows) if (1..=max).contains(&rows) => Ok(rows),
        _ => Err(format!(
            "expected a whole number of rows from 1 to {max}, got {text:?}"
        )),
    }
}

/// `serve`'s command line.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Only loopback addresses, unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free one. The address is printed on the first line.
    #[arg(long, default_value = "0")]
    pub port: u16,
    /// How long the server waits before it answers a request, in milliseconds (0 to 1 hour).
    #[arg(long, default_value = "100", value_parser = parse_delay_ms, allow_negative_numbers = true)]
    pub delay_ms: f64,
    /// Bytes in each reply (0 to 64 MiB).
    #[arg(long, default_value_t = crate::workload::DEFAULT_REPLY_BYTES,
          value_parser = clap::value_parser!(u64).range(0..=crate::net::latency::MAX_REPLY_BYTES))]
    pub reply_bytes: u64,
    /// Event-loop threads, each with its own listening socket on the same port
    /// [default: number of cores].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
    /// Allow --bind to a non-loopback address: anyone who can reach it may then connect.
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve HTTP/1.1 (`GET /work`, `GET /health`) with this execution model
    /// instead of running the latency server.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::model::names()),
          conflicts_with_all = ["delay_ms", "reply_bytes", "threads"])]
    pub model: Option<String>,
    /// With --model: worker threads for pools and executors [default: number of cores].
    #[arg(long, requires = "model", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub workers: Option<u64>,
    /// Close a connection idle (or sending half a request) for this many
    /// seconds; the latency server's own delay does not count as idle.
    #[arg(long, default_value = "60", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_s: u64,
}

fn parse_delay_ms(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of ms"))?;
    if !value.is_finite() || !(0.0..=3_600_000.0).contains(&value) {
        return Err("must be between 0 and 3600000 ms (one hour)".into());
    }
    Ok(value)
}

/// `check`: one exercise, `--all`, or `--merge` a class's files (WORKSHOP.md).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise: its number (1 to 8) or name, e.g. `03` or `sequential_waits`.
    pub exercise: Option<String>,
    /// Check every exercise in order, print a progress table and write
    /// workshop.json into --out.
    #[arg(long)]
    pub all: bool,
    /// Check the reference solution (exercises/solutions/) instead of the
    /// student's version.
    #[arg(long)]
    pub solution: bool,
    /// Directory for workshop.json [default with --all: reports/workshop].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Idle connections for exercise 6 [default: 20,000, or what the
    /// machine's open-file limit allows].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections: Option<u64>,
    /// Merge workshop.json files from a class's machines: per exercise, how
    /// many passed and the spread of what they measured.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub merge: Vec<PathBuf>,
}
