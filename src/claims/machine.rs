//! The machine as the claims' judges see it: how many logical CPUs this
//! process may use, and how many physical cores stand behind them.
//!
//! A verdict calibrated on one 2-core machine must still be right on a
//! laptop with 8 cores and 16 hardware threads, on a 64-CPU server, and
//! under `taskset -c 0`. So work sizes and thresholds are functions of this
//! description, never absolute numbers: CPU jobs are a multiple of the
//! usable logical CPUs, the bar for "parallel" stands on physical cores (two
//! hyperthreads of one core do not compute twice as fast), and the gates for
//! outside load are a share of the usable CPUs. Every judge takes the
//! machine its figures were measured on, and the tests feed it simulated
//! machines of 1 to 64 CPUs ([`CpuTopology::simulated_machines`]).
//!
//! Where the kernel says nothing about topology (no
//! `/sys/devices/system/cpu/cpu*/topology`), each logical CPU counts as its
//! own physical core.

use super::{threshold, Threshold};
use serde::{Deserialize, Serialize};

/// CPU jobs per usable logical CPU in the CPU claims: enough that every CPU
/// gets several jobs (so a parallel model can approach the ideal), few
/// enough that the sequential run stays short.
pub const JOBS_PER_CPU: u64 = 4;
/// The fraction of the ideal extra speedup (usable cores − 1) a model must
/// reach to count as "parallel": 1 + this × (cores − 1), i.e. ×1.5 on two
/// cores and ×4.5 on 8 cores with 16 hardware threads.
pub const PARALLEL_FRACTION: f64 = 0.5;

/// The CPUs this process runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTopology {
    /// Logical CPUs online (hardware threads).
    pub logical: usize,
    /// Physical cores behind them (fewer than `logical` with SMT).
    pub physical_cores: usize,
    /// Logical CPUs this process may run on (its affinity mask:
    /// `taskset -c 0` gives 1).
    pub usable_logical: usize,
    /// Physical cores among the usable logical CPUs.
    pub usable_cores: usize,
}

impl CpuTopology {
    /// A machine of `logical` CPUs on `physical_cores` cores, all usable.
    pub const fn simulated(logical: usize, physical_cores: usize) -> CpuTopology {
        CpuTopology {
            logical,
            physical_cores,
            usable_logical: logical,
            usable_cores: physical_cores,
        }
    }

    /// The machines every judge is tested on: 1, 2 and 4 cores, 8 cores
    /// with 16 hardware threads, 16 CPUs, 64 CPUs on 32 SMT cores, and a
    /// 2-core machine restricted to one CPU (`taskset -c 0`).
    pub const fn simulated_machines() -> [CpuTopology; 7] {
        [
            CpuTopology::simulated(1, 1),
            CpuTopology::simulated(2, 2),
            CpuTopology::simulated(4, 4),
            CpuTopology::simulated(16, 8),
            CpuTopology::simulated(16, 16),
            CpuTopology::simulated(64, 32),
            CpuTopology {
                logical: 2,
                physical_cores: 2,
                usable_logical: 1,
                usable_cores: 1,
            },
        ]
    }

    /// This machine, read from sysfs and the affinity mask.
    pub fn detect() -> CpuTopology {
        let allowed = crate::os::measure::allowed_cpus();
        let mut cpus = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/sys/devices/system/cpu") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(number) = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("cpu"))
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                let read = |file: &str| -> Option<i64> {
                    std::fs::read_to_string(entry.path().join("topology").join(file))
                        .ok()?
                        .trim()
                        .parse()
                        .ok()
                };
                let core = read("physical_package_id").zip(read("core_id"));
                cpus.push((number, core));
            }
        }
        let fallback = crate::os::measure::cores();
        from_cpus(&cpus, allowed.as_deref(), fallback)
    }

    /// CPU jobs in the CPU claims: [`JOBS_PER_CPU`] per usable logical CPU.
    pub fn cpu_jobs(&self) -> u64 {
        JOBS_PER_CPU * self.usable_logical.max(1) as u64
    }

    /// The speedup that counts as "parallel": it stands on physical cores,
    /// since hardware threads share one core's execution units.
    pub fn parallel_bar(&self) -> f64 {
        1.0 + PARALLEL_FRACTION * (self.usable_cores.max(1) - 1) as f64
    }

    /// The largest speedup physically possible: one job per usable logical
    /// CPU at once.
    pub fn speedup_limit(&self) -> f64 {
        self.usable_logical.max(1) as f64
    }

    /// `share` of the usable logical CPUs, in cores: a gate for outside load.
    pub fn share_of_cpus(&self, share: f64) -> f64 {
        share * self.usable_logical.max(1) as f64
    }

    /// Whether this process can run two things on two physical cores.
    pub fn can_run_in_parallel(&self) -> bool {
        self.usable_cores >= 2
    }

    /// "2 of 2 logical CPUs usable, on 2 physical cores (no SMT)".
    pub fn describe(&self) -> String {
        let smt = if self.logical > self.physical_cores {
            format!(
                "{} hardware threads per core",
                self.logical / self.physical_cores.max(1)
            )
        } else {
            "no SMT".to_string()
        };
        format!(
            "{} of {} logical CPUs usable, on {} of {} physical cores ({smt})",
            self.usable_logical, self.logical, self.usable_cores, self.physical_cores
        )
    }

    /// The machine as thresholds, stated with every claim's verdict.
    pub fn thresholds(&self) -> Vec<Threshold> {
        vec![
            threshold(
                "USABLE_LOGICAL_CPUS",
                self.usable_logical as f64,
                &format!(
                    "logical CPUs this process may use (affinity mask), of {} online",
                    self.logical
                ),
            ),
            threshold(
                "USABLE_PHYSICAL_CORES",
                self.usable_cores as f64,
                &format!(
                    "physical cores behind them (sysfs topology), of {}",
                    self.physical_cores
                ),
            ),
        ]
    }
}

/// The description from the logical CPUs (number, and (package, core) where
/// sysfs gives it) and the allowed ones; `fallback` logical CPUs, each its
/// own core, when sysfs lists none.
fn from_cpus(
    cpus: &[(usize, Option<(i64, i64)>)],
    allowed: Option<&[usize]>,
    fallback: usize,
) -> CpuTopology {
    if cpus.is_empty() {
        return CpuTopology::simulated(fallback.max(1), fallback.max(1));
    }
    // A CPU without topology counts as its own core.
    let core_of = |(number, core): &(usize, Option<(i64, i64)>)| match core {
        Some((package, core)) => (*package, *core, usize::MAX),
        None => (-1, -1, *number),
    };
    let distinct = |cores: Vec<(i64, i64, usize)>| {
        let mut cores = cores;
        cores.sort_unstable();
        cores.dedup();
        cores.len()
    };
    let usable: Vec<&(usize, Option<(i64, i64)>)> = cpus
        .iter()
        .filter(|(number, _)| allowed.map_or(true, |allowed| allowed.contains(number)))
        .collect();
    let usable = if usable.is_empty() {
        cpus.iter().collect()
    } else {
        usable
    };
    CpuTopology {
        logical: cpus.len(),
        physical_cores: distinct(cpus.iter().map(core_of).collect()).max(1),
        usable_logical: usable.len(),
        usable_cores: distinct(usable.into_iter().map(core_of).collect()).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smt_siblings_share_a_physical_core() {
        // 4 logical CPUs: 0 and 2 on core 0, 1 and 3 on core 1.
        let cpus = [
            (0, Some((0, 0))),
            (1, Some((0, 1))),
            (2, Some((0, 0))),
            (3, Some((0, 1))),
        ];
        let machine = from_cpus(&cpus, None, 4);
        assert_eq!(machine, CpuTopology::simulated(4, 2));
        assert_eq!(machine.parallel_bar(), 1.5);
        assert_eq!(machine.cpu_jobs(), 16);
        assert!(machine.describe().contains("2 hardware threads per core"));
        // Two siblings of one core allowed: two CPUs, one core.
        let pinned = from_cpus(&cpus, Some(&[0, 2]), 4);
        assert_eq!((pinned.usable_logical, pinned.usable_cores), (2, 1));
        assert!(!pinned.can_run_in_parallel());
    }

    #[test]
    fn without_topology_each_logical_cpu_is_its_own_core() {
        let cpus = [(0, None), (1, None)];
        assert_eq!(from_cpus(&cpus, None, 2), CpuTopology::simulated(2, 2));
        assert_eq!(from_cpus(&[], None, 3), CpuTopology::simulated(3, 3));
        let one = from_cpus(&cpus, Some(&[0]), 2);
        assert_eq!((one.usable_logical, one.usable_cores), (1, 1));
        assert_eq!(one.cpu_jobs(), JOBS_PER_CPU);
        assert_eq!(one.parallel_bar(), 1.0);
    }

    #[test]
    fn sizes_and_gates_grow_with_the_machine() {
        for machine in CpuTopology::simulated_machines() {
            // Enough jobs that a parallel model can clear the bar.
            assert!(
                machine.cpu_jobs() as f64 >= machine.parallel_bar() * 2.0,
                "{machine:?}"
            );
            assert!(machine.parallel_bar() <= machine.speedup_limit());
            assert!(
                (machine.share_of_cpus(0.25) - 0.25 * machine.usable_logical as f64).abs() < 1e-9
            );
            assert_eq!(machine.thresholds().len(), 2);
        }
        assert_eq!(CpuTopology::simulated(16, 8).parallel_bar(), 4.5);
        assert_eq!(CpuTopology::simulated(16, 16).parallel_bar(), 8.5);
    }

    #[test]
    fn the_machine_this_test_runs_on_is_described() {
        let machine = CpuTopology::detect();
        assert!(machine.usable_logical >= 1 && machine.usable_logical <= machine.logical);
        assert!(machine.usable_cores >= 1 && machine.usable_cores <= machine.physical_cores);
        assert!(machine.physical_cores <= machine.logical);
    }
}
