//! What the lab reads from the OS: clocks, `getrusage`, `/proc/self/status`
//! and the facts a record's machine description is made of. No heavy crates: these files and one
//! syscall are exact and cheap.

use std::time::Duration;

/// Resource usage of the whole process (all threads, live and finished).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub user: Duration,
    pub sys: Duration,
    pub ctx_voluntary: u64,
    pub ctx_involuntary: u64,
    /// Peak resident set size in KiB (ru_maxrss).
    pub max_rss_kib: u64,
}

impl Usage {
    /// `getrusage(RUSAGE_SELF)`.
    pub fn now() -> Usage {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        if rc != 0 {
            return Usage::default();
        }
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        Usage {
            user: tv(ru.ru_utime),
            sys: tv(ru.ru_stime),
            ctx_voluntary: ru.ru_nvcsw.max(0) as u64,
            ctx_involuntary: ru.ru_nivcsw.max(0) as u64,
            max_rss_kib: ru.ru_maxrss.max(0) as u64,
        }
    }

    /// The usage accrued between `earlier` and `self`.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
            ctx_voluntary: self.ctx_voluntary.saturating_sub(earlier.ctx_voluntary),
            ctx_involuntary: self.ctx_involuntary.saturating_sub(earlier.ctx_involuntary),
            max_rss_kib: self.max_rss_kib,
        }
    }
}

/// The fields of `/proc/<pid>/status` the lab uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// Threads in the process now.
    pub threads: u64,
    /// Resident set size now, KiB.
    pub vm_rss_kib: u64,
    /// Peak resident set size (high-water mark), KiB.
    pub vm_hwm_kib: u64,
    /// Virtual memory size now, KiB.
    pub vm_size_kib: u64,
    /// Peak virtual memory size, KiB.
    pub vm_peak_kib: u64,
}

impl ProcStatus {
    /// Parses the text of a `/proc/<pid>/status` file.
    pub fn parse(text: &str) -> ProcStatus {
        let mut status = ProcStatus::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let number = || {
                value
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            match key {
                "Threads" => status.threads = number(),
                "VmRSS" => status.vm_rss_kib = number(),
                "VmHWM" => status.vm_hwm_kib = number(),
                "VmSize" => status.vm_size_kib = number(),
                "VmPeak" => status.vm_peak_kib = number(),
                _ => {}
            }
        }
        status
    }

    /// Reads this process's status.
    pub fn current() -> ProcStatus {
        Self::read("/proc/self/status")
    }

    /// Reads another process's status (zeroes if it is gone).
    pub fn of_pid(pid: u32) -> ProcStatus {
        Self::read(&format!("/proc/{pid}/status"))
    }

    fn read(path: &str) -> ProcStatus {
        std::fs::read_to_string(path)
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }
}

/// Logical cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A `/proc` or `/sys` file's text, trimmed (empty when unreadable).
pub fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A `/proc` or `/sys` file holding one number (0 when unreadable).
pub fn read_u64(path: &str) -> u64 {
    read_trimmed(path).parse().unwrap_or(0)
}

/// The soft limit of a resource (`u64::MAX` means unlimited).
pub fn soft_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return 0;
    }
    limit.rlim_cur
}

/// This thread's timer slack (`PR_GET_TIMERSLACK`), ns.
pub fn timer_slack_ns() -> u64 {
    // SAFETY: PR_GET_TIMERSLACK takes no pointer arguments.
    let slack = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
    slack.max(0) as u64
}

/// The machine-wide CPU time counters of `/proc/stat`'s first line, in
/// clock ticks (`USER_HZ`, 100 per second on Linux: one tick is 10 ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Time some program was running: user + nice + system + irq + softirq
    /// (guest time is already inside user).
    pub busy: u64,
    /// Time no program wanted a CPU (idle + iowait).
    pub idle: u64,
    /// Time the hypervisor ran something else while this VM wanted a CPU.
    pub steal: u64,
    /// The part of `busy` spent in softirqs: among them the loopback
    /// networking the kernel does on a sender's behalf, attributed to no
    /// process.
    pub softirq: u64,
}

impl CpuTicks {
    /// Parses the text of `/proc/stat` (the aggregate `cpu ` line).
    pub fn parse(text: &str) -> Option<CpuTicks> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        Some(Self::parse_line(line))
    }

    /// Parses `/proc/stat` counting only the CPUs in `allowed` (their
    /// `cpuN` lines summed): under `taskset -c 0` the lab may use one CPU,
    /// and load on the others neither slows it nor is its business. The
    /// aggregate line when `allowed` is None or names no CPU listed.
    pub fn parse_cpus(text: &str, allowed: Option<&[usize]>) -> Option<CpuTicks> {
        let Some(allowed) = allowed else {
            return Self::parse(text);
        };
        let mut sum: Option<CpuTicks> = None;
        for line in text.lines() {
            let Some(number) = line
                .split_whitespace()
                .next()
                .and_then(|name| name.strip_prefix("cpu"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if allowed.contains(&number) {
                let ticks = Self::parse_line(line);
                let total = sum.get_or_insert_with(CpuTicks::default);
                total.busy += ticks.busy;
                total.idle += ticks.idle;
                total.steal += ticks.steal;
                total.softirq += ticks.softirq;
            }
        }
        sum.or_else(|| Self::parse(text))
    }

    fn parse_line(line: &str) -> CpuTicks {
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        CpuTicks {
            busy: field(0) + field(1) + field(2) + field(5) + field(6),
            idle: field(3) + field(4),
            steal: field(7),
            softirq: field(6),
        }
    }

    /// Reads `/proc/stat` now, over the CPUs this process may run on
    /// ([`allowed_cpus`]); None where it cannot be read.
    pub fn now() -> Option<CpuTicks> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        Self::parse_cpus(&text, allowed_cpus().as_deref())
    }
}

/// The CPUs this process may run on (its affinity mask, `sched_getaffinity`:
/// `taskset -c 0` gives `[0]`); None where the kernel does not say.
pub fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: sched_getaffinity writes into the zeroed set we own, of the
    // size we pass.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let read =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if read != 0 {
        return None;
    }
    let allowed: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads the set we own, within CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    (!allowed.is_empty()).then_some(allowed)
}

/// Milliseconds per clock tick of `/proc/stat` and `/proc/<pid>/stat`.
pub fn tick_ms() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        1000.0 / hz as f64
    } else {
        10.0
    }
}

/// CPU time (user + system) one process has used, in clock ticks, from the
/// text of its `/proc/<pid>/stat`.
pub fn parse_process_ticks(text: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: count
    // fields from the last ')'. utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks used so far by process `pid` (0 when it is gone).
pub fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_process_ticks(&t))
        .unwrap_or(0)
}

/// `total=` of the `some` line of `/proc/pressure/cpu`: microseconds in
/// which at least one runnable task waited for a CPU (None without PSI).
pub fn parse_cpu_pressure_us(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("some"))?;
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("total="))
        .and_then(|v| v.parse().ok())
}

/// Reads the machine's CPU pressure total now (None without PSI).
pub fn cpu_pressure_us() -> Option<u64> {
    parse_cpu_pressure_us(&std::fs::read_to_string("/proc/pressure/cpu").ok()?)
}

/// Seconds since the Unix epoch.
pub fn unix_now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Crates every record names besides the models' own: how the lab measures
/// and draws.
const TOOL_CRATES: [&str; 2] = ["criterion", "plotters"];

/// The versions of the crates a reader cares about, in Cargo.lock's order:
/// the runtime crates the caller names (each model's
/// `Model::crates`, gathered by the lab) and [`TOOL_CRATES`].
pub fn crate_versions(runtime_crates: &[&str]) -> Vec<(String, String)> {
    let wanted: Vec<&str> = runtime_crates.iter().copied().chain(TOOL_CRATES).collect();
    env!("AVB_LOCK_VERSIONS")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(name, _)| wanted.contains(name))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The calendar date and time of a Unix timestamp, in UTC:
/// "2026-11-21 20:53 UTC". Days to civil date after Howard Hinnant's
/// well-known algorithm (proleptic Gregorian calendar).
pub fn utc_date(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let seconds_of_day = unix_s % 86_400;
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds_of_day / 3_600,
        seconds_of_day % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status_fields() {
        let text =
            "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nVmSize:\t 9000 kB\nThreads:\t7\n";
        let s = ProcStatus::parse(text);
        assert_eq!(s.threads, 7);
        assert_eq!(s.vm_rss_kib, 1024);
        assert_eq!(s.vm_hwm_kib, 2048);
        assert_eq!(s.vm_size_kib, 9000);
    }

    #[test]
    fn own_status_sees_this_thread_and_some_memory() {
        let s = ProcStatus::current();
        assert!(s.threads >= 1);
        assert!(s.vm_rss_kib > 0);
        assert!(s.vm_hwm_kib >= s.vm_rss_kib);
    }

    #[test]
    fn rusage_counts_cpu_spent_spinning() {
        let before = Usage::now();
        let start = std::time::Instant::now();
        let mut x = 1u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
        }
        let spent = Usage::now().since(&before);
        // 30 ms of spinning shows up as at least some user+sys time (the
        // clock ticks at least every 10 ms), and never more than wall allows.
        let cpu = spent.user + spent.sys;
        assert!(cpu >= Duration::from_millis(5), "{cpu:?}");
        assert!(cpu <= Duration::from_millis(2_000), "{cpu:?}");
    }

    #[test]
    fn proc_stat_busy_leaves_out_idle_iowait_and_steal() {
        let text = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        let ticks = CpuTicks::parse(text).unwrap();
        assert_eq!(ticks.busy, 100 + 5 + 50 + 3 + 2);
        assert_eq!(ticks.idle, 1020);
        assert_eq!(ticks.steal, 7);
        assert!(CpuTicks::parse("intr 1 2 3").is_none());
    }

    #[test]
    fn load_on_cpus_outside_the_affinity_mask_is_not_counted() {
        // Two snapshots of a 2-CPU machine 1 s apart: a busy loop on cpu1
        // (100 ticks), cpu0 quiet. Under `taskset -c 0` the lab sees none
        // of it; with both CPUs, or no mask, it sees a whole core.
        let before = "cpu  300 0 100 1000 0 0 0 0 0 0\n\
                      cpu0 100 0 50 500 0 0 0 0 0 0\n\
                      cpu1 200 0 50 500 0 0 0 0 0 0\n";
        let after = "cpu  400 0 100 1100 0 0 0 0 0 0\n\
                     cpu0 100 0 50 600 0 0 0 0 0 0\n\
                     cpu1 300 0 50 500 0 0 0 0 0 0\n";
        let busy = |allowed: Option<&[usize]>| {
            CpuTicks::parse_cpus(after, allowed).unwrap().busy
                - CpuTicks::parse_cpus(before, allowed).unwrap().busy
        };
        assert_eq!(busy(Some(&[0])), 0);
        assert_eq!(busy(Some(&[1])), 100);
        assert_eq!(busy(Some(&[0, 1])), 100);
        assert_eq!(busy(None), 100);
        assert_eq!(
            CpuTicks::parse_cpus(after, Some(&[0])).unwrap().idle,
            600,
            "only cpu0's idle time"
        );
        // A mask naming no listed CPU falls back to the aggregate line.
        assert_eq!(CpuTicks::parse_cpus(after, Some(&[7])).unwrap().busy, 500);
    }

    #[test]
    fn process_ticks_survive_odd_command_names() {
        let text = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 30 12 0 0 20 0 1 0";
        assert_eq!(parse_process_ticks(text), Some(42));
        assert!(process_ticks(std::process::id()) < u64::MAX);
    }

    #[test]
    fn cpu_pressure_total_is_read_from_the_some_line() {
        let text = "some avg10=1.00 avg60=0.50 avg300=0.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=9\n";
        assert_eq!(parse_cpu_pressure_us(text), Some(123_456));
        assert_eq!(parse_cpu_pressure_us(""), None);
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_709_164_800 + 3_661), "2024-02-29 01:01 UTC");
        assert_eq!(utc_date(4_102_444_799), "2099-12-31 23:59 UTC");
    }
}
