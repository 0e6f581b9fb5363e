//! What a model offers the lab's experiments besides running plans, and the
//! experiment bodies every model shares.
//!
//! A model says what it can do in [`Offers`] (known without building
//! anything) and builds its runtime for the experiments in
//! [`super::Model::lab`], exactly as [`super::Model::prepare`] builds it. The
//! [`Lab`] it returns runs the timer and ping-pong experiments on that
//! runtime, through the runtime's own timer, spawn, channel and sockets. The
//! bodies are written once, here — [`sample_sleeps_async`], [`ping_async`] /
//! [`pong_async`] and their blocking twins — and each model file only plugs
//! in its primitives. None of them asks for `Send`: a thread-per-core
//! runtime (monoio) runs them as local tasks, and a work-stealing one
//! (tokio) gets `Send` futures from its concrete primitives.

use super::{ModelConfig, Runner};
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a model offers the experiments. Everything defaults to "nothing":
/// a model that cannot do something says so by leaving it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offers {
    /// The timer its tasks sleep on, when it is the model's own (the timer
    /// chart shows each timer once: `tokio-current` shares tokio's, the
    /// pools sleep with `std::thread::sleep` like `threads`).
    pub timer: Option<&'static str>,
    /// Two units playing ping-pong, for the switch-cost experiment: what
    /// the units and each link are.
    pub ping_pong: Option<PingPongLinks>,
    /// What one unit is called in the cost table (`thread`, `tokio task`),
    /// when the model is one of the table's rows (those with their own timer).
    pub unit: Option<&'static str>,
}

/// The primitives behind a model's ping-pong, in one line each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPongLinks {
    /// Over the runtime's own channel.
    pub channel: &'static str,
    /// Over a Unix socket pair, through the runtime's reactor.
    pub socket: &'static str,
}

/// How the two units of a ping-pong talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// The runtime's own channel (std's mpsc for threads).
    Channel,
    /// A Unix stream socket pair, through the runtime's reactor for tasks.
    Socket,
}

impl Medium {
    pub const ALL: [Medium; 2] = [Medium::Channel, Medium::Socket];

    pub fn name(self) -> &'static str {
        match self {
            Medium::Channel => "channel",
            Medium::Socket => "socket",
        }
    }
}

/// A model's runtime, built for the experiments (not timed).
pub trait Lab {
    /// Sleeps once untimed, then `samples` times timed, for each requested
    /// duration, in a task on the runtime; returns the times taken, ms.
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>>;

    /// Two units play ping-pong over `medium`: one untimed exchange, then
    /// `round_trips` timed. Returns the timed part and the echoes counted
    /// by the ponging unit (`round_trips + 1` when none was lost).
    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)>;
}

/// A way of spawning that a model's runtime offers but the model does not
/// use (rayon's `ThreadPool::spawn` beside the `rayon` model's scope), so
/// the spawn-cost experiment can compare the two.
pub struct OtherSpawn {
    /// A short name for tables and bench ids (`rayon-spawn`).
    pub name: &'static str,
    /// The primitive, in one line.
    pub description: &'static str,
    /// Builds it, not timed; its runner spawns one unit per task of a plan.
    pub prepare: fn(&ModelConfig) -> anyhow::Result<Box<dyn Runner>>,
}

/// The error of a model asked for an experiment it does not offer.
pub fn not_offered(model: &str) -> anyhow::Error {
    anyhow::anyhow!("the {model} model offers no runtime of its own for the experiments")
}

/// The timer experiment's body for an async runtime: its sleep, timed.
pub async fn sample_sleeps_async<S, F>(
    sleep: S,
    requested: Vec<Duration>,
    samples: usize,
) -> Vec<Vec<f64>>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut all = Vec::new();
    for duration in requested {
        sleep(duration).await;
        let mut taken = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            sleep(duration).await;
            taken.push(start.elapsed().as_secs_f64() * 1e3);
        }
        all.push(taken);
    }
    all
}

/// The timer experiment's body for `std::thread::sleep`.
pub fn sample_sleeps_blocking(requested: &[Duration], samples: usize) -> Vec<Vec<f64>> {
    let mut all = Vec::new();
    for &duration in requested {
        std::thread::sleep(duration);
        let mut taken = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            std::thread::sleep(duration);
            taken.push(start.elapsed().as_secs_f64() * 1e3);
        }
        all.push(taken);
    }
    all
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other unit stopped")
}

/// One end of a ping-pong link, for units that block.
pub trait BlockingEnd: Send + 'static {
    fn send(&mut self) -> io::Result<()>;
    /// Waits for a message; `false` when the other end has gone.
    fn recv(&mut self) -> io::Result<bool>;
}

/// One end of a ping-pong link, for tasks.
pub trait AsyncEnd: 'static {
    fn send(&mut self) -> impl Future<Output = io::Result<()>>;
    /// Waits for a message; `false` when the other end has gone.
    fn recv(&mut self) -> impl Future<Output = io::Result<bool>>;
}

/// std's channels, for threads.
pub struct StdChannelEnd {
    tx: mpsc::Sender<u8>,
    rx: mpsc::Receiver<u8>,
}

impl StdChannelEnd {
    pub fn pair() -> (StdChannelEnd, StdChannelEnd) {
        let (a_tx, b_rx) = mpsc::channel();
        let (b_tx, a_rx) = mpsc::channel();
        (
            StdChannelEnd { tx: a_tx, rx: a_rx },
            StdChannelEnd { tx: b_tx, rx: b_rx },
        )
    }
}

impl BlockingEnd for StdChannelEnd {
    fn send(&mut self) -> io::Result<()> {
        self.tx.send(1).map_err(|_| gone())
    }
    fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().is_ok())
    }
}

impl BlockingEnd for UnixStream {
    fn send(&mut self) -> io::Result<()> {
        self.write_all(&[1])
    }
    fn recv(&mut self) -> io::Result<bool> {
        let mut byte = [0u8];
        Ok(self.read(&mut byte)? == 1)
    }
}

/// An async-channel end (smol's channel, async-std's own copy of it, and
/// any runtime without a channel of its own).
pub struct AsyncChannelEnd {
    tx: smol::channel::Sender<u8>,
    rx: smol::channel::Receiver<u8>,
}

impl AsyncChannelEnd {
    /// Two ends of capacity-1 channels.
    pub fn pair() -> (AsyncChannelEnd, AsyncChannelEnd) {
        let (a_tx, b_rx) = smol::channel::bounded(1);
        let (b_tx, a_rx) = smol::channel::bounded(1);
        (
            AsyncChannelEnd { tx: a_tx, rx: a_rx },
            AsyncChannelEnd { tx: b_tx, rx: b_rx },
        )
    }
}

impl AsyncEnd for AsyncChannelEnd {
    async fn send(&mut self) -> io::Result<()> {
        self.tx.send(1).await.map_err(|_| gone())
    }
    async fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().await.is_ok())
    }
}

/// A socket with the `futures` I/O traits (async-std's, and smol's `Async`).
pub struct FuturesSocket<S>(pub S);

impl<S> AsyncEnd for FuturesSocket<S>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + 'static,
{
    async fn send(&mut self) -> io::Result<()> {
        futures_lite::AsyncWriteExt::write_all(&mut self.0, &[1]).await
    }
    async fn recv(&mut self) -> io::Result<bool> {
        let mut byte = [0u8];
        Ok(futures_lite::AsyncReadExt::read(&mut self.0, &mut byte).await? == 1)
    }
}

/// The pinging unit: one untimed exchange, then `round_trips` timed ones.
fn ping_blocking<E: BlockingEnd>(mut end: E, round_trips: u64) -> io::Result<Duration> {
    end.send()?;
    if !end.recv()? {
        return Err(gone());
    }
    let start = Instant::now();
    for _ in 0..round_trips {
        end.send()?;
        if !end.recv()? {
            return Err(gone());
        }
    }
    Ok(start.elapsed())
}

/// The ponging unit: echoes until the other end goes; returns the echoes.
fn pong_blocking<E: BlockingEnd>(mut end: E) -> io::Result<u64> {
    let mut echoed = 0;
    while end.recv()? {
        end.send()?;
        echoed += 1;
    }
    Ok(echoed)
}

/// The pinging task: one untimed exchange, then `round_trips` timed ones.
pub async fn ping_async<E: AsyncEnd>(mut end: E, round_trips: u64) -> io::Result<Duration> {
    end.send().await?;
    if !end.recv().await? {
        return Err(gone());
    }
    let start = Instant::now();
    for _ in 0..round_trips {
        end.send().await?;
        if !end.recv().await? {
            return Err(gone());
        }
    }
    Ok(start.elapsed())
}

/// The ponging task: echoes until the other end goes; returns the echoes.
pub async fn pong_async<E: AsyncEnd>(mut end: E) -> io::Result<u64> {
    let mut echoed = 0;
    while end.recv().await? {
        end.send().await?;
        echoed += 1;
    }
    Ok(echoed)
}

/// Two OS threads play ping-pong over `a` and `b`.
pub fn ping_pong_threads<E: BlockingEnd>(
    a: E,
    b: E,
    round_trips: u64,
) -> anyhow::Result<(Duration, u64)> {
    use anyhow::Context;
    let pong = std::thread::Builder::new()
        .name("pong".into())
        .spawn(move || pong_blocking(b))
        .context("starting the pong thread")?;
    let ping = std::thread::Builder::new()
        .name("ping".into())
        .spawn(move || ping_blocking(a, round_trips))
        .context("starting the ping thread")?;
    let elapsed = ping
        .join()
        .map_err(|_| anyhow::anyhow!("the ping thread panicked"))?;
    let echoed = pong
        .join()
        .map_err(|_| anyhow::anyhow!("the pong thread panicked"))?;
    Ok((elapsed?, echoed?))
}
