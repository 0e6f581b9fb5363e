//! `smol`: an `async_executor::Executor` run on `--workers` threads, timers
//! and sockets (`smol::Async<TcpStream>`) from async-io (timers precise on
//! Linux). smol's global `smol::spawn` executor is
//! single-threaded unless configured, which would make an unfair
//! comparison, so the lab builds an N-thread executor explicitly, as the
//! smol documentation recommends for multi-threaded use.

use super::lab::{self, AsyncChannelEnd, FuturesSocket, Lab, Medium, Offers, PingPongLinks};
use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::workload::pattern::ReplyCheck;
use anyhow::Context;
use async_executor::Executor;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Smol;

pub(crate) struct SmolPrimitives;

impl AsyncRuntime for SmolPrimitives {
    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }

    async fn exchange(
        server: SocketAddr,
        request: &[u8],
        reply: &mut ReplyCheck,
    ) -> io::Result<()> {
        use smol::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = smol::Async::<std::net::TcpStream>::connect(server).await?;
        stream.write_all(request).await?;
        let mut buffer = [0u8; READ_BUFFER_BYTES];
        loop {
            match stream.read(&mut buffer).await? {
                0 => return Ok(()),
                read => reply.feed(&buffer[..read]),
            }
        }
    }

    /// `smol::unblock(std::fs::read)`: the read runs on the `blocking`
    /// crate's thread pool (up to 500 threads), as smol's own file types do.
    async fn read_file(path: PathBuf) -> io::Result<Vec<u8>> {
        smol::unblock(move || std::fs::read(path)).await
    }
}

impl Model for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn description(&self) -> &'static str {
        "smol: an async-executor Executor on --workers threads, async-io timers"
    }
    fn style(&self) -> Style {
        Style::Async
    }
    fn workers_used(&self, workers: usize, _tasks: u64) -> u64 {
        workers as u64
    }
    fn crates(&self) -> &'static [&'static str] {
        &["smol", "async-executor", "async-io"]
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        ("smol", "smol Executor::spawn on N threads + await task")
    }
    fn offers(&self) -> Offers {
        Offers {
            timer: Some("smol"),
            ping_pong: Some(PingPongLinks {
                channel: "two smol tasks, smol::channel (capacity 1)",
                socket: "two smol tasks, Async<UnixStream> pair",
            }),
            unit: Some("smol task"),
        }
    }
    fn lab(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Ok(Box::new(start(config)?))
    }
    /// async-io's listener and a task per connection on an executor run by
    /// --workers threads (the accepting thread is one of them).
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        use crate::net::http::{async_conn::serve_connection, blocking::accept_failed};
        let executor = Arc::new(Executor::new());
        for id in 1..config.workers {
            let executor = Arc::clone(&executor);
            std::thread::Builder::new()
                .name(format!("smol-{id}"))
                .spawn(move || smol::block_on(executor.run(std::future::pending::<()>())))
                .context("starting a smol executor thread")?;
        }
        let listener = smol::Async::new(listener)?;
        smol::block_on(executor.run(async {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.get_ref().set_nodelay(true);
                        executor
                            .spawn(serve_connection::<SmolPrimitives>(
                                stream,
                                Arc::clone(&server),
                            ))
                            .detach();
                    }
                    Err(error) => {
                        smol::Timer::after(accept_failed(&error, &server)?).await;
                    }
                }
            }
        }))
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(start(config)?))
    }
}

/// A bare multi-threaded executor, run by whoever calls it (the claims that
/// show its spawn and cancel semantics).
pub fn executor() -> Executor<'static> {
    Executor::new()
}

/// A single-threaded executor, run by the calling thread (the claim that a
/// blocking call freezes an event loop).
pub fn local_executor() -> async_executor::LocalExecutor<'static> {
    async_executor::LocalExecutor::new()
}

/// An N-thread executor, its timer reactor started, ready for tasks.
fn start(config: &ModelConfig) -> anyhow::Result<SmolRunner> {
    {
        let executor = Arc::new(Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let mut workers = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            let executor = Arc::clone(&executor);
            let stopped = stopped.clone();
            let worker = std::thread::Builder::new()
                .name(format!("smol-{id}"))
                .spawn(move || smol::block_on(executor.run(stopped.recv())))
                .context("starting a smol executor thread")?;
            workers.push(worker);
        }
        // Start the timer reactor now, untimed.
        smol::block_on(executor.spawn(async {
            smol::Timer::after(Duration::from_micros(1)).await;
        }));
        Ok(SmolRunner {
            executor,
            stop: Some(stop),
            workers,
        })
    }
}

impl Lab for SmolRunner {
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        let sleep = |duration| async move {
            smol::Timer::after(duration).await;
        };
        let task =
            self.executor
                .spawn(lab::sample_sleeps_async(sleep, requested.to_vec(), samples));
        Ok(smol::block_on(task))
    }

    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
        let executor = &self.executor;
        smol::block_on(async {
            // Spawned per link type, so that the concrete ends prove `Send`.
            let (elapsed, echoed) = match medium {
                Medium::Channel => {
                    let (a, b) = AsyncChannelEnd::pair();
                    let pong = executor.spawn(lab::pong_async(b));
                    let ping = executor.spawn(lab::ping_async(a, round_trips));
                    (ping.await, pong.await)
                }
                Medium::Socket => {
                    let (a, b) = smol::Async::<std::os::unix::net::UnixStream>::pair()
                        .context("creating a socket pair")?;
                    let pong = executor.spawn(lab::pong_async(FuturesSocket(b)));
                    let ping = executor.spawn(lab::ping_async(FuturesSocket(a), round_trips));
                    (ping.await, pong.await)
                }
            };
            Ok((elapsed?, echoed?))
        })
    }
}

struct SmolRunner {
    executor: Arc<Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    workers: Vec<JoinHandle<Result<(), smol::channel::RecvError>>>,
}

impl Runner for SmolRunner {
    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let tasks: Vec<_> = (0..batch.plan.tasks as usize)
            .map(|index| {
                self.executor
                    .spawn(async_task::<SmolPrimitives>(Arc::clone(batch), index))
            })
            .collect();
        batch.all_spawned();
        smol::block_on(async {
            for task in tasks {
                task.await;
            }
        });
        Ok(())
    }
}

impl Drop for SmolRunner {
    fn drop(&mut self) {
        // Closing the channel ends every worker's `run`.
        self.stop.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl crate::net::http::async_conn::ServerRuntime for SmolPrimitives {
    type Stream = smol::Async<std::net::TcpStream>;

    async fn read(stream: &mut Self::Stream, buffer: &mut [u8]) -> io::Result<usize> {
        smol::io::AsyncReadExt::read(stream, buffer).await
    }

    async fn write_all(stream: &mut Self::Stream, bytes: &[u8]) -> io::Result<()> {
        smol::io::AsyncWriteExt::write_all(stream, bytes).await
    }

    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }

    async fn offload(job: impl FnOnce() + Send + 'static) {
        smol::unblock(job).await
    }
}
