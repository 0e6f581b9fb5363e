//! The latency server: a TCP service that answers every request after a
//! fixed delay, standing in for a slow database or web service.
//!
//! `async-vs-blocking serve` runs it on its own ([`crate::cli`]); the `socket` workload
//! starts one per cell in a separate process (see [`crate::net::latency::process`]).
//! The wire protocol is in [`crate::net::protocol`].
//!
//! Each of `--threads` threads (default: one per core) runs an epoll event
//! loop with a timerfd ([`event_loop`]) on its own listening socket; the
//! kernel spreads connections over them (`SO_REUSEPORT`). Thousands of
//! connections wait at once without a thread each, a delay ends within
//! microseconds of its deadline (not rounded up to the next millisecond),
//! and each connection costs the server about five system calls — it shares
//! the cores with the clients being measured. The delay is counted from the
//! moment the request line has arrived; how late each delay ended is
//! recorded, and `Ctrl-C` (or SIGTERM) prints that accuracy before the
//! server exits.

pub(crate) mod event_loop;
pub mod process;

use hdrhistogram::Histogram;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest reply the server sends (64 MiB).
pub const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;

/// The listen backlog asked for. The kernel caps it at
/// `net.core.somaxconn`; a small backlog would make a burst of thousands of
/// connects fail or stall, which would be the harness's fault, not the model's.
pub const LISTEN_BACKLOG: i32 = 65_535;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerConfig {
    /// The wait before each reply, counted from the arrival of the request.
    pub delay: Duration,
    /// Bytes in each reply.
    pub reply_bytes: u64,
    /// A connection that sends no request byte (or takes no reply byte) for
    /// this long is closed, so idle clients cannot hold every descriptor.
    /// The server's own delay does not count: a waiting request is not idle.
    pub idle_timeout: Duration,
}

/// `serve --idle-timeout-s`'s default: far longer than any lab client takes
/// to send its line or read its reply, short enough that abandoned
/// connections give their descriptors back within a minute.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the server has done so far, and how accurate its delays were.
#[derive(Debug)]
pub struct ServerStats {
    /// Replies sent in full.
    pub served: AtomicU64,
    /// Requests answered with `ERR`.
    pub refused: AtomicU64,
    /// Connections that broke off (reset by the client, write errors).
    pub failed: AtomicU64,
    /// Connections closed after the idle timeout.
    pub idle_closed: AtomicU64,
    /// How late each delay ended, in µs.
    lateness_us: Mutex<Histogram<u64>>,
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            served: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            idle_closed: AtomicU64::new(0),
            // 1 µs to one hour at three significant digits.
            lateness_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("the bounds and 3 significant digits are valid"),
            ),
        }
    }
}

impl ServerStats {
    pub(crate) fn record_lateness(&self, late: Duration) {
        let us = (late.as_micros() as u64).max(1);
        if let Ok(mut histogram) = self.lateness_us.lock() {
            histogram.saturating_record(us);
        }
    }

    /// How late the delays ended: (p50, p99, max) in ms, if any ended yet.
    pub fn lateness_ms(&self) -> Option<(f64, f64, f64)> {
        let histogram = self.lateness_us.lock().ok()?;
        if histogram.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1e3;
        Some((
            ms(histogram.value_at_quantile(0.5)),
            ms(histogram.value_at_quantile(0.99)),
            ms(histogram.max()),
        ))
    }

    /// One line for the operator.
    pub fn summary(&self, delay: Duration) -> String {
        let counts = format!(
            "served {} replies, refused {} requests, {} connections broke off, {} idle ones closed",
            self.served.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.idle_closed.load(Ordering::Relaxed)
        );
        match self.lateness_ms() {
            Some((p50, p99, max)) => format!(
                "{counts}; the {} ms delay ended late by p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
                delay.as_secs_f64() * 1e3
            ),
            None => counts,
        }
    }
}

/// Opens `count` listening sockets on the same address (`SO_REUSEPORT`:
/// the kernel spreads new connections over them), each with a large
/// backlog. Port 0 picks one free port for all of them.
pub fn listen(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut listeners: Vec<TcpListener> = Vec::with_capacity(count.max(1));
    let mut addr = addr;
    for index in 0..count.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if index == 0 {
            // The first socket binds without SO_REUSEPORT, so that it never
            // shares a port with someone else's listener; then it lets ours in.
            socket.bind(&addr.into())?;
            socket.set_reuse_port(count > 1)?;
        } else {
            socket.set_reuse_port(true)?;
            socket.bind(&addr.into())?;
        }
        socket.listen(LISTEN_BACKLOG)?;
        let listener: TcpListener = socket.into();
        // The others bind to the port the first one got.
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves connections with one event loop per listener, each on its own
/// thread (the first on the calling thread), until the process ends or a
/// loop fails.
pub fn run(
    listeners: Vec<TcpListener>,
    config: ServerConfig,
    stats: Arc<ServerStats>,
) -> io::Result<()> {
    let mut listeners = listeners.into_iter();
    let first = listeners
        .next()
        .ok_or_else(|| io::Error::other("no listening socket to serve"))?;
    for (index, listener) in listeners.enumerate() {
        let stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name(format!("serve-{}", index + 1))
            .spawn(move || {
                if let Err(error) = event_loop::run(listener, config, &stats) {
                    crate::os::output::stderr_line!("warning: a server thread stopped: {error}");
                }
            })?;
    }
    event_loop::run(first, config, &stats)
}

/// Starts a server on `127.0.0.1:0` with `threads` event loops in
/// background threads of this process and returns its address. For tests
/// and benches; the lab itself runs the server in a separate process.
pub fn spawn_in_process(
    config: ServerConfig,
    threads: usize,
) -> io::Result<(SocketAddr, Arc<ServerStats>)> {
    let listeners = listen(SocketAddr::from(([127, 0, 0, 1], 0)), threads)?;
    let addr = listeners[0].local_addr()?;
    let stats = Arc::new(ServerStats::default());
    let server_stats = Arc::clone(&stats);
    std::thread::Builder::new()
        .name("serve-0".into())
        .spawn(move || run(listeners, config, server_stats))?;
    Ok((addr, stats))
}

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it
/// starts later, so that one thread can wait for them with [`wait_for_stop_signal`].
pub fn block_stop_signals() -> libc::sigset_t {
    // SAFETY: the set is initialised by sigemptyset before use and only
    // passed to the signal-mask functions, which read it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits until SIGINT or SIGTERM arrives (they must be blocked).
pub fn wait_for_stop_signal(set: &libc::sigset_t) {
    let mut signal = 0;
    // SAFETY: sigwait reads the initialised set and writes one int we own.
    unsafe {
        libc::sigwait(set, &mut signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::protocol;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    fn ask(addr: SocketAddr, request: &[u8]) -> (Vec<u8>, Duration) {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        (reply, started.elapsed())
    }

    #[test]
    fn answers_after_the_delay_with_the_pattern() {
        let (addr, stats) = spawn_in_process(
            ServerConfig {
                delay: Duration::from_millis(30),
                reply_bytes: 200_000,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
            1,
        )
        .unwrap();
        let (reply, took) = ask(addr, &protocol::request_line(17));
        let mut check = crate::workload::pattern::ReplyCheck::new(17, 200_000);
        check.feed(&reply);
        check.finish().unwrap();
        // The reply cannot come before the delay; 5 s is far beyond any slow machine.
        assert!(took >= Duration::from_millis(30), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(stats.served.load(Ordering::Relaxed), 1);
        assert!(stats.lateness_ms().is_some());
    }

    #[test]
    fn waits_concurrently_not_one_after_another() {
        let (addr, _) = spawn_in_process(
            ServerConfig {
                delay: Duration::from_millis(100),
                reply_bytes: 10,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
            2,
        )
        .unwrap();
        let started = Instant::now();
        let clients: Vec<_> = (0..50)
            .map(|id| std::thread::spawn(move || ask(addr, &protocol::request_line(id))))
            .collect();
        for client in clients {
            assert_eq!(client.join().unwrap().0.len(), 10);
        }
        // One after another would take 50 x 100 ms = 5 s.
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2_500), "{took:?}");
    }

    #[test]
    fn a_reply_larger_than_the_socket_buffers_arrives_whole() {
        let (addr, stats) = spawn_in_process(
            ServerConfig {
                delay: Duration::ZERO,
                reply_bytes: 8 << 20,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
            1,
        )
        .unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&protocol::request_line(99)).unwrap();
        // Read nothing for a while: the server must wait for room, not fail.
        std::thread::sleep(Duration::from_millis(100));
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let mut check = crate::workload::pattern::ReplyCheck::new(99, 8 << 20);
        check.feed(&reply);
        check.finish().unwrap();
        assert_eq!(stats.failed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn listeners_share_one_port_that_no_other_server_gets() {
        let ours = listen(SocketAddr::from(([127, 0, 0, 1], 0)), 3).unwrap();
        let port = ours[0].local_addr().unwrap().port();
        assert!(ours.iter().all(|l| l.local_addr().unwrap().port() == port));
        for _ in 0..20 {
            let other = listen(SocketAddr::from(([127, 0, 0, 1], 0)), 2).unwrap();
            assert_ne!(other[0].local_addr().unwrap().port(), port);
        }
        // Nobody else can join our port, reuse or not.
        let addr = ours[0].local_addr().unwrap();
        assert!(listen(addr, 1).is_err());
        assert!(listen(addr, 2).is_err());
    }

    #[test]
    fn a_bad_request_gets_an_error_line() {
        let (addr, stats) = spawn_in_process(
            ServerConfig {
                delay: Duration::from_secs(10),
                reply_bytes: 10,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
            2,
        )
        .unwrap();
        let (reply, took) = ask(addr, b"HELLO\n");
        assert!(reply.starts_with(b"ERR "), "{reply:?}");
        // Refused at once, without waiting the 10 s delay.
        assert!(took < Duration::from_secs(5), "{took:?}");
        // 64 bytes and no newline: the line is too long (sent whole, so no
        // unread bytes turn the close into a reset).
        let (reply, _) = ask(addr, &[b'x'; 64]);
        assert!(String::from_utf8_lossy(&reply).contains("longer than 64"));
        assert_eq!(stats.refused.load(Ordering::Relaxed), 2);
    }
    #[test]
    fn a_request_cut_off_by_a_half_close_gets_an_error_line() {
        let (addr, stats) = spawn_in_process(
            ServerConfig {
                delay: Duration::from_secs(10),
                reply_bytes: 10,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            },
            1,
        )
        .unwrap();
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET 7").unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(
            reply.starts_with("ERR ") && reply.contains("newline"),
            "{reply}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_idle_connection_is_closed_after_the_idle_timeout() {
        let idle = Duration::from_millis(300);
        let (addr, _) = spawn_in_process(
            ServerConfig {
                delay: Duration::from_millis(10),
                reply_bytes: 10,
                idle_timeout: idle,
            },
            1,
        )
        .unwrap();
        let started = Instant::now();
        let mut silent = TcpStream::connect(addr).unwrap();
        // Half a line, then silence: still idle.
        silent.write_all(b"GE").unwrap();
        let mut reply = Vec::new();
        silent.read_to_end(&mut reply).unwrap();
        let took = started.elapsed();
        assert!(reply.is_empty(), "{reply:?}");
        // Not before the timeout; 10 s is far beyond any slow machine.
        assert!(took >= idle, "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        // The server still answers others.
        assert_eq!(ask(addr, &protocol::request_line(3)).0.len(), 10);
    }
}
