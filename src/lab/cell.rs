//! One cell: one (workload, model, tasks, workers, parameters) measurement.
//!
//! Each repeat runs in a fresh child process of the lab's own binary
//! ([`ChildProcess`]), so peak RSS, thread counts and leftover pool threads
//! of one runtime never leak into another, and a crash, an OS refusal or a
//! hang becomes a recorded failure instead of a lost sweep. The parent
//! samples the child's thread count from `/proc/<pid>/status` while it runs,
//! so the child carries no sampler thread of its own.
//!
//! Inside the child, [`measure_repeat`] builds the runtime, then times only
//! the run: from just before the first task starts until the last one has
//! been joined.

use crate::lab::busy::{self, Accounting, BusyPolicy, Judgement, OnBusy, RepeatConditions};
use crate::model::{self, Batch, ModelConfig};
use crate::os::measure::{self, ProcStatus, Usage};
use crate::os::process::{die_with_parent, kill_group};
use crate::record::result::{CellRecord, Conditions, LatencyMs, Status};
use crate::stats;
use crate::workload::compute;
use crate::workload::{self, Params, Plan};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a child process needs to run one repeat of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSpec {
    pub workload: String,
    pub model: String,
    pub tasks: u64,
    /// Requested worker threads (the model decides how many it uses).
    pub workers: usize,
    pub sleep_ms: f64,
    pub cpu_us: f64,
    /// Stack size for per-task and pool threads, KiB (None: platform default).
    pub stack_kib: Option<usize>,
    /// Compute kernel speed, measured once per cell by the parent.
    pub iters_per_us: f64,
    /// Reply size of the latency server (`socket` workload), bytes.
    #[serde(default = "default_reply_bytes")]
    pub reply_bytes: u64,
    /// The latency server the parent started for this cell (`socket` workload).
    #[serde(default)]
    pub server: Option<std::net::SocketAddr>,
    /// Size of every task's file, KiB (`file` workloads).
    #[serde(default = "default_file_kib")]
    pub file_kib: u64,
    /// Connections in the model's database pool (`db` workload).
    #[serde(default = "default_pool")]
    pub pool: usize,
    /// The database the parent started (`db` workload).
    #[serde(default)]
    pub database: Option<workload::db::Target>,
}

fn default_pool() -> usize {
    workload::db::DEFAULT_POOL
}

fn default_reply_bytes() -> u64 {
    crate::workload::DEFAULT_REPLY_BYTES
}

fn default_file_kib() -> u64 {
    workload::DEFAULT_FILE_KIB
}

impl CellSpec {
    /// A cell of `tasks` tasks of `workload` under `model`, with the lab's
    /// defaults for everything else: one worker per core, a 100 ms wait and
    /// 1 ms of compute per task (the `full` profile's), the platform's stack
    /// size, the latency server's default reply, compute not yet calibrated
    /// (the parent measures it per cell) and no server yet (the parent
    /// starts one for the `socket` workload). Change any of them with the
    /// `with_` methods.
    pub fn new(workload: &str, model: &str, tasks: u64) -> CellSpec {
        CellSpec {
            workload: workload.to_string(),
            model: model.to_string(),
            tasks,
            workers: crate::os::measure::cores(),
            sleep_ms: 100.0,
            cpu_us: 1000.0,
            stack_kib: None,
            iters_per_us: 0.0,
            reply_bytes: default_reply_bytes(),
            server: None,
            file_kib: default_file_kib(),
            pool: default_pool(),
            database: None,
        }
    }

    /// Requested worker threads.
    pub fn with_workers(mut self, workers: usize) -> CellSpec {
        self.workers = workers;
        self
    }

    /// The wait per task, ms.
    pub fn with_sleep_ms(mut self, sleep_ms: f64) -> CellSpec {
        self.sleep_ms = sleep_ms;
        self
    }

    /// The compute per task, µs.
    pub fn with_cpu_us(mut self, cpu_us: f64) -> CellSpec {
        self.cpu_us = cpu_us;
        self
    }

    /// The stack size of the threads the model creates, KiB (None: default).
    pub fn with_stack_kib(mut self, stack_kib: Option<usize>) -> CellSpec {
        self.stack_kib = stack_kib;
        self
    }

    /// The compute kernel's speed, iterations per µs.
    pub fn with_iters_per_us(mut self, iters_per_us: f64) -> CellSpec {
        self.iters_per_us = iters_per_us;
        self
    }

    /// The latency server's reply size, bytes.
    pub fn with_reply_bytes(mut self, reply_bytes: u64) -> CellSpec {
        self.reply_bytes = reply_bytes;
        self
    }

    /// The size of every task's file, KiB.
    pub fn with_file_kib(mut self, file_kib: u64) -> CellSpec {
        self.file_kib = file_kib;
        self
    }

    /// The file size as a record stores it: None for workloads that read no file.
    pub fn recorded_file_kib(&self) -> Option<u64> {
        workload::by_name(&self.workload)
            .is_some_and(|w| w.uses_files())
            .then_some(self.file_kib)
    }

    /// Connections in the model's database pool.
    pub fn with_pool(mut self, pool: usize) -> CellSpec {
        self.pool = pool;
        self
    }

    /// The database the tasks query.
    pub fn with_database(mut self, database: Option<workload::db::Target>) -> CellSpec {
        self.database = database;
        self
    }

    /// The pool size as a record's key stores it: None for workloads that
    /// query no database.
    pub fn recorded_pool(&self) -> Option<u64> {
        workload::by_name(&self.workload)
            .is_some_and(|w| w.uses_database())
            .then_some(self.pool as u64)
    }

    /// The latency server the tasks talk to.
    pub fn with_server(mut self, server: Option<std::net::SocketAddr>) -> CellSpec {
        self.server = server;
        self
    }

    /// The plan this cell runs.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let workload = workload::by_name(&self.workload)
            .with_context(|| format!("unknown workload {:?}", self.workload))?;
        Ok(workload.plan(&Params {
            tasks: self.tasks,
            sleep_ms: self.sleep_ms,
            cpu_us: self.cpu_us,
            iters_per_us: self.iters_per_us,
            reply_bytes: self.reply_bytes,
            server: self.server,
            file_kib: self.file_kib,
            pool: self.pool,
            database: self.database.as_ref().map(|d| d.addr),
            db_rows: self
                .database
                .as_ref()
                .map_or(workload::db::DEFAULT_ROWS, |d| d.rows),
        }))
    }

    /// Workers, wait and compute as a record stores them: workers as the
    /// model uses them, and 0 for a parameter the workload ignores.
    pub fn as_recorded(&self) -> (u64, f64, f64) {
        let workload = workload::by_name(&self.workload);
        let uses = |f: fn(&dyn workload::Workload) -> bool| workload.is_some_and(f);
        let workers = model::by_name(&self.model).map_or(self.workers as u64, |m| {
            m.workers_used(self.workers, self.tasks)
        });
        let sleep_ms = if uses(|w| w.uses_sleep()) {
            self.sleep_ms
        } else {
            0.0
        };
        let cpu_us = if uses(|w| w.uses_cpu()) {
            self.cpu_us
        } else {
            0.0
        };
        (workers, sleep_ms, cpu_us)
    }

    /// The `run` command that measures this cell again.
    pub fn command(&self, repeats: u32) -> String {
        let mut command = format!(
            "async-vs-blocking run --workload {} --model {} --tasks {} --workers {}",
            self.workload, self.model, self.tasks, self.workers
        );
        if let Some(workload) = workload::by_name(&self.workload) {
            if workload.uses_sleep() {
                command += &format!(" --sleep-ms {}", self.sleep_ms);
            }
            if workload.uses_cpu() {
                command += &format!(" --cpu-us {}", self.cpu_us);
            }
            if workload.uses_server() {
                command += &format!(" --reply-bytes {}", self.reply_bytes);
            }
            if workload.uses_files() {
                command += &format!(" --file-kib {}", self.file_kib);
            }
            if workload.uses_database() {
                command += &format!(" --pool {}", self.pool);
                if let Some(database) = &self.database {
                    command += &format!(" --db-rows {}", database.rows);
                }
            }
        }
        if let Some(kib) = self.stack_kib {
            command += &format!(" --stack-kib {kib}");
        }
        command + &format!(" --repeat {repeats}")
    }
}

/// What one repeat measured, sent from the child to the parent as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatResult {
    /// Wall time of the timed region, ms.
    pub wall_ms: f64,
    pub latency_ms: LatencyMs,
    pub cpu_user_ms: f64,
    pub cpu_sys_ms: f64,
    pub ctx_voluntary: u64,
    pub ctx_involuntary: u64,
    /// VmHWM of the process at the end of the run, KiB.
    pub peak_rss_kib: u64,
    /// Most threads the process itself saw (after building the runtime and
    /// after the run); the parent's sampling adds what it saw in between.
    pub peak_threads: u64,
    /// Time from the start until the last task was spawned, ms (None for
    /// models that do not spawn).
    #[serde(default)]
    pub spawn_ms: Option<f64>,
    /// Peak virtual memory size of the process (VmPeak), KiB.
    #[serde(default)]
    pub peak_vm_kib: u64,
    /// What else the machine did around the timed region, and how fast the
    /// compute kernel ran just before and after it.
    #[serde(default)]
    pub conditions: Option<RepeatConditions>,
    /// Threads of the process once the runtime was built, just before the
    /// timed region: what the run started beyond them (a blocking pool,
    /// io_uring workers) is `peak_threads` minus this.
    #[serde(default)]
    pub threads_at_start: Option<u64>,
    /// How the task files sat in the page cache when the timed region
    /// started, and the bare read the ideal is made of (`file` workloads).
    #[serde(default)]
    pub file_cache: Option<Box<crate::record::result::CacheState>>,
    /// `socket` cells: one connection's cost to the cores, µs, timed in this
    /// process just before the timed region ([`crate::lab::connect_cost`]);
    /// None for other workloads or when the calibration failed.
    #[serde(default)]
    pub connect_cost_us: Option<f64>,
}

/// How one repeat ended. (One at a time, never stored in bulk: its size
/// does not matter, and boxing the result would only add an allocation.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RepeatOutcome {
    Ok(RepeatResult),
    Failed(String),
    Timeout,
    /// SIGINT or SIGTERM arrived; the child's process group was killed.
    Interrupted,
}

/// Runs one repeat of a cell and reports how it went.
pub trait RepeatExecutor {
    fn run_repeat(&self, spec: &CellSpec, timeout: Duration) -> RepeatOutcome;
}

/// Runs one repeat in this process. The child process's body; also usable
/// directly by benches and tests that accept sharing a process.
pub fn measure_repeat(spec: &CellSpec) -> anyhow::Result<RepeatResult> {
    let model =
        model::by_name(&spec.model).with_context(|| format!("unknown model {:?}", spec.model))?;
    let mut plan = spec.plan()?;
    // The task files are written before the runtime is built, so the
    // runtime's threads see none of it; removed when the repeat ends.
    let files = match plan.file_read() {
        Some(file) => Some(crate::workload::files::TaskFiles::write(
            plan.tasks, file.bytes,
        )?),
        None => None,
    };
    if let Some(files) = &files {
        plan.set_file_dir(files.dir());
    }
    let mut runner = model
        .prepare(&ModelConfig {
            workers: spec.workers,
            stack_kib: spec.stack_kib,
        })
        .with_context(|| format!("building the {} runtime", spec.model))?;
    // Warmed or dropped as late as possible before the timed region.
    let file_cache = match (&files, plan.file_read()) {
        (Some(files), Some(file)) => Some(Box::new(files.prepare(file.cold)?)),
        _ => None,
    };
    // The database pool: every connection opened before the timed region.
    let database = match plan.query() {
        Some(query) => Some(
            runner
                .connect(query)
                .with_context(|| format!("opening the {} model's database pool", spec.model))?,
        ),
        None => None,
    };
    // What a connection costs the cores, as close to the timed region as
    // the runtime allows (its threads idle meanwhile). A failed calibration
    // leaves the ideal at the wait, and says so on stderr.
    let connect_cost_us =
        plan.reply_bytes().and_then(
            |reply_bytes| match crate::lab::connect_cost::connect_cost_us(reply_bytes) {
                Ok(cost) => Some(cost),
                Err(error) => {
                    crate::os::output::stderr_line!(
                        "warning: timing one loopback connection failed ({error}); the ideal \
                         counts only the wait"
                    );
                    None
                }
            },
        );
    let threads_before = ProcStatus::current().threads;
    let computes = workload::by_name(&spec.workload).is_some_and(|w| w.uses_cpu());
    let probe_iterations =
        computes.then(|| compute::iterations_for(PROBE_RUN_US, spec.iters_per_us));
    let batch = Arc::new(Batch::new(plan));
    if let Some(pool) = database {
        batch.set_database(pool);
    }

    // The accounted window: kernel probe, timed region, kernel probe, and
    // for a short repeat that computes, a wait until the window is long
    // enough for /proc/stat's ticks (busy::MIN_ACCOUNTED_WINDOW).
    let accounting = Accounting::start();
    let before = probe_iterations.map(|n| compute::probe(n, PROBE_RUNS_BEFORE));
    let usage_before = Usage::now();
    let pressure_before = measure::cpu_pressure_us();
    let start = batch.begin();
    runner.run(&batch)?;
    let wall = start.elapsed();
    let pressure_after = measure::cpu_pressure_us();
    let usage = Usage::now().since(&usage_before);
    let after = probe_iterations.map(|n| compute::probe(n, PROBE_RUNS_AFTER).0);
    std::thread::sleep(busy::window_padding(accounting.elapsed(), computes));
    let mut conditions = accounting.finish();
    conditions.kernel_rate_before = before.map(|(fastest, _)| fastest);
    conditions.kernel_rate_before_slowest = before.map(|(_, slowest)| slowest);
    conditions.kernel_rate_after = after;
    conditions.region_ms = wall.as_secs_f64() * 1e3;
    conditions.region_pressure_ms = pressure_before
        .zip(pressure_after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / 1e3);

    batch.verify()?;
    let status = ProcStatus::current();
    Ok(RepeatResult {
        wall_ms: wall.as_secs_f64() * 1e3,
        latency_ms: crate::record::result::LatencyMs::quantiles_of(&batch.completions_ns()),
        cpu_user_ms: usage.user.as_secs_f64() * 1e3,
        cpu_sys_ms: usage.sys.as_secs_f64() * 1e3,
        ctx_voluntary: usage.ctx_voluntary,
        ctx_involuntary: usage.ctx_involuntary,
        peak_rss_kib: status.vm_hwm_kib.max(usage.max_rss_kib),
        peak_threads: threads_before.max(status.threads),
        spawn_ms: batch.spawn_ns().map(|ns| ns as f64 / 1e6),
        peak_vm_kib: status.vm_peak_kib,
        conditions: Some(conditions),
        threads_at_start: Some(threads_before),
        file_cache,
        connect_cost_us,
    })
}

/// One compute-kernel probe run, µs: long against the clock's resolution,
/// short enough that probing costs about 16 ms per repeat.
const PROBE_RUN_US: f64 = 2_000.0;
/// Probe runs just before the timed region; the fastest calibrates the ideal.
const PROBE_RUNS_BEFORE: u32 = 5;
/// Probe runs just after it, to see whether the host slowed meanwhile.
const PROBE_RUNS_AFTER: u32 = 3;

/// Runs each repeat in this process. For tests and benches only: the
/// isolation a sweep needs comes from [`ChildProcess`].
pub struct InProcess;

impl RepeatExecutor for InProcess {
    fn run_repeat(&self, spec: &CellSpec, _timeout: Duration) -> RepeatOutcome {
        match measure_repeat(spec) {
            Ok(result) => RepeatOutcome::Ok(result),
            Err(error) => RepeatOutcome::Failed(format!("{error:#}")),
        }
    }
}

/// Runs nothing: every repeat fails with the reason the cell cannot run
/// (e.g. too few file descriptors), so the refusal is recorded like any failure.
pub struct Refused(pub String);

impl RepeatExecutor for Refused {
    fn run_repeat(&self, _spec: &CellSpec, _timeout: Duration) -> RepeatOutcome {
        RepeatOutcome::Failed(self.0.clone())
    }
}

/// Runs each repeat in a fresh child process: `<exe> __cell <spec as JSON>`.
pub struct ChildProcess {
    /// The lab's own binary.
    pub exe: PathBuf,
    /// How often the parent samples the child's thread count.
    pub sample_every: Duration,
}

impl ChildProcess {
    /// Uses the running binary as the child.
    pub fn current() -> anyhow::Result<ChildProcess> {
        Ok(ChildProcess {
            exe: std::env::current_exe().context("finding the lab's own binary")?,
            sample_every: Duration::from_millis(2),
        })
    }
}

/// The subcommand a child process runs (hidden from `--help`).
pub const CHILD_SUBCOMMAND: &str = "__cell";

impl RepeatExecutor for ChildProcess {
    fn run_repeat(&self, spec: &CellSpec, timeout: Duration) -> RepeatOutcome {
        use std::os::unix::process::CommandExt;
        let spec_json = match serde_json::to_string(spec) {
            Ok(json) => json,
            Err(error) => return RepeatOutcome::Failed(format!("encoding the cell: {error}")),
        };
        let mut command = Command::new(&self.exe);
        command
            .arg(CHILD_SUBCOMMAND)
            .arg(spec_json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout can end it and anything it started.
            .process_group(0);
        // Its own group also keeps it from the terminal's Ctrl-C, which the lab
        // handles; if the lab is killed outright, the kernel ends the cell too.
        die_with_parent(&mut command);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                return RepeatOutcome::Failed(format!("starting the cell process: {error}"))
            }
        };
        let pid = child.id();
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());

        let started = Instant::now();
        let mut peak_threads = 0;
        let exit = loop {
            match child.try_wait() {
                Ok(Some(exit)) => break Some(exit),
                Ok(None) => {}
                Err(error) => {
                    kill_group(pid);
                    let _ = child.wait();
                    return RepeatOutcome::Failed(format!("waiting for the cell process: {error}"));
                }
            }
            peak_threads = peak_threads.max(ProcStatus::of_pid(pid).threads);
            if crate::os::interrupt::requested() {
                kill_group(pid);
                let _ = child.wait();
                return RepeatOutcome::Interrupted;
            }
            if started.elapsed() >= timeout {
                break None;
            }
            std::thread::sleep(self.sample_every);
        };
        // Whatever happened, nothing the cell started outlives it.
        kill_group(pid);
        let Some(exit) = exit else {
            let _ = child.wait();
            return RepeatOutcome::Timeout;
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();

        if !exit.success() {
            return RepeatOutcome::Failed(describe_failure(exit, &stderr, peak_threads));
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        match serde_json::from_str::<RepeatResult>(line) {
            Ok(mut result) => {
                result.peak_threads = result.peak_threads.max(peak_threads);
                RepeatOutcome::Ok(result)
            }
            Err(error) => RepeatOutcome::Failed(format!(
                "the cell process printed no result ({error}); stderr: {}",
                last_line(&stderr)
            )),
        }
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(nothing on stderr)")
}

/// What the Rust runtime prints, just before it aborts the process, when a
/// new thread cannot get the memory it needs to start: its signal stack, the
/// or the registration of its thread-local destructors. Which of them runs
/// out first under a thread limit is a race.
const THREAD_START_FAILURES: &[&str] = &["alternative stack", "TLS destructor"];

fn describe_failure(exit: std::process::ExitStatus, stderr: &str, peak_threads: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    if exit.signal() == Some(libc::SIGABRT)
        && THREAD_START_FAILURES
            .iter()
            .any(|marker| stderr.contains(marker))
    {
        // The Rust runtime aborts when a new thread's signal stack or
        // thread-local storage cannot be had; ThreadBudget normally stops
        // short of that point.
        return format!(
            "the OS refused memory a new thread needed ({}) and the Rust \
             runtime ended the process; about {peak_threads} threads were running; \
             most likely limit: vm.max_map_count (4 maps per thread) or RLIMIT_AS; \
             limits now: {}",
            last_line(stderr),
            crate::os::limits::thread_limits()
                .iter()
                .map(|l| format!("{} {}", l.name, l.limit))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match exit.signal() {
        Some(signal) => format!(
            "the cell process was killed by signal {signal}; stderr: {}",
            last_line(stderr)
        ),
        None => last_line(stderr).trim_start_matches("error: ").to_string(),
    }
}

/// The command line of this process, as records store it. Arguments that are
/// not UTF-8 (a path such as `out-\xff`) are shown with U+FFFD in their place
/// instead of stopping the lab: the record is for reading, not for running.
pub fn invocation() -> String {
    std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a record came from, for reproducing it.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The sweep profile, if any.
    pub profile: Option<String>,
    /// The exact command line of the process that measured the cell.
    pub invocation: String,
}

/// One finished repeat as `repeats.jsonl` stores it: the cell it belongs
/// to, the repeat, and whether it was kept or replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatLine {
    /// The cell, normalised as records store it (one rule: [`CellKey::of_spec`]).
    #[serde(flatten)]
    pub cell: CellKey,
    /// The compute calibration the repeat's work was sized with
    /// (iterations per µs); a resumed cell keeps it.
    #[serde(default)]
    pub iters_per_us: f64,
    /// Which attempt of the cell this was (0 first), retries included.
    pub attempt: u32,
    /// True when this repeat counts in the cell's record; false when a
    /// retry replaced it.
    pub kept: bool,
    /// Why the repeat counts as disturbed (null: quiet).
    pub disturbed: Option<String>,
    pub result: RepeatResult,
}

impl RepeatLine {
    /// The cell this repeat belongs to.
    pub fn key(&self) -> &CellKey {
        &self.cell
    }
}

/// A cell being measured repeat by repeat, so a sweep can interleave the
/// repeats of cells it compares and save each repeat as it finishes.
pub struct CellRun {
    spec: CellSpec,
    repeats: u32,
    /// Sequential sampling: the most repeats the cell may take when its
    /// efficiency interval still straddles the 0.9 line after `repeats`
    /// ([`CellRun::sequential`]); equal to `repeats` when off.
    budget: u32,
    timeout: Duration,
    policy: BusyPolicy,
    sensitivity: busy::Sensitivity,
    /// Kept repeats and why each was disturbed (None: quiet).
    kept: Vec<(RepeatResult, Option<String>)>,
    attempts: u32,
    retried: u32,
    ending: Option<(Status, String)>,
    interrupted: bool,
    started_unix_s: u64,
}

impl CellRun {
    /// A cell about to run `repeats` repeats under `policy`.
    pub fn new(spec: CellSpec, repeats: u32, timeout: Duration, policy: BusyPolicy) -> CellRun {
        let cores = measure::cores();
        let workload = workload::by_name(&spec.workload);
        let computes = workload.is_some_and(|w| w.cpu_sensitive());
        let reads_files = workload.is_some_and(|w| w.uses_files());
        // Threads computing at once: the model's, but never more than there
        // are tasks (one task on a pool of two computes on one core).
        let computing_threads = model::by_name(&spec.model).map_or(cores as u64, |m| {
            if reads_files {
                // File reads run on threads the lab cannot bound beforehand:
                // an async runtime's blocking pool (hundreds, started on
                // demand) and the kernel's own I/O threads, which compete
                // for the same cores. The CPU pressure such a cell feels is
                // partly its own and cannot be judged as outside load.
                return u64::MAX;
            }
            m.cpu_parallelism(spec.workers, spec.tasks)
                .min(spec.tasks.max(1))
        });
        CellRun {
            sensitivity: busy::sensitivity(computes, computing_threads, cores),
            spec,
            repeats: repeats.max(1),
            budget: repeats.max(1),
            timeout,
            policy,
            kept: Vec::new(),
            attempts: 0,
            retried: 0,
            ending: None,
            interrupted: false,
            started_unix_s: measure::unix_now_s(),
        }
    }

    pub fn spec(&self) -> &CellSpec {
        &self.spec
    }

    /// Turns on sequential sampling, as pyperf calibrates: once the asked
    /// repeats are in, a cell whose efficiency interval straddles the 0.9
    /// line takes one more repeat at a time, up to
    /// [`SEQUENTIAL_BUDGET_FACTOR`] × the repeats but at least
    /// [`SEQUENTIAL_MIN_BUDGET`], and stops as soon as the interval lies on
    /// one side. The record says how many it took (`extra_repeats`).
    pub fn sequential(mut self) -> CellRun {
        self.budget = (self.repeats * SEQUENTIAL_BUDGET_FACTOR).max(SEQUENTIAL_MIN_BUDGET);
        self
    }

    /// True when every repeat is in (and, with sequential sampling, the
    /// efficiency interval is decided or the budget spent), or one failed.
    pub fn done(&self) -> bool {
        let kept = self.kept.len() as u32;
        self.ending.is_some()
            || self.interrupted
            || kept >= self.budget
            || (kept >= self.repeats && !self.straddles_the_line())
    }

    /// Whether the kept repeats' efficiency interval straddles the 0.9 line
    /// (the ideal from the plan and the repeats' kernel speed, as
    /// [`CellRun::finish`] computes it, without its background correction).
    fn straddles_the_line(&self) -> bool {
        if self.budget <= self.repeats {
            return false;
        }
        let Ok(plan) = self.spec.plan() else {
            return false;
        };
        let cores = measure::cores();
        let ideals: Vec<f64> = self
            .kept
            .iter()
            .map(|(r, _)| repeat_ideal_ms(Some(&plan), cores, self.spec.iters_per_us, r))
            .collect();
        let walls: Vec<f64> = self.kept.iter().map(|(r, _)| r.wall_ms).collect();
        let ideal_ms = stats::median(&ideals);
        crate::stats::interval::median_interval(&walls)
            .and_then(|ci| ci.reciprocal_scaled(ideal_ms))
            .is_some_and(|ci| {
                crate::stats::interval::side_of_line(&ci, crate::record::result::GOOD_EFFICIENCY)
                    == crate::stats::interval::Side::TooClose
            })
    }

    /// True when SIGINT or SIGTERM cut a repeat short.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Takes a repeat finished by an earlier, interrupted run of the same
    /// cell (`--resume`), as it was judged then.
    pub fn reuse(&mut self, result: RepeatResult, disturbed: Option<String>) {
        if !self.done() {
            self.attempts += 1;
            self.kept.push((result, disturbed));
        }
    }

    /// The calibration repeats are judged against (cells that compute).
    fn calibration(&self) -> Option<f64> {
        let computes = workload::by_name(&self.spec.workload).is_some_and(|w| w.uses_cpu());
        (computes && self.spec.iters_per_us > 0.0).then_some(self.spec.iters_per_us)
    }

    /// Runs the next repeat through `executor`, running it again after a
    /// short pause while it is disturbed and retries are left (`--on-busy
    /// retry`). Every finished repeat is passed to `saved`, kept or not.
    pub fn step(&mut self, executor: &dyn RepeatExecutor, saved: &mut dyn FnMut(&RepeatLine)) {
        while !self.done() {
            let outcome = executor.run_repeat(&self.spec, self.timeout);
            let result = match outcome {
                RepeatOutcome::Ok(result) => result,
                RepeatOutcome::Failed(error) => {
                    self.ending = Some((Status::Failed, error));
                    return;
                }
                RepeatOutcome::Interrupted => {
                    self.interrupted = true;
                    self.ending = Some((
                        Status::Failed,
                        "interrupted before it finished (SIGINT or SIGTERM)".to_string(),
                    ));
                    return;
                }
                RepeatOutcome::Timeout => {
                    self.ending = Some((
                        Status::Timeout,
                        format!(
                            "a repeat ran longer than the {} s timeout and was killed",
                            self.timeout.as_secs_f64()
                        ),
                    ));
                    return;
                }
            };
            let disturbed = match (self.policy.on_busy, &result.conditions) {
                (OnBusy::Ignore, _) | (_, None) => None,
                (_, Some(conditions)) => {
                    match busy::judge_repeat(conditions, self.sensitivity, self.calibration()) {
                        Judgement::Quiet => None,
                        Judgement::Disturbed(why) => Some(why),
                    }
                }
            };
            let retry = disturbed.is_some()
                && self.policy.on_busy == OnBusy::Retry
                && self.retried < self.policy.retries;
            saved(&RepeatLine {
                cell: CellKey::of_spec(&self.spec),
                iters_per_us: self.spec.iters_per_us,
                attempt: self.attempts,
                kept: !retry,
                disturbed: disturbed.clone(),
                result: result.clone(),
            });
            self.attempts += 1;
            if retry {
                self.retried += 1;
                std::thread::sleep(busy::RETRY_PAUSE);
                if crate::os::interrupt::requested() {
                    self.interrupted = true;
                    return;
                }
                continue;
            }
            self.kept.push((result, disturbed));
            return;
        }
    }

    /// Folds the kept repeats into the cell's record.
    pub fn finish(self, provenance: &Provenance) -> CellRecord {
        let spec = &self.spec;
        let machine = crate::lab::machine::machine();
        let results: Vec<RepeatResult> = self.kept.iter().map(|(r, _)| r.clone()).collect();
        let plan = spec.plan().ok();
        let ideal_of = |result: &RepeatResult| {
            repeat_ideal_ms(plan.as_ref(), machine.cores, spec.iters_per_us, result)
        };
        let walls: Vec<f64> = results.iter().map(|r| r.wall_ms).collect();
        let wall_ms = crate::record::result::WallMs::spread_of(&walls);
        let median_index = stats::median_index(&walls);
        let representative = median_index.map(|i| results[i].clone());
        let mut ideal_ms = stats::median(&results.iter().map(&ideal_of).collect::<Vec<_>>());
        if results.is_empty() {
            ideal_ms = plan.as_ref().map_or(0.0, |p| p.ideal_ms(machine.cores));
        }
        let model = model::by_name(&spec.model);
        let workload = workload::by_name(&spec.workload);
        let (workers, sleep_ms, cpu_us) = spec.as_recorded();
        let (status, error) = match self.ending.clone() {
            Some((status, error)) => (status, Some(error)),
            None => (Status::Ok, None),
        };

        // Outside load and the busy policy's decision.
        let samples: Vec<RepeatConditions> = results.iter().filter_map(|r| r.conditions).collect();
        let reasons: Vec<&String> = self.kept.iter().filter_map(|(_, d)| d.as_ref()).collect();
        let mut conditions = summarise(&samples, representative.as_ref());
        conditions.tolerance_cores = self.sensitivity.max_outside_cores;
        conditions.pressure_judged = self.sensitivity.pressure_is_outside;
        conditions.kernel_drift = self.calibration().and_then(|c| {
            samples
                .iter()
                .filter_map(|s| s.kernel_slowdown(c))
                .reduce(f64::max)
        });
        conditions.connect_cost = connect_cost(plan.as_ref(), machine.cores, &results);
        conditions.retried = self.retried;
        conditions.on_busy = self.policy.on_busy.as_str().to_string();
        let mut disturbed = false;
        if !reasons.is_empty() {
            match busy::steady_background(&samples, self.sensitivity, self.calibration()) {
                Some(load) => {
                    let left = (machine.cores as f64 - load).max(0.1);
                    conditions.capacity_left_cores = Some(left);
                    if self.sensitivity.cpu_bound
                        && self.sensitivity.max_outside_cores
                            <= busy::CPU_ALL_CORES_MAX_OUTSIDE_CORES
                    {
                        // The cell needs every core: its ideal on the cores left.
                        let wait_ms = plan
                            .as_ref()
                            .map_or(0.0, |p| p.wait_per_task().as_secs_f64() * 1e3);
                        ideal_ms = wait_ms + (ideal_ms - wait_ms) * machine.cores as f64 / left;
                    }
                    conditions.note = Some(format!(
                        "a steady outside load of {load:.2} cores ran through every repeat; \
                         judged against the {left:.2} cores it left"
                    ));
                }
                None => {
                    disturbed = true;
                    conditions.note = Some(format!(
                        "{} of {} repeats disturbed after {} retries: {}",
                        reasons.len(),
                        results.len(),
                        self.retried,
                        reasons[0]
                    ));
                }
            }
        }
        let efficiency = if wall_ms.median > 0.0 {
            ideal_ms / wall_ms.median
        } else {
            0.0
        };
        if efficiency > busy::EFFICIENCY_CEILING && status == Status::Ok {
            let why = if workload.is_some_and(|w| w.uses_files()) {
                "efficiency above 1.05: the reads overlapped better than one bare read per core \
                 at a time (a device that serves several reads at once, or a bare read that ran \
                 slow)"
                    .to_string()
            } else {
                efficiency_above_ceiling(&conditions, self.calibration())
            };
            conditions.note = Some(match conditions.note.take() {
                Some(note) => format!("{note}; {why}"),
                None => why,
            });
        }

        let reply_bytes = workload
            .is_some_and(|w| w.uses_server())
            .then_some(spec.reply_bytes);
        let file_cache = crate::record::result::FileCache::of_repeats(
            results.iter().filter_map(|r| r.file_cache.as_deref()),
        );
        let extra_threads = results
            .iter()
            .filter_map(|r| Some(r.peak_threads.saturating_sub(r.threads_at_start?)))
            .max();
        let bytes_per_s = reply_bytes
            .filter(|_| status == Status::Ok && wall_ms.median > 0.0)
            .map(|bytes| (bytes * spec.tasks) as f64 / (wall_ms.median / 1e3));
        // The intervals every verdict decides on (one place computes them).
        let wall_ms_ci = crate::stats::interval::median_interval(&walls);
        let efficiency_ci = wall_ms_ci.and_then(|ci| ci.reciprocal_scaled(ideal_ms));
        CellRecord {
            workload: spec.workload.clone(),
            model: spec.model.clone(),
            tasks: spec.tasks,
            workers,
            sleep_ms,
            cpu_us,
            repeats: results.len() as u32,
            extra_repeats: (results.len() as u32).saturating_sub(self.repeats),
            wall_ms,
            ideal_ms,
            efficiency,
            wall_ms_repeats: walls,
            wall_ms_ci,
            efficiency_ci,
            latency_ms: representative
                .as_ref()
                .map_or_else(LatencyMs::default, |r| r.latency_ms),
            peak_rss_kib: results.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
            peak_threads: results.iter().map(|r| r.peak_threads).max().unwrap_or(0),
            peak_vm_kib: results.iter().map(|r| r.peak_vm_kib).max().unwrap_or(0),
            spawn_ms: representative.as_ref().and_then(|r| r.spawn_ms),
            cpu_user_ms: representative.as_ref().map_or(0.0, |r| r.cpu_user_ms),
            cpu_sys_ms: representative.as_ref().map_or(0.0, |r| r.cpu_sys_ms),
            ctx_voluntary: representative.as_ref().map_or(0, |r| r.ctx_voluntary),
            ctx_involuntary: representative.as_ref().map_or(0, |r| r.ctx_involuntary),
            status,
            error,
            machine,
            legacy: model.is_some_and(|m| m.legacy()),
            reply_bytes,
            bytes_per_s,
            stack_kib: spec.stack_kib.map(|k| k as u64),
            file_kib: spec.recorded_file_kib(),
            file_cache,
            database: database_use(spec, model),
            extra_threads,
            noisy: wall_ms.is_noisy(),
            disturbed,
            conditions,
            profile: provenance.profile.clone(),
            started_unix_s: self.started_unix_s,
            command: spec.command(self.repeats),
            invocation: provenance.invocation.clone(),
        }
    }
}

/// What a `db` cell's record says of its database: pool, driver and its
/// crates' versions, the server's version.
fn database_use(
    spec: &CellSpec,
    model: Option<&dyn model::Model>,
) -> Option<crate::record::result::DatabaseUse> {
    let database = spec.database.as_ref()?;
    let driver = model?.database_driver().unwrap_or("none");
    Some(crate::record::result::DatabaseUse {
        pool: spec.pool as u64,
        driver: driver.to_string(),
        driver_versions: crate::os::measure::crate_versions(model::db::DRIVER_CRATES)
            .into_iter()
            .filter(|(name, _)| driver.split(" + ").any(|part| part == name))
            .map(|(name, version)| format!("{name} {version}"))
            .collect(),
        server_version: database.version.clone(),
        rows: database.rows,
    })
}

/// A `socket` record's connection cost: the repeats' median calibration,
/// and the bound it makes with the wait (None without calibrations).
fn connect_cost(
    plan: Option<&Plan>,
    cores: usize,
    results: &[RepeatResult],
) -> Option<crate::record::result::ConnectCost> {
    let plan = plan?;
    let costs: Vec<f64> = results.iter().filter_map(|r| r.connect_cost_us).collect();
    if costs.is_empty() {
        return None;
    }
    let cost = stats::median(&costs);
    let (_, bound) = plan.socket_ideal(cores, cost);
    Some(crate::record::result::ConnectCost {
        connect_cost_us: cost,
        connections: crate::lab::connect_cost::connections(plan.reply_bytes()?),
        measured: crate::lab::connect_cost::METHOD.to_string(),
        connections_ms: plan.connections_cpu_ms(cores, cost),
        bound: bound.as_str().to_string(),
    })
}

/// The ideal of one repeat: the plan's wait plus its compute at the speed
/// the kernel ran in the repeat's own process just before and after the
/// timed region (the fastest seen), instead of the parent's calibration.
/// The tasks' work was sized with `iters_per_us`; at a faster or slower
/// kernel it takes proportionally less or more.
fn repeat_ideal_ms(
    plan: Option<&Plan>,
    cores: usize,
    iters_per_us: f64,
    result: &RepeatResult,
) -> f64 {
    let Some(plan) = plan else { return 0.0 };
    let files_ms = result
        .file_cache
        .as_ref()
        .map_or(0.0, |cache| plan.file_ideal_ms(cores, cache.bare_read_us));
    let mut ideal = plan.ideal_ms(cores) + files_ms;
    if let Some(cost) = result.connect_cost_us {
        ideal = plan.socket_ideal(cores, cost).0 + files_ms;
    }
    let rate = result
        .conditions
        .as_ref()
        .and_then(RepeatConditions::fastest_kernel_rate);
    match rate {
        Some(rate) if rate > 0.0 && iters_per_us > 0.0 => {
            let wait_ms = plan.wait_per_task().as_secs_f64() * 1e3;
            wait_ms + files_ms + (ideal - wait_ms - files_ms) * iters_per_us / rate
        }
        _ => ideal,
    }
}

/// The record-level figures of a cell's repeats.
fn summarise(samples: &[RepeatConditions], median: Option<&RepeatResult>) -> Conditions {
    let window_ms: f64 = samples.iter().map(|s| s.window_ms).sum();
    let foreign_ms: f64 = samples.iter().map(RepeatConditions::foreign_cpu_ms).sum();
    let per_repeat: Vec<f64> = samples
        .iter()
        .map(RepeatConditions::foreign_cpu_cores)
        .collect();
    let spread = samples
        .iter()
        .filter_map(|s| Some(s.kernel_rate_before? / s.kernel_rate_before_slowest? - 1.0))
        .reduce(f64::max);
    let pressure: Vec<f64> = samples.iter().filter_map(|s| s.cpu_pressure_ms).collect();
    let tick_ms = samples.first().map_or(10.0, |s| s.tick_ms);
    let cores = samples.first().map_or(1, |s| s.cores);
    Conditions {
        foreign_cpu_cores: if window_ms > 0.0 {
            foreign_ms / window_ms
        } else {
            0.0
        },
        foreign_cpu_cores_median: stats::median(&per_repeat),
        foreign_cpu_cores_max: per_repeat.iter().copied().fold(0.0, f64::max),
        steal_ms: samples.iter().map(|s| s.steal_ms).sum(),
        cpu_pressure_ms: (!pressure.is_empty()).then(|| pressure.iter().sum()),
        region_waiting_cores_max: samples
            .iter()
            .filter_map(RepeatConditions::region_waiting_cores)
            .reduce(f64::max),
        resolution_cores: if window_ms > 0.0 {
            tick_ms * cores as f64 / window_ms
        } else {
            0.0
        },
        window_ms,
        kernel_rate: median
            .and_then(|r| r.conditions)
            .and_then(|c| c.kernel_rate_before),
        calibration_spread: spread,
        ..Conditions::default()
    }
}

/// Why a cell came out above [`busy::EFFICIENCY_CEILING`].
fn efficiency_above_ceiling(conditions: &Conditions, calibration: Option<f64>) -> String {
    let prefix = "efficiency above 1.05";
    match (conditions.calibration_spread, calibration) {
        (Some(spread), _) if spread > busy::KERNEL_DRIFT_TOLERANCE => format!(
            "{prefix}: the kernel's calibration in the cell's process was unsteady \
             (fastest and slowest run {:.0} % apart)",
            spread * 100.0
        ),
        (_, Some(_)) => format!(
            "{prefix}: the tasks ran faster than the compute kernel did just before and \
             after them (the CPU's clock rose during the run, e.g. turbo)"
        ),
        (_, None) => format!(
            "{prefix}: the run beat its ideal, which this workload does not compute; \
             check the workload's ideal"
        ),
    }
}

/// Measures a cell under the default busy policy (see [`run_cell_with`]).
pub fn run_cell(
    spec: &CellSpec,
    repeats: u32,
    timeout: Duration,
    executor: &dyn RepeatExecutor,
    provenance: &Provenance,
) -> CellRecord {
    run_cell_with(
        spec,
        repeats,
        timeout,
        executor,
        provenance,
        BusyPolicy::default(),
    )
}

/// Measures a cell: runs `repeats` repeats through `executor` (disturbed
/// ones run again as `policy` says), and folds them into one record. Stops
/// at the first failed repeat; its error goes into the record.
/// Sequential sampling's budget: a cell whose interval straddles the 0.9
/// line may take up to this many times the repeats asked for...
pub const SEQUENTIAL_BUDGET_FACTOR: u32 = 2;
/// ...but at least this many repeats in all: below 9 repeats the 95 %
/// interval of a median is the whole min–max range, which more repeats can
/// only widen; from 9 on it drops the extremes (x(2)..x(8), 96 %), so only
/// then can added repeats decide. A quick cell (3 repeats) may take 6 more;
/// the cells that straddle are few, so the default report stays short.
pub const SEQUENTIAL_MIN_BUDGET: u32 = 9;

pub fn run_cell_with(
    spec: &CellSpec,
    repeats: u32,
    timeout: Duration,
    executor: &dyn RepeatExecutor,
    provenance: &Provenance,
    policy: BusyPolicy,
) -> CellRecord {
    let mut run = CellRun::new(spec.clone(), repeats, timeout, policy);
    while !run.done() {
        run.step(executor, &mut |_| {});
    }
    run.finish(provenance)
}

/// The child process's entry point: runs one repeat and prints its result
/// as one JSON line, or a one-line error on stderr with exit code 1.
pub fn child_main(spec_json: &str) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        crate::os::output::stderr_line!("error: panic: {}{place}", message.replace('\n', " "));
    }));
    let outcome = serde_json::from_str::<CellSpec>(spec_json)
        .context("reading the cell spec")
        .and_then(|spec| {
            apply_test_hooks()?;
            measure_repeat(&spec)
        });
    match outcome {
        Ok(result) => {
            use std::io::Write;
            let line = serde_json::to_string(&result).expect("a result always encodes");
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
            0
        }
        Err(error) => {
            crate::os::output::stderr_line!("error: {}", format!("{error:#}").replace('\n', " "));
            1
        }
    }
}

/// Environment variable (tests only): the child lowers its address-space
/// limit (RLIMIT_AS) to this many MiB before running, so a test can reach
/// the thread ceiling quickly and safely.
pub const TEST_RLIMIT_AS_MIB: &str = "AVB_TEST_CELL_RLIMIT_AS_MIB";

/// Environment variable (tests only): the child first starts `sleep <value>`
/// in its process group, so a test can check that a timeout or an interrupt
/// ends the whole group, not just the child.
pub const TEST_SLEEPER_S: &str = "AVB_TEST_CELL_SLEEPER_S";

fn apply_test_hooks() -> anyhow::Result<()> {
    if let Ok(seconds) = std::env::var(TEST_SLEEPER_S) {
        std::process::Command::new("sleep")
            .arg(&seconds)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("{TEST_SLEEPER_S}: starting `sleep {seconds}`"))?;
    }
    if let Ok(mib) = std::env::var(TEST_RLIMIT_AS_MIB) {
        let mib: u64 = mib
            .parse()
            .with_context(|| format!("{TEST_RLIMIT_AS_MIB}={mib:?} is not a number of MiB"))?;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the struct we own.
        let rc = unsafe {
            libc::getrlimit(libc::RLIMIT_AS, &mut limit);
            limit.rlim_cur = (mib << 20).min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_AS, &limit)
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("{TEST_RLIMIT_AS_MIB}: setting RLIMIT_AS"));
        }
    }
    Ok(())
}

/// What identifies a cell across runs, normalised the way records store it
/// (`workers` as the model used them, parameters the workload ignores as 0).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CellKey {
    pub workload: String,
    pub model: String,
    pub tasks: u64,
    pub workers: u64,
    pub sleep_ms: f64,
    pub cpu_us: f64,
    #[serde(default)]
    pub stack_kib: Option<u64>,
    /// The file size of a `file` cell, KiB (None for other workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_kib: Option<u64>,
    /// The database pool of a `db` cell (None for other workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<u64>,
}

impl CellKey {
    /// The key of a cell about to run.
    pub fn of_spec(spec: &CellSpec) -> CellKey {
        let (workers, sleep_ms, cpu_us) = spec.as_recorded();
        CellKey {
            workload: spec.workload.clone(),
            model: spec.model.clone(),
            tasks: spec.tasks,
            workers,
            sleep_ms,
            cpu_us,
            stack_kib: spec.stack_kib.map(|k| k as u64),
            file_kib: spec.recorded_file_kib(),
            pool: spec.recorded_pool(),
        }
    }

    /// The key of a recorded cell.
    pub fn of_record(record: &CellRecord) -> CellKey {
        CellKey {
            workload: record.workload.clone(),
            model: record.model.clone(),
            tasks: record.tasks,
            workers: record.workers,
            sleep_ms: record.sleep_ms,
            cpu_us: record.cpu_us,
            stack_kib: record.stack_kib,
            file_kib: record.file_kib,
            pool: record.database.as_ref().map(|d| d.pool),
        }
    }

    /// Same cell (durations compared to a nanosecond, since they went
    /// through JSON text).
    pub fn matches(&self, other: &CellKey) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        self.workload == other.workload
            && self.model == other.model
            && self.tasks == other.tasks
            && self.workers == other.workers
            && close(self.sleep_ms, other.sleep_ms)
            && close(self.cpu_us, other.cpu_us)
            && self.stack_kib == other.stack_kib
            && self.file_kib == other.file_kib
            && self.pool == other.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn a_cell_reading_files_is_not_judged_by_cpu_pressure() {
        let run = |workload: &str, model: &str| {
            CellRun::new(
                CellSpec::new(workload, model, 100),
                1,
                Duration::from_secs(1),
                BusyPolicy::default(),
            )
            .sensitivity
            .pressure_is_outside
        };
        // A blocking pool can start more threads than there are cores, and
        // the kernel's I/O threads compete with any reader.
        assert!(!run("file", "tokio"));
        assert!(!run("file-cold", "smol"));
        assert!(!run("file-cold", "thread-pool"));
        // Computing keeps to the workers.
        assert!(run("cpu", "tokio"));
        assert!(run("cpu", "thread-pool"));
    }

    #[test]
    fn a_thread_that_could_not_start_is_named_whichever_allocation_failed() {
        use std::os::unix::process::ExitStatusExt;
        let aborted = std::process::ExitStatus::from_raw(libc::SIGABRT);
        for stderr in [
            "thread '<unnamed>' failed to set up alternative stack guard page",
            "fatal runtime error: failed to register TLS destructor: out of memory, aborting",
        ] {
            let error = describe_failure(aborted, stderr, 57);
            assert!(error.contains("about 57 threads were running"), "{error}");
            assert!(
                error.contains("RLIMIT_AS") && !error.contains('\n'),
                "{error}"
            );
        }
        // Any other abort is reported as the signal it was, not as a limit.
        let other = describe_failure(aborted, "assertion failed", 57);
        assert!(other.contains("killed by signal 6"), "{other}");
    }

    /// Plays back scripted outcomes, so folding repeats into a record is
    /// tested without timing anything.
    struct Scripted(RefCell<Vec<RepeatOutcome>>);

    impl RepeatExecutor for Scripted {
        fn run_repeat(&self, _spec: &CellSpec, _timeout: Duration) -> RepeatOutcome {
            self.0.borrow_mut().remove(0)
        }
    }

    fn result(wall_ms: f64, p99: f64, threads: u64) -> RepeatOutcome {
        RepeatOutcome::Ok(RepeatResult {
            wall_ms,
            latency_ms: LatencyMs {
                p50: p99 / 2.0,
                p99,
                max: p99,
            },
            cpu_user_ms: wall_ms / 10.0,
            cpu_sys_ms: 1.0,
            ctx_voluntary: 5,
            ctx_involuntary: 1,
            peak_rss_kib: 1000 + threads,
            peak_threads: threads,
            peak_vm_kib: 9000,
            spawn_ms: Some(wall_ms / 100.0),
            conditions: None,
            threads_at_start: None,
            file_cache: None,
            connect_cost_us: None,
        })
    }

    fn spec(model: &str) -> CellSpec {
        CellSpec::new("sleep", model, 100)
            .with_workers(2)
            .with_iters_per_us(1.0)
    }

    #[test]
    fn repeats_fold_into_spread_median_and_efficiency() {
        let script = Scripted(RefCell::new(vec![
            result(125.0, 120.0, 4),
            result(110.0, 105.0, 6),
            result(200.0, 190.0, 5),
        ]));
        let record = run_cell(
            &spec("tokio"),
            3,
            Duration::from_secs(5),
            &script,
            &Provenance::default(),
        );
        assert_eq!(record.status, Status::Ok);
        assert_eq!(record.repeats, 3);
        assert_eq!(
            (
                record.wall_ms.min,
                record.wall_ms.median,
                record.wall_ms.max
            ),
            (110.0, 125.0, 200.0)
        );
        assert_eq!(record.ideal_ms, 100.0);
        assert!((record.efficiency - 0.8).abs() < 1e-12);
        // Latency and CPU come from the median repeat; peaks are the largest.
        assert_eq!(record.latency_ms.p99, 120.0);
        assert_eq!(record.cpu_user_ms, 12.5);
        assert_eq!(record.peak_threads, 6);
        assert_eq!(record.peak_rss_kib, 1006);
        assert!(record.noisy, "200 / 110 > 1.5");
        // sleep ignores --cpu-us, so the record says 0.
        assert_eq!(record.cpu_us, 0.0);
        assert!(record.command.contains("--sleep-ms 100") && !record.command.contains("--cpu-us"));
    }

    fn sequential_cell(walls: &[f64]) -> (CellRecord, usize) {
        let script = Scripted(RefCell::new(
            walls.iter().map(|wall| result(*wall, *wall, 4)).collect(),
        ));
        let mut run = CellRun::new(
            spec("tokio"),
            3,
            Duration::from_secs(5),
            BusyPolicy::default(),
        )
        .sequential();
        while !run.done() {
            run.step(&script, &mut |_| {});
        }
        let left = script.0.borrow().len();
        (run.finish(&Provenance::default()), left)
    }

    #[test]
    fn sequential_sampling_adds_repeats_only_while_the_interval_straddles_the_line() {
        // Ideal 100 ms. Three repeats clearly within 90 %: no more are taken.
        let (clear, left) = sequential_cell(&[100.5, 101.0, 102.0, 101.0]);
        assert_eq!((clear.repeats, clear.extra_repeats, left), (3, 0, 1));
        // One slow repeat puts 0.77 inside the range: repeats are added
        // until 9, where the interval drops the extremes and lies above 0.9.
        let (decided, left) = sequential_cell(&[
            100.5, 101.0, 130.0, 101.0, 101.5, 102.0, 100.8, 101.2, 101.1, 101.0,
        ]);
        assert_eq!((decided.repeats, decided.extra_repeats, left), (9, 6, 1));
        let ci = decided.efficiency_ci.unwrap();
        assert!(ci.low > GOOD && ci.high < 1.0, "{ci:?}");
        // Repeats that keep straddling stop at the budget.
        let (spent, left) = sequential_cell(
            &[111.0; 12]
                .iter()
                .enumerate()
                .map(|(i, w)| w + if i % 2 == 0 { -3.0 } else { 3.0 })
                .collect::<Vec<_>>(),
        );
        assert_eq!((spent.repeats, spent.extra_repeats, left), (9, 6, 3));
        // Without sequential sampling the asked repeats are all.
        let script = Scripted(RefCell::new(vec![
            result(100.5, 1.0, 4),
            result(101.0, 1.0, 4),
            result(130.0, 1.0, 4),
        ]));
        let plain = run_cell(
            &spec("tokio"),
            3,
            Duration::from_secs(5),
            &script,
            &Provenance::default(),
        );
        assert_eq!((plain.repeats, plain.extra_repeats), (3, 0));
    }

    const GOOD: f64 = crate::record::result::GOOD_EFFICIENCY;

    #[test]
    fn a_failed_repeat_stops_the_cell_and_is_recorded() {
        let script = Scripted(RefCell::new(vec![
            result(100.0, 100.0, 3),
            RepeatOutcome::Failed("the OS refused thread 7".into()),
            result(100.0, 100.0, 3),
        ]));
        let record = run_cell(
            &spec("threads"),
            3,
            Duration::from_secs(5),
            &script,
            &Provenance::default(),
        );
        assert_eq!(record.status, Status::Failed);
        assert_eq!(record.error.as_deref(), Some("the OS refused thread 7"));
        assert_eq!(record.repeats, 1);
        assert_eq!(script.0.borrow().len(), 1, "the third repeat must not run");
        // threads uses one thread per task.
        assert_eq!(record.workers, 100);
    }

    #[test]
    fn a_timeout_is_its_own_status() {
        let script = Scripted(RefCell::new(vec![RepeatOutcome::Timeout]));
        let record = run_cell(
            &spec("async-std"),
            3,
            Duration::from_secs(2),
            &script,
            &Provenance::default(),
        );
        assert_eq!(record.status, Status::Timeout);
        assert!(record.error.unwrap().contains("2 s timeout"));
        assert_eq!(record.efficiency, 0.0);
        assert!(record.legacy);
    }

    #[test]
    fn in_process_repeat_runs_every_task_of_every_model() {
        for model in crate::model::names() {
            let mut spec = spec(model);
            spec.workload = "mixed".into();
            spec.tasks = 6;
            spec.sleep_ms = 2.0;
            spec.cpu_us = 200.0;
            spec.iters_per_us = crate::workload::compute::calibrate();
            // async-std's global executor is sized once per process: use the same count everywhere.
            spec.workers = 2;
            let result = measure_repeat(&spec).unwrap_or_else(|e| panic!("{model}: {e:#}"));
            // Physics: nothing finishes before its own 2 ms wait.
            assert!(result.wall_ms >= 2.0, "{model}: {result:?}");
            assert!(
                result.latency_ms.max <= result.wall_ms + 0.01,
                "{model}: {result:?}"
            );
            assert!(result.peak_threads >= 1);
        }
    }
}
