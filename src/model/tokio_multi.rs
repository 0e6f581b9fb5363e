//! `tokio`: tokio's multi-thread runtime with `--workers` worker threads
//! (work stealing), tasks started with `tokio::spawn`. A wait parks the
//! task, not the thread, so thousands of waits share a few threads; sockets
//! are `tokio::net`, on tokio's own epoll reactor. Note:
//! files are read with `tokio::fs`, on tokio's blocking thread pool. Note:
//! tokio's timer has 1 ms granularity and rounds sleeps up to the next
//! millisecond, so sleeps shorter than ~10 ms are not fair stand-ins for I/O.

use super::lab::{self, AsyncEnd, Lab, Medium, Offers, PingPongLinks};
use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::workload::pattern::ReplyCheck;
use anyhow::Context;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct TokioMulti;

/// tokio's primitives for [`async_task`]; shared with `tokio-current`.
pub(crate) struct TokioPrimitives;

impl AsyncRuntime for TokioPrimitives {
    fn sleep(duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }

    async fn exchange(
        server: SocketAddr,
        request: &[u8],
        reply: &mut ReplyCheck,
    ) -> io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(server).await?;
        stream.write_all(request).await?;
        let mut buffer = [0u8; READ_BUFFER_BYTES];
        loop {
            match stream.read(&mut buffer).await? {
                0 => return Ok(()),
                read => reply.feed(&buffer[..read]),
            }
        }
    }

    /// `tokio::fs::read`: the read runs on tokio's blocking pool
    /// (`spawn_blocking`, up to 512 threads, kept 10 s after their last job).
    fn read_file(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> {
        tokio::fs::read(path)
    }

    /// `tokio-postgres` through `deadpool-postgres` ([`super::db`]).
    fn query<'a>(
        batch: &'a super::Batch,
        index: usize,
        query: &'a crate::workload::Query,
    ) -> impl Future<Output = Result<(), String>> + 'a {
        super::db::tokio_query(batch, index, query)
    }
}

impl Model for TokioMulti {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::TOKIO_DRIVER)
    }
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn description(&self) -> &'static str {
        "tokio multi-thread runtime, --workers worker threads, tasks spawned (timer: 1 ms granularity)"
    }
    fn style(&self) -> Style {
        Style::Async
    }
    fn workers_used(&self, workers: usize, _tasks: u64) -> u64 {
        workers as u64
    }
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers)
            .enable_all()
            .build()
            .context("building the tokio multi-thread runtime")?;
        serve_on(&runtime, listener, server)
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(TokioRunner {
            runtime: runtime(config)?,
        }))
    }
    fn crates(&self) -> &'static [&'static str] {
        &["tokio"]
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "tokio",
            "tokio::spawn on the multi-thread runtime + await handle",
        )
    }
    fn offers(&self) -> Offers {
        Offers {
            timer: Some("tokio"),
            ping_pong: Some(PING_PONG_LINKS),
            unit: Some("tokio task"),
        }
    }
    fn lab(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Ok(Box::new(TokioLab {
            runtime: runtime(config)?,
        }))
    }
}

/// The multi-thread runtime as this model runs it: `--workers` workers,
/// timer and I/O enabled. The one place the lab builds it; claims that
/// test tokio itself ask for it here.
pub fn runtime(config: &ModelConfig) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers)
        .enable_all()
        .build()
        .context("building the tokio multi-thread runtime")
}

/// What tokio's ping-pong units use (both flavours).
pub(super) const PING_PONG_LINKS: PingPongLinks = PingPongLinks {
    channel: "two tokio tasks, tokio::sync::mpsc channels (capacity 1)",
    socket: "two tokio tasks, tokio::net::UnixStream pair",
};

/// Either tokio flavour, for the experiments: tasks spawned with
/// `tokio::spawn` from inside `block_on`, as [`TokioRunner`] spawns them.
pub(super) struct TokioLab {
    pub(super) runtime: tokio::runtime::Runtime,
}

impl Lab for TokioLab {
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let task = self.runtime.spawn(lab::sample_sleeps_async(
            tokio::time::sleep,
            requested.to_vec(),
            samples,
        ));
        self.runtime
            .block_on(task)
            .context("the tokio timer task failed")
    }

    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
        self.runtime.block_on(async {
            match medium {
                // Spawned per link type: tokio::spawn needs `Send` futures,
                // which the concrete ends give and a generic helper could not prove.
                Medium::Channel => {
                    let (a, b) = TokioChannelEnd::pair();
                    let pong = tokio::spawn(lab::pong_async(b));
                    let ping = tokio::spawn(lab::ping_async(a, round_trips));
                    join(ping, pong).await
                }
                Medium::Socket => {
                    let (a, b) =
                        tokio::net::UnixStream::pair().context("creating a socket pair")?;
                    let pong = tokio::spawn(lab::pong_async(b));
                    let ping = tokio::spawn(lab::ping_async(a, round_trips));
                    join(ping, pong).await
                }
            }
        })
    }
}

/// Waits for both units of a ping-pong.
async fn join(
    ping: tokio::task::JoinHandle<io::Result<Duration>>,
    pong: tokio::task::JoinHandle<io::Result<u64>>,
) -> anyhow::Result<(Duration, u64)> {
    let elapsed = ping.await.context("the ping task failed")?;
    let echoed = pong.await.context("the pong task failed")?;
    Ok((elapsed?, echoed?))
}

struct TokioChannelEnd {
    tx: tokio::sync::mpsc::Sender<u8>,
    rx: tokio::sync::mpsc::Receiver<u8>,
}

impl TokioChannelEnd {
    fn pair() -> (TokioChannelEnd, TokioChannelEnd) {
        let (a_tx, b_rx) = tokio::sync::mpsc::channel(1);
        let (b_tx, a_rx) = tokio::sync::mpsc::channel(1);
        (
            TokioChannelEnd { tx: a_tx, rx: a_rx },
            TokioChannelEnd { tx: b_tx, rx: b_rx },
        )
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other unit stopped")
}

impl AsyncEnd for TokioChannelEnd {
    async fn send(&mut self) -> io::Result<()> {
        self.tx.send(1).await.map_err(|_| gone())
    }
    async fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().await.is_some())
    }
}

impl AsyncEnd for tokio::net::UnixStream {
    async fn send(&mut self) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(self, &[1]).await
    }
    async fn recv(&mut self) -> io::Result<bool> {
        let mut byte = [0u8];
        Ok(tokio::io::AsyncReadExt::read(self, &mut byte).await? == 1)
    }
}

/// Runs a batch on either tokio flavour: spawn every task, await every handle.
pub(super) struct TokioRunner {
    pub(super) runtime: tokio::runtime::Runtime,
}

impl Runner for TokioRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::tokio_pool(&self.runtime, query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        self.runtime.block_on(async {
            let handles: Vec<_> = (0..batch.plan.tasks as usize)
                .map(|index| tokio::spawn(async_task::<TokioPrimitives>(Arc::clone(batch), index)))
                .collect();
            batch.all_spawned();
            for handle in handles {
                handle.await.context("a tokio task failed")?;
            }
            Ok(())
        })
    }
}

impl crate::net::http::async_conn::ServerRuntime for TokioPrimitives {
    type Stream = tokio::net::TcpStream;

    async fn read(stream: &mut Self::Stream, buffer: &mut [u8]) -> io::Result<usize> {
        tokio::io::AsyncReadExt::read(stream, buffer).await
    }

    async fn write_all(stream: &mut Self::Stream, bytes: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(stream, bytes).await
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn offload(job: impl FnOnce() + Send + 'static) {
        let _ = tokio::task::spawn_blocking(job).await;
    }
}

/// Either tokio flavour's server: tokio's listener, a task per connection.
pub(super) fn serve_on(
    runtime: &tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    server: Arc<crate::net::http::Server>,
) -> anyhow::Result<()> {
    use crate::net::http::{async_conn::serve_connection, blocking::accept_failed};
    runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection::<TokioPrimitives>(
                        stream,
                        Arc::clone(&server),
                    ));
                }
                Err(error) => tokio::time::sleep(accept_failed(&error, &server)?).await,
            }
        }
    })
}
