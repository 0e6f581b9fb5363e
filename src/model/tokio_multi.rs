//! `tokio`: tokio's multi-thread runtime with `--workers` worker threads
//! (work stealing), tasks started with `tokio::spawn`. A wait parks the
//! task, not the thread, so thousands of waits share a few threads; sockets
//! are `tokio::net`, on tokio's own epoll reactor. Note:
//! tokio's timer has 1 ms granularity and rounds sleeps up to the next
//! millisecond, so sleeps shorter than ~10 ms are not fair stand-ins for I/O.

use super::{
    async_task, AsyncRuntime, Batch, Model, ModelConfig, Runner, Style, READ_BUFFER_BYTES,
};
use crate::protocol::ReplyCheck;
use anyhow::Context;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct TokioMulti;

/// tokio's primitives for [`async_task`]; shared with `tokio-current`.
pub(crate) struct TokioPrimitives;

impl AsyncRuntime for TokioPrimitives {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
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
}

impl Model for TokioMulti {
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
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers)
            .enable_all()
            .build()
            .context("building the tokio multi-thread runtime")?;
        Ok(Box::new(TokioRunner { runtime }))
    }
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers)
            .enable_all()
            .build()
            .context("building the tokio multi-thread runtime")?;
        serve_on(&runtime, listener, server)
    }
}

/// Runs a batch on either tokio flavour: spawn every task, await every handle.
pub(super) struct TokioRunner {
    pub(super) runtime: tokio::runtime::Runtime,
}

impl Runner for TokioRunner {
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

impl crate::http::async_conn::ServerRuntime for TokioPrimitives {
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
    server: Arc<crate::http::Server>,
) -> anyhow::Result<()> {
    use crate::http::{async_conn::serve_connection, blocking::accept_failed};
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
