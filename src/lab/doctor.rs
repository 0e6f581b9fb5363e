//! `doctor`: what on this machine, here and now, would disturb measurements.
//!
//! Modelled on pyperf's `system show`/`check`: say before measuring what
//! makes numbers unstable. One second of sampling finds the CPU other
//! programs use (and which ones), steal and swapping; the rest is read from
//! `/proc` and `/sys`: load, a cgroup quota or cpuset smaller than the
//! machine, the frequency governor and boost, transparent huge pages, timer
//! slack, a hypervisor. It ends with one line: fit, fit with warnings, or
//! unfit, with advice. `report`, `sweep` and `claims` run it first and store
//! its findings beside their results (`doctor.json`, written through
//! [`crate::record::doctor`], which the report reads).

use crate::lab::busy;
use crate::os::measure::{self, CpuTicks};
use crate::record::doctor::{BusyProgram, Examination, Finding, Severity};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the doctor watches the machine.
pub const SAMPLE: Duration = Duration::from_secs(1);

/// Outside load (cores) above which the doctor warns: a CPU cell that
/// needs every core is disturbed by this much ([`busy::CPU_ALL_CORES_MAX_OUTSIDE_CORES`]).
pub const WARN_OUTSIDE_CORES: f64 = busy::CPU_ALL_CORES_MAX_OUTSIDE_CORES;

/// How many of the busiest other programs are named.
pub const TOP_PROGRAMS: usize = 3;

/// Reads a file's trimmed text ("" when it cannot be read).
fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// CPU ticks and name of every process now.
fn processes() -> Vec<(u32, String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let name = text[text.find('(')? + 1..text.rfind(')')?].to_string();
            Some((pid, name, measure::parse_process_ticks(&text)?))
        })
        .collect()
}

fn vmstat_swaps() -> u64 {
    read("/proc/vmstat")
        .lines()
        .filter(|l| l.starts_with("pswpin ") || l.starts_with("pswpout "))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// CPUs the kernel has online (what `/proc/stat` counts).
fn online_cpus() -> usize {
    read("/proc/stat")
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count()
        .max(1)
}

/// Counts the CPUs in a list like `0-3,6`.
pub fn count_cpu_list(list: &str) -> usize {
    list.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| match part.trim().split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => 1,
        })
        .sum()
}

/// Cores a cgroup v2 `cpu.max` line (`quota period` or `max period`) allows.
pub fn cores_allowed_by_cpu_max(line: &str) -> Option<f64> {
    let mut fields = line.split_whitespace();
    let quota: f64 = fields.next()?.parse().ok()?;
    let period: f64 = fields.next()?.parse().ok()?;
    (period > 0.0).then(|| quota / period)
}

/// Watches the machine for `sample` and reads its settings.
pub fn examine(sample: Duration) -> Examination {
    let own_pid = std::process::id();
    let cores = measure::cores();
    let online = online_cpus();
    let before_ticks = CpuTicks::now().unwrap_or_default();
    let before_processes = processes();
    let before_swaps = vmstat_swaps();
    let started = Instant::now();
    std::thread::sleep(sample);
    let after_ticks = CpuTicks::now().unwrap_or_default();
    let after_processes = processes();
    let after_swaps = vmstat_swaps();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let tick_ms = measure::tick_ms();
    let to_cores = |ticks: u64| ticks as f64 * tick_ms / elapsed_ms;

    let mut programs: Vec<BusyProgram> = after_processes
        .iter()
        .filter(|(pid, _, _)| *pid != own_pid)
        .filter_map(|(pid, name, ticks)| {
            let (_, _, earlier) = before_processes.iter().find(|(p, _, _)| p == pid)?;
            let used = ticks.saturating_sub(*earlier);
            (used > 0).then(|| BusyProgram {
                pid: *pid,
                name: name.clone(),
                cores: to_cores(used),
            })
        })
        .collect();
    programs.sort_by(|a, b| b.cores.total_cmp(&a.cores));
    // Processes that started or ended within the sample are in the
    // machine's total but in no list: say how much went to them.
    let attributed: f64 = programs.iter().map(|p| p.cores).sum();
    programs.truncate(TOP_PROGRAMS);
    let own_ticks = |list: &[(u32, String, u64)]| {
        list.iter()
            .find(|(p, _, _)| *p == own_pid)
            .map_or(0, |(_, _, t)| *t)
    };
    let own = own_ticks(&after_processes).saturating_sub(own_ticks(&before_processes));
    let foreign = to_cores(
        after_ticks
            .busy
            .saturating_sub(before_ticks.busy)
            .saturating_sub(own),
    );
    let steal = to_cores(after_ticks.steal.saturating_sub(before_ticks.steal));

    let mut findings = Vec::new();
    let mut add = |severity, topic: &str, text: String| {
        findings.push(Finding {
            severity,
            topic: topic.to_string(),
            text,
        })
    };

    // Other programs.
    let named = programs
        .iter()
        .map(|p| format!("{} ({:.2})", p.name, p.cores))
        .collect::<Vec<_>>()
        .join(", ");
    let unfit_above = busy::STEADY_BACKGROUND_MAX_SHARE * cores as f64;
    let severity = if foreign > unfit_above {
        Severity::Unfit
    } else if foreign > WARN_OUTSIDE_CORES {
        Severity::Warning
    } else {
        Severity::Info
    };
    add(
        severity,
        "other programs",
        format!(
            "used {foreign:.2} of {cores} cores over {:.1} s{}{}",
            elapsed_ms / 1e3,
            if named.is_empty() {
                String::new()
            } else {
                format!("; busiest: {named}")
            },
            unattributed_text(foreign - attributed)
        ),
    );
    add(
        if steal > 0.05 {
            Severity::Warning
        } else {
            Severity::Info
        },
        "steal",
        format!("{steal:.2} cores taken by the hypervisor during the sample"),
    );
    let load: f64 = read("/proc/loadavg")
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0.0);
    add(
        if load > cores as f64 {
            Severity::Warning
        } else {
            Severity::Info
        },
        "load",
        format!("1-minute load average {load:.2} on {cores} cores"),
    );
    if cores < online {
        add(
            Severity::Warning,
            "cpuset",
            format!(
                "this process may use {cores} of the {online} online CPUs (affinity or cpuset); \
                 outside load on the others is counted against it"
            ),
        );
    }
    let cgroup = read("/proc/self/cgroup")
        .lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        .unwrap_or_default();
    let cpu_max = read(&format!("/sys/fs/cgroup{cgroup}/cpu.max"));
    if let Some(allowed) = cores_allowed_by_cpu_max(&cpu_max) {
        if allowed < cores as f64 {
            add(
                Severity::Warning,
                "cgroup",
                format!(
                    "cpu.max allows {allowed:.2} cores but {cores} are visible: CPU cells \
                     will look inefficient; run with --workers {}",
                    allowed.floor().max(1.0)
                ),
            );
        }
    }
    let governor = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    if !governor.is_empty() {
        add(
            if governor == "performance" {
                Severity::Info
            } else {
                Severity::Warning
            },
            "governor",
            format!("frequency governor {governor} (performance keeps the clock steady)"),
        );
    }
    let boost = read("/sys/devices/system/cpu/cpufreq/boost");
    let no_turbo = read("/sys/devices/system/cpu/intel_pstate/no_turbo");
    if boost == "1" || no_turbo == "0" {
        add(
            Severity::Info,
            "boost",
            "turbo boost is on: the clock depends on temperature and load".into(),
        );
    }
    let machine = crate::lab::machine::machine();
    add(
        Severity::Info,
        "THP",
        format!("transparent huge pages: {}", machine.thp),
    );
    add(
        if machine.timer_slack_ns > 50_000 {
            Severity::Warning
        } else {
            Severity::Info
        },
        "timer slack",
        format!(
            "{} µs (50 µs is the default; more makes sleeps end later)",
            machine.timer_slack_ns / 1000
        ),
    );
    let swapped = after_swaps.saturating_sub(before_swaps);
    add(
        if swapped > 0 {
            Severity::Warning
        } else {
            Severity::Info
        },
        "swap",
        format!("{swapped} pages swapped in or out during the sample"),
    );
    let hypervisor = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "hypervisor"));
    if hypervisor {
        let vendor = read("/sys/class/dmi/id/sys_vendor");
        add(
            Severity::Info,
            "VM",
            format!(
                "running in a virtual machine{}: the host can slow it without any steal \
                 showing; the kernel probes around each repeat watch for that",
                if vendor.is_empty() {
                    String::new()
                } else {
                    format!(" ({vendor})")
                }
            ),
        );
    }

    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let (fitness, summary) = match worst {
        Severity::Info => (
            "fit",
            "fit: nothing here should disturb measurements".to_string(),
        ),
        Severity::Warning => (
            "fit with warnings",
            "fit with warnings: cells are accounted per repeat; disturbed ones are retried \
             or marked (see above)"
                .to_string(),
        ),
        Severity::Unfit => (
            "unfit",
            format!(
                "unfit: other programs use {foreign:.2} cores{}; close them (or wait) and \
                 rerun, or expect many cells retried and marked disturbed",
                if named.is_empty() {
                    String::new()
                } else {
                    format!(" ({named})")
                }
            ),
        ),
    };
    Examination {
        foreign_cpu_cores: foreign,
        steal_cores: steal,
        top_programs: programs,
        findings,
        fitness: fitness.to_string(),
        summary,
        unix_s: measure::unix_now_s(),
    }
}

/// Runs the doctor before a measurement: prints its warnings and final
/// line on stderr and saves the findings in `dir` (a failure to save is
/// printed, never fatal to the measurement).
pub fn before_measuring(dir: &Path) -> Examination {
    let examination = examine(SAMPLE);
    for finding in examination.warnings() {
        crate::os::output::stderr_line!("doctor: {}: {}", finding.topic, finding.text);
    }
    crate::os::output::stderr_line!("doctor: {}", examination.summary);
    if let Err(error) = std::fs::create_dir_all(dir)
        .map_err(anyhow::Error::from)
        .and_then(|_| examination.save(dir))
    {
        crate::os::output::stderr_line!("doctor: could not save its findings: {error:#}");
    }
    examination
}

/// What went to processes no sample could name (they started and ended
/// between the two readings of /proc), when it is more than rounding.
fn unattributed_text(unattributed_cores: f64) -> String {
    if unattributed_cores < 0.05 {
        return String::new();
    }
    format!(
        "; {unattributed_cores:.2} cores went to short-lived processes that started and ended \
         within the sample, unattributed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_no_process_accounts_for_are_said_to_be_unattributed() {
        assert_eq!(unattributed_text(0.01), "");
        assert!(unattributed_text(0.54).contains("0.54 cores went to short-lived processes"));
    }

    #[test]
    fn cpu_lists_and_quotas_are_read() {
        assert_eq!(count_cpu_list("0-3,6"), 5);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(count_cpu_list(""), 0);
        assert_eq!(cores_allowed_by_cpu_max("150000 100000"), Some(1.5));
        assert_eq!(cores_allowed_by_cpu_max("max 100000"), None);
    }

    #[test]
    fn an_examination_ends_with_one_verdict_line() {
        let examination = examine(Duration::from_millis(100));
        assert!(["fit", "fit with warnings", "unfit"].contains(&examination.fitness.as_str()));
        assert!(examination.summary.starts_with(&examination.fitness));
        assert!(examination.text().ends_with(&examination.summary));
        assert!(examination.foreign_cpu_cores >= 0.0);
        assert!(examination.top_programs.len() <= TOP_PROGRAMS);
    }
}
