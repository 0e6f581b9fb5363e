//! The one flat record every exporter, table and chart reads.
//!
//! A *cell* is one (workload, model, tasks, workers, parameters) measurement.
//! Each repeat of a cell runs in its own child process; the parent folds the
//! repeats into one [`CellRecord`]. Field names are part of the lab's public
//! data format (`results.jsonl`, `results.csv`): rename nothing lightly.

use crate::os::measure;
use crate::stats;
use crate::stats::interval::Interval;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every repeat finished and every task's work was verified.
    Ok,
    /// A repeat returned an error, crashed, or was refused by the OS.
    Failed,
    /// A repeat exceeded `--timeout-s` and was killed with its process group.
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
        }
    }
}

/// Wall time of the timed region over the repeats, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct WallMs {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// Each task's completion time, measured from the start of the timed region,
/// in milliseconds (from the repeat whose wall time is the median).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// A cold cell counts as cold when at most this share of its files' pages
/// was resident when the timed region started.
pub const COLD_RESIDENT_MAX: f64 = 0.05;

/// How the files sat in the page cache when the timed region started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheState {
    /// True when the cell asked for cold files.
    pub cold: bool,
    /// Pages of the task files resident in the page cache (`mincore`).
    pub resident_pages: u64,
    /// Pages the task files span.
    pub total_pages: u64,
    /// One bare `std::fs::read` of a file this size on one thread, µs
    /// (a pass over 16 other files, the fastest of three; cold for cold
    /// cells): the ideal's unit.
    pub bare_read_us: f64,
    /// The file system the files were on (`ext4`, `tmpfs`, ...), as far as known.
    pub file_system: String,
    /// Why cold was not cold, or how it was made so; None when there is
    /// nothing to say.
    pub note: Option<String>,
}

impl CacheState {
    /// Share of the files' pages resident, 0..=1.
    pub fn resident_share(&self) -> f64 {
        if self.total_pages == 0 {
            return 0.0;
        }
        self.resident_pages as f64 / self.total_pages as f64
    }

    /// True for a cold cell whose files really were out of the page cache.
    pub fn really_cold(&self) -> bool {
        self.cold && self.resident_share() <= COLD_RESIDENT_MAX
    }
}

impl WallMs {
    /// min / median / max of wall times in ms.
    pub fn spread_of(wall_ms: &[f64]) -> WallMs {
        if wall_ms.is_empty() {
            return WallMs::default();
        }
        WallMs {
            min: wall_ms.iter().copied().fold(f64::INFINITY, f64::min),
            median: stats::median(wall_ms),
            max: wall_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// True when the slowest repeat took more than 1.5× the fastest.
    pub fn is_noisy(&self) -> bool {
        self.min > 0.0 && self.max / self.min > 1.5
    }
}

impl LatencyMs {
    /// p50 / p99 / max of completion times given in nanoseconds, in ms.
    ///
    /// Recorded with an HDR histogram at microsecond resolution and three
    /// significant digits, so a million tasks cost a few KiB, not a sort.
    pub fn quantiles_of(completions_ns: &[u64]) -> LatencyMs {
        // 1 µs to 10 hours: longer than any cell may run (timeouts are at most a day,
        // but a task completing after 10 h would be recorded at 10 h, not lost).
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 36_000_000_000, 3)
            .expect("the bounds and 3 significant digits are valid");
        for ns in completions_ns {
            // Round up to whole microseconds so a task never looks faster than it was.
            histogram.saturating_record(ns.div_ceil(1_000).max(1));
        }
        if histogram.is_empty() {
            return LatencyMs::default();
        }
        let ms = |us: u64| us as f64 / 1e3;
        // The histogram reports the top of a value's bucket (up to 0.1% above
        // it), so the exact maximum comes from the data, and no quantile may
        // exceed it: a task cannot finish after the last one did.
        let max_us = completions_ns
            .iter()
            .map(|ns| ns.div_ceil(1_000).max(1))
            .max()
            .unwrap_or(0);
        LatencyMs {
            p50: ms(histogram.value_at_quantile(0.50).min(max_us)),
            p99: ms(histogram.value_at_quantile(0.99).min(max_us)),
            max: ms(max_us),
        }
    }
}

/// The machine a record was measured on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Kernel release from /proc/sys/kernel/osrelease.
    pub kernel: String,
    /// `rustc --version` of the compiler that built the lab.
    pub rustc: String,
    /// Versions of the runtime crates the lab was built with (from Cargo.lock).
    #[serde(default)]
    pub crates: std::collections::BTreeMap<String, String>,
    /// Transparent huge pages mode (the bracketed word of
    /// /sys/kernel/mm/transparent_hugepage/enabled).
    #[serde(default)]
    pub thp: String,
    /// The process's timer slack in nanoseconds (prctl PR_GET_TIMERSLACK).
    #[serde(default)]
    pub timer_slack_ns: u64,
    /// Soft limit on open file descriptors seen by the cell.
    #[serde(default)]
    pub rlimit_nofile: u64,
    /// Soft limit on processes/threads for this user (not enforced for root).
    #[serde(default)]
    pub rlimit_nproc: u64,
    /// /proc/sys/kernel/threads-max.
    #[serde(default)]
    pub threads_max: u64,
    /// /proc/sys/kernel/pid_max (every thread takes a PID).
    #[serde(default)]
    pub pid_max: u64,
    /// /proc/sys/vm/max_map_count (a Rust thread takes 4 memory maps).
    #[serde(default)]
    pub max_map_count: u64,
    /// What a model's runtime chose on this machine, by model
    /// (`Model::runtime_note`: e.g. which I/O driver monoio runs on).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub runtimes: std::collections::BTreeMap<String, String>,
}

impl Machine {
    /// Describes this machine: enough to tell two records' contexts apart.
    /// The caller names the runtime crates whose versions count and what each
    /// runtime chose here (the lab asks the model registry: [`crate::lab::machine`]).
    pub fn describe(
        runtime_crates: &[&str],
        runtimes: std::collections::BTreeMap<String, String>,
    ) -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let thp_line = measure::read_trimmed("/sys/kernel/mm/transparent_hugepage/enabled");
        let thp = thp_line
            .split_whitespace()
            .find(|w| w.starts_with('['))
            .map(|w| w.trim_matches(['[', ']']).to_string())
            .unwrap_or(thp_line);
        let crates = measure::crate_versions(runtime_crates)
            .into_iter()
            .collect();
        Machine {
            cores: measure::cores(),
            cpu_model,
            kernel: measure::read_trimmed("/proc/sys/kernel/osrelease"),
            rustc: env!("AVB_RUSTC_VERSION").to_string(),
            crates,
            thp,
            timer_slack_ns: measure::timer_slack_ns(),
            rlimit_nofile: measure::soft_limit(libc::RLIMIT_NOFILE),
            rlimit_nproc: measure::soft_limit(libc::RLIMIT_NPROC),
            threads_max: measure::read_u64("/proc/sys/kernel/threads-max"),
            pid_max: measure::read_u64("/proc/sys/kernel/pid_max"),
            max_map_count: measure::read_u64("/proc/sys/vm/max_map_count"),
            runtimes,
        }
    }
}

/// What else the machine did while a cell ran, summed over the repeats that
/// make its record (see `busy.rs` for how each repeat is accounted).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Conditions {
    /// Mean cores other programs used during the timed regions (their CPU
    /// time over all repeats' windows; `/proc/stat` minus the cell and the lab).
    pub foreign_cpu_cores: f64,
    /// The median of the repeats' own figures.
    pub foreign_cpu_cores_median: f64,
    /// The largest of the repeats' own figures.
    pub foreign_cpu_cores_max: f64,
    /// Steal time (the hypervisor running something else) over the repeats, ms.
    pub steal_ms: f64,
    /// CPU pressure (`/proc/pressure/cpu` `some`) over the repeats, ms; null
    /// without PSI. Includes the cell's own threads waiting for a core.
    pub cpu_pressure_ms: Option<f64>,
    /// The most waiting for a core in one timed region, in cores' worth
    /// (`/proc/pressure/cpu`, µs resolution); null without PSI. Judged as
    /// outside load only where the cell's threads cannot queue on their own
    /// (`pressure_judged`).
    #[serde(default)]
    pub region_waiting_cores_max: Option<f64>,
    /// True when the cell never computes on more threads than there are
    /// cores, so its threads' waiting counts as other programs' doing.
    #[serde(default)]
    pub pressure_judged: bool,
    /// Resolution of `foreign_cpu_cores`: `/proc/stat` counts whole 10 ms
    /// ticks per core, so over all windows it is known to about this many cores.
    pub resolution_cores: f64,
    /// Accounted time over the repeats (timed regions plus kernel probes,
    /// widened to at least 60 ms per repeat for cells that compute), ms.
    pub window_ms: f64,
    /// Outside cores above which a repeat of this cell counts as disturbed.
    pub tolerance_cores: f64,
    /// Compute kernel speed calibrated in the cell's process just before the
    /// timed region (fastest of several; the median repeat's), iterations per µs.
    pub kernel_rate: Option<f64>,
    /// Largest spread of those calibrations (fastest / slowest - 1).
    pub calibration_spread: Option<f64>,
    /// Largest slowdown of the kernel around a timed region against the
    /// cell's calibration (0.1 = 10 % slower).
    pub kernel_drift: Option<f64>,
    /// Repeats run again because they were disturbed.
    pub retried: u32,
    /// The `--on-busy` policy the cell ran under.
    pub on_busy: String,
    /// A steady outside load was measured and the cell judged against the
    /// cores it left (this many), instead of being marked disturbed.
    pub capacity_left_cores: Option<f64>,
    /// Why the cell is disturbed, judged on capacity left, or above
    /// efficiency 1.05; null when there is nothing to say.
    pub note: Option<String>,
    /// `socket` cells: what one connection costs the cores, measured in the
    /// cell's process before each timed region, and which bound decided the
    /// ideal; null for other workloads and records written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_cost: Option<ConnectCost>,
}

/// What one connection of a `socket` cell costs the cores, and what it does
/// to the ideal (see docs/src/socket.md, "The ideal").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectCost {
    /// One connection's whole life (connect, request, accept, reply, close;
    /// client and server side), µs: the median repeat's calibration.
    pub connect_cost_us: f64,
    /// Connections each repeat's calibration timed.
    pub connections: u64,
    /// How it was measured.
    pub measured: String,
    /// The connections' CPU spread over the cores, ms: tasks × cost / cores.
    pub connections_ms: f64,
    /// What decided the ideal: `wait` (the server's delay) or `connections`
    /// (the connections' CPU on these cores).
    pub bound: String,
}

/// The efficiency line the verdicts draw: at least this share of the ideal
/// is "within 90 % of the ideal". Sequential sampling adds repeats where a
/// cell's interval straddles it.
pub const GOOD_EFFICIENCY: f64 = 0.9;

/// One measured cell. Every exporter and chart reads this struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Workload name (`sleep`, `cpu`, `mixed`, ...).
    pub workload: String,
    /// Execution model name (`tokio`, `threads`, ...).
    pub model: String,
    /// Number of tasks (units of work) in the cell.
    pub tasks: u64,
    /// Worker threads the model ran on (1 for `sequential` and `tokio-current`,
    /// one per task for `threads`).
    pub workers: u64,
    /// Wait per task in milliseconds (0 when the workload does not wait).
    pub sleep_ms: f64,
    /// Compute per task in microseconds (0 when the workload does not compute).
    pub cpu_us: f64,
    /// Number of repeats that ran, each in a fresh child process.
    pub repeats: u32,
    /// Wall time of the timed region: min, median and max over the repeats.
    pub wall_ms: WallMs,
    /// The physical lower bound on wall time for this cell.
    pub ideal_ms: f64,
    /// `ideal_ms / wall_ms.median`: 1.0 means as fast as the ideal; above 1.0 the
    /// ideal was not a lower bound (e.g. the compute calibration ran slow).
    pub efficiency: f64,
    /// Each kept repeat's wall time, ms, in the order they ran: what the
    /// intervals are computed from (empty in records written before them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wall_ms_repeats: Vec<f64>,
    /// Interval of the median wall time (`stats::interval::median_interval`:
    /// 95 % order statistics from 6 repeats, the min–max range below);
    /// null in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms_ci: Option<Interval>,
    /// The same interval as an efficiency: `ideal_ms` over its ends. A line
    /// such as 0.9 is judged only when this lies wholly on one side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency_ci: Option<Interval>,
    /// Task completion times since the cell started.
    pub latency_ms: LatencyMs,
    /// Peak resident set size of the child process (VmHWM), in KiB; the
    /// largest over the repeats.
    pub peak_rss_kib: u64,
    /// Most threads seen in the child process at once; the largest over the repeats.
    pub peak_threads: u64,
    /// Peak virtual memory size of the child (VmPeak), in KiB; the largest
    /// over the repeats. Thread stacks count here in full, in RSS only as touched.
    #[serde(default)]
    pub peak_vm_kib: u64,
    /// Time from the start until the last task was spawned or queued (median
    /// repeat), in ms; null for `sequential`, which spawns nothing.
    #[serde(default)]
    pub spawn_ms: Option<f64>,
    /// User CPU time spent in the timed region (median repeat), in ms.
    pub cpu_user_ms: f64,
    /// System CPU time spent in the timed region (median repeat), in ms.
    pub cpu_sys_ms: f64,
    /// Voluntary context switches in the timed region (median repeat).
    pub ctx_voluntary: u64,
    /// Involuntary context switches in the timed region (median repeat).
    pub ctx_involuntary: u64,
    /// How the cell ended.
    pub status: Status,
    /// What went wrong, when `status` is not `ok`.
    pub error: Option<String>,
    /// The machine the cell was measured on.
    pub machine: Machine,
    /// True for models whose runtime is discontinued upstream (async-std).
    #[serde(default)]
    pub legacy: bool,
    /// Reply size in bytes for the `socket` workload; null otherwise.
    #[serde(default)]
    pub reply_bytes: Option<u64>,
    /// Payload bytes per second (total reply bytes / median wall) for `socket`.
    #[serde(default)]
    pub bytes_per_s: Option<f64>,
    /// Stack size asked for the thread models with `--stack-kib`; null = platform default.
    #[serde(default)]
    pub stack_kib: Option<u64>,
    /// Size of every task's file, KiB, for the `file` workloads; null otherwise.
    #[serde(default)]
    pub file_kib: Option<u64>,
    /// How the task files sat in the page cache when the timed regions
    /// started (`file` workloads; null otherwise).
    #[serde(default)]
    pub file_cache: Option<FileCache>,
    /// The database a `db` cell queried and how (null for other workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseUse>,
    /// Threads the run started beyond those the runtime had when the timed
    /// region began — a blocking pool, io_uring workers — the largest over
    /// the repeats (`peak_threads` minus the threads at the start); null in
    /// records written before it was measured.
    #[serde(default)]
    pub extra_threads: Option<u64>,
    /// Repeats taken beyond those asked for by sequential sampling (the
    /// efficiency interval straddled the 0.9 line; at most as many again):
    /// 0 when the asked repeats decided it, or in records written before.
    #[serde(default)]
    pub extra_repeats: u32,
    /// True when max/min wall over the repeats exceeds 1.5: treat the cell with care.
    #[serde(default)]
    pub noisy: bool,
    /// True when outside load or a slowed host disturbed repeats beyond the
    /// cell's tolerance and retries did not replace them: no verdict is
    /// drawn from this cell (see `conditions`).
    #[serde(default)]
    pub disturbed: bool,
    /// What else the machine did during the cell's repeats.
    #[serde(default)]
    pub conditions: Conditions,
    /// The sweep profile that produced the cell (null for a single `run`).
    #[serde(default)]
    pub profile: Option<String>,
    /// When the cell started, as seconds since the Unix epoch (UTC).
    #[serde(default)]
    pub started_unix_s: u64,
    /// The `run` command that measures this cell again.
    #[serde(default)]
    pub command: String,
    /// The exact command line of the process that measured this cell.
    #[serde(default)]
    pub invocation: String,
}

/// How a `db` cell reached its database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseUse {
    /// Connections in the model's pool: at most this many queries at once.
    pub pool: u64,
    /// The driver and pool crates (`postgres + r2d2`, ...).
    pub driver: String,
    /// Their versions, from Cargo.lock ("postgres 0.19.13", ...).
    pub driver_versions: Vec<String>,
    /// The server's `SELECT version()`.
    pub server_version: String,
    /// Rows of the table the lookups read.
    pub rows: u64,
}

/// How a `file` cell's task files sat in the page cache, over its repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCache {
    /// True when the cell asked for cold files (`file-cold`).
    pub cold: bool,
    /// The largest share of the files' pages resident in the page cache when
    /// a timed region started (`mincore`): 1 for warm; about 0 when cold
    /// really was cold.
    pub resident_share_max: f64,
    /// True when cold was asked for and every repeat's files were out of the
    /// cache (at most `files::COLD_RESIDENT_MAX` resident).
    pub really_cold: bool,
    /// One bare `std::fs::read` of such a file on one thread in the cell's
    /// process, µs (the median repeat's fastest): the ideal's unit.
    pub bare_read_us: f64,
    /// The file system the files were on.
    pub file_system: String,
    /// Why cold was not cold, when it was not; null otherwise.
    pub note: Option<String>,
}

impl FileCache {
    /// The record's summary of its repeats' cache states (None without any).
    pub fn of_repeats<'a>(states: impl Iterator<Item = &'a CacheState>) -> Option<FileCache> {
        let states: Vec<&CacheState> = states.collect();
        let first = states.first()?;
        let bare: Vec<f64> = states.iter().map(|s| s.bare_read_us).collect();
        Some(FileCache {
            cold: first.cold,
            resident_share_max: states
                .iter()
                .map(|s| s.resident_share())
                .fold(0.0, f64::max),
            really_cold: states.iter().all(|s| s.really_cold()),
            bare_read_us: stats::median(&bare),
            file_system: first.file_system.clone(),
            note: states.iter().find_map(|s| s.note.clone()),
        })
    }
}

/// A cell a sweep left out, and why: its expected time was over the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub workload: String,
    pub model: String,
    pub tasks: u64,
    pub expected_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_ordered() {
        let w = WallMs::spread_of(&[12.0, 10.0, 30.0]);
        assert_eq!((w.min, w.median, w.max), (10.0, 12.0, 30.0));
        assert!(w.is_noisy());
        assert!(!WallMs::spread_of(&[10.0, 11.0, 14.0]).is_noisy());
    }

    #[test]
    fn latency_quantiles_from_nanoseconds() {
        // 100 tasks finishing at 1, 2, ..., 100 ms.
        let ns: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let l = LatencyMs::quantiles_of(&ns);
        assert!((l.p50 - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.p99 - 99.0).abs() < 0.1, "{l:?}");
        assert_eq!(l.max, 100.0, "the maximum is exact");
        assert_eq!(LatencyMs::quantiles_of(&[]), LatencyMs::default());
    }

    #[test]
    fn latency_never_exceeds_the_last_completion() {
        // 51.6 ms sits in a histogram bucket about 30 µs wide; the top of
        // that bucket must not be reported as the max.
        let ns = [51_583_000, 51_600_123];
        let l = LatencyMs::quantiles_of(&ns);
        assert_eq!(l.max, 51.601);
        assert!(l.p99 <= l.max && l.p50 <= l.max, "{l:?}");
    }
}
