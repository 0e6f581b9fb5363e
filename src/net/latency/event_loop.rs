//! One event loop of the latency server: one thread, one listening socket,
//! epoll (through mio) and a timerfd — what every async runtime does
//! underneath, written out by hand.
//!
//! Each connection moves through three phases: reading its request line,
//! waiting for its deadline, writing its reply. The delay is the same for
//! every request, so deadlines arrive in the order requests did and a FIFO
//! queue is the whole timer wheel. The timerfd is armed at the earliest
//! deadline with nanosecond resolution (epoll's own timeout would round up
//! to whole milliseconds). Loops share nothing but their statistics, and a
//! connection costs a few system calls — accept, register, read, write,
//! close — which matters because on a small machine the server shares the
//! cores with the clients being measured.

use super::{ServerConfig, ServerStats};
use crate::net::protocol::{self, MAX_REQUEST_BYTES};
use mio::net::{TcpListener, TcpStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const TIMER: Token = Token(1);
/// Connection `slot` has token `FIRST_CONNECTION + slot`.
const FIRST_CONNECTION: usize = 2;

/// Replies are written in pieces of at most this many bytes.
const WRITE_CHUNK_BYTES: usize = 64 * 1024;

/// Replies up to this size leave in one segment on loopback (MTU 64 KiB), so
/// Nagle's algorithm cannot hold any of them back and the server saves a
/// `setsockopt(TCP_NODELAY)` per connection; longer ones set it.
const NAGLE_FREE_BYTES: u64 = 32 * 1024;

enum Phase {
    /// Reading the request line; `len` bytes of it so far.
    Reading {
        line: [u8; MAX_REQUEST_BYTES],
        len: usize,
    },
    /// In the timer queue until its deadline.
    Waiting { id: u64 },
    /// Writing the reply; `sent` bytes so far.
    Writing { id: u64, sent: u64 },
}

struct Connection {
    stream: TcpStream,
    phase: Phase,
    /// When the client last sent a request byte or took a reply byte.
    last_progress: Instant,
}

/// Serves `listener` on the calling thread until an I/O error on the
/// listener or the poller itself.
pub(super) fn run(
    listener: std::net::TcpListener,
    config: ServerConfig,
    stats: &ServerStats,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut timer = Timerfd::new()?;
    poll.registry().register(
        &mut SourceFd(&timer.fd.as_raw_fd()),
        TIMER,
        Interest::READABLE,
    )?;
    let mut server = Server {
        poll,
        listener,
        config,
        stats,
        pattern: crate::workload::pattern::reply_pattern(WRITE_CHUNK_BYTES),
        connections: Vec::new(),
        free_slots: Vec::new(),
        deadlines: VecDeque::new(),
        accept_pending: false,
        accept_paused: false,
        last_warning: None,
        next_idle_check: Instant::now(),
    };
    let mut events = Events::with_capacity(EVENTS_PER_POLL);
    loop {
        // With connections still waiting to be accepted, only look for
        // events (and due replies) and come straight back.
        // Otherwise wake at least for the next idle check while any
        // connection is open.
        let timeout = if server.accept_pending {
            Some(Duration::ZERO)
        } else if server.connections.len() > server.free_slots.len() {
            Some(
                server
                    .next_idle_check
                    .saturating_duration_since(Instant::now()),
            )
        } else {
            None
        };
        match server.poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
        for (handled, event) in events.iter().enumerate() {
            match event.token() {
                LISTENER => server.accept_pending = true,
                TIMER => timer.clear(),
                Token(token) => server.ready(
                    token - FIRST_CONNECTION,
                    event.is_readable() || event.is_read_closed() || event.is_error(),
                    event.is_writable() || event.is_error(),
                ),
            }
            if handled % EVENTS_BETWEEN_DEADLINE_CHECKS == 0 {
                server.answer_due();
            }
        }
        // Replies that are due come before new connections: a burst of
        // thousands of connects must not make the waiting ones late.
        server.answer_due();
        if server.accept_pending {
            server.accept_some();
            server.answer_due();
        }
        server.close_idle();
        if let Some(&(deadline, _)) = server.deadlines.front() {
            timer.arm(deadline)?;
        }
    }
}

/// Events taken from epoll at a time.
const EVENTS_PER_POLL: usize = 256;

/// Due replies are looked for after this many events...
const EVENTS_BETWEEN_DEADLINE_CHECKS: usize = 32;

/// ...and after accepting this many connections.
const ACCEPTS_PER_TURN: usize = 32;

struct Server<'a> {
    poll: Poll,
    listener: TcpListener,
    config: ServerConfig,
    stats: &'a ServerStats,
    /// Every reply is cut from this (see [`crate::workload::pattern::reply_pattern`]).
    pattern: Vec<u8>,
    connections: Vec<Option<Connection>>,
    free_slots: Vec<usize>,
    /// (deadline, slot) of every waiting connection, earliest first.
    deadlines: VecDeque<(Instant, usize)>,
    /// True while connections may be waiting in the listen backlog.
    accept_pending: bool,
    /// True after accepting failed for lack of descriptors or memory: accept
    /// again when a connection closes.
    accept_paused: bool,
    last_warning: Option<Instant>,
    /// When to look for idle connections next.
    next_idle_check: Instant,
}

impl Server<'_> {
    /// Accepts up to [`ACCEPTS_PER_TURN`] connections; `accept_pending`
    /// stays true while more may be waiting (epoll reports the listener
    /// only once for a whole burst, edge-triggered).
    fn accept_some(&mut self) {
        for _ in 0..ACCEPTS_PER_TURN {
            match self.listener.accept() {
                Ok((stream, _peer)) => self.add(stream),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_pending = false;
                    return;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(error) => {
                    // Out of descriptors or memory: say so (at most once a
                    // second) and try again when a connection has closed.
                    self.warn(&format!("accepting a connection failed: {error}"));
                    self.accept_pending = false;
                    self.accept_paused = true;
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream) {
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.connections.push(None);
            self.connections.len() - 1
        });
        // Edge-triggered: one registration for the connection's whole life.
        let registered = self.poll.registry().register(
            &mut stream,
            Token(FIRST_CONNECTION + slot),
            Interest::READABLE | Interest::WRITABLE,
        );
        if registered.is_err() {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            self.free_slots.push(slot);
            return;
        }
        self.connections[slot] = Some(Connection {
            stream,
            phase: Phase::Reading {
                line: [0; MAX_REQUEST_BYTES],
                len: 0,
            },
            last_progress: Instant::now(),
        });
        // On loopback the request has usually arrived with the connection.
        self.read_request(slot);
    }

    /// A connection's socket became readable and/or writable.
    fn ready(&mut self, slot: usize, readable: bool, writable: bool) {
        match self.connections.get(slot) {
            Some(Some(Connection {
                phase: Phase::Reading { .. },
                ..
            })) if readable => self.read_request(slot),
            Some(Some(Connection {
                phase: Phase::Writing { .. },
                ..
            })) if writable => self.write_reply(slot),
            // Waiting: the deadline decides, not the socket.
            _ => {}
        }
    }

    fn read_request(&mut self, slot: usize) {
        let Some(connection) = self.connections[slot].as_mut() else {
            return;
        };
        let Phase::Reading { line, len } = &mut connection.phase else {
            return;
        };
        let end = loop {
            if let Some(newline) = line[..*len].iter().position(|&b| b == b'\n') {
                break newline + 1;
            }
            if *len == line.len() {
                return self.refuse(slot, "the request line is longer than 64 bytes");
            }
            match connection.stream.read(&mut line[*len..]) {
                // Closed without a request: a readiness probe, nothing to answer.
                Ok(0) if *len == 0 => return self.close(slot),
                // Half-closed after part of a line: say what was wrong.
                Ok(0) => return self.refuse(slot, "the request ended without a newline"),
                Ok(read) => {
                    *len += read;
                    connection.last_progress = Instant::now();
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(slot),
            }
        };
        let arrived = Instant::now();
        match protocol::parse_request(&line[..end]) {
            Ok(id) => {
                connection.phase = Phase::Waiting { id };
                self.deadlines
                    .push_back((arrived + self.config.delay, slot));
            }
            Err(reason) => self.refuse(slot, &reason),
        }
    }

    /// Starts the reply of every connection whose deadline has passed.
    fn answer_due(&mut self) {
        while let Some(&(deadline, slot)) = self.deadlines.front() {
            let now = Instant::now();
            if deadline > now {
                return;
            }
            self.deadlines.pop_front();
            self.stats.record_lateness(now - deadline);
            let Some(connection) = self.connections[slot].as_mut() else {
                continue;
            };
            let Phase::Waiting { id } = connection.phase else {
                continue;
            };
            if self.config.reply_bytes > NAGLE_FREE_BYTES {
                // A reply of several segments must not wait for ACKs between them.
                let _ = connection.stream.set_nodelay(true);
            }
            connection.phase = Phase::Writing { id, sent: 0 };
            // The server's delay was not the client's idleness.
            connection.last_progress = Instant::now();
            self.write_reply(slot);
        }
    }

    fn write_reply(&mut self, slot: usize) {
        let total = self.config.reply_bytes;
        let Some(connection) = self.connections[slot].as_mut() else {
            return;
        };
        let Phase::Writing { id, sent } = &mut connection.phase else {
            return;
        };
        while *sent < total {
            let piece = (total - *sent).min(WRITE_CHUNK_BYTES as u64) as usize;
            let start = crate::workload::pattern::pattern_start(*id, *sent);
            match connection.stream.write(&self.pattern[start..start + piece]) {
                Ok(written) => {
                    *sent += written as u64;
                    connection.last_progress = Instant::now();
                }
                // The rest when the socket is writable again.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(slot),
            }
        }
        self.stats.served.fetch_add(1, Ordering::Relaxed);
        // Closing ends the stream, and the end of the stream ends the reply.
        self.close(slot);
    }

    /// Answers a request the server cannot read with one `ERR` line.
    fn refuse(&mut self, slot: usize, reason: &str) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        if let Some(connection) = self.connections[slot].as_mut() {
            let mut line = crate::workload::pattern::ERROR_PREFIX.to_vec();
            line.extend_from_slice(reason.replace('\n', " ").as_bytes());
            line.push(b'\n');
            // A short line into an empty send buffer: one write is enough.
            let _ = connection.stream.write(&line);
        }
        self.close(slot);
    }

    /// Closes connections that made no progress for the idle timeout, at
    /// most every quarter of it (and at least every second): a scan of every
    /// slot, cheap at that rate even with a million connections.
    fn close_idle(&mut self) {
        let now = Instant::now();
        if now < self.next_idle_check {
            return;
        }
        let timeout = self.config.idle_timeout;
        self.next_idle_check =
            now + (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let idle: Vec<usize> = self
            .connections
            .iter()
            .enumerate()
            .filter_map(|(slot, connection)| {
                let connection = connection.as_ref()?;
                let waiting = matches!(connection.phase, Phase::Waiting { .. });
                (!waiting && now.duration_since(connection.last_progress) >= timeout)
                    .then_some(slot)
            })
            .collect();
        for slot in idle {
            self.stats.idle_closed.fetch_add(1, Ordering::Relaxed);
            self.close(slot);
        }
    }

    fn fail(&mut self, slot: usize) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        self.close(slot);
    }

    fn close(&mut self, slot: usize) {
        // Dropping the stream closes it, which also removes it from epoll.
        if self.connections[slot].take().is_some() {
            self.free_slots.push(slot);
        }
        if self.accept_paused {
            self.accept_paused = false;
            self.accept_pending = true;
        }
    }

    fn warn(&mut self, message: &str) {
        let quiet = self
            .last_warning
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        if !quiet {
            crate::os::output::stderr_line!("warning: {message}");
            self.last_warning = Some(Instant::now());
        }
    }
}

/// A timerfd on CLOCK_MONOTONIC (the clock `Instant` reads on Linux);
/// also the load generator's pacing clock.
pub(crate) struct Timerfd {
    pub(crate) fd: OwnedFd,
    armed_for: Option<Instant>,
    /// The same moment as `Instant` and as CLOCK_MONOTONIC nanoseconds, to
    /// turn deadlines into absolute timerfd times.
    origin: (Instant, u64),
}

impl Timerfd {
    pub(crate) fn new() -> io::Result<Timerfd> {
        // SAFETY: timerfd_create takes no pointers; a valid descriptor is
        // owned by the OwnedFd from here on.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Timerfd {
            fd,
            armed_for: None,
            origin: (Instant::now(), monotonic_ns()),
        })
    }

    /// Makes the timer fire at `deadline` (at once if it has passed).
    pub(crate) fn arm(&mut self, deadline: Instant) -> io::Result<()> {
        if self.armed_for == Some(deadline) {
            return Ok(());
        }
        let (origin, origin_ns) = self.origin;
        let at_ns = origin_ns + deadline.saturating_duration_since(origin).as_nanos() as u64;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (at_ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (at_ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: the spec is a valid itimerspec we own; no old value is asked for.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed_for = Some(deadline);
        Ok(())
    }

    /// Consumes the expiration so the next one wakes the loop again.
    pub(crate) fn clear(&mut self) {
        let mut expirations = [0u8; 8];
        // SAFETY: reads at most 8 bytes into the buffer we own.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                expirations.as_mut_ptr().cast(),
                expirations.len(),
            );
        }
        self.armed_for = None;
    }
}

fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}
