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
use crate::protocol::ReplyCheck;
use anyhow::Context;
use async_executor::Executor;
use std::io;
use std::net::SocketAddr;
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
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(start(config)?))
    }
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
