//! The cost of handing control from one unit of work to another and back.
//!
//! Two units play ping-pong: one sends a one-byte message, the other waits
//! for it and sends it back, and the first waits for the reply. One round
//! trip is two hand-offs, each a wake-up of a unit that was blocked (a
//! thread) or parked (a task). The link is either the runtime's own channel
//! or a Unix socket pair, where the wake-up comes from I/O readiness (the
//! kernel for threads, the runtime's reactor for tasks).
//!
//! Each measurement builds its runtime, creates the link and starts both
//! units untimed, exchanges one untimed warm-up message, and then times
//! `round_trips` round trips inside the pinging unit. The ponging unit
//! counts its echoes, so a run that lost a message is an error, not a fast
//! result. With [`Placement::OneCore`] every thread of the process is pinned
//! to one CPU for the exchange (see [`super::pin`] for exactly what).

use super::pin::OneCore;
use super::workers;
use crate::model::{self, ModelConfig};
use anyhow::Context;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the two units are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// Two OS threads, blocking.
    Threads,
    /// Two tasks on tokio's multi-thread runtime (one worker per core).
    Tokio,
    /// Two tasks on tokio's current-thread runtime.
    TokioCurrent,
    /// Two tasks on async-std's global executor (one worker per core).
    AsyncStd,
    /// Two tasks on an async-executor run by one thread per core.
    Smol,
}

/// How the two units talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// The runtime's own channel (std's mpsc for threads).
    Channel,
    /// A Unix stream socket pair, through the runtime's reactor for tasks.
    Socket,
}

/// Where the threads may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// Every thread of the process pinned to one CPU.
    OneCore,
}

/// One ping-pong configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchCase {
    pub units: Units,
    pub medium: Medium,
    pub placement: Placement,
}

impl Units {
    pub const ALL: [Units; 5] = [
        Units::Threads,
        Units::Tokio,
        Units::TokioCurrent,
        Units::AsyncStd,
        Units::Smol,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Units::Threads => "threads",
            Units::Tokio => "tokio",
            Units::TokioCurrent => "tokio-current",
            Units::AsyncStd => "async-std",
            Units::Smol => "smol",
        }
    }
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

impl Placement {
    pub const ALL: [Placement; 2] = [Placement::Free, Placement::OneCore];

    pub fn name(self) -> &'static str {
        match self {
            Placement::Free => "free",
            Placement::OneCore => "one-core",
        }
    }
}

impl SwitchCase {
    /// Every combination of units, medium and placement.
    pub fn all() -> Vec<SwitchCase> {
        let mut cases = Vec::new();
        for placement in Placement::ALL {
            for medium in Medium::ALL {
                for units in Units::ALL {
                    cases.push(SwitchCase {
                        units,
                        medium,
                        placement,
                    });
                }
            }
        }
        cases
    }

    /// `units/medium/placement`, e.g. `tokio/socket/one-core`.
    pub fn name(&self) -> String {
        format!(
            "{}/{}/{}",
            self.units.name(),
            self.medium.name(),
            self.placement.name()
        )
    }

    /// The primitives used, in one line.
    pub fn description(&self) -> &'static str {
        match (self.units, self.medium) {
            (Units::Threads, Medium::Channel) => "two threads, std::sync::mpsc channels",
            (Units::Threads, Medium::Socket) => "two threads, std UnixStream pair, blocking I/O",
            (Units::Tokio | Units::TokioCurrent, Medium::Channel) => {
                "two tokio tasks, tokio::sync::mpsc channels (capacity 1)"
            }
            (Units::Tokio | Units::TokioCurrent, Medium::Socket) => {
                "two tokio tasks, tokio::net::UnixStream pair"
            }
            (Units::AsyncStd, Medium::Channel) => {
                "two async-std tasks, async_std::channel (capacity 1)"
            }
            (Units::AsyncStd, Medium::Socket) => {
                "two async-std tasks, async_std::os::unix::net::UnixStream pair"
            }
            (Units::Smol, Medium::Channel) => "two smol tasks, smol::channel (capacity 1)",
            (Units::Smol, Medium::Socket) => "two smol tasks, Async<UnixStream> pair",
        }
    }
}

/// One measured ping-pong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingPongRun {
    /// Round trips timed.
    pub round_trips: u64,
    /// Messages the ponging unit sent back (the timed ones plus one warm-up).
    pub echoed: u64,
    /// Time for the timed round trips.
    pub elapsed: Duration,
}

impl PingPongRun {
    /// The time per round trip (two hand-offs).
    pub fn per_round_trip(&self) -> Duration {
        Duration::from_secs_f64(self.elapsed.as_secs_f64() / self.round_trips.max(1) as f64)
    }
}

/// Runs `round_trips` timed round trips of `case` and returns their time
/// (runtime construction, set-up and the warm-up exchange not included).
pub fn ping_pong(case: SwitchCase, round_trips: u64) -> anyhow::Result<Duration> {
    Ok(measure(case, round_trips)?.elapsed)
}

/// The median time per round trip over `repeats` runs of `round_trips`, for
/// callers with a small budget (the `claims` command, the report).
pub fn per_round_trip_median(
    case: SwitchCase,
    round_trips: u64,
    repeats: usize,
) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        times.push(measure(case, round_trips)?.per_round_trip());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// Runs `case` and checks that every message came back.
pub fn measure(case: SwitchCase, round_trips: u64) -> anyhow::Result<PingPongRun> {
    let (elapsed, echoed) = run_case(case, round_trips).with_context(|| case.name())?;
    if echoed != round_trips + 1 {
        anyhow::bail!(
            "{}: {echoed} echoes for {round_trips} round trips and one warm-up",
            case.name()
        );
    }
    Ok(PingPongRun {
        round_trips,
        echoed,
        elapsed,
    })
}

/// Pins the process for a one-core case; the guard unpins when dropped.
fn place(placement: Placement) -> anyhow::Result<Option<OneCore>> {
    match placement {
        Placement::Free => Ok(None),
        Placement::OneCore => Ok(Some(OneCore::pin_process()?)),
    }
}

fn run_case(case: SwitchCase, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
    let workers = workers();
    match case.units {
        Units::Threads => {
            let _pinned = place(case.placement)?;
            match case.medium {
                Medium::Channel => {
                    let (a, b) = StdChannelEnd::pair();
                    on_threads(a, b, round_trips)
                }
                Medium::Socket => {
                    let (a, b) = UnixStream::pair().context("creating a socket pair")?;
                    on_threads(a, b, round_trips)
                }
            }
        }
        Units::Tokio | Units::TokioCurrent => {
            let runtime = if case.units == Units::Tokio {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            }
            .context("building the tokio runtime")?;
            let _pinned = place(case.placement)?;
            runtime.block_on(async {
                match case.medium {
                    Medium::Channel => {
                        let (a, b) = TokioChannelEnd::pair();
                        on_tokio(a, b, round_trips).await
                    }
                    Medium::Socket => {
                        let (a, b) =
                            tokio::net::UnixStream::pair().context("creating a socket pair")?;
                        on_tokio(a, b, round_trips).await
                    }
                }
            })
        }
        Units::AsyncStd => {
            // Starts (or checks the size of) the global executor the way the
            // `async-std` model does: it is sized once per process.
            model::by_name("async-std")
                .context("the async-std model is missing")?
                .prepare(&ModelConfig {
                    workers,
                    stack_kib: None,
                })?;
            let _pinned = place(case.placement)?;
            async_std::task::block_on(async {
                match case.medium {
                    Medium::Channel => {
                        let (a_tx, b_rx) = async_std::channel::bounded(1);
                        let (b_tx, a_rx) = async_std::channel::bounded(1);
                        let a = AsyncStdChannelEnd { tx: a_tx, rx: a_rx };
                        let b = AsyncStdChannelEnd { tx: b_tx, rx: b_rx };
                        on_async_std(a, b, round_trips).await
                    }
                    Medium::Socket => {
                        let (a, b) = async_std::os::unix::net::UnixStream::pair()
                            .context("creating a socket pair")?;
                        on_async_std(FuturesSocket(a), FuturesSocket(b), round_trips).await
                    }
                }
            })
        }
        Units::Smol => {
            let pool = SmolPool::start(workers)?;
            let _pinned = place(case.placement)?;
            smol::block_on(async {
                match case.medium {
                    Medium::Channel => {
                        let (a_tx, b_rx) = smol::channel::bounded(1);
                        let (b_tx, a_rx) = smol::channel::bounded(1);
                        let a = AsyncChannelEnd { tx: a_tx, rx: a_rx };
                        let b = AsyncChannelEnd { tx: b_tx, rx: b_rx };
                        pool.play(a, b, round_trips).await
                    }
                    Medium::Socket => {
                        let (a, b) =
                            smol::Async::<UnixStream>::pair().context("creating a socket pair")?;
                        pool.play(FuturesSocket(a), FuturesSocket(b), round_trips)
                            .await
                    }
                }
            })
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other unit stopped")
}

/// One end of the link, for units that block.
trait BlockingEnd: Send + 'static {
    fn send(&mut self) -> io::Result<()>;
    /// Waits for a message; `false` when the other end has gone.
    fn recv(&mut self) -> io::Result<bool>;
}

/// One end of the link, for tasks.
trait AsyncEnd: Send + 'static {
    fn send(&mut self) -> impl Future<Output = io::Result<()>> + Send;
    /// Waits for a message; `false` when the other end has gone.
    fn recv(&mut self) -> impl Future<Output = io::Result<bool>> + Send;
}

struct StdChannelEnd {
    tx: mpsc::Sender<u8>,
    rx: mpsc::Receiver<u8>,
}

impl StdChannelEnd {
    fn pair() -> (StdChannelEnd, StdChannelEnd) {
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

/// smol's channel (async-channel 2).
struct AsyncChannelEnd {
    tx: smol::channel::Sender<u8>,
    rx: smol::channel::Receiver<u8>,
}

impl AsyncEnd for AsyncChannelEnd {
    async fn send(&mut self) -> io::Result<()> {
        self.tx.send(1).await.map_err(|_| gone())
    }
    async fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().await.is_ok())
    }
}

/// async-std's channel (its own copy of async-channel, version 1).
struct AsyncStdChannelEnd {
    tx: async_std::channel::Sender<u8>,
    rx: async_std::channel::Receiver<u8>,
}

impl AsyncEnd for AsyncStdChannelEnd {
    async fn send(&mut self) -> io::Result<()> {
        self.tx.send(1).await.map_err(|_| gone())
    }
    async fn recv(&mut self) -> io::Result<bool> {
        Ok(self.rx.recv().await.is_ok())
    }
}

/// A socket with the `futures` I/O traits (async-std's, and smol's `Async`).
struct FuturesSocket<S>(S);

impl<S> AsyncEnd for FuturesSocket<S>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send + 'static,
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

async fn ping_async<E: AsyncEnd>(mut end: E, round_trips: u64) -> io::Result<Duration> {
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

async fn pong_async<E: AsyncEnd>(mut end: E) -> io::Result<u64> {
    let mut echoed = 0;
    while end.recv().await? {
        end.send().await?;
        echoed += 1;
    }
    Ok(echoed)
}

fn on_threads<E: BlockingEnd>(a: E, b: E, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
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

async fn on_tokio<E: AsyncEnd>(a: E, b: E, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
    let pong = tokio::spawn(pong_async(b));
    let ping = tokio::spawn(ping_async(a, round_trips));
    let elapsed = ping.await.context("the ping task failed")?;
    let echoed = pong.await.context("the pong task failed")?;
    Ok((elapsed?, echoed?))
}

async fn on_async_std<E: AsyncEnd>(
    a: E,
    b: E,
    round_trips: u64,
) -> anyhow::Result<(Duration, u64)> {
    let pong = async_std::task::spawn(pong_async(b));
    let ping = async_std::task::spawn(ping_async(a, round_trips));
    let elapsed = ping.await;
    let echoed = pong.await;
    Ok((elapsed?, echoed?))
}

/// An async-executor run by `workers` threads, as the `smol` model runs it.
struct SmolPool {
    executor: Arc<async_executor::Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl SmolPool {
    fn start(workers: usize) -> anyhow::Result<SmolPool> {
        let executor = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let mut pool = SmolPool {
            executor,
            stop: Some(stop),
            threads: Vec::with_capacity(workers),
        };
        for id in 0..workers {
            let executor = Arc::clone(&pool.executor);
            let stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("smol-{id}"))
                .spawn(move || {
                    let _ = smol::block_on(executor.run(stopped.recv()));
                })
                .context("starting a smol executor thread")?;
            pool.threads.push(thread);
        }
        Ok(pool)
    }

    async fn play<E: AsyncEnd>(
        &self,
        a: E,
        b: E,
        round_trips: u64,
    ) -> anyhow::Result<(Duration, u64)> {
        let pong = self.executor.spawn(pong_async(b));
        let ping = self.executor.spawn(ping_async(a, round_trips));
        let elapsed = ping.await;
        let echoed = pong.await;
        Ok((elapsed?, echoed?))
    }
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        // Closing the channel ends every thread's `run`.
        self.stop.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_free_case_echoes_every_message() {
        for case in SwitchCase::all() {
            if case.placement != Placement::Free {
                continue; // pinning the test process would slow other tests; see tests/pinning.rs
            }
            let run = measure(case, 100).unwrap();
            assert_eq!(run.echoed, 101, "{}", case.name());
            assert!(run.elapsed > Duration::ZERO, "{}", case.name());
            // 100 round trips are 200 hand-offs; even a busy machine does
            // them in far less than 10 s (each is microseconds).
            assert!(run.elapsed < Duration::from_secs(10), "{}", case.name());
        }
    }

    #[test]
    fn the_median_helper_reports_per_round_trip() {
        let case = SwitchCase {
            units: Units::TokioCurrent,
            medium: Medium::Channel,
            placement: Placement::Free,
        };
        let per_round_trip = per_round_trip_median(case, 100, 3).unwrap();
        assert!(per_round_trip > Duration::ZERO);
        assert!(
            per_round_trip < Duration::from_millis(100),
            "{per_round_trip:?}"
        );
    }

    #[test]
    fn names_are_unique() {
        let names: Vec<String> = SwitchCase::all().iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), 20);
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
    }
}
