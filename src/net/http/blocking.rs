//! One connection served by a thread that blocks: the handler of
//! `sequential`, `threads`, `thread-pool` and `rayon`.
//!
//! The thread reads until a whole request head has arrived, sleeps the
//! wait (`std::thread::sleep`: blocking is all these models have, so
//! `mode=block` and `mode=offload` change nothing here), computes, writes
//! the response and reads the next request on the same connection. The
//! thread belongs to the connection until the client closes it or it has
//! been idle for the server's idle timeout.

use super::request::{RequestBuffer, Route};
use super::response::Response;
use super::{Ending, Server};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Serves requests on `stream` until the client closes it, asks to close,
/// breaks off or stays idle too long.
pub fn serve_connection(mut stream: TcpStream, server: &Server) {
    let _open = server.stats.open_connection();
    // Replies are written whole; Nagle's algorithm would only delay their tail.
    let _ = stream.set_nodelay(true);
    // One timeout for the connection's life (not one system call per read):
    // idleness is checked against the clock after each read, so a client
    // trickling a request in is closed within twice the idle timeout.
    let _ = stream.set_read_timeout(Some(server.idle_timeout));
    let _ = stream.set_write_timeout(Some(server.idle_timeout));
    let ending = serve_requests(&mut stream, server);
    server.stats.ended(ending);
}

fn serve_requests(stream: &mut TcpStream, server: &Server) -> Ending {
    let mut buffer = RequestBuffer::default();
    // Since when the server has been waiting for the next request.
    let mut waiting_since = Instant::now();
    loop {
        match buffer.next_request() {
            Err(rejection) => {
                let response = Response::text(rejection.status, &rejection.reason, false);
                if write_response(stream, &response).is_ok() {
                    drain_before_close(stream);
                }
                return Ending::Rejected;
            }
            Ok(Some(request)) => {
                if let Route::Work(work) = request.route {
                    std::thread::sleep(work.wait);
                    server.compute(work.cpu_us);
                }
                let response = server.answer(&request.route, request.keep_alive);
                if write_response(stream, &response).is_err() {
                    return Ending::BrokeOff;
                }
                server.stats.served_one();
                if !request.keep_alive {
                    return Ending::Closed;
                }
                waiting_since = Instant::now();
            }
            Ok(None) => {
                if waiting_since.elapsed() >= server.idle_timeout {
                    return time_out(stream, &buffer);
                }
                match stream.read(buffer.spare()) {
                    Ok(0) if buffer.has_partial() => return Ending::BrokeOff,
                    Ok(0) => return Ending::Closed,
                    Ok(read) => buffer.filled(read),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error)
                        if matches!(
                            error.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        return time_out(stream, &buffer)
                    }
                    Err(_) => return Ending::BrokeOff,
                }
            }
        }
    }
}

/// How long a rejected client's unread input is read and dropped before the
/// close: closing with unread input sends a reset, which can destroy the
/// 4xx the client has not read yet.
pub const DRAIN_FOR: Duration = Duration::from_millis(200);

/// The most unread input drained after a rejection.
pub const DRAIN_BYTES: usize = 256 * 1024;

/// Sends the end of the reply (FIN), then reads and drops what the client
/// still sends, briefly, so that the close that follows is not a reset.
fn drain_before_close(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(DRAIN_FOR));
    let started = Instant::now();
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    while started.elapsed() < DRAIN_FOR && drained < DRAIN_BYTES {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(read) => drained += read,
        }
    }
}

/// Closes an idle connection; a half-sent request gets a 408 first.
fn time_out(stream: &mut TcpStream, buffer: &RequestBuffer) -> Ending {
    if buffer.has_partial() {
        let response = Response::text(408, "the request did not arrive in time", false);
        let _ = write_response(stream, &response);
    }
    Ending::TimedOut
}

/// Writes the whole response.
pub fn write_response(stream: &mut TcpStream, response: &Response) -> io::Result<()> {
    stream.write_all(&response.first_piece())?;
    let mut sent = response.body_in_first_piece();
    while let Some(piece) = response.body_piece(sent) {
        stream.write_all(piece)?;
        sent += piece.len() as u64;
    }
    Ok(())
}

/// `sequential`'s server: one connection at a time, on the calling thread,
/// in the order they were accepted. Everyone else waits in the backlog.
pub fn serve_one_at_a_time(listener: std::net::TcpListener, server: &Server) -> anyhow::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => serve_connection(stream, server),
            Err(error) => std::thread::sleep(accept_failed(&error, server)?),
        }
    }
}

/// What to do when `accept` fails: transient errors (a connection reset
/// before it was accepted, an interrupted call) are skipped; running out of
/// descriptors is reported and retried after the pause returned, since
/// closing connections frees them. Any other error ends the server.
pub fn accept_failed(error: &io::Error, server: &Server) -> anyhow::Result<Duration> {
    match error.kind() {
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted => Ok(Duration::ZERO),
        _ if matches!(
            error.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        ) =>
        {
            server.stats.accept_waits_for_descriptor();
            warn_at_most_once_a_second(&format!(
                "accepting a connection failed: {error} (open descriptors reached the limit; \
                 retrying as connections close)"
            ));
            Ok(Duration::from_millis(10))
        }
        _ => Err(anyhow::anyhow!("accepting connections failed: {error}")),
    }
}

/// Prints a warning on stderr, at most once a second per process, so that a
/// flood of refusals cannot flood the terminal.
pub fn warn_at_most_once_a_second(message: &str) {
    use std::sync::Mutex;
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let quiet = matches!(*last, Some(at) if at.elapsed().as_secs() < 1);
    if !quiet {
        crate::os::output::stderr_line!("warning: {message}");
        *last = Some(Instant::now());
    }
}
