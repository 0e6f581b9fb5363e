//! `overhead`: how much the lab's harness adds to what it measures.
//!
//! A bare reference program (`examples/bare_tokio.rs`, `examples/bare_threads.rs`)
//! spawns N tasks that sleep D, joins them and prints its wall time and peak
//! RSS — nothing else. The lab's `run` of the same cell (`sleep` workload,
//! same model, one worker per core) adds the plan interpreter, a completion
//! time per task, the child process's bookkeeping. Their ratio says whether
//! "memory per task" teaches the runtime's cost or the harness's, against
//! targets of [`TIME_TARGET`] and [`MEMORY_TARGET`].
//!
//! The bare programs are Cargo examples: they are found beside the lab's
//! binary (`target/release/examples/`), built by `cargo build --release
//! --examples`. The command does not build them itself: it may run from an
//! installed binary without a source tree, so it says which command builds
//! them instead.

use crate::lab::busy::{BusyPolicy, OnBusy};
use crate::lab::cell::{self, CellSpec, ChildProcess, Provenance};
use crate::os::measure;
use crate::record::result::Status;
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The models that have a bare reference program, and its example name.
pub const BARE_PROGRAMS: &[(&str, &str)] = &[("tokio", "bare_tokio"), ("threads", "bare_threads")];

/// The models `overhead` can compare.
pub const MODELS: &[&str] = &["tokio", "threads"];

/// The lab's wall time should be within 5 % of the bare program's.
pub const TIME_TARGET: f64 = 1.05;

/// The lab's peak memory should be within 10 % of the bare program's.
pub const MEMORY_TARGET: f64 = 1.10;

/// What one comparison measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overhead {
    pub model: String,
    pub tasks: u64,
    pub sleep_ms: f64,
    /// Repeats of each program, interleaved (bare, lab, bare, lab, ...).
    pub repeats: u32,
    /// Median wall time of the bare program, ms.
    pub bare_wall_ms: f64,
    /// Median wall time of the lab's timed region, ms.
    pub lab_wall_ms: f64,
    pub time_ratio: f64,
    /// Largest peak RSS of the bare program over the repeats, KiB.
    pub bare_peak_rss_kib: u64,
    /// Largest peak RSS of the lab's cell process over the repeats, KiB.
    pub lab_peak_rss_kib: u64,
    pub memory_ratio: f64,
    /// (lab − bare) peak memory per task, bytes.
    pub extra_bytes_per_task: f64,
}

impl Overhead {
    /// Builds the comparison from the two programs' figures.
    pub fn from_figures(
        model: &str,
        tasks: u64,
        sleep_ms: f64,
        repeats: u32,
        bare: (f64, u64),
        lab: (f64, u64),
    ) -> Overhead {
        let ratio = |lab: f64, bare: f64| if bare > 0.0 { lab / bare } else { 0.0 };
        Overhead {
            model: model.to_string(),
            tasks,
            sleep_ms,
            repeats,
            bare_wall_ms: bare.0,
            lab_wall_ms: lab.0,
            time_ratio: ratio(lab.0, bare.0),
            bare_peak_rss_kib: bare.1,
            lab_peak_rss_kib: lab.1,
            memory_ratio: ratio(lab.1 as f64, bare.1 as f64),
            extra_bytes_per_task: (lab.1 as f64 - bare.1 as f64) * 1024.0 / tasks.max(1) as f64,
        }
    }

    /// The comparison as a few lines of text, with the targets.
    pub fn text(&self) -> String {
        let verdict = |ratio: f64, target: f64| {
            if ratio <= target {
                format!("within the {:.0} % target", (target - 1.0) * 100.0)
            } else {
                format!("over the {:.0} % target", (target - 1.0) * 100.0)
            }
        };
        format!(
            "{} tasks sleeping {} ms, model {} ({} repeats each, interleaved)\n\
             wall time:   bare {:.1} ms, lab {:.1} ms: ratio {:.3} ({})\n\
             peak memory: bare {:.1} MiB, lab {:.1} MiB: ratio {:.2} ({}); {:.0} bytes more per task",
            self.tasks,
            self.sleep_ms,
            self.model,
            self.repeats,
            self.bare_wall_ms,
            self.lab_wall_ms,
            self.time_ratio,
            verdict(self.time_ratio, TIME_TARGET),
            self.bare_peak_rss_kib as f64 / 1024.0,
            self.lab_peak_rss_kib as f64 / 1024.0,
            self.memory_ratio,
            verdict(self.memory_ratio, MEMORY_TARGET),
            self.extra_bytes_per_task
        )
    }
}

/// Reads a bare program's one line: `wall_ms=12.345 peak_rss_kib=6789`.
pub fn parse_bare_output(text: &str) -> Option<(f64, u64)> {
    let mut wall_ms = None;
    let mut peak_rss_kib = None;
    for field in text.split_whitespace() {
        match field.split_once('=') {
            Some(("wall_ms", value)) => wall_ms = value.parse().ok(),
            Some(("peak_rss_kib", value)) => peak_rss_kib = value.parse().ok(),
            _ => {}
        }
    }
    Some((wall_ms?, peak_rss_kib?))
}

/// Where the bare program for `model` is: `examples/NAME` beside the lab's
/// binary. An error in one line names the command that builds it.
pub fn find_bare(model: &str, lab_exe: &Path) -> anyhow::Result<PathBuf> {
    let name = BARE_PROGRAMS
        .iter()
        .find(|(m, _)| *m == model)
        .map(|(_, name)| *name)
        .with_context(|| format!("no bare program for model {model:?}"))?;
    let dir = lab_exe.parent().unwrap_or(Path::new("."));
    let path = dir.join("examples").join(name);
    if !path.is_file() {
        anyhow::bail!(
            "the bare reference program {} is missing: build it with `cargo build --release \
             --examples` in the lab's source tree, then run `overhead` again",
            path.display()
        );
    }
    Ok(path)
}

/// Runs the bare program once, for at most `timeout` (a bare program
/// that hangs is killed and named). `None` when SIGINT or SIGTERM arrived
/// while it ran: it is killed, and the comparison ends with what it has.
fn run_bare(
    path: &Path,
    tasks: u64,
    sleep_ms: f64,
    timeout: Duration,
) -> anyhow::Result<Option<(f64, u64)>> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(path)
        .arg(tasks.to_string())
        .arg(sleep_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", path.display()))?;
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the bare program")? {
            break status;
        }
        let interrupted = crate::os::interrupt::requested();
        if interrupted || started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            if interrupted {
                return Ok(None);
            }
            anyhow::bail!(
                "{} did not finish within {} s; it was stopped",
                path.display(),
                timeout.as_secs()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // A Ctrl-C at the terminal reaches the bare program too: not its failure.
    if crate::os::interrupt::requested() {
        return Ok(None);
    }
    // Its output is one line: it fits in the pipe, read once it has ended.
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        let _ = pipe.read_to_string(&mut stdout);
    }
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    if !status.success() {
        anyhow::bail!("{} failed ({}): {}", path.display(), status, stderr.trim());
    }
    parse_bare_output(&stdout)
        .with_context(|| {
            format!(
                "{} printed {:?}, not `wall_ms=... peak_rss_kib=...`",
                path.display(),
                stdout.trim()
            )
        })
        .map(Some)
}

/// Measures the bare program and the lab's cell `repeats` times each,
/// interleaved, and compares the median wall times and largest peaks. Each
/// run of either program may take at most `timeout`.
pub fn measure(
    model: &str,
    tasks: u64,
    sleep_ms: f64,
    repeats: u32,
    timeout: Duration,
) -> anyhow::Result<Overhead> {
    let executor = ChildProcess::current()?;
    let bare = find_bare(model, &executor.exe)?;
    let spec = CellSpec::new("sleep", model, tasks)
        .with_workers(measure::cores())
        .with_sleep_ms(sleep_ms);
    let provenance = Provenance {
        profile: None,
        invocation: cell::invocation(),
    };
    // Outside load is recorded, not judged: the comparison is of one pair
    // of programs, both exposed to the same machine, repeat by repeat.
    let policy = BusyPolicy {
        on_busy: OnBusy::Ignore,
        retries: 0,
    };
    let mut bare_walls = Vec::new();
    let mut bare_peak = 0;
    let mut lab_walls = Vec::new();
    let mut lab_peak = 0;
    for _ in 0..repeats.max(1) {
        let Some((wall_ms, peak)) = run_bare(&bare, tasks, sleep_ms, timeout)? else {
            break;
        };
        bare_walls.push(wall_ms);
        bare_peak = bare_peak.max(peak);
        let record = cell::run_cell_with(&spec, 1, timeout, &executor, &provenance, policy);
        if crate::os::interrupt::requested() {
            break;
        }
        if record.status != Status::Ok {
            anyhow::bail!(
                "the lab's cell ended {}: {}",
                record.status.as_str(),
                record.error.unwrap_or_default()
            );
        }
        lab_walls.push(record.wall_ms.median);
        lab_peak = lab_peak.max(record.peak_rss_kib);
        if crate::os::interrupt::requested() {
            break;
        }
    }
    Ok(Overhead::from_figures(
        model,
        tasks,
        sleep_ms,
        bare_walls.len() as u32,
        (crate::stats::median(&bare_walls), bare_peak),
        (crate::stats::median(&lab_walls), lab_peak),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_programs_line_is_read() {
        assert_eq!(
            parse_bare_output("wall_ms=37.812 peak_rss_kib=5120\n"),
            Some((37.812, 5120))
        );
        assert_eq!(parse_bare_output("wall_ms=1.0"), None);
        assert_eq!(parse_bare_output("usage: bare_tokio TASKS SLEEP_MS"), None);
    }

    #[test]
    fn ratios_and_bytes_per_task_come_from_the_figures() {
        let o = Overhead::from_figures(
            "tokio",
            1_000_000,
            1000.0,
            1,
            (2000.0, 400_000),
            (2010.0, 440_000),
        );
        assert!((o.time_ratio - 1.005).abs() < 1e-9);
        assert!((o.memory_ratio - 1.1).abs() < 1e-9);
        assert!((o.extra_bytes_per_task - 40.96).abs() < 1e-9);
        assert!(o.text().contains("within the 5 % target"), "{}", o.text());
        assert!(o.text().contains("within the 10 % target"), "{}", o.text());
    }

    #[test]
    fn every_comparable_model_has_a_bare_program() {
        for model in MODELS {
            assert!(BARE_PROGRAMS.iter().any(|(m, _)| m == model));
            assert!(crate::model::by_name(model).is_some());
        }
        let missing = find_bare("tokio", Path::new("/nonexistent/async-vs-blocking"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cargo build --release --examples"),
            "{missing}"
        );
        assert!(!missing.contains('\n'));
    }
}
