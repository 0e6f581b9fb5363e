//! Execution models: how tasks are run. This part may import
//! [`crate::net`], [`crate::workload`], [`crate::record`], [`crate::stats`]
//! and [`crate::os`]; the lab, the servers, the claims and the report ask
//! its registry ([`all`] and the capabilities a model offers) instead of
//! naming a model.
//!
//! A model is one file, and it owns its runtime: nothing outside
//! `src/model/` builds one. It builds the runtime in [`Model::prepare`]
//! (outside the timed region) and, in [`Runner::run`], starts every task of
//! a [`Plan`] with its own spawn and waits for all of them. What a task does
//! is interpreted here, once: [`blocking_task`] for models that run tasks on
//! threads that may block, [`async_task`] for async runtimes, which supply
//! their own timer and sockets through [`AsyncRuntime`] (no `Send` asked:
//! a thread-per-core runtime's futures need not be).
//!
//! The experiments ask the model, too: its spawn primitive
//! ([`Model::spawn_primitive`], [`Model::other_spawns`]) for the spawn cost,
//! and a [`Lab`] built by [`Model::lab`] for the timer chart and the
//! context-switch ping-pong. What a model offers is in [`Model::offers`];
//! what it leaves out there (a timer of its own, a ping-pong), it cannot do,
//! and the experiments, charts and tables skip it. [`Model::serve`] serves
//! HTTP through the model's own runtime (a model that cannot says so there).
//!
//! Adding a model touches exactly: its file here, two lines in this file
//! (`mod NAME;` and its entry in [`all`]), Cargo.toml/Cargo.lock for its
//! crate, and the documentation. Colours, CLI lists, sweeps, experiments,
//! claims, crate versions and tests read the registry. A workload made of
//! the existing [`Op`]s touches no model; a new kind of `Op` is interpreted
//! here, once per style, with one [`AsyncRuntime`] method that each async
//! model's file implements with its own primitive (as `read_file` was for
//! [`Op::ReadFile`]). docs/src/contributing.md ("Adding a model or a workload") lists every file such
//! an operation touches, and gives the grep commands that check the layering.

mod async_std_rt;
pub mod db;
pub mod lab;
mod monoio;
mod rayon_pool;
mod sequential;
mod smol_rt;
mod thread_pool;
mod threads;
mod tokio_current;
mod tokio_multi;

pub use lab::{Lab, Medium, Offers, OtherSpawn, PingPongLinks};

use crate::net::protocol;
use crate::workload::compute;
use crate::workload::pattern::ReplyCheck;
use crate::workload::{FileRead, Op, Plan, Query, Request};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How a model runs tasks, which decides how its waits and computes overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Tasks run on threads that block while they wait.
    Blocking,
    /// Tasks are futures; a wait parks the task, not the thread.
    Async,
}

/// Settings a model is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Worker threads for models that have a pool or executor.
    pub workers: usize,
    /// Stack size for threads the model creates per task, in KiB
    /// (`None`: the platform's default, 2 MiB for Rust threads).
    pub stack_kib: Option<usize>,
}

/// An execution model.
pub trait Model: Sync {
    /// The CLI name.
    fn name(&self) -> &'static str;
    /// One line for `list` and `--help`.
    fn description(&self) -> &'static str;
    /// Blocking threads or async tasks.
    fn style(&self) -> Style;
    /// True when the runtime is discontinued upstream; shown as "legacy".
    fn legacy(&self) -> bool {
        false
    }
    /// The threads that run tasks, for this many requested workers and tasks.
    fn workers_used(&self, workers: usize, tasks: u64) -> u64;
    /// How many tasks can wait at the same time.
    fn wait_concurrency(&self, workers: usize, tasks: u64) -> u64 {
        match self.style() {
            Style::Async => tasks,
            Style::Blocking => self.workers_used(workers, tasks),
        }
    }
    /// How many tasks can compute at the same time (before the core limit).
    fn cpu_parallelism(&self, workers: usize, tasks: u64) -> u64 {
        self.workers_used(workers, tasks)
    }
    /// True when `ModelConfig::stack_kib` changes the threads this model creates.
    fn uses_stack_size(&self) -> bool {
        false
    }
    /// True when every task gets its own OS thread, so the peak thread
    /// count shows whether every task was alive at once (the memory fit).
    fn thread_per_task(&self) -> bool {
        false
    }
    /// Builds the runtime or pool. Not timed.
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>>;
    /// What the runtime chose on this machine, when that can differ between
    /// machines (monoio's io_uring or epoll driver); every record's machine
    /// information keeps it (`Machine::runtimes`).
    fn runtime_note(&self) -> Option<String> {
        None
    }
    /// The crates behind the runtime, whose versions every record shows.
    fn crates(&self) -> &'static [&'static str] {
        &[]
    }
    /// The spawn primitive, in one line, for the spawn-cost experiment: a
    /// short name (`tokio`, `thread`) and what it does.
    fn spawn_primitive(&self) -> (&'static str, &'static str);
    /// Ways of spawning its runtime offers that the model does not use.
    fn other_spawns(&self) -> &'static [OtherSpawn] {
        &[]
    }
    /// What the model offers the experiments (timer, ping-pong); nothing
    /// unless it says so.
    fn offers(&self) -> Offers {
        Offers::default()
    }
    /// Builds the model's runtime for the experiments exactly as
    /// [`Model::prepare`] builds it (not timed). Only for models whose
    /// [`Model::offers`] names a timer or a ping-pong.
    fn lab(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Err(lab::not_offered(self.name()))
    }
    /// The PostgreSQL driver and pool this model runs the `db` workload
    /// with ([`db`]); None for a model with no driver of its ecosystem here,
    /// which then runs no `db` cell (its runner's [`Runner::connect`] says so).
    fn database_driver(&self) -> Option<&'static str> {
        None
    }
    /// True when [`Model::serve`] serves; a model that cannot serve says so
    /// here (and its `serve` explains), so tests and tools skip it.
    fn serves(&self) -> bool {
        true
    }
    /// Serves HTTP/1.1 on `listener` with this model's own accept loop,
    /// spawn, timer and sockets, until the process ends (`serve --model`).
    /// What a connection does is shared: [`crate::net::http::blocking`] and
    /// [`crate::net::http::async_conn`].
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        let _ = (listener, server, config);
        anyhow::bail!("the {} model cannot serve HTTP (yet)", self.name())
    }
}

/// A built runtime, ready to run plans.
pub trait Runner {
    /// Starts every task of `batch.plan` and returns when all have finished.
    /// This is the timed region.
    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()>;

    /// Opens the model's database pool for `query` (every connection, before
    /// the timed region), for [`Batch::set_database`]. A model without a
    /// driver ([`Model::database_driver`] is None) keeps this refusal.
    fn connect(&mut self, query: &Query) -> anyhow::Result<db::AnyPool> {
        let _ = query;
        anyhow::bail!("this model has no PostgreSQL driver")
    }
}

/// What one run shares with all its tasks: the plan and where results go.
#[derive(Debug)]
pub struct Batch {
    pub plan: Plan,
    start: OnceLock<Instant>,
    /// Completion time of each task since the start, ns (0 = not finished).
    completion_ns: Box<[AtomicU64]>,
    /// When the last task was handed over (spawned or queued), ns since the start (0 = not marked).
    spawned_ns: AtomicU64,
    checksum: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// The model's database pool (`db` workload), opened before the timed region.
    database: OnceLock<db::AnyPool>,
}

impl Batch {
    /// Allocates the result slots; call before the timed region.
    pub fn new(plan: Plan) -> Batch {
        let slots = (0..plan.tasks).map(|_| AtomicU64::new(0)).collect();
        Batch {
            plan,
            start: OnceLock::new(),
            completion_ns: slots,
            spawned_ns: AtomicU64::new(0),
            checksum: AtomicU64::new(0),
            first_error: Mutex::new(None),
            database: OnceLock::new(),
        }
    }

    /// Hands the tasks the model's database pool ([`Runner::connect`]).
    pub fn set_database(&self, pool: db::AnyPool) {
        let _ = self.database.set(pool);
    }

    /// The database pool, if one of type `T` was set.
    pub fn database<T: 'static>(&self) -> Option<&T> {
        self.database.get()?.downcast_ref::<T>()
    }

    /// Marks the start of the timed region.
    pub fn begin(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// Records that task `index` finished with `checksum`.
    pub fn done(&self, index: usize, checksum: u64) {
        let ns = (self.start().elapsed().as_nanos() as u64).max(1);
        self.completion_ns[index].store(ns, Ordering::Relaxed);
        self.checksum.fetch_add(checksum, Ordering::Relaxed);
    }

    /// Marks that every task has been spawned (or queued): the spawn cost is
    /// the time from the start to here. Models call it right after their
    /// spawn loop.
    pub fn all_spawned(&self) {
        let ns = (self.start().elapsed().as_nanos() as u64).max(1);
        self.spawned_ns.store(ns, Ordering::Relaxed);
    }

    /// Time from the start until the last task was spawned, ns (None if the
    /// model does not spawn, like `sequential`).
    pub fn spawn_ns(&self) -> Option<u64> {
        match self.spawned_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(ns),
        }
    }

    /// Records that task `index` failed; the run is then reported as failed.
    pub fn fail(&self, index: usize, error: impl std::fmt::Display) {
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(format!("task {index}: {error}"));
        }
    }

    /// Each task's completion time since the start, ns (0 = never finished).
    pub fn completions_ns(&self) -> Vec<u64> {
        self.completion_ns
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .collect()
    }

    /// Checks that every task finished and did all of its work.
    pub fn verify(&self) -> anyhow::Result<()> {
        if let Some(error) = self
            .first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            anyhow::bail!(error);
        }
        let unfinished = self
            .completion_ns
            .iter()
            .filter(|slot| slot.load(Ordering::Relaxed) == 0)
            .count();
        if unfinished > 0 {
            anyhow::bail!("{unfinished} of {} tasks never finished", self.plan.tasks);
        }
        let expected = self.plan.checksum_per_task().wrapping_mul(self.plan.tasks);
        let got = self.checksum.load(Ordering::Relaxed);
        if got != expected {
            anyhow::bail!("compute checksum {got:#x} differs from the expected {expected:#x}");
        }
        Ok(())
    }
}

/// Every client reads replies through a buffer of this size, whatever its
/// model, so that no model reads with fewer system calls than another.
pub const READ_BUFFER_BYTES: usize = 1024;

/// Runs task `index` on the calling thread, blocking while it waits.
pub fn blocking_task(batch: &Batch, index: usize) {
    let mut checksum = 0u64;
    for op in &batch.plan.ops {
        match op {
            Op::Sleep(duration) => std::thread::sleep(*duration),
            Op::Compute { iterations, .. } => {
                checksum = checksum.wrapping_add(compute::spin(*iterations))
            }
            Op::Request(request) => {
                let mut reply = ReplyCheck::new(index as u64, request.reply_bytes);
                let outcome = blocking_exchange(
                    request.server,
                    &protocol::request_line(index as u64),
                    &mut reply,
                )
                .and_then(|()| reply.finish());
                if let Err(error) = outcome {
                    return batch.fail(index, request_failed(request, &error));
                }
            }
            Op::ReadFile(file) => {
                let outcome = check_file(index, file, std::fs::read(file.path(index)));
                if let Err(error) = outcome {
                    return batch.fail(index, file_failed(file, index, &error));
                }
            }
            Op::Query(query) => {
                if let Err(error) = db::blocking_query(batch, index, query) {
                    return batch.fail(index, query_failed(query, &error));
                }
            }
        }
    }
    batch.done(index, checksum);
}

/// Checks that task `index` read its whole file, every byte as written
/// ([`crate::workload::files`]).
fn check_file(index: usize, file: &FileRead, contents: io::Result<Vec<u8>>) -> io::Result<()> {
    let mut check = ReplyCheck::new(index as u64, file.bytes);
    check.feed(&contents?);
    check.finish()
}

/// The error a task reports when its file read failed.
fn file_failed(file: &FileRead, index: usize, error: &io::Error) -> String {
    if file.dir.as_os_str().is_empty() {
        return "the file workload was given no files (the lab writes them before the timed                 region)"
            .into();
    }
    format!("reading {}: {error}", file.path(index).display())
}

/// The blocking models' client: `std::net`, one blocking call after another.
fn blocking_exchange(server: SocketAddr, request: &[u8], reply: &mut ReplyCheck) -> io::Result<()> {
    let mut stream = std::net::TcpStream::connect(server)?;
    stream.write_all(request)?;
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(read) => reply.feed(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// The error a task reports when its request failed.
fn request_failed(request: &Request, error: &io::Error) -> String {
    if request.server.port() == 0 {
        return "the socket workload was given no server address (the lab starts one for \
                `run` and `sweep`)"
            .into();
    }
    format!(
        "the request to the latency server at {} failed: {error}",
        request.server
    )
}

/// The error a task reports when its queries failed.
fn query_failed(query: &Query, error: &str) -> String {
    format!(
        "the queries to PostgreSQL at {} failed: {error}",
        query.database
    )
}

/// The primitives an async runtime supplies to [`async_task`].
pub trait AsyncRuntime {
    /// The runtime's own timer. Futures need not be `Send`: a
    /// thread-per-core runtime runs tasks where they were spawned, and a
    /// work-stealing runtime's concrete primitives are `Send` anyway.
    fn sleep(duration: Duration) -> impl Future<Output = ()>;

    /// The runtime's own TCP client: connect to `server`, write all of
    /// `request`, then read the reply through a [`READ_BUFFER_BYTES`] buffer,
    /// feeding every piece to `reply`, until the server closes the connection.
    fn exchange(
        server: SocketAddr,
        request: &[u8],
        reply: &mut ReplyCheck,
    ) -> impl Future<Output = io::Result<()>>;

    /// The runtime's own way of reading a whole file: a hand-off to its
    /// blocking thread pool (tokio::fs, async-std's fs, smol's `unblock`),
    /// since epoll offers no readiness for regular files, or an io_uring
    /// read (monoio).
    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>>;

    /// The runtime's own PostgreSQL driver: task `index`'s queries on a
    /// connection from the pool in `batch` ([`db`]). A runtime without a
    /// driver keeps this refusal (its runner never opens a pool).
    fn query<'a>(
        batch: &'a Batch,
        index: usize,
        query: &'a Query,
    ) -> impl Future<Output = Result<(), String>> + 'a {
        let _ = (batch, index, query);
        async { Err("this runtime has no PostgreSQL driver".to_string()) }
    }
}

/// Bytes a sleeping task's future may hold beyond the runtime's timer:
/// the batch, the task's index, its checksum, where it is in the plan and
/// the future's state. tokio allocates each task in a cell aligned to 128
/// bytes; with a `Sleep`, its fixed part leaves about this much before the
/// cell grows by 128 bytes per task. (An `async fn` here kept its arguments
/// twice, and a slice iterator 16 bytes more: 64 in all, and so 1.3× the
/// bare program's memory at a million tasks.)
pub const TASK_STATE_MAX_BYTES: usize = 48;

/// Runs task `index` as a future on runtime `R`. Compute runs inline,
/// between awaits, exactly as ordinary async code would run it.
///
/// Every byte the future keeps while it waits is multiplied by the number
/// of tasks ([`TASK_STATE_MAX_BYTES`]), so: a plain function returning an
/// `async move` block (an `async fn` stores its arguments twice), and the
/// plan walked by position rather than with a slice iterator.
// Not an `async fn`: that would store `batch` and `index` twice in every task.
#[allow(clippy::manual_async_fn)]
pub fn async_task<R: AsyncRuntime>(batch: Arc<Batch>, index: usize) -> impl Future<Output = ()> {
    async move {
        let mut checksum = 0u64;
        let mut next = 0;
        while let Some(op) = batch.plan.ops.get(next) {
            next += 1;
            match op {
                Op::Sleep(duration) => R::sleep(*duration).await,
                Op::Compute { iterations, .. } => {
                    checksum = checksum.wrapping_add(compute::spin(*iterations))
                }
                Op::Request(request) => {
                    let mut reply = ReplyCheck::new(index as u64, request.reply_bytes);
                    let line = protocol::request_line(index as u64);
                    // Boxed, so that only request tasks pay for the client's
                    // state (its read buffer): an unboxed future would make
                    // every task, even a sleeping one, that large.
                    let outcome = Box::pin(R::exchange(request.server, &line, &mut reply))
                        .await
                        .and_then(|()| reply.finish());
                    if let Err(error) = outcome {
                        return batch.fail(index, request_failed(request, &error));
                    }
                }
                Op::ReadFile(file) => {
                    // Boxed for the same reason as the request above.
                    let contents = Box::pin(R::read_file(file.path(index))).await;
                    if let Err(error) = check_file(index, file, contents) {
                        return batch.fail(index, file_failed(file, index, &error));
                    }
                }
                Op::Query(query) => {
                    // Boxed for the same reason as the request above.
                    let outcome = Box::pin(R::query(&batch, index, query)).await;
                    if let Err(error) = outcome {
                        return batch.fail(index, query_failed(query, &error));
                    }
                }
            }
        }
        batch.done(index, checksum);
    }
}

/// Typed runtimes for experiments about one runtime's own API (the claims
/// about tokio's `spawn_blocking`, a rayon pool, smol's executors): built
/// by the model file that owns the runtime, configured as that model
/// configures it, so no code outside `src/model/` builds a runtime.
pub mod runtimes {
    pub use super::rayon_pool::pool as rayon_pool;
    pub use super::smol_rt::{executor as smol_executor, local_executor as smol_local_executor};
    pub use super::tokio_current::runtime as tokio_current;
    pub use super::tokio_multi::runtime as tokio_multi;

    /// The model configuration for `workers` threads and default stacks.
    pub fn workers(workers: usize) -> super::ModelConfig {
        super::ModelConfig {
            workers,
            stack_kib: None,
        }
    }
}

/// Every model, in the order tables and charts show them.
pub fn all() -> &'static [&'static dyn Model] {
    &[
        &sequential::Sequential,
        &threads::Threads,
        &thread_pool::ThreadPool,
        &tokio_multi::TokioMulti,
        &tokio_current::TokioCurrent,
        &async_std_rt::AsyncStd,
        &smol_rt::Smol,
        &rayon_pool::Rayon,
        &monoio::Monoio,
    ]
}

/// The names of every model.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|m| m.name()).collect()
}

/// Finds a model by its CLI name.
pub fn by_name(name: &str) -> Option<&'static dyn Model> {
    all().iter().copied().find(|m| m.name() == name)
}

/// The model that gives every task its own OS thread: the blocking side
/// of many claims and charts, asked of the registry rather than named.
pub fn thread_per_task() -> &'static dyn Model {
    all()
        .iter()
        .copied()
        .find(|m| m.thread_per_task())
        .expect("the registry holds a thread-per-task model")
}

/// The names of the models that have a PostgreSQL driver, in the registry's order.
pub fn with_database_driver() -> Vec<&'static str> {
    all()
        .iter()
        .filter(|m| m.database_driver().is_some())
        .map(|m| m.name())
        .collect()
}

/// The async runtimes, in the registry's order.
pub fn async_models() -> Vec<&'static dyn Model> {
    all()
        .iter()
        .copied()
        .filter(|m| m.style() == Style::Async)
        .collect()
}

/// The reference async runtime: the registry's first async model, the one
/// a claim or a quick run measures when it samples a single runtime.
pub fn reference_async() -> &'static dyn Model {
    async_models()[0]
}

/// The rule for which cells count for memory per unit, with the models
/// that give every task its own thread as the registry says.
pub fn memory_rule() -> crate::record::memory::MemoryRule {
    crate::record::memory::MemoryRule {
        thread_per_task: all()
            .iter()
            .filter(|m| m.thread_per_task())
            .map(|m| m.name().to_string())
            .collect(),
    }
}

/// The name with "(legacy)" appended for discontinued runtimes.
pub fn label(name: &str) -> String {
    match by_name(name) {
        Some(model) if model.legacy() => format!("{name} (legacy)"),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests;
