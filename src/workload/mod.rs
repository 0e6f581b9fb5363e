//! Workloads, defined once as data that every model interprets.
//!
//! A workload turns its parameters into a [`Plan`]: how many tasks, and the
//! list of [`Op`]s each task performs. Models never see a workload's name;
//! they only know how to perform each kind of op with their own primitives
//! (their own timer, their own spawn). Adding a workload is one file here and
//! one line in [`all`]. Beside the workloads live what they are made of: the
//! compute kernel ([`compute`]), the checkable byte pattern of replies and
//! files ([`pattern`]) and the task files of the `file` workloads
//! ([`files`]). This part may import only [`crate::record`],
//! [`crate::stats`] and [`crate::os`].

pub mod compute;
mod cpu;
pub mod db;
mod file;
pub mod files;
mod mixed;
pub mod pattern;
mod sleep;
mod socket;

pub use socket::DEFAULT_REPLY_BYTES;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One step of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Wait this long without using the CPU: simulated I/O. Blocking models
    /// call `std::thread::sleep`; async models await their runtime's timer.
    Sleep(Duration),
    /// Compute for about `micros` microseconds: `iterations` steps of the
    /// calibrated kernel in [`crate::workload::compute`]. Every model runs it inline.
    Compute { micros: f64, iterations: u64 },
    /// Send one request to the lab's latency server over TCP and read and
    /// check its whole reply: real I/O. Blocking models use `std::net`;
    /// async models their runtime's own sockets.
    Request(Request),
    /// Read the task's own file, whole, and check every byte: real file
    /// I/O. Blocking models call `std::fs::read`; async models their
    /// runtime's own file API (a blocking pool, or io_uring).
    ReadFile(FileRead),
    /// Take a connection from the model's pool, run a server-side wait and
    /// an indexed lookup on a real PostgreSQL, check both answers: real
    /// database I/O ([`crate::workload::db`]). Blocking models use the
    /// `postgres` crate, async models their runtime's driver; a model
    /// without one runs no such cell.
    Query(Query),
}

/// One task's queries against the lab's PostgreSQL ([`crate::workload::db`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query {
    /// Where the database listens; known only once the lab has started it.
    pub database: SocketAddr,
    /// The server-side wait, `pg_sleep`.
    pub wait: Duration,
    /// Rows of the `items` table (the lookup's answer depends on it).
    pub rows: u64,
    /// Consecutive ids the lookup reads.
    pub lookup_rows: u64,
    /// Connections in the model's pool: at most this many queries at once.
    pub pool: usize,
}

/// One file read (the files are written by [`crate::workload::files`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FileRead {
    /// The directory of the task files; empty until the lab has written them.
    pub dir: PathBuf,
    /// The size of every task's file, bytes.
    pub bytes: u64,
    /// True when the files' pages are dropped from the page cache before the
    /// timed region (`file-cold`).
    pub cold: bool,
}

impl FileRead {
    /// The file task `index` reads.
    pub fn path(&self, index: usize) -> PathBuf {
        task_file(&self.dir, index)
    }
}

/// The file of task `index` in `dir`. Its byte k is the latency server's
/// byte k of reply `index` ([`crate::workload::pattern::reply_byte`]), so every byte
/// read is checked the same way a reply is.
pub fn task_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("task-{index}"))
}

/// One request to the latency server (protocol: [`crate::net::protocol`]).
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
                // A query's wait overlaps only `pool` at a time: its share
                // of the ideal is in `query_ideal_ms`.
                Op::Compute { .. } | Op::ReadFile(_) | Op::Query(_) => Duration::ZERO,
            })
            .sum()
    }

    /// The database queries of one task, if it runs any.
    pub fn query(&self) -> Option<&Query> {
        self.ops.iter().find_map(|op| match op {
            Op::Query(query) => Some(query),
            _ => None,
        })
    }

    /// Points every query at the database the lab started.
    pub fn set_database(&mut self, database: SocketAddr) {
        for op in &mut self.ops {
            if let Op::Query(query) = op {
                query.database = database;
            }
        }
    }

    /// The queries' share of the ideal, ms: a pool of P connections runs at
    /// most P queries at once, so N tasks need ⌈N/P⌉ server-side waits, for
    /// every model. (The lookups' own time is left out: a lower bound.)
    pub fn query_ideal_ms(&self) -> f64 {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Query(query) => {
                    self.tasks.div_ceil(query.pool.max(1) as u64) as f64
                        * query.wait.as_secs_f64()
                        * 1e3
                }
                _ => 0.0,
            })
            .sum()
    }

    /// The file one task reads, if it reads one.
    pub fn file_read(&self) -> Option<&FileRead> {
        self.ops.iter().find_map(|op| match op {
            Op::ReadFile(file) => Some(file),
            _ => None,
        })
    }

    /// Points every file read at `dir`, where the lab wrote the task files.
    pub fn set_file_dir(&mut self, dir: &Path) {
        for op in &mut self.ops {
            if let Op::ReadFile(file) = op {
                file.dir = dir.to_path_buf();
            }
        }
    }

    /// The file reads' share of the ideal, ms: ⌈N/P⌉ bare reads of one file
    /// (`bare_read_us`, timed in the cell's own process). Reading a cached
    /// file is copying memory, which needs a core, so reads overlap only as
    /// far as the cores go. For cold reads a device that serves several at
    /// once can beat it: there the ideal is a reference, not a bound.
    pub fn file_ideal_ms(&self, cores: usize, bare_read_us: f64) -> f64 {
        let reads = self
            .ops
            .iter()
            .filter(|op| matches!(op, Op::ReadFile(_)))
            .count() as f64;
        let rounds = self.tasks.div_ceil(cores.max(1) as u64) as f64;
        rounds * reads * bare_read_us / 1e3
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
        self.wait_per_task().as_secs_f64() * 1e3
            + rounds * self.compute_us_per_task() / 1e3
            + self.query_ideal_ms()
    }

    /// Connections one task opens (its requests to the latency server).
    pub fn connections_per_task(&self) -> u64 {
        self.ops
            .iter()
            .filter(|op| matches!(op, Op::Request(_)))
            .count() as u64
    }

    /// The reply size of the tasks' requests, if they make any.
    pub fn reply_bytes(&self) -> Option<u64> {
        self.ops.iter().find_map(|op| match op {
            Op::Request(request) => Some(request.reply_bytes),
            _ => None,
        })
    }

    /// The connections' CPU spread evenly over `cores`, ms: N × cost / P.
    pub fn connections_cpu_ms(&self, cores: usize, connect_cost_us: f64) -> f64 {
        let connections = (self.tasks * self.connections_per_task()) as f64;
        connections * connect_cost_us.max(0.0) / cores.max(1) as f64 / 1e3
    }

    /// The ideal of a plan whose tasks open connections, ms, given what one
    /// connection costs the cores (`connect_cost_us`, client and server side,
    /// measured in the cell's process), and the bound that decided it.
    ///
    /// Two things no model escapes: every request waits the server's delay
    /// after it is sent ([`Plan::ideal_ms`]), and every connection's CPU must
    /// run on the `cores` (client and server share them): N × cost / P.
    /// The CPU overlaps the waits — early connections wait while later ones
    /// connect — so the bound is the larger of the two, not their sum; and
    /// a connection's client and server halves can run on two cores at once,
    /// so the CPU is spread evenly, not in ⌈N/P⌉ rounds.
    pub fn socket_ideal(&self, cores: usize, connect_cost_us: f64) -> (f64, IdealBound) {
        let wait_ms = self.ideal_ms(cores);
        let cpu_ms = self.connections_cpu_ms(cores, connect_cost_us);
        if cpu_ms > wait_ms {
            (cpu_ms, IdealBound::Connections)
        } else {
            (wait_ms, IdealBound::Wait)
        }
    }

    /// An estimate of how long a model takes, given how many waits it
    /// overlaps and how many computes it runs in parallel. Used to keep
    /// sweeps within their time budget, never as a result.
    pub fn expected_ms(&self, wait_concurrency: u64, cpu_parallelism: u64) -> f64 {
        let wait_rounds = self.tasks.div_ceil(wait_concurrency.max(1)) as f64;
        let cpu_rounds = self.tasks.div_ceil(cpu_parallelism.max(1)) as f64;
        let file_ms = self
            .file_read()
            .map_or(0.0, |file| file.bytes as f64 / ASSUMED_FILE_BYTES_PER_MS);
        let query_ms = self.query().map_or(0.0, |query| {
            let at_once = wait_concurrency.min(query.pool as u64).max(1);
            self.tasks.div_ceil(at_once) as f64 * query.wait.as_secs_f64() * 1e3
        });
        wait_rounds * self.wait_per_task().as_secs_f64() * 1e3
            + query_ms
            + cpu_rounds * (self.compute_us_per_task() / 1e3 + file_ms)
    }
}

/// What decided a [`Plan::socket_ideal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdealBound {
    /// The server's delay: the connections' CPU fits within one wait.
    Wait,
    /// The connections' CPU on these cores takes longer than one wait.
    Connections,
}

impl IdealBound {
    /// The name a record carries.
    pub fn as_str(self) -> &'static str {
        match self {
            IdealBound::Wait => "wait",
            IdealBound::Connections => "connections",
        }
    }
}

/// How fast [`Plan::expected_ms`] assumes a file is read (and written before
/// the timed region), bytes per ms: 100 MB/s, a slow disk's pace. Only for
/// keeping sweeps within their time budget.
const ASSUMED_FILE_BYTES_PER_MS: f64 = 100_000.0;

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
    /// Size of every task's file, KiB (`file` workloads).
    pub file_kib: u64,
    /// Connections in each model's database pool (`db` workload).
    pub pool: usize,
    /// The database's address, once the lab has started one (`db` workload).
    pub database: Option<SocketAddr>,
    /// Rows of the database's `items` table (`db` workload).
    pub db_rows: u64,
}

/// The file size a cell reads when `--file-kib` is not given, KiB: a small
/// file (a configuration file, a template, a thumbnail).
pub const DEFAULT_FILE_KIB: u64 = 16;

/// The largest file `--file-kib` accepts, KiB (64 MiB).
pub const MAX_FILE_KIB: u64 = 65_536;

/// The most bytes a cell's files may take together (one file per task,
/// written before every repeat): 1 GiB.
pub const MAX_FILES_BYTES: u64 = 1 << 30;

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
            reply_bytes: DEFAULT_REPLY_BYTES,
            server: None,
            file_kib: DEFAULT_FILE_KIB,
            pool: db::DEFAULT_POOL,
            database: None,
            db_rows: db::DEFAULT_ROWS,
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
    /// Whether the tasks read files (which the lab then writes before the
    /// timed region, and `--file-kib` matters).
    fn uses_files(&self) -> bool {
        false
    }
    /// Whether the tasks query the lab's PostgreSQL (which the lab then
    /// starts, and `--pool` matters).
    fn uses_database(&self) -> bool {
        false
    }
    /// Whether the quick profile (the default `report`, about a minute)
    /// sweeps it; false for a workload whose cells cost far more than their
    /// timed region (the file workloads write their files before every
    /// repeat). The full profile and `--workloads` sweep every workload.
    fn fits_the_quick_profile(&self) -> bool {
        true
    }
    /// Whether outside load on the cores disturbs the cell as it disturbs
    /// compute: true for workloads that compute, and for file reads, which
    /// copy memory.
    fn cpu_sensitive(&self) -> bool {
        self.uses_cpu() || self.uses_files()
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
    &[
        &sleep::Sleep,
        &cpu::Cpu,
        &mixed::Mixed,
        &socket::Socket,
        &file::File { cold: false },
        &file::File { cold: true },
        &db::Db,
    ]
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

    /// A socket plan of `tasks` requests with a `sleep_ms` delay.
    fn socket(tasks: u64, sleep_ms: f64) -> Plan {
        by_name("socket")
            .unwrap()
            .plan(&Params::new(tasks, sleep_ms, 0.0, 100.0))
    }

    #[test]
    fn a_socket_ideal_is_the_wait_while_the_connections_fit_in_it() {
        // 1,000 connections of 20 µs on 2 cores: 10 ms of CPU under a 20 ms wait.
        let plan = socket(1_000, 20.0);
        assert_eq!(plan.connections_per_task(), 1);
        assert_eq!(plan.socket_ideal(2, 20.0), (20.0, IdealBound::Wait));
        // One connection never makes the wait longer, on 1 to 64 cores.
        for cores in [1, 2, 64] {
            assert_eq!(
                socket(1, 20.0).socket_ideal(cores, 50.0),
                (20.0, IdealBound::Wait)
            );
        }
        // No calibration (or a nonsensical one) leaves the wait.
        assert_eq!(plan.socket_ideal(2, 0.0), (20.0, IdealBound::Wait));
        assert_eq!(plan.socket_ideal(2, -5.0), (20.0, IdealBound::Wait));
    }

    #[test]
    fn a_socket_ideal_is_the_connections_cpu_once_it_exceeds_the_wait() {
        // 10,000 connections of 20 µs: 200 ms of CPU; on 2 cores 100 ms > 20 ms.
        let plan = socket(10_000, 20.0);
        let (ideal, bound) = plan.socket_ideal(2, 20.0);
        assert!((ideal - 100.0).abs() < 1e-9, "{ideal}");
        assert_eq!(bound, IdealBound::Connections);
        assert_eq!(bound.as_str(), "connections");
        // The CPU overlaps the wait (max, not sum), and more cores share it:
        // on 64 cores the same connections take 3.125 ms, under the wait.
        assert_eq!(plan.socket_ideal(64, 20.0), (20.0, IdealBound::Wait));
        // On one core, all 200 ms fall on it.
        let (one_core, _) = plan.socket_ideal(1, 20.0);
        assert!((one_core - 200.0).abs() < 1e-9, "{one_core}");
        // Never below the wait, never above the wait plus all the CPU on one core.
        for cores in 1..=64 {
            let (ideal, _) = plan.socket_ideal(cores, 20.0);
            assert!((20.0..=20.0 + 200.0).contains(&ideal), "{cores}: {ideal}");
        }
    }

    #[test]
    fn expected_time_of_a_serial_model_is_the_sum() {
        let plan = by_name("mixed").unwrap().plan(&params(10));
        assert_eq!(plan.expected_ms(1, 1), 10.0 * 101.0);
        assert_eq!(plan.expected_ms(10, 2), 100.0 + 5.0);
    }

    #[test]
    fn file_reads_overlap_as_far_as_the_cores_go() {
        let warm = by_name("file").unwrap().plan(&params(10));
        assert_eq!(warm.ideal_ms(2), 0.0, "the bare read is timed in the cell");
        // 10 reads of 100 µs on 2 cores: 5 rounds.
        assert_eq!(warm.file_ideal_ms(2, 100.0), 0.5);
        assert_eq!(warm.file_read().unwrap().bytes, DEFAULT_FILE_KIB * 1024);
        assert!(!warm.file_read().unwrap().cold);
        assert!(
            by_name("file-cold")
                .unwrap()
                .plan(&params(1))
                .file_read()
                .unwrap()
                .cold
        );
        let mut plan = warm.clone();
        plan.set_file_dir(Path::new("/x"));
        assert_eq!(plan.file_read().unwrap().path(3), Path::new("/x/task-3"));
        assert!(by_name("sleep")
            .unwrap()
            .plan(&params(1))
            .file_read()
            .is_none());
    }

    #[test]
    fn a_pool_lets_only_its_size_of_queries_wait_at_once() {
        let mut params = params(1000);
        params.pool = 8;
        let plan = by_name("db").unwrap().plan(&params);
        // 1000 tasks through 8 connections: 125 waits of 100 ms.
        assert_eq!(plan.ideal_ms(2), 12_500.0);
        assert_eq!(plan.wait_per_task(), Duration::ZERO);
        // An async model waits for all 1000, but the pool lets 8 through.
        assert_eq!(plan.expected_ms(1000, 2), 12_500.0);
        assert_eq!(plan.expected_ms(1, 1), 100_000.0);
        let mut pointed = plan.clone();
        let addr = SocketAddr::from(([127, 0, 0, 1], 5432));
        pointed.set_database(addr);
        assert_eq!(pointed.query().unwrap().database, addr);
        assert!(by_name("sleep").unwrap().plan(&params).query().is_none());
    }

    #[test]
    fn checksum_covers_compute_only() {
        let sleep = by_name("sleep").unwrap().plan(&params(1));
        assert_eq!(sleep.checksum_per_task(), 0);
        let cpu = by_name("cpu").unwrap().plan(&params(1));
        assert_ne!(cpu.checksum_per_task(), 0);
    }
}
