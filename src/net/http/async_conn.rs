//! One connection served by a task: the handler of every async model,
//! written once, generic over the few primitives a runtime supplies: its
//! socket reads and writes, its timer and its blocking pool.
//!
//! Two shapes of runtime supply them. Readiness-based runtimes (tokio,
//! async-std, smol: epoll underneath) read into a borrowed slice and move
//! tasks between threads: [`ServerRuntime`]. Completion-based,
//! thread-per-core runtimes (monoio on io_uring) hand the buffer to the
//! kernel for the length of a read, so they take it by value and give it
//! back, and their tasks never leave their thread, so nothing is `Send`:
//! [`OwnedBufferRuntime`]. The handler is written against the second; a
//! [`ServerRuntime`] reaches it through [`Borrowing`], which lends the
//! buffer as a slice. Model files implement one trait (a few lines each)
//! and run their own accept loop; parsing, waiting, computing, answering
//! and the idle timeout are here, once.
//!
//! The handler waits with the runtime's timer, so a waiting request parks
//! the task, not the thread. `mode=block` is the pitfall the articles warn
//! about: `std::thread::sleep` inside the handler holds the executor thread
//! and every task queued behind it. `mode=offload` is the fix: the wait and
//! the compute run on the runtime's blocking pool (`spawn_blocking`,
//! `unblock`) while the task awaits them.

use super::request::{RequestBuffer, Route, WaitMode};
use super::response::Response;
use super::{Ending, Server};
use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a readiness-based runtime (its tasks may move between threads)
/// supplies to [`serve_connection`].
pub trait ServerRuntime: 'static {
    /// The runtime's own TCP stream (accepted by its own listener).
    type Stream: Send + 'static;

    /// Reads into `buffer` (0 = the peer closed).
    fn read(
        stream: &mut Self::Stream,
        buffer: &mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes all of `bytes`.
    fn write_all(
        stream: &mut Self::Stream,
        bytes: &[u8],
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// The runtime's own timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// Runs `job` on the runtime's pool for blocking work; resolves when it is done.
    fn offload(job: impl FnOnce() + Send + 'static) -> impl Future<Output = ()> + Send;
}

/// What a completion-based, thread-per-core runtime supplies to
/// [`serve_owned_connection`]: reads and writes that own their buffers
/// while the kernel works on them, and no `Send` anywhere (a connection
/// stays on the thread that accepted it).
pub trait OwnedBufferRuntime: 'static {
    /// The runtime's own TCP stream (accepted by its own listener).
    type Stream: 'static;

    /// Reads into `buffer[from..]` (0 bytes = the peer closed) and gives the
    /// buffer back at the length it was lent.
    fn read(
        stream: &mut Self::Stream,
        buffer: Vec<u8>,
        from: usize,
    ) -> impl Future<Output = (io::Result<usize>, Vec<u8>)>;

    /// Writes all of `bytes`: a response head (owned) or a piece of the
    /// shared body pattern (`'static`, so no copy is needed to own it).
    fn write_all(
        stream: &mut Self::Stream,
        bytes: Cow<'static, [u8]>,
    ) -> impl Future<Output = io::Result<()>>;

    /// The runtime's own timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()>;

    /// Runs `job` on the runtime's pool for blocking work; resolves when it is done.
    fn offload(job: impl FnOnce() + Send + 'static) -> impl Future<Output = ()>;
}

/// A [`ServerRuntime`] seen as an [`OwnedBufferRuntime`]: the lent buffer
/// is read into as a slice and handed straight back, so the handler is the
/// same code for both shapes. Its futures are as `Send` as `R`'s.
pub struct Borrowing<R>(PhantomData<R>);

impl<R: ServerRuntime> OwnedBufferRuntime for Borrowing<R> {
    type Stream = R::Stream;

    async fn read(
        stream: &mut Self::Stream,
        mut buffer: Vec<u8>,
        from: usize,
    ) -> (io::Result<usize>, Vec<u8>) {
        let read = R::read(stream, &mut buffer[from..]).await;
        (read, buffer)
    }

    async fn write_all(stream: &mut Self::Stream, bytes: Cow<'static, [u8]>) -> io::Result<()> {
        R::write_all(stream, &bytes).await
    }

    async fn sleep(duration: Duration) {
        R::sleep(duration).await
    }

    async fn offload(job: impl FnOnce() + Send + 'static) {
        R::offload(job).await
    }
}

/// Serves requests on `stream` until the client closes it, asks to close,
/// breaks off or stays idle for the server's idle timeout.
pub async fn serve_connection<R: ServerRuntime>(stream: R::Stream, server: Arc<Server>) {
    serve_owned_connection::<Borrowing<R>>(stream, server).await
}

/// [`serve_connection`] for a runtime whose reads own their buffers.
pub async fn serve_owned_connection<R: OwnedBufferRuntime>(
    mut stream: R::Stream,
    server: Arc<Server>,
) {
    let _open = server.stats.open_connection();
    let ending = serve_requests::<R>(&mut stream, &server).await;
    server.stats.ended(ending);
}

async fn serve_requests<R: OwnedBufferRuntime>(
    stream: &mut R::Stream,
    server: &Arc<Server>,
) -> Ending {
    let mut buffer = RequestBuffer::default();
    let mut waiting_since = Instant::now();
    loop {
        match buffer.next_request() {
            Err(rejection) => {
                let response = Response::text(rejection.status, &rejection.reason, false);
                if write_response::<R>(stream, &response, server.idle_timeout)
                    .await
                    .is_ok()
                {
                    drain_before_close::<R>(stream, &mut buffer).await;
                }
                return Ending::Rejected;
            }
            Ok(Some(request)) => {
                if let Route::Work(work) = request.route {
                    match work.mode {
                        WaitMode::Own => {
                            R::sleep(work.wait).await;
                            server.compute(work.cpu_us);
                        }
                        WaitMode::Block => {
                            std::thread::sleep(work.wait);
                            server.compute(work.cpu_us);
                        }
                        WaitMode::Offload => {
                            let server = Arc::clone(server);
                            R::offload(move || {
                                std::thread::sleep(work.wait);
                                server.compute(work.cpu_us);
                            })
                            .await;
                        }
                    }
                }
                let response = server.answer(&request.route, request.keep_alive);
                if write_response::<R>(stream, &response, server.idle_timeout)
                    .await
                    .is_err()
                {
                    return Ending::BrokeOff;
                }
                server.stats.served_one();
                if !request.keep_alive {
                    return Ending::Closed;
                }
                waiting_since = Instant::now();
            }
            Ok(None) => {
                let left = server.idle_timeout.saturating_sub(waiting_since.elapsed());
                let (lent, from) = buffer.lend();
                let read = futures_lite::future::or(
                    async { Some(R::read(stream, lent, from).await) },
                    async {
                        R::sleep(left).await;
                        None
                    },
                )
                .await;
                // A read that lost the race took its buffer with it: the
                // connection is closed below without reading it again.
                match read {
                    None => {
                        if buffer.has_partial() {
                            let response =
                                Response::text(408, "the request did not arrive in time", false);
                            let _ =
                                write_response::<R>(stream, &response, server.idle_timeout).await;
                        }
                        return Ending::TimedOut;
                    }
                    Some((outcome, lent)) => {
                        buffer.give_back(lent, *outcome.as_ref().unwrap_or(&0));
                        match outcome {
                            Ok(0) if buffer.has_partial() => return Ending::BrokeOff,
                            Ok(0) => return Ending::Closed,
                            Ok(_) => {}
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return Ending::BrokeOff,
                        }
                    }
                }
            }
        }
    }
}

/// Writes the whole response. A client that takes no byte of a piece for
/// `idle_timeout` is idle too: the write gives up (`TimedOut`) and the
/// connection is closed, as a blocking thread's write timeout closes it, so
/// a client that stops reading cannot hold a task and its buffers forever.
async fn write_response<R: OwnedBufferRuntime>(
    stream: &mut R::Stream,
    response: &Response,
    idle_timeout: Duration,
) -> io::Result<()> {
    write_within::<R>(stream, Cow::Owned(response.first_piece()), idle_timeout).await?;
    let mut sent = response.body_in_first_piece();
    while let Some(piece) = response.body_piece(sent) {
        write_within::<R>(stream, Cow::Borrowed(piece), idle_timeout).await?;
        sent += piece.len() as u64;
    }
    Ok(())
}

/// One piece written, or `TimedOut` when the client took none of it in time.
async fn write_within<R: OwnedBufferRuntime>(
    stream: &mut R::Stream,
    bytes: Cow<'static, [u8]>,
    idle_timeout: Duration,
) -> io::Result<()> {
    futures_lite::future::or(R::write_all(stream, bytes), async {
        R::sleep(idle_timeout).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client took no reply byte for the idle timeout",
        ))
    })
    .await
}

/// Reads and drops what a rejected client still sends, briefly (as
/// [`super::blocking::DRAIN_FOR`]), so that the close that follows is not a
/// reset that could destroy the 4xx it has not read yet.
async fn drain_before_close<R: OwnedBufferRuntime>(
    stream: &mut R::Stream,
    buffer: &mut RequestBuffer,
) {
    use super::blocking::{DRAIN_BYTES, DRAIN_FOR};
    let started = Instant::now();
    // The request buffer, lent for good: the connection ends after this.
    let (mut scratch, _) = buffer.lend();
    let mut drained = 0;
    while drained < DRAIN_BYTES {
        let left = DRAIN_FOR.saturating_sub(started.elapsed());
        if left.is_zero() || scratch.is_empty() {
            return;
        }
        let read =
            futures_lite::future::or(async { Some(R::read(stream, scratch, 0).await) }, async {
                R::sleep(left).await;
                None
            })
            .await;
        match read {
            Some((Ok(read), back)) if read > 0 => {
                drained += read;
                scratch = back;
            }
            _ => return,
        }
    }
}
