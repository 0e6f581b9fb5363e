//! Workloads, defined once as data that every model interprets.
//!
//! A workload turns its parameters into a [`Plan`]: how many tasks, and the
//! list of [`Op`]s each task performs. Models never see a workload's name;
//! they only know how to perform each kind of op with their own primitives
//! (their own timer, their own spawn). Adding a workload is one file here and
//! one line in [`all`].

mod cpu;
mod mixed;
mod sleep;
mod socket;

use crate::compute;
use std::net::SocketAddr;
use std::time::Duration;

/// One step of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Wait this long without using the CPU: simulated I/O. Blocking models
    /// call `std::thread::sleep`; async models await their runtime's timer.
    Sleep(Duration),
    /// Compute for about `micros` microseconds: `iterations` steps of the
    /// calibrated kernel in [`crate::compute`]. Every model runs it inline.
    Compute { micros: f64, iterations: u64 },
    /// Send one request to the lab's latency server over TCP and read and
    /// check its whole reply: real I/O. Blocking models use `std::net`;
    /// async models their runtime's own sockets.
    Request(Request),
}

/// One request to the latency server (protocol: [`crate::protocol`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Where the server listens; known only once the lab has started it.
    pub server: SocketAddr,
    /// How long the server waits before answering: the task's wait.
    pub delay: Duration,
    /// How many bytes the reply must have.
    pub reply_bytes: u64,
}

/// What a cell runs: `tasks` identical tasks, each performing `ops` in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub tasks: u64,
    pub ops: Vec<Op>,
}

impl Plan {
    /// The total wait one task performs.
    pub fn wait_per_task(&self) -> Duration {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Sleep(d) => *d,
                Op::Request(request) => request.delay,
                Op::Compute { .. } => Duration::ZERO,
            })
            .sum()
    }

    /// The compute one task performs, in microseconds.
    pub fn compute_us_per_task(&self) -> f64 {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Compute { micros, .. } => *micros,
                _ => 0.0,
            })
            .sum()
    }

    /// The checksum one task must produce; a model's run is only accepted
    /// when the sum over all tasks equals `tasks` times this.
    pub fn checksum_per_task(&self) -> u64 {
        self.ops.iter().fold(0u64, |acc, op| match op {
            Op::Compute { iterations, .. } => acc.wrapping_add(compute::spin(*iterations)),
            _ => acc,
        })
    }

    /// The physical lower bound on wall time with `cores` cores, in ms.
    ///
    /// Waits overlap perfectly, so they cost one wait. Compute cannot go
    /// faster than all cores busy, and one task cannot be split across
    /// cores, so N tasks of C need ceil(N/P)·C (= N·C/P when P divides N).
    pub fn ideal_ms(&self, cores: usize) -> f64 {
        let cores = cores.max(1) as u64;
        let rounds = self.tasks.div_ceil(cores) as f64;
        self.wait_per_task().as_secs_f64() * 1e3 + rounds * self.compute_us_per_task() / 1e3
    }

    /// An estimate of how long a model takes, given how many waits it
    /// overlaps and how many computes it runs in parallel. Used to keep
    /// sweeps within their time budget, never as a result.
    pub fn expected_ms(&self, wait_concurrency: u64, cpu_parallelism: u64) -> f64 {
        let wait_rounds = self.tasks.div_ceil(wait_concurrency.max(1)) as f64;
        let cpu_rounds = self.tasks.div_ceil(cpu_parallelism.max(1)) as f64;
        wait_rounds * self.wait_per_task().as_secs_f64() * 1e3
            + cpu_rounds * self.compute_us_per_task() / 1e3
    }
}

/// The parameters a user can set for a cell's workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub tasks: u64,
    /// Wait per task in ms.
    pub sleep_ms: f64,
    /// Compute per task in µs.
    pub cpu_us: f64,
    /// Compute kernel iterations per µs on this machine (from calibration).
    pub iters_per_us: f64,
    /// Reply size of the latency server, in bytes.
    pub reply_bytes: u64,
    /// The latency server's address, once the lab has started one.
    pub server: Option<SocketAddr>,
}

impl Params {
    /// Parameters without a latency server: the default reply size and no
    /// address yet (the `socket` workload's caller sets `server` once it has
    /// started one).
    pub fn new(tasks: u64, sleep_ms: f64, cpu_us: f64, iters_per_us: f64) -> Params {
        Params {
            tasks,
            sleep_ms,
            cpu_us,
            iters_per_us,
            reply_bytes: crate::server::DEFAULT_REPLY_BYTES,
            server: None,
        }
    }

    pub fn sleep(&self) -> Op {
        Op::Sleep(Duration::from_secs_f64(self.sleep_ms / 1e3))
    }

    pub fn compute(&self) -> Op {
        Op::Compute {
            micros: self.cpu_us,
            iterations: compute::iterations_for(self.cpu_us, self.iters_per_us),
        }
    }
}

/// A workload: a name, a description and how to turn parameters into a plan.
pub trait Workload: Sync {
    /// The CLI name.
    fn name(&self) -> &'static str;
    /// One line for `list` and `--help`.
    fn description(&self) -> &'static str;
    /// Whether `--sleep-ms` matters to this workload.
    fn uses_sleep(&self) -> bool;
    /// Whether `--cpu-us` matters to this workload.
    fn uses_cpu(&self) -> bool;
    /// Whether the tasks talk to the latency server (which the lab then
    /// starts for the cell, and `--reply-bytes` matters).
    fn uses_server(&self) -> bool {
        false
    }
    /// The ops each task performs.
    fn ops(&self, params: &Params) -> Vec<Op>;

    /// The plan for these parameters.
    fn plan(&self, params: &Params) -> Plan {
        Plan {
            tasks: params.tasks,
            ops: self.ops(params),
        }
    }
}

/// Every workload, in the order tables and charts show them.
pub fn all() -> &'static [&'static dyn Workload] {
    &[&sleep::Sleep, &cpu::Cpu, &mixed::Mixed, &socket::Socket]
}

/// The names of every workload.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|w| w.name()).collect()
}

/// Finds a workload by its CLI name.
pub fn by_name(name: &str) -> Option<&'static dyn Workload> {
    all().iter().copied().find(|w| w.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(tasks: u64) -> Params {
        Params::new(tasks, 100.0, 1000.0, 100.0)
    }

    #[test]
    fn names_are_unique_and_findable() {
        let names = names();
        for name in &names {
            assert_eq!(by_name(name).unwrap().name(), *name);
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1);
        }
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn ideal_follows_the_physics() {
        let sleep = by_name("sleep").unwrap().plan(&params(10_000));
        assert_eq!(sleep.ideal_ms(2), 100.0);
        let cpu = by_name("cpu").unwrap().plan(&params(8));
        assert_eq!(cpu.ideal_ms(2), 4.0); // 8 x 1 ms on 2 cores
                                          // One task cannot be split: 1 x 1 ms takes 1 ms even on 2 cores.
        assert_eq!(by_name("cpu").unwrap().plan(&params(1)).ideal_ms(2), 1.0);
        let mixed = by_name("mixed").unwrap().plan(&params(8));
        assert_eq!(mixed.ideal_ms(2), 104.0);
        // The server's delays overlap like sleeps: one delay, however many requests.
        let socket = by_name("socket").unwrap().plan(&params(10_000));
        assert_eq!(socket.ideal_ms(2), 100.0);
        assert_eq!(socket.expected_ms(1, 1), 10_000.0 * 100.0);
    }

    #[test]
    fn expected_time_of_a_serial_model_is_the_sum() {
        let plan = by_name("mixed").unwrap().plan(&params(10));
        assert_eq!(plan.expected_ms(1, 1), 10.0 * 101.0);
        assert_eq!(plan.expected_ms(10, 2), 100.0 + 5.0);
    }

    #[test]
    fn checksum_covers_compute_only() {
        let sleep = by_name("sleep").unwrap().plan(&params(1));
        assert_eq!(sleep.checksum_per_task(), 0);
        let cpu = by_name("cpu").unwrap().plan(&params(1));
        assert_ne!(cpu.checksum_per_task(), 0);
    }
}
