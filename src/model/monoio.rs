//! `monoio`: ByteDance's thread-per-core runtime. `--workers` threads, each
//! running its own monoio runtime; the tasks of a plan are dealt out
//! round-robin (task i to worker i mod N) and never move: there is no work
//! stealing, so a worker with more work than the others finishes last while
//! the others idle. That is the lesson beside tokio's work stealing: no
//! task crosses a thread (no `Send`, no locks on the hot path), at the price
//! of balance.
//!
//! I/O goes through io_uring where the kernel allows it, else through the
//! legacy epoll driver: monoio's `FusionDriver` decides when a runtime is
//! built, and [`Model::runtime_note`] records which one this machine gets
//! (the same check, `monoio::utils::detect_uring`). Timers are monoio's own;
//! sockets are `monoio::net`, read and written with owned buffers. monoio
//! has no channel of its own in this build, so its ping-pong over a channel
//! uses async-channel; what it cannot do, it leaves out of its [`Offers`].
//!
//! Its HTTP server (`serve --model monoio`, the last section of this file)
//! is thread-per-core too: one runtime and one listener per worker, the
//! kernel dealing connections among the listeners (SO_REUSEPORT), each
//! connection served to its end on the worker that accepted it.

use super::lab::{self, AsyncChannelEnd, AsyncEnd, Lab, Medium, Offers, PingPongLinks};
use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::net::http::async_conn::OwnedBufferRuntime;
use crate::workload::pattern::ReplyCheck;
use anyhow::Context;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use std::borrow::Cow;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Monoio;

struct MonoioPrimitives;

impl AsyncRuntime for MonoioPrimitives {
    async fn sleep(duration: Duration) {
        monoio::time::sleep(duration).await;
    }

    async fn exchange(
        server: SocketAddr,
        request: &[u8],
        reply: &mut ReplyCheck,
    ) -> io::Result<()> {
        let mut stream = monoio::net::TcpStream::connect(server).await?;
        // monoio owns the buffer while the kernel works on it (io_uring).
        let (written, _) = stream.write_all(request.to_vec()).await;
        written?;
        let mut buffer = Vec::with_capacity(READ_BUFFER_BYTES);
        loop {
            let (read, mut filled) = stream.read(buffer).await;
            match read? {
                0 => return Ok(()),
                read => reply.feed(&filled[..read]),
            }
            filled.clear();
            buffer = filled;
        }
    }

    fn read_file(path: PathBuf) -> impl std::future::Future<Output = io::Result<Vec<u8>>> {
        read_whole_file(path)
    }
}

/// One runtime, with its timer, on the calling thread.
fn runtime() -> anyhow::Result<
    monoio::FusionRuntime<
        monoio::time::TimeDriver<monoio::IoUringDriver>,
        monoio::time::TimeDriver<monoio::LegacyDriver>,
    >,
> {
    monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
        .context("building a monoio runtime")
}

impl Model for Monoio {
    fn name(&self) -> &'static str {
        "monoio"
    }
    fn description(&self) -> &'static str {
        "monoio thread-per-core: one runtime per --workers thread, tasks dealt round-robin, no work stealing (io_uring, epoll fallback)"
    }
    fn style(&self) -> Style {
        Style::Async
    }
    fn workers_used(&self, workers: usize, _tasks: u64) -> u64 {
        workers as u64
    }
    fn runtime_note(&self) -> Option<String> {
        Some(if monoio::utils::detect_uring() {
            "io_uring driver".to_string()
        } else {
            "legacy epoll driver (io_uring not available)".to_string()
        })
    }
    fn crates(&self) -> &'static [&'static str] {
        &["monoio"]
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "monoio",
            "monoio::spawn on the worker the task is dealt to + await handle",
        )
    }
    fn offers(&self) -> Offers {
        Offers {
            timer: Some("monoio"),
            ping_pong: Some(PingPongLinks {
                channel: "two monoio tasks on one runtime, async-channel (capacity 1)",
                socket: "two monoio tasks on one runtime, monoio::net::UnixStream pair",
            }),
            unit: Some("monoio task"),
        }
    }
    /// Thread-per-core: one runtime and one listener per worker on the same
    /// port (SO_REUSEPORT); see `serve_thread_per_core` below.
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        serve_thread_per_core(listener, server, config.workers)
    }
    fn lab(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Ok(Box::new(MonoioLab {
            runtime: runtime()?,
        }))
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        let mut workers = Vec::with_capacity(config.workers);
        let mut senders = Vec::with_capacity(config.workers);
        for id in 0..config.workers.max(1) {
            let (sender, receiver) = smol::channel::unbounded::<Job>();
            let (ready, is_ready) = mpsc::channel::<Result<(), String>>();
            let worker = std::thread::Builder::new()
                .name(format!("monoio-{id}"))
                .spawn(move || worker_loop(receiver, ready))
                .context("starting a monoio worker thread")?;
            // Wait until the runtime is built and its timer has ticked, untimed.
            is_ready
                .recv()
                .context("a monoio worker stopped while starting")?
                .map_err(anyhow::Error::msg)?;
            workers.push(worker);
            senders.push(sender);
        }
        Ok(Box::new(MonoioRunner { senders, workers }))
    }
}

/// A worker's share of a plan: tasks `first`, `first + stride`, ...
struct Job {
    batch: Arc<Batch>,
    first: usize,
    stride: usize,
    finished: mpsc::Sender<()>,
}

fn worker_loop(jobs: smol::channel::Receiver<Job>, ready: mpsc::Sender<Result<(), String>>) {
    let mut runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(format!("{error:#}")));
            return;
        }
    };
    runtime.block_on(async move {
        monoio::time::sleep(Duration::from_micros(1)).await;
        let _ = ready.send(Ok(()));
        while let Ok(job) = jobs.recv().await {
            let tasks = job.batch.plan.tasks as usize;
            let handles: Vec<_> = (job.first..tasks)
                .step_by(job.stride)
                .map(|index| {
                    monoio::spawn(async_task::<MonoioPrimitives>(
                        Arc::clone(&job.batch),
                        index,
                    ))
                })
                .collect();
            // Every worker marks its last spawn; the latest mark stands.
            job.batch.all_spawned();
            for handle in handles {
                handle.await;
            }
            let _ = job.finished.send(());
        }
    });
}

struct MonoioRunner {
    senders: Vec<smol::channel::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Runner for MonoioRunner {
    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let (finished, all_finished) = mpsc::channel();
        let stride = self.senders.len();
        for (first, sender) in self.senders.iter().enumerate() {
            sender
                .send_blocking(Job {
                    batch: Arc::clone(batch),
                    first,
                    stride,
                    finished: finished.clone(),
                })
                .map_err(|_| anyhow::anyhow!("a monoio worker has stopped"))?;
        }
        drop(finished);
        for _ in 0..stride {
            all_finished.recv().map_err(|_| {
                anyhow::anyhow!("a monoio worker stopped before its tasks finished")
            })?;
        }
        Ok(())
    }
}

impl Drop for MonoioRunner {
    fn drop(&mut self) {
        // Closing the channels ends every worker's loop.
        self.senders.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// One runtime on the calling thread, for the experiments: both units of a
/// ping-pong are tasks on it, as two tasks dealt to one worker would be.
struct MonoioLab {
    runtime: monoio::FusionRuntime<
        monoio::time::TimeDriver<monoio::IoUringDriver>,
        monoio::time::TimeDriver<monoio::LegacyDriver>,
    >,
}

impl Lab for MonoioLab {
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let requested = requested.to_vec();
        Ok(self.runtime.block_on(async move {
            monoio::spawn(lab::sample_sleeps_async(
                monoio::time::sleep,
                requested,
                samples,
            ))
            .await
        }))
    }

    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
        self.runtime.block_on(async move {
            let (elapsed, echoed) = match medium {
                Medium::Channel => {
                    let (a, b) = AsyncChannelEnd::pair();
                    let pong = monoio::spawn(lab::pong_async(b));
                    let ping = monoio::spawn(lab::ping_async(a, round_trips));
                    (ping.await, pong.await)
                }
                Medium::Socket => {
                    let (a, b) =
                        monoio::net::UnixStream::pair().context("creating a socket pair")?;
                    let pong = monoio::spawn(lab::pong_async(MonoioSocket::new(b)));
                    let ping = monoio::spawn(lab::ping_async(MonoioSocket::new(a), round_trips));
                    (ping.await, pong.await)
                }
            };
            Ok((elapsed?, echoed?))
        })
    }
}

/// A monoio socket as a ping-pong end; its one-byte buffer is handed to
/// the kernel and back on every call.
struct MonoioSocket {
    stream: monoio::net::UnixStream,
    buffer: Option<Vec<u8>>,
}

impl MonoioSocket {
    fn new(stream: monoio::net::UnixStream) -> MonoioSocket {
        MonoioSocket {
            stream,
            buffer: Some(Vec::with_capacity(1)),
        }
    }
}

impl AsyncEnd for MonoioSocket {
    async fn send(&mut self) -> io::Result<()> {
        let mut buffer = self.buffer.take().unwrap_or_default();
        buffer.clear();
        buffer.push(1);
        let (written, buffer) = self.stream.write_all(buffer).await;
        self.buffer = Some(buffer);
        written.map(|_| ())
    }
    async fn recv(&mut self) -> io::Result<bool> {
        let mut buffer = self.buffer.take().unwrap_or_default();
        buffer.clear();
        let (read, buffer) = self.stream.read(buffer).await;
        self.buffer = Some(buffer);
        Ok(read? == 1)
    }
}

// ---- Serving HTTP: `serve --model monoio` ----

/// Thread-per-core serving: `workers` threads, each with its own monoio
/// runtime and its own listener on the same port. The listener `serve`
/// opened is the first; the others join it with SO_REUSEPORT, and the
/// kernel deals each new connection to one listener by a hash of its
/// addresses and ports. A connection is served to its end on the worker
/// that accepted it: no task moves, nothing is shared but the counters.
/// The price is balance, as with the plans of [`Model::prepare`]:
/// connections are dealt by hash, not by load, so with few connections one
/// worker may hold more than its share, and a worker blocked by
/// `mode=block` holds up every connection dealt to it while another idles.
/// (One listener shared by all workers would not help: each worker's
/// accept stays queued in its own ring, so a blocked worker still takes
/// connections it cannot serve.) Returns when a worker fails; otherwise
/// serves until the process ends.
fn serve_thread_per_core(
    listener: std::net::TcpListener,
    server: Arc<crate::net::http::Server>,
    workers: usize,
) -> anyhow::Result<()> {
    let listeners = with_reuse_port_siblings(listener, workers.max(1))?;
    let (ended, first_ended) = mpsc::channel::<anyhow::Result<()>>();
    for (id, listener) in listeners.into_iter().enumerate() {
        let server = Arc::clone(&server);
        let ended = ended.clone();
        std::thread::Builder::new()
            .name(format!("monoio-serve-{id}"))
            .spawn(move || {
                let _ = ended.send(serve_on_this_thread(listener, server));
            })
            .context("starting a monoio server thread")?;
    }
    drop(ended);
    first_ended
        .recv()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("every monoio server thread stopped")))
        .context("a monoio server thread stopped")
}

/// `first` and `count - 1` more listeners on its port, with SO_REUSEPORT.
/// `first` was bound without it (so that it never shares a port with a
/// stranger's listener); setting it now lets the siblings in.
fn with_reuse_port_siblings(
    first: std::net::TcpListener,
    count: usize,
) -> anyhow::Result<Vec<std::net::TcpListener>> {
    use socket2::{Domain, Protocol, SockRef, Socket, Type};
    let addr = first.local_addr().context("reading the bound address")?;
    let mut listeners = Vec::with_capacity(count);
    if count > 1 {
        SockRef::from(&first)
            .set_reuse_port(true)
            .context("setting SO_REUSEPORT on the listener")?;
    }
    listeners.push(first);
    for _ in 1..count {
        let sibling = (|| -> io::Result<std::net::TcpListener> {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_reuse_port(true)?;
            socket.bind(&addr.into())?;
            socket.listen(crate::net::latency::LISTEN_BACKLOG)?;
            Ok(socket.into())
        })()
        .with_context(|| format!("opening another listener on {addr} (SO_REUSEPORT)"))?;
        listeners.push(sibling);
    }
    Ok(listeners)
}

/// One worker: a runtime on this thread, accepting on its own listener and
/// spawning a task per connection, until accepting fails for good.
fn serve_on_this_thread(
    listener: std::net::TcpListener,
    server: Arc<crate::net::http::Server>,
) -> anyhow::Result<()> {
    let mut runtime = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .attach_thread_pool(Box::new(GrowingBlockingPool))
        .build()
        .context("building a monoio runtime")?;
    runtime.block_on(accept_connections(listener, server))
}

async fn accept_connections(
    listener: std::net::TcpListener,
    server: Arc<crate::net::http::Server>,
) -> anyhow::Result<()> {
    use crate::net::http::{async_conn::serve_owned_connection, blocking::accept_failed};
    // The epoll fallback needs a non-blocking socket; io_uring does not mind.
    listener
        .set_nonblocking(true)
        .context("making the listener non-blocking")?;
    // Registered with this thread's driver, so it is made inside the runtime.
    let listener =
        monoio::net::TcpListener::from_std(listener).context("handing the listener to monoio")?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                // Detached: the task runs on, on this thread, until its connection ends.
                drop(monoio::spawn(serve_owned_connection::<MonoioServing>(
                    stream,
                    Arc::clone(&server),
                )));
            }
            Err(error) => monoio::time::sleep(accept_failed(&error, &server)?).await,
        }
    }
}

/// monoio's sockets, timer and blocking pool for the shared HTTP handler
/// ([`crate::net::http::async_conn`]). A read hands the connection's buffer to
/// the kernel and gets it back; a write hands over the response head, or a
/// piece of the shared `'static` body pattern (no copy).
struct MonoioServing;

impl OwnedBufferRuntime for MonoioServing {
    type Stream = monoio::net::TcpStream;

    async fn read(
        stream: &mut Self::Stream,
        buffer: Vec<u8>,
        from: usize,
    ) -> (io::Result<usize>, Vec<u8>) {
        let length = buffer.len();
        let (read, slice) = stream.read(buffer.slice_mut(from..length)).await;
        let mut buffer = slice.into_inner();
        // monoio sets the Vec's length to the end of what it read; the
        // handler lent it whole and wants it back whole.
        buffer.resize(length, 0);
        (read, buffer)
    }

    async fn write_all(stream: &mut Self::Stream, bytes: Cow<'static, [u8]>) -> io::Result<()> {
        let written = match bytes {
            Cow::Owned(bytes) => stream.write_all(bytes).await.0,
            Cow::Borrowed(bytes) => stream.write_all(bytes).await.0,
        };
        written.map(|_| ())
    }

    async fn sleep(duration: Duration) {
        monoio::time::sleep(duration).await;
    }

    async fn offload(job: impl FnOnce() + Send + 'static) {
        // Err only if the pool dropped the job unrun; the reply follows either way.
        let _ = monoio::spawn_blocking(job).await;
    }
}

/// The pool behind `monoio::spawn_blocking` in the server (`mode=offload`).
/// monoio runs blocking jobs on whatever pool is attached to the runtime;
/// its own `DefaultThreadPool` starts a fixed number of threads up front.
/// This one hands each job to the `blocking` crate's pool (smol's
/// `unblock`), which, like tokio's `spawn_blocking` pool, starts threads as
/// jobs wait and lets idle ones go (up to 500). One pool serves every
/// worker, as tokio's serves all of its workers.
struct GrowingBlockingPool;

impl monoio::blocking::ThreadPool for GrowingBlockingPool {
    fn schedule_task(&self, task: monoio::blocking::BlockingTask) {
        smol::unblock(move || task.run()).detach();
    }
}

// ---- the file workload ----

/// `monoio::fs::read`: open, then one read of the whole file into an owned
/// buffer, both submitted to io_uring — no thread pool. (On the epoll
/// fallback monoio makes the same calls as plain blocking syscalls on the
/// worker thread.)
async fn read_whole_file(path: PathBuf) -> io::Result<Vec<u8>> {
    monoio::fs::read(path).await
}
