//! The OS limits that cap how many threads a process can start, and what to
//! say when one of them is reached.
//!
//! On Linux a new thread needs a PID (bounded by `kernel.pid_max`), a task
//! slot (`kernel.threads-max`, and `RLIMIT_NPROC` for users other than
//! root), address space for its stack (`RLIMIT_AS`, memory overcommit) and
//! memory maps: a Rust thread takes four (its stack and guard page, and the
//! signal stack and guard page the Rust runtime adds for stack-overflow
//! reports), out of `vm.max_map_count` per process.
//!
//! [`thread_ceiling`] is the one place that turns those limits into a
//! number of threads: the claims, docs/src/memory.md ("The thread ceiling") and the `threads` model's
//! budget agree because they all count with [`MAPS_PER_THREAD`] here.
//!
//! When `pthread_create` is refused, it says only `EAGAIN`.
//! [`diagnose_thread_failure`] reads the current values of every limit and
//! names the one closest to exhausted. [`ThreadBudget`] stops the `threads`
//! model just short of the memory-map and address-space limits, because
//! when those run out a moment later — inside the new thread, while the Rust
//! runtime maps its signal stack — the runtime aborts the whole process and
//! the threads already started could not be joined.

use std::io::Read;

/// Memory maps a Rust thread adds: stack + guard page, signal stack + guard page.
pub const MAPS_PER_THREAD: u64 = 4;

/// Address space a thread takes besides its stack: guard pages and the
/// signal stack (a few pages; counted generously).
const EXTRA_BYTES_PER_THREAD: u64 = 96 * 1024;

/// Maps kept free for everything else the process may map (malloc arenas,
/// the runtime's own mappings).
const MAP_RESERVE: u64 = 256;

/// Address space kept free for the rest of the process: results, and a new
/// malloc arena (glibc reserves 64 MiB for each thread arena it creates).
const ADDRESS_SPACE_RESERVE: u64 = 64 * 1024 * 1024;

/// Below this many threads of headroom, the budget counts the limit as reached
/// (re-reading the exact usage for every last thread would cost more than it tells).
const MIN_HEADROOM_THREADS: u64 = 8;

/// Rust's default stack for spawned threads (`std::thread::Builder`).
pub const DEFAULT_RUST_STACK_BYTES: u64 = 2 * 1024 * 1024;

/// How much of one limit is in use right now.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitUse {
    /// The limit's usual name (`vm.max_map_count`, `RLIMIT_AS`, ...).
    pub name: &'static str,
    pub used: u64,
    pub limit: u64,
    /// What `used` and `limit` count.
    pub unit: &'static str,
}

impl LimitUse {
    /// Fraction of the limit in use.
    pub fn fill(&self) -> f64 {
        if self.limit == 0 {
            0.0
        } else {
            self.used as f64 / self.limit as f64
        }
    }

    fn describe(&self) -> String {
        if self.unit == "MiB" {
            format!("{} {}/{} MiB", self.name, self.used, self.limit)
        } else {
            format!("{} {}/{}", self.name, self.used, self.limit)
        }
    }
}

fn read_text(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_number(path: &str) -> Option<u64> {
    read_text(path)?.trim().parse().ok()
}

/// Memory maps of this process (lines of `/proc/self/maps`).
pub fn map_count() -> u64 {
    let Ok(mut file) = std::fs::File::open("/proc/self/maps") else {
        return 0;
    };
    let mut buffer = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    while let Ok(read) = file.read(&mut buffer) {
        if read == 0 {
            break;
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    lines
}

/// Threads in the whole system (the total in `/proc/loadavg`); each holds a PID.
pub fn system_threads() -> Option<u64> {
    let text = read_text("/proc/loadavg")?;
    let field = text.split_whitespace().nth(3)?;
    field.split_once('/')?.1.parse().ok()
}

/// This process's virtual memory size in bytes (VmSize).
pub fn address_space_bytes() -> u64 {
    crate::os::measure::ProcStatus::current().vm_size_kib * 1024
}

/// The soft limit of a resource, or `None` when unlimited.
fn finite_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let limit = crate::os::measure::soft_limit(resource);
    (limit != libc::RLIM_INFINITY && limit != 0).then_some(limit)
}

/// The pids limit of this process's cgroup, if it has one (v2 or v1).
fn cgroup_pids() -> Option<(u64, u64)> {
    let cgroups = read_text("/proc/self/cgroup")?;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let dir = match controllers {
            "" => format!("/sys/fs/cgroup{path}"),
            c if c.split(',').any(|c| c == "pids") => format!("/sys/fs/cgroup/pids{path}"),
            _ => continue,
        };
        let max = read_text(&format!("{dir}/pids.max"))?;
        let max: u64 = max.trim().parse().ok()?; // "max" means no limit
        let current = read_number(&format!("{dir}/pids.current"))?;
        return Some((current, max));
    }
    None
}

/// Every limit on starting threads that applies to this process, with its
/// current use.
pub fn thread_limits() -> Vec<LimitUse> {
    let mut limits = Vec::new();
    let threads = system_threads();
    if let (Some(used), Some(limit)) = (threads, read_number("/proc/sys/kernel/threads-max")) {
        limits.push(LimitUse {
            name: "kernel.threads-max",
            used,
            limit,
            unit: "threads in the system",
        });
    }
    if let (Some(used), Some(limit)) = (threads, read_number("/proc/sys/kernel/pid_max")) {
        limits.push(LimitUse {
            name: "kernel.pid_max",
            used,
            limit,
            unit: "PIDs (one per thread) in the system",
        });
    }
    if let Some(limit) = read_number("/proc/sys/vm/max_map_count") {
        limits.push(LimitUse {
            name: "vm.max_map_count",
            used: map_count(),
            limit,
            unit: "memory maps in this process",
        });
    }
    if let Some(limit) = finite_limit(libc::RLIMIT_AS) {
        limits.push(LimitUse {
            name: "RLIMIT_AS",
            used: address_space_bytes() >> 20,
            limit: limit >> 20,
            unit: "MiB",
        });
    }
    // SAFETY: geteuid has no arguments and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if let (false, Some(limit), Some(used)) = (root, finite_limit(libc::RLIMIT_NPROC), threads) {
        limits.push(LimitUse {
            name: "RLIMIT_NPROC",
            // The per-user count is not published; the system's is an upper bound.
            used,
            limit,
            unit: "threads of this user (at most)",
        });
    }
    if let Some((used, limit)) = cgroup_pids() {
        limits.push(LimitUse {
            name: "cgroup pids.max",
            used,
            limit,
            unit: "tasks in this cgroup",
        });
    }
    if read_number("/proc/sys/vm/overcommit_memory") == Some(2) {
        if let Some((committed, limit)) = commit_kib() {
            limits.push(LimitUse {
                name: "vm.overcommit_memory=2 CommitLimit",
                used: committed >> 10,
                limit: limit >> 10,
                unit: "MiB",
            });
        }
    }
    limits
}

fn commit_kib() -> Option<(u64, u64)> {
    let text = read_text("/proc/meminfo")?;
    let field = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("Committed_AS:")?, field("CommitLimit:")?))
}

/// Names the limit most likely behind a refused thread start, with the
/// current values of every limit, in one line.
///
/// `started` is how many threads this process had started before the
/// refusal. The likeliest limit is the one closest to full; if none is above
/// 90 %, the line says so and points at memory.
pub fn diagnose_thread_failure(error: &std::io::Error, started: u64) -> String {
    diagnose_from(error, started, &thread_limits())
}

fn diagnose_from(error: &std::io::Error, started: u64, limits: &[LimitUse]) -> String {
    let likeliest = limits
        .iter()
        .filter(|l| l.fill() >= 0.9)
        .max_by(|a, b| a.fill().total_cmp(&b.fill()));
    let verdict = match likeliest {
        Some(limit) => format!(
            "most likely limit: {} ({} of {} {} in use)",
            limit.name, limit.used, limit.limit, limit.unit
        ),
        None => "no counted limit is near full, so most likely memory for thread stacks \
                 (try a smaller --stack-kib)"
            .to_string(),
    };
    let all = limits
        .iter()
        .map(LimitUse::describe)
        .collect::<Vec<_>>()
        .join(", ");
    // SAFETY: geteuid has no arguments and cannot fail.
    let root_note = if unsafe { libc::geteuid() } == 0 {
        "; RLIMIT_NPROC is not enforced for root"
    } else {
        ""
    };
    format!("{error}; {started} threads had started; {verdict}; limits now: {all}{root_note}")
}

/// How many threads this process could hold at once, and the limit that
/// stops it first.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadCeiling {
    /// Threads the process could add now (its own threads aside).
    pub threads: u64,
    /// The limit that allows the fewest, e.g. `vm.max_map_count`.
    pub limit: &'static str,
    /// Every limit with the threads it allows, for one line of text:
    /// "vm.max_map_count 16,3xx, kernel.pid_max 32,4xx, ...".
    pub detail: String,
}

/// How many more threads one limit allows, given its current use.
fn threads_allowed(limit: &LimitUse, bytes_per_thread: u64) -> u64 {
    let free = limit.limit.saturating_sub(limit.used);
    match limit.name {
        "vm.max_map_count" => free.saturating_sub(MAP_RESERVE) / MAPS_PER_THREAD,
        // Both in MiB here.
        "RLIMIT_AS" | "vm.overcommit_memory=2 CommitLimit" => {
            (free << 20).saturating_sub(ADDRESS_SPACE_RESERVE) / bytes_per_thread.max(1)
        }
        _ => free,
    }
}

/// The thread ceiling of this process right now, for threads with
/// `stack_bytes` stacks (`None`: Rust's default): the smallest number of
/// threads any limit in [`thread_limits`] still allows, counted the way
/// [`ThreadBudget`] counts (four maps per thread, the same reserves). `None`
/// when no limit can be read.
pub fn thread_ceiling(stack_bytes: Option<u64>) -> Option<ThreadCeiling> {
    ceiling_from(&thread_limits(), stack_bytes)
}

fn ceiling_from(limits: &[LimitUse], stack_bytes: Option<u64>) -> Option<ThreadCeiling> {
    let bytes_per_thread = stack_bytes
        .unwrap_or(DEFAULT_RUST_STACK_BYTES)
        .max(libc::PTHREAD_STACK_MIN as u64)
        + EXTRA_BYTES_PER_THREAD;
    let allowed: Vec<(&'static str, u64)> = limits
        .iter()
        .map(|l| (l.name, threads_allowed(l, bytes_per_thread)))
        .collect();
    let &(limit, threads) = allowed.iter().min_by_key(|(_, n)| *n)?;
    Some(ThreadCeiling {
        threads,
        limit,
        detail: allowed
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Why [`ThreadBudget::admit`] refused one more thread.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitReached {
    pub limit: LimitUse,
    /// What one more thread would need of that limit.
    pub per_thread: u64,
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.limit;
        write!(
            f,
            "{} reached: {} of {} {} in use, and a thread needs {} more \
             (stopped a few threads early: past this point the Rust runtime \
             aborts the process when a new thread cannot map its signal stack)",
            l.name, l.used, l.limit, l.unit, self.per_thread
        )
    }
}

/// Keeps the `threads` model just inside the memory-map and address-space
/// limits, at the cost of a few integer operations per thread.
///
/// The budget assumes every admitted thread adds its full cost (an upper
/// bound: finished threads free their signal stacks) and re-reads the exact
/// usage only when that estimate reaches a limit.
#[derive(Debug, Clone)]
pub struct ThreadBudget {
    max_map_count: Option<u64>,
    address_space_limit: Option<u64>,
    bytes_per_thread: u64,
    maps_at_sync: u64,
    bytes_at_sync: u64,
    admitted_since_sync: u64,
}

impl ThreadBudget {
    /// A budget for threads with `stack_bytes` stacks (`None`: Rust's default).
    pub fn new(stack_bytes: Option<u64>) -> ThreadBudget {
        let stack = stack_bytes
            .unwrap_or(DEFAULT_RUST_STACK_BYTES)
            .max(libc::PTHREAD_STACK_MIN as u64);
        let mut budget = ThreadBudget {
            max_map_count: read_number("/proc/sys/vm/max_map_count"),
            address_space_limit: finite_limit(libc::RLIMIT_AS),
            bytes_per_thread: stack + EXTRA_BYTES_PER_THREAD,
            maps_at_sync: 0,
            bytes_at_sync: 0,
            admitted_since_sync: 0,
        };
        budget.sync();
        budget
    }

    fn sync(&mut self) {
        if self.max_map_count.is_some() {
            self.maps_at_sync = map_count();
        }
        if self.address_space_limit.is_some() {
            self.bytes_at_sync = address_space_bytes();
        }
        self.admitted_since_sync = 0;
    }

    /// The first limit that `more` threads beyond the last sync would break.
    fn check(&self, more: u64) -> Result<(), LimitReached> {
        if let Some(limit) = self.max_map_count {
            let needed = self.maps_at_sync + more * MAPS_PER_THREAD + MAP_RESERVE;
            if needed > limit {
                return Err(LimitReached {
                    limit: LimitUse {
                        name: "vm.max_map_count",
                        used: self.maps_at_sync,
                        limit,
                        unit: "memory maps",
                    },
                    per_thread: MAPS_PER_THREAD,
                });
            }
        }
        if let Some(limit) = self.address_space_limit {
            let needed = self.bytes_at_sync + more * self.bytes_per_thread + ADDRESS_SPACE_RESERVE;
            if needed > limit {
                return Err(LimitReached {
                    limit: LimitUse {
                        name: "RLIMIT_AS",
                        used: self.bytes_at_sync >> 20,
                        limit: limit >> 20,
                        unit: "MiB",
                    },
                    per_thread: self.bytes_per_thread.div_ceil(1 << 20),
                });
            }
        }
        Ok(())
    }

    /// Asks for one more thread. Cheap until the estimate nears a limit;
    /// then it re-reads the exact usage once, and refuses if fewer than a
    /// handful of threads would still fit.
    pub fn admit(&mut self) -> Result<(), LimitReached> {
        if self.check(self.admitted_since_sync + 1).is_err() {
            self.sync();
            self.check(MIN_HEADROOM_THREADS)?;
        }
        self.admitted_since_sync += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_maps_and_the_system_has_threads() {
        assert!(map_count() > 5);
        assert!(system_threads().unwrap_or(1) >= 1);
        let names: Vec<_> = thread_limits().iter().map(|l| l.name).collect();
        assert!(names.contains(&"vm.max_map_count"), "{names:?}");
    }

    #[test]
    fn diagnosis_names_the_fullest_limit_and_the_count() {
        let limits = [
            LimitUse {
                name: "kernel.pid_max",
                used: 30_000,
                limit: 32_768,
                unit: "PIDs",
            },
            LimitUse {
                name: "vm.max_map_count",
                used: 65_500,
                limit: 65_530,
                unit: "memory maps",
            },
        ];
        let error = std::io::Error::from_raw_os_error(libc::EAGAIN);
        let line = diagnose_from(&error, 16_300, &limits);
        assert!(
            line.contains("most likely limit: vm.max_map_count"),
            "{line}"
        );
        assert!(line.contains("16300 threads had started"), "{line}");
        assert!(line.contains("kernel.pid_max 30000/32768"), "{line}");
        assert!(!line.contains('\n'));

        let roomy = [LimitUse {
            name: "kernel.pid_max",
            used: 100,
            limit: 32_768,
            unit: "PIDs",
        }];
        assert!(diagnose_from(&error, 5, &roomy).contains("memory"));
    }

    #[test]
    fn the_ceiling_counts_four_maps_per_thread_and_takes_the_tightest_limit() {
        let limits = [
            LimitUse {
                name: "vm.max_map_count",
                used: 300,
                limit: 65_530,
                unit: "memory maps",
            },
            LimitUse {
                name: "kernel.pid_max",
                used: 400,
                limit: 32_768,
                unit: "PIDs",
            },
        ];
        let ceiling = ceiling_from(&limits, None).unwrap();
        assert_eq!(ceiling.limit, "vm.max_map_count");
        assert_eq!(
            ceiling.threads,
            (65_530 - 300 - MAP_RESERVE) / MAPS_PER_THREAD
        );
        assert!(
            ceiling.detail.contains("kernel.pid_max 32368"),
            "{}",
            ceiling.detail
        );
        assert_eq!(ceiling_from(&[], None), None);
    }

    fn admit_until_refused(budget: &mut ThreadBudget) -> (usize, LimitReached) {
        for admitted in 0..100 {
            if let Err(refusal) = budget.admit() {
                return (admitted, refusal);
            }
        }
        panic!("the budget admitted 100 threads");
    }

    #[test]
    fn budget_refuses_once_the_estimate_passes_the_map_limit() {
        let mut budget = ThreadBudget::new(None);
        let maps = budget.maps_at_sync;
        // Room for 5 threads, fewer than the headroom the budget insists on
        // after a re-read. No thread really starts here, so the re-read finds
        // the same count and the sixth is refused.
        budget.max_map_count = Some(maps + MAP_RESERVE + 5 * MAPS_PER_THREAD);
        budget.address_space_limit = None;
        let (admitted, refusal) = admit_until_refused(&mut budget);
        assert_eq!(admitted, 5);
        assert_eq!(refusal.limit.name, "vm.max_map_count");
        assert!(refusal.to_string().contains("reached"), "{refusal}");
    }

    #[test]
    fn budget_counts_address_space_per_stack() {
        // 64 MiB stacks, so other tests' threads coming and going (a few MiB
        // of address space) cannot move the outcome.
        let mut budget = ThreadBudget::new(Some(64 << 20));
        budget.max_map_count = None;
        let used = budget.bytes_at_sync;
        budget.address_space_limit =
            Some(used + ADDRESS_SPACE_RESERVE + 5 * budget.bytes_per_thread);
        let (admitted, refusal) = admit_until_refused(&mut budget);
        assert_eq!(admitted, 5);
        assert_eq!(refusal.limit.name, "RLIMIT_AS");
    }
}
