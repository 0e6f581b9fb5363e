//! One connection served by a task: the handler of every async model,
//! generic over the few primitives a runtime supplies
//! ([`ServerRuntime`]): its socket reads and writes, its timer and its
//! blocking pool. The model file implements the trait (a few lines each)
//! and runs its own accept loop; everything else is here, once.
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
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a runtime supplies to [`serve_connection`].
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

/// Serves requests on `stream` until the client closes it, asks to close,
/// breaks off or stays idle for the server's idle timeout.
pub async fn serve_connection<R: ServerRuntime>(mut stream: R::Stream, server: Arc<Server>) {
    let _open = server.stats.open_connection();
    let ending = serve_requests::<R>(&mut stream, &server).await;
    server.stats.ended(ending);
}

async fn serve_requests<R: ServerRuntime>(stream: &mut R::Stream, server: &Arc<Server>) -> Ending {
    let mut buffer = RequestBuffer::default();
    let mut waiting_since = Instant::now();
    loop {
        match buffer.next_request() {
            Err(rejection) => {
                let response = Response::text(rejection.status, &rejection.reason, false);
                let _ = write_response::<R>(stream, &response).await;
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
                if write_response::<R>(stream, &response).await.is_err() {
                    return Ending::BrokeOff;
                }
                if !request.keep_alive {
                    return Ending::Closed;
                }
                waiting_since = Instant::now();
            }
            Ok(None) => {
                let left = server.idle_timeout.saturating_sub(waiting_since.elapsed());
                let read = futures_lite::future::or(
                    async { Some(R::read(stream, buffer.spare()).await) },
                    async {
                        R::sleep(left).await;
                        None
                    },
                )
                .await;
                match read {
                    None => {
                        if buffer.has_partial() {
                            let response =
                                Response::text(408, "the request did not arrive in time", false);
                            let _ = write_response::<R>(stream, &response).await;
                        }
                        return Ending::TimedOut;
                    }
                    Some(Ok(0)) if buffer.has_partial() => return Ending::BrokeOff,
                    Some(Ok(0)) => return Ending::Closed,
                    Some(Ok(read)) => buffer.filled(read),
                    Some(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                    Some(Err(_)) => return Ending::BrokeOff,
                }
            }
        }
    }
}

async fn write_response<R: ServerRuntime>(
    stream: &mut R::Stream,
    response: &Response,
) -> io::Result<()> {
    R::write_all(stream, &response.first_piece()).await?;
    let mut sent = response.body_in_first_piece();
    while let Some(piece) = response.body_piece(sent) {
        R::write_all(stream, piece).await?;
        sent += piece.len() as u64;
    }
    Ok(())
}
