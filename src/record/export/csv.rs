//! CSV: the same records, one flat row each, for spreadsheets. Rewritten
//! whole after every cell (to a temporary file, then renamed), so the file
//! on disk is always complete.

use crate::record::result::CellRecord;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct Row<'a> {
    workload: &'a str,
    model: &'a str,
    tasks: u64,
    workers: u64,
    sleep_ms: f64,
    cpu_us: f64,
    repeats: u32,
    wall_ms_min: f64,
    wall_ms_median: f64,
    wall_ms_max: f64,
    ideal_ms: f64,
    efficiency: f64,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
    peak_rss_kib: u64,
    peak_threads: u64,
    peak_vm_kib: u64,
    spawn_ms: Option<f64>,
    cpu_user_ms: f64,
    cpu_sys_ms: f64,
    ctx_voluntary: u64,
    ctx_involuntary: u64,
    status: &'a str,
    error: &'a str,
    noisy: bool,
    legacy: bool,
    reply_bytes: Option<u64>,
    bytes_per_s: Option<f64>,
    stack_kib: Option<u64>,
    file_kib: Option<u64>,
    file_cold: Option<bool>,
    file_really_cold: Option<bool>,
    file_resident_share_max: Option<f64>,
    file_bare_read_us: Option<f64>,
    extra_threads: Option<u64>,
    profile: &'a str,
    started_unix_s: u64,
    machine_cores: usize,
    machine_cpu_model: &'a str,
    machine_kernel: &'a str,
    machine_rustc: &'a str,
    command: &'a str,
}

impl<'a> From<&'a CellRecord> for Row<'a> {
    fn from(r: &'a CellRecord) -> Self {
        Row {
            workload: &r.workload,
            model: &r.model,
            tasks: r.tasks,
            workers: r.workers,
            sleep_ms: r.sleep_ms,
            cpu_us: r.cpu_us,
            repeats: r.repeats,
            wall_ms_min: r.wall_ms.min,
            wall_ms_median: r.wall_ms.median,
            wall_ms_max: r.wall_ms.max,
            ideal_ms: r.ideal_ms,
            efficiency: r.efficiency,
            latency_ms_p50: r.latency_ms.p50,
            latency_ms_p99: r.latency_ms.p99,
            latency_ms_max: r.latency_ms.max,
            peak_rss_kib: r.peak_rss_kib,
            peak_threads: r.peak_threads,
            peak_vm_kib: r.peak_vm_kib,
            spawn_ms: r.spawn_ms,
            cpu_user_ms: r.cpu_user_ms,
            cpu_sys_ms: r.cpu_sys_ms,
            ctx_voluntary: r.ctx_voluntary,
            ctx_involuntary: r.ctx_involuntary,
            status: r.status.as_str(),
            error: r.error.as_deref().unwrap_or(""),
            noisy: r.noisy,
            legacy: r.legacy,
            reply_bytes: r.reply_bytes,
            bytes_per_s: r.bytes_per_s,
            stack_kib: r.stack_kib,
            file_kib: r.file_kib,
            file_cold: r.file_cache.as_ref().map(|c| c.cold),
            file_really_cold: r.file_cache.as_ref().map(|c| c.really_cold),
            file_resident_share_max: r.file_cache.as_ref().map(|c| c.resident_share_max),
            file_bare_read_us: r.file_cache.as_ref().map(|c| c.bare_read_us),
            extra_threads: r.extra_threads,
            profile: r.profile.as_deref().unwrap_or(""),
            started_unix_s: r.started_unix_s,
            machine_cores: r.machine.cores,
            machine_cpu_model: &r.machine.cpu_model,
            machine_kernel: &r.machine.kernel,
            machine_rustc: &r.machine.rustc,
            command: &r.command,
        }
    }
}

/// Writes all `records` to `path` as CSV with a header row.
pub fn write_csv(path: &Path, records: &[CellRecord]) -> anyhow::Result<()> {
    // Into a temporary file of this writer's own, renamed into place: a full
    // disk leaves the old CSV whole and no temporary file behind.
    crate::os::output::replace_file_with(path, |file| {
        let mut writer = csv::Writer::from_writer(file);
        if records.is_empty() {
            // Still write the header, so the file says what it will hold.
            writer.write_record(HEADER)?;
        }
        for record in records {
            writer.serialize(Row::from(record))?;
        }
        writer.flush()
    })
}

const HEADER: &[&str] = &[
    "workload",
    "model",
    "tasks",
    "workers",
    "sleep_ms",
    "cpu_us",
    "repeats",
    "wall_ms_min",
    "wall_ms_median",
    "wall_ms_max",
    "ideal_ms",
    "efficiency",
    "latency_ms_p50",
    "latency_ms_p99",
    "latency_ms_max",
    "peak_rss_kib",
    "peak_threads",
    "peak_vm_kib",
    "spawn_ms",
    "cpu_user_ms",
    "cpu_sys_ms",
    "ctx_voluntary",
    "ctx_involuntary",
    "status",
    "error",
    "noisy",
    "legacy",
    "reply_bytes",
    "bytes_per_s",
    "stack_kib",
    "file_kib",
    "file_cold",
    "file_really_cold",
    "file_resident_share_max",
    "file_bare_read_us",
    "extra_threads",
    "profile",
    "started_unix_s",
    "machine_cores",
    "machine_cpu_model",
    "machine_kernel",
    "machine_rustc",
    "command",
];
