//! `async-std` (legacy): async-std's global executor with `--workers`
//! threads, tasks started with `async_std::task::spawn`, timers and
//! `async_std::net` sockets from async-io (timers precise on Linux). async-std is discontinued upstream; it stays
//! here because much existing code and teaching material uses it.
//!
//! Its executor is global and sized once per process from
//! `ASYNC_STD_THREAD_COUNT`, which is one more reason each cell runs in its
//! own process.

use super::lab::{self, AsyncEnd, FuturesSocket, Lab, Medium, Offers, PingPongLinks};
use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::workload::pattern::ReplyCheck;
use anyhow::Context;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub struct AsyncStd;

pub(crate) struct AsyncStdPrimitives;

impl AsyncRuntime for AsyncStdPrimitives {
    fn sleep(duration: Duration) -> impl Future<Output = ()> {
        async_std::task::sleep(duration)
    }

    async fn exchange(
        server: SocketAddr,
        request: &[u8],
        reply: &mut ReplyCheck,
    ) -> io::Result<()> {
        use async_std::io::{ReadExt, WriteExt};
        let mut stream = async_std::net::TcpStream::connect(server).await?;
        stream.write_all(request).await?;
        let mut buffer = [0u8; READ_BUFFER_BYTES];
        loop {
            match stream.read(&mut buffer).await? {
                0 => return Ok(()),
                read => reply.feed(&buffer[..read]),
            }
        }
    }

    /// `async_std::fs::read`: the read runs on the blocking pool async-std
    /// shares with smol (the `blocking` crate, up to 500 threads).
    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> {
        async_std::fs::read(path)
    }
}

/// The worker count the global executor was started with in this process.
static STARTED_WITH: OnceLock<usize> = OnceLock::new();

impl Model for AsyncStd {
    fn name(&self) -> &'static str {
        "async-std"
    }
    fn description(&self) -> &'static str {
        "async-std (legacy: discontinued upstream), --workers executor threads, async-io timers"
    }
    fn style(&self) -> Style {
        Style::Async
    }
    fn legacy(&self) -> bool {
        true
    }
    fn workers_used(&self, workers: usize, _tasks: u64) -> u64 {
        workers as u64
    }
    fn crates(&self) -> &'static [&'static str] {
        &["async-std", "async-io"]
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        ("async-std", "async_std::task::spawn + await handle")
    }
    fn offers(&self) -> Offers {
        Offers {
            timer: Some("async-std"),
            ping_pong: Some(PingPongLinks {
                channel: "two async-std tasks, async_std::channel (capacity 1)",
                socket: "two async-std tasks, async_std::os::unix::net::UnixStream pair",
            }),
            unit: Some("async-std task"),
        }
    }
    fn lab(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        start(config)?;
        Ok(Box::new(AsyncStdLab))
    }
    /// async-std's listener and a task per connection on its global executor.
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        use crate::net::http::{async_conn::serve_connection, blocking::accept_failed};
        // Starts the global executor with --workers threads.
        self.prepare(config)?;
        async_std::task::block_on(async {
            let listener = async_std::net::TcpListener::from(listener);
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        async_std::task::spawn(serve_connection::<AsyncStdPrimitives>(
                            stream,
                            Arc::clone(&server),
                        ));
                    }
                    Err(error) => async_std::task::sleep(accept_failed(&error, &server)?).await,
                }
            }
        })
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        start(config)?;
        Ok(Box::new(AsyncStdRunner))
    }
}

/// Starts the global executor with `config.workers` threads (once per
/// process), or checks that it runs with that many.
fn start(config: &ModelConfig) -> anyhow::Result<()> {
    {
        let started = *STARTED_WITH.get_or_init(|| {
            // The executor reads this once, when it starts.
            std::env::set_var("ASYNC_STD_THREAD_COUNT", config.workers.to_string());
            // Start the executor threads and the timer reactor now, untimed.
            async_std::task::block_on(async_std::task::spawn(async {
                async_std::task::sleep(Duration::from_micros(1)).await
            }));
            config.workers
        });
        if started != config.workers {
            anyhow::bail!(
                "async-std's global executor already runs {started} threads in this process; \
                 {} were asked for (run each cell in its own process)",
                config.workers
            );
        }
        Ok(())
    }
}

/// The global executor, for the experiments.
struct AsyncStdLab;

impl Lab for AsyncStdLab {
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        Ok(async_std::task::block_on(async_std::task::spawn(
            lab::sample_sleeps_async(async_std::task::sleep, requested.to_vec(), samples),
        )))
    }

    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
        async_std::task::block_on(async {
            // Spawned per link type, so that the concrete ends prove `Send`.
            let (elapsed, echoed) = match medium {
                Medium::Channel => {
                    let (a, b) = AsyncStdChannelEnd::pair();
                    let pong = async_std::task::spawn(lab::pong_async(b));
                    let ping = async_std::task::spawn(lab::ping_async(a, round_trips));
                    (ping.await, pong.await)
                }
                Medium::Socket => {
                    let (a, b) = async_std::os::unix::net::UnixStream::pair()
                        .context("creating a socket pair")?;
                    let pong = async_std::task::spawn(lab::pong_async(FuturesSocket(b)));
                    let ping =
                        async_std::task::spawn(lab::ping_async(FuturesSocket(a), round_trips));
                    (ping.await, pong.await)
                }
            };
            Ok((elapsed?, echoed?))
        })
    }
}

/// async-std's channel (its own copy of async-channel, version 1).
struct AsyncStdChannelEnd {
    tx: async_std::channel::Sender<u8>,
    rx: async_std::channel::Receiver<u8>,
}

impl AsyncStdChannelEnd {
    fn pair() -> (AsyncStdChannelEnd, AsyncStdChannelEnd) {
        let (a_tx, b_rx) = async_std::channel::bounded(1);
        let (b_tx, a_rx) = async_std::channel::bounded(1);
        (
            AsyncStdChannelEnd { tx: a_tx, rx: a_rx },
            AsyncStdChannelEnd { tx: b_tx, rx: b_rx },
        )
    }
}

impl AsyncEnd for AsyncStdChannelEnd {
    async fn send(&mut self) -> io::Result<()> {
        self.tx
            .send(1)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the other unit stopped"))
    }
    async fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().await.is_ok())
    }
}

struct AsyncStdRunner;

impl Runner for AsyncStdRunner {
    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        async_std::task::block_on(async {
            let handles: Vec<_> = (0..batch.plan.tasks as usize)
                .map(|index| {
                    async_std::task::spawn(async_task::<AsyncStdPrimitives>(
                        Arc::clone(batch),
                        index,
                    ))
                })
                .collect();
            batch.all_spawned();
            for handle in handles {
                handle.await;
            }
        });
        Ok(())
    }
}

impl crate::net::http::async_conn::ServerRuntime for AsyncStdPrimitives {
    type Stream = async_std::net::TcpStream;

    async fn read(stream: &mut Self::Stream, buffer: &mut [u8]) -> io::Result<usize> {
        async_std::io::ReadExt::read(stream, buffer).await
    }

    async fn write_all(stream: &mut Self::Stream, bytes: &[u8]) -> io::Result<()> {
        async_std::io::WriteExt::write_all(stream, bytes).await
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(duration)
    }

    async fn offload(job: impl FnOnce() + Send + 'static) {
        async_std::task::spawn_blocking(job).await
    }
}
