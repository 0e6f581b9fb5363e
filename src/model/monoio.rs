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

use super::lab::{self, AsyncChannelEnd, AsyncEnd, Lab, Medium, Offers, PingPongLinks};
use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::protocol::ReplyCheck;
use anyhow::Context;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
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
    /// Not yet: the lab's HTTP core reads into borrowed buffers, and
    /// monoio's io_uring sockets want owned ones.
    fn serves(&self) -> bool {
        false
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

// ---- the file workload ----

/// `monoio::fs::read`: open, then one read of the whole file into an owned
/// buffer, both submitted to io_uring — no thread pool. (On the epoll
/// fallback monoio makes the same calls as plain blocking syscalls on the
/// worker thread.)
async fn read_whole_file(path: PathBuf) -> io::Result<Vec<u8>> {
    monoio::fs::read(path).await
}
