//! `load`: an open-loop HTTP/1.1 load generator, wrk2-style, one
//! implementation for every server.
//!
//! Request `k` is due at `start + k / rate`, whatever happened to the
//! requests before it. It goes out on the first free keep-alive connection
//! (one request at a time per connection, free connections taken in turn,
//! so every one of C connections is used); if none is free it waits in a
//! queue, and its latency still counts from the moment it was due. A server
//! that stalls for a second therefore shows a second of latency on every
//! request that was due during the stall — coordinated omission corrected.
//! The latency from the moment each request was actually written (what a
//! closed-loop client such as wrk reports) is kept too, as `service`, so the
//! two can be compared.
//!
//! The generator is not one of the models under test: one thread, epoll
//! through `mio`, and a timerfd armed at the next due time with nanosecond
//! resolution (as the latency server's loop). How late the loop noticed each
//! due request ("behind schedule") is reported, never hidden: when it grows
//! the generator, not the server, is the bottleneck. Requests due during the
//! warm-up are sent but not counted.

use crate::net::http::request::connection_has;
use crate::net::latency::event_loop::Timerfd;
use anyhow::Context;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const TIMER: Token = Token(usize::MAX);

/// How often the loop looks for requests past their timeout and for
/// connections to open again.
const MAINTENANCE_EVERY: Duration = Duration::from_millis(50);

/// A connection that failed to connect is tried again after this long.
const RECONNECT_AFTER: Duration = Duration::from_millis(100);

/// Responses are read through one buffer of this size, shared by every connection.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// The longest response head the generator accepts.
const MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024;

/// What to send, where, how fast and for how long.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub target: SocketAddr,
    /// The request target, e.g. `/work?wait_ms=20`.
    pub path: String,
    /// Requests per second, offered whatever the server does.
    pub rate: f64,
    pub connections: usize,
    /// Measured time, after the warm-up.
    pub duration: Duration,
    /// Time at the start whose requests are sent but not counted.
    pub warmup: Duration,
    /// A request not answered this long after it was due counts as a timeout.
    pub timeout: Duration,
}

/// Latency quantiles, ms (the record type lives with the server sweep's
/// record, which the report reads).
pub use crate::record::server_point::Quantiles;

/// What one load run measured (warm-up excluded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    pub target: String,
    pub path: String,
    pub offered_rps: f64,
    /// Responses completed per second of measured time.
    pub achieved_rps: f64,
    pub connections: usize,
    /// Connections that were open when the schedule ended.
    pub connections_open_at_end: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Requests due in the measured time.
    pub scheduled: u64,
    pub completed: u64,
    /// Latency from the moment each request was due (coordinated omission corrected).
    pub latency: Quantiles,
    /// Latency from the moment each request was written (what a closed-loop client reports).
    pub service: Quantiles,
    /// Failed requests by kind (`timeout`, `connect`, `reset`, `closed`, `bad response`, `status 4xx`...).
    pub errors: BTreeMap<String, u64>,
    /// How late the generator noticed due requests: when this grows, the generator is the bottleneck.
    pub behind_schedule: Quantiles,
    /// The generator's own CPU time (user + system) from the first request
    /// on, s, and per 10,000 completed requests (warm-up included in both).
    pub generator_cpu_s: f64,
    pub generator_cpu_ms_per_10k: Option<f64>,
    /// True when the target is on this machine: the generator takes cores from the server.
    pub shares_cores: bool,
    pub cores: usize,
    /// True when Ctrl-C ended the run early.
    pub interrupted: bool,
    /// True when the run ended before its planned duration because its
    /// p99 had converged (`--converge-min-s`; see [`crate::server::converge`]).
    #[serde(default)]
    pub converged: bool,
    /// The host name of the machine the generator ran on, so a point driven
    /// from another machine says so.
    #[serde(default)]
    pub generator_host: String,
}

impl LoadReport {
    /// Failed requests of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The report as lines for a terminal.
    pub fn text(&self) -> String {
        let answered = self.completed > 0;
        let q = |q: &Quantiles| {
            if !answered {
                // No latency was measured: zeros would read as instant replies.
                return "no responses".to_string();
            }
            format!(
                "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
                q.p50_ms, q.p90_ms, q.p99_ms, q.p999_ms, q.max_ms
            )
        };
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            self.errors
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines =
            vec![
                format!(
                "{} {}: offered {} req/s over {} connections for {:.1} s (after {:.1} s warm-up){}",
                self.target,
                self.path,
                rate_text(self.offered_rps),
                self.connections,
                self.duration_s,
                self.warmup_s,
                if self.interrupted { ", interrupted" } else { "" }
            ),
                format!(
                    "achieved {:.1} req/s: {} of {} due requests completed; errors: {errors}",
                    self.achieved_rps, self.completed, self.scheduled
                ),
                format!(
                    "latency from the due time (CO corrected): {}",
                    q(&self.latency)
                ),
                format!(
                    "latency from the send (uncorrected):      {}",
                    q(&self.service)
                ),
                format!(
                    "generator behind its schedule: p99 {:.3} ms, max {:.3} ms; its CPU {:.2} s{}",
                    self.behind_schedule.p99_ms,
                    self.behind_schedule.max_ms,
                    self.generator_cpu_s,
                    self.generator_cpu_ms_per_10k
                        .map(|ms| format!(" ({ms:.0} ms per 10,000 requests)"))
                        .unwrap_or_default()
                ),
            ];
        if self.shares_cores {
            lines.push(format!(
                "the generator and the server share this machine's {} cores: the generator's CPU \
                 is taken from the server's",
                self.cores
            ));
        }
        if self.connections_open_at_end < self.connections {
            lines.push(format!(
                "only {} of {} connections were open when the schedule ended",
                self.connections_open_at_end, self.connections
            ));
        }
        lines.join("\n")
    }
}

/// A rate with one decimal, or with the digits a slow rate needs (0.05, not 0.1).
fn rate_text(rps: f64) -> String {
    if rps >= 1.0 {
        format!("{rps:.1}")
    } else {
        format!("{rps:.2}")
    }
}

/// Parses `HOST:PORT` or `http://HOST:PORT[/path]` into an address and,
/// if one was given, a path.
pub fn parse_target(text: &str) -> Result<(SocketAddr, Option<String>), String> {
    use std::net::ToSocketAddrs;
    let rest = text.strip_prefix("http://").unwrap_or(text);
    if rest.starts_with("https://") || text.starts_with("https://") {
        return Err("https is not supported; give HOST:PORT or http://HOST:PORT".into());
    }
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], Some(rest[slash..].to_string())),
        None => (rest, None),
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|error| format!("{text:?} is not HOST:PORT ({error})"))?
        .next()
        .ok_or_else(|| format!("{text:?} resolves to no address"))?;
    Ok((addr, path.filter(|p| p != "/")))
}

enum State {
    /// Not connected; try again at this time.
    Down {
        retry_at: Instant,
    },
    Connecting,
    Idle,
    Busy(InFlight),
}

struct InFlight {
    due: Instant,
    sent_at: Instant,
    /// Bytes of the request written so far.
    written: usize,
    head: Vec<u8>,
    /// `(content length, body bytes received)` once the head is complete.
    body: Option<(u64, u64)>,
    /// The response said the server closes the connection after it
    /// (`Connection: close`, or HTTP/1.0 without keep-alive).
    server_closes: bool,
}

struct Connection {
    stream: Option<TcpStream>,
    state: State,
}

struct Generator<'a> {
    options: &'a LoadOptions,
    poll: Poll,
    request: Vec<u8>,
    connections: Vec<Connection>,
    /// Connected and free, taken in turn.
    free: VecDeque<usize>,
    /// Due requests waiting for a free connection (their due times).
    waiting: VecDeque<Instant>,
    measured_from: Instant,
    /// The end of the measured window: completions after it are not
    /// counted in the achieved rate (a queue drained after the window
    /// would otherwise be credited as throughput the server never had).
    measured_until: Instant,
    /// Requests that completed inside `[measured_from, measured_until]`.
    completed_in_window: u64,
    latency: Histogram<u64>,
    service: Histogram<u64>,
    behind: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    completed: u64,
    /// Completed including the warm-up (for the CPU per request).
    completed_all: u64,
    pattern: Vec<u8>,
    /// Only `/work` answers checkable bytes; other paths (`/health`, a
    /// foreign server's) are counted, not compared.
    check_body: bool,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to one hour at three significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    histogram.saturating_record((duration.as_micros() as u64).max(1));
}

/// Runs the load and returns what it measured. Ctrl-C (when
/// [`crate::os::interrupt`] is installed) ends it early with what it has.
pub fn run(options: &LoadOptions) -> anyhow::Result<LoadReport> {
    run_recorded(options, None).map(|(report, _)| report)
}

/// The histograms behind a [`LoadReport`]'s quantiles, µs, for an interval
/// log ([`crate::record::load_point::interval_log`]).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// From each request's due time.
    pub latency: Histogram<u64>,
    /// From each request's send.
    pub service: Histogram<u64>,
    /// When the measured window began, seconds since the Unix epoch.
    pub measured_from_unix_s: f64,
}

/// [`run`], ending the measured time early once the p99 has converged
/// (when `convergence` is given).
pub fn run_converging(
    options: &LoadOptions,
    convergence: Option<crate::server::converge::Convergence>,
) -> anyhow::Result<LoadReport> {
    run_recorded(options, convergence).map(|(report, _)| report)
}

/// [`run_converging`], also returning the histograms.
pub fn run_recorded(
    options: &LoadOptions,
    convergence: Option<crate::server::converge::Convergence>,
) -> anyhow::Result<(LoadReport, Recorded)> {
    anyhow::ensure!(
        (MIN_RATE..=MAX_RATE).contains(&options.rate),
        "the rate must be from {MIN_RATE} to {MAX_RATE} requests per second"
    );
    anyhow::ensure!(options.connections > 0, "at least one connection is needed");
    let poll = Poll::new().context("creating the poller")?;
    let mut timer = Timerfd::new().context("creating the timerfd")?;
    poll.registry()
        .register(
            &mut SourceFd(&timer.fd.as_raw_fd()),
            TIMER,
            Interest::READABLE,
        )
        .context("registering the timerfd")?;
    let host = host_header(options.target);
    let start = Instant::now();
    let mut generator = Generator {
        options,
        poll,
        request: format!("GET {} HTTP/1.1\r\nHost: {host}\r\n\r\n", options.path).into_bytes(),
        connections: (0..options.connections)
            .map(|_| Connection {
                stream: None,
                state: State::Down { retry_at: start },
            })
            .collect(),
        free: VecDeque::with_capacity(options.connections),
        waiting: VecDeque::new(),
        measured_from: start + options.warmup,
        measured_until: start + options.warmup + options.duration,
        completed_in_window: 0,
        latency: histogram(),
        service: histogram(),
        behind: histogram(),
        errors: BTreeMap::new(),
        completed: 0,
        completed_all: 0,
        pattern: crate::workload::pattern::reply_pattern(READ_BUFFER_BYTES),
        check_body: options.path.starts_with("/work"),
    };
    for index in 0..options.connections {
        generator.connect(index, start);
    }
    // Connections get a moment to open before the schedule starts, so that
    // the first requests do not measure connection set-up.
    let schedule_start = generator.wait_for_connections(start + Duration::from_secs(2))?;
    generator.measured_from = schedule_start + options.warmup;
    // The generator's CPU counts from here: opening connections is not load.
    let usage_before = crate::os::measure::Usage::now();
    let mut schedule_end = generator.measured_from + options.duration;
    generator.measured_until = schedule_end;
    let mut tracker = crate::server::converge::Tracker::default();
    let mut next_check = convergence.map(|rule| generator.measured_from + rule.min);
    let mut converged_after = None;
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let mut total_due =
        ((options.warmup + options.duration).as_secs_f64() * options.rate).floor() as u64;
    let mut next: u64 = 0;
    let due_at = |k: u64| schedule_start + interval.mul_f64(k as f64);
    let mut scheduled_measured = 0u64;
    let mut open_at_end = None;
    let mut events = Events::with_capacity(1024);
    let mut read_buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut next_maintenance = Instant::now() + MAINTENANCE_EVERY;
    let mut interrupted = false;
    loop {
        let now = Instant::now();
        while next < total_due && due_at(next) <= now {
            let due = due_at(next);
            record(&mut generator.behind, now - due);
            if due >= generator.measured_from {
                scheduled_measured += 1;
            }
            generator.waiting.push_back(due);
            next += 1;
        }
        generator.dispatch(now);
        if next >= total_due && open_at_end.is_none() {
            open_at_end = Some(generator.open_connections());
        }
        if now >= next_maintenance {
            generator.maintain(now);
            next_maintenance = now + MAINTENANCE_EVERY;
        }
        if let (Some(rule), Some(check)) = (convergence, next_check) {
            if now >= check && next < total_due {
                next_check = Some(now + rule.every);
                if generator.converged(&mut tracker, &rule, now) {
                    // End the schedule here: no more requests are due.
                    total_due = next;
                    schedule_end = now;
                    generator.measured_until = now;
                    converged_after = Some(now - generator.measured_from);
                }
            }
        }
        let outstanding = generator.outstanding();
        if next >= total_due && outstanding == 0 {
            break;
        }
        if now >= schedule_end + options.timeout + MAINTENANCE_EVERY {
            // Everything still outstanding has passed its timeout by now.
            generator.maintain(now + options.timeout);
            break;
        }
        if crate::os::interrupt::requested() {
            interrupted = true;
            break;
        }
        let wake = if next < total_due {
            due_at(next).min(next_maintenance)
        } else {
            next_maintenance
        };
        timer.arm(wake).context("arming the timerfd")?;
        match generator.poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error).context("polling"),
        }
        for event in events.iter() {
            match event.token() {
                TIMER => timer.clear(),
                Token(index) => generator.ready(index, &mut read_buffer),
            }
        }
    }
    let measured = if interrupted {
        Instant::now().saturating_duration_since(generator.measured_from)
    } else {
        converged_after.unwrap_or(options.duration)
    };
    let usage = crate::os::measure::Usage::now().since(&usage_before);
    let cpu_s = (usage.user + usage.sys).as_secs_f64();
    let completed = generator.completed;
    let recorded = Recorded {
        latency: generator.latency.clone(),
        service: generator.service.clone(),
        measured_from_unix_s: crate::record::load_point::unix_s_ago(
            Instant::now().saturating_duration_since(generator.measured_from),
        ),
    };
    let report = LoadReport {
        target: options.target.to_string(),
        path: options.path.clone(),
        offered_rps: options.rate,
        // Only what completed inside the window: a server cannot be
        // credited with more than it carried while it was measured.
        achieved_rps: generator.completed_in_window as f64 / measured.as_secs_f64().max(1e-9),
        connections: options.connections,
        connections_open_at_end: open_at_end.unwrap_or_else(|| generator.open_connections()),
        duration_s: measured.as_secs_f64(),
        warmup_s: options.warmup.as_secs_f64(),
        scheduled: scheduled_measured,
        completed,
        latency: Quantiles::of(&generator.latency),
        service: Quantiles::of(&generator.service),
        errors: generator.errors,
        behind_schedule: Quantiles::of(&generator.behind),
        generator_cpu_s: cpu_s,
        generator_cpu_ms_per_10k: (generator.completed_all > 0)
            .then(|| cpu_s * 1e3 * 1e4 / generator.completed_all as f64),
        shares_cores: options.target.ip().is_loopback() || is_local_address(options.target),
        cores: crate::os::measure::cores(),
        interrupted,
        converged: converged_after.is_some(),
        generator_host: crate::os::measure::read_trimmed("/proc/sys/kernel/hostname"),
    };
    Ok((report, recorded))
}

/// The `Host` header for `target`: the port only when it is not 80, and an
/// IPv6 address in brackets (`[::1]:8080`), as RFC 9110 §7.2 writes it.
fn host_header(target: SocketAddr) -> String {
    match (target.port(), target.ip()) {
        (80, std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        (80, ip) => ip.to_string(),
        _ => target.to_string(),
    }
}

/// True when `addr` belongs to this machine (a bind to it succeeds).
fn is_local_address(addr: SocketAddr) -> bool {
    std::net::TcpListener::bind(SocketAddr::new(addr.ip(), 0)).is_ok()
}

impl Generator<'_> {
    /// One convergence check (see [`crate::server::converge`]).
    fn converged(
        &self,
        tracker: &mut crate::server::converge::Tracker,
        rule: &crate::server::converge::Convergence,
        now: Instant,
    ) -> bool {
        let in_flight = self.connections.iter().filter_map(|c| match &c.state {
            State::Busy(flight) => Some(flight.due),
            _ => None,
        });
        let oldest = in_flight.chain(self.waiting.front().copied()).min();
        let waited = oldest.map_or(0, |due| {
            now.saturating_duration_since(due).as_micros() as u64
        });
        tracker.converged(
            rule,
            self.latency.len(),
            self.latency.value_at_quantile(0.99),
            waited,
        )
    }

    fn error(&mut self, kind: &str, due: Option<Instant>) {
        // Failures of warm-up requests are not counted, like their latencies.
        if due.map_or(true, |due| due >= self.measured_from) {
            *self.errors.entry(kind.to_string()).or_default() += 1;
        }
    }

    fn connect(&mut self, index: usize, now: Instant) {
        let connection = &mut self.connections[index];
        match TcpStream::connect(self.options.target) {
            Ok(mut stream) => {
                let registered = self.poll.registry().register(
                    &mut stream,
                    Token(index),
                    Interest::READABLE | Interest::WRITABLE,
                );
                if registered.is_ok() {
                    let _ = stream.set_nodelay(true);
                    connection.stream = Some(stream);
                    connection.state = State::Connecting;
                    return;
                }
                connection.state = State::Down {
                    retry_at: now + RECONNECT_AFTER,
                };
            }
            Err(_) => {
                connection.state = State::Down {
                    retry_at: now + RECONNECT_AFTER,
                };
            }
        }
        self.error("connect", None);
    }

    /// Waits until every connection is open (or `deadline`); returns when the schedule starts.
    fn wait_for_connections(&mut self, deadline: Instant) -> anyhow::Result<Instant> {
        let mut events = Events::with_capacity(1024);
        let mut scratch = vec![0u8; 1];
        while self.free.len() < self.connections.len() && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .poll
                .poll(&mut events, Some(left.min(MAINTENANCE_EVERY)))
            {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error).context("polling"),
            }
            for event in events.iter() {
                if event.token() != TIMER {
                    self.ready(event.token().0, &mut scratch);
                }
            }
            if crate::os::interrupt::requested() {
                break;
            }
        }
        // Connect failures before the schedule are not the server's answer to load.
        self.errors.clear();
        Ok(Instant::now())
    }

    fn open_connections(&self) -> usize {
        self.connections
            .iter()
            .filter(|c| matches!(c.state, State::Idle | State::Busy(_)))
            .count()
    }

    fn outstanding(&self) -> usize {
        self.waiting.len()
            + self
                .connections
                .iter()
                .filter(|c| matches!(c.state, State::Busy(_)))
                .count()
    }

    /// Sends waiting requests on free connections.
    fn dispatch(&mut self, now: Instant) {
        while !self.waiting.is_empty() {
            let Some(index) = self.free.pop_front() else {
                return;
            };
            if !matches!(self.connections[index].state, State::Idle) {
                continue;
            }
            let due = self.waiting.pop_front().expect("checked non-empty");
            self.connections[index].state = State::Busy(InFlight {
                due,
                sent_at: now,
                written: 0,
                head: Vec::new(),
                body: None,
                server_closes: false,
            });
            self.write_request(index);
        }
    }

    fn write_request(&mut self, index: usize) {
        let connection = &mut self.connections[index];
        let (Some(stream), State::Busy(flight)) = (&mut connection.stream, &mut connection.state)
        else {
            return;
        };
        while flight.written < self.request.len() {
            match stream.write(&self.request[flight.written..]) {
                Ok(written) => flight.written += written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(index, "reset"),
            }
        }
    }

    /// Times out requests waiting too long and reopens closed connections.
    fn maintain(&mut self, now: Instant) {
        let timeout = self.options.timeout;
        while let Some(&due) = self.waiting.front() {
            if now.saturating_duration_since(due) < timeout {
                break;
            }
            self.waiting.pop_front();
            self.error("timeout", Some(due));
        }
        for index in 0..self.connections.len() {
            match &self.connections[index].state {
                State::Busy(flight) if now.saturating_duration_since(flight.due) >= timeout => {
                    self.fail(index, "timeout");
                }
                State::Down { retry_at } if *retry_at <= now => self.connect(index, now),
                _ => {}
            }
        }
    }

    /// Counts the request in flight on `index` (if any) as failed with
    /// `kind`, closes the connection and opens it again later.
    fn fail(&mut self, index: usize, kind: &str) {
        let now = Instant::now();
        let state = std::mem::replace(
            &mut self.connections[index].state,
            State::Down {
                retry_at: now + RECONNECT_AFTER,
            },
        );
        match state {
            State::Busy(flight) => self.error(kind, Some(flight.due)),
            State::Connecting => self.error("connect", None),
            // A server may close an idle keep-alive connection; open another at once.
            State::Idle => {
                self.connections[index].state = State::Down { retry_at: now };
            }
            State::Down { .. } => {}
        }
        if let Some(mut stream) = self.connections[index].stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
    }

    fn ready(&mut self, index: usize, buffer: &mut [u8]) {
        let Some(connection) = self.connections.get_mut(index) else {
            return;
        };
        match connection.state {
            State::Connecting => {
                let Some(stream) = &connection.stream else {
                    return;
                };
                // The pending error first: a refused connect is also "not
                // connected", and read the other way round it would wait forever.
                match (stream.take_error(), stream.peer_addr()) {
                    (Ok(None), Ok(_)) => {
                        connection.state = State::Idle;
                        self.free.push_back(index);
                    }
                    (Ok(None), Err(error)) if error.kind() == io::ErrorKind::NotConnected => {}
                    _ => self.fail(index, "connect"),
                }
            }
            State::Busy(_) => {
                self.write_request(index);
                self.read_response(index, buffer);
            }
            State::Idle => {
                // Readable while idle: the server closed it (or sent junk).
                let Some(stream) = &mut connection.stream else {
                    return;
                };
                match stream.read(buffer) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    _ => self.fail(index, "closed"),
                }
            }
            State::Down { .. } => {}
        }
    }

    fn read_response(&mut self, index: usize, buffer: &mut [u8]) {
        loop {
            let connection = &mut self.connections[index];
            let (Some(stream), State::Busy(_)) = (&mut connection.stream, &connection.state) else {
                return;
            };
            let read = match stream.read(buffer) {
                Ok(0) => return self.fail(index, "closed"),
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.fail(index, "reset"),
            };
            if let Err(kind) = self.take(index, &buffer[..read]) {
                return self.fail(index, &kind);
            }
        }
    }

    /// Feeds bytes of a response to the request in flight on `index`.
    fn take(&mut self, index: usize, bytes: &[u8]) -> Result<(), String> {
        let State::Busy(flight) = &mut self.connections[index].state else {
            return Err("bad response".into());
        };
        if flight.body.is_none() {
            flight.head.extend_from_slice(bytes);
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            let head_len = match response.parse(&flight.head) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if flight.head.len() < MAX_RESPONSE_HEAD_BYTES => {
                    return Ok(())
                }
                _ => return Err("bad response".into()),
            };
            let status = response.code.unwrap_or(0);
            if status != 200 {
                return Err(format!("status {status}"));
            }
            let connection = response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("connection"))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
                .collect::<Vec<_>>();
            let says = |token| connection.iter().any(|v| connection_has(v, token));
            flight.server_closes =
                says("close") || (response.version == Some(0) && !says("keep-alive"));
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .ok_or_else(|| "bad response".to_string())?;
            flight.body = Some((length, 0));
            let rest = flight.head.split_off(head_len);
            flight.head = Vec::new();
            return self.take_body(index, &rest);
        }
        self.take_body(index, bytes)
    }

    fn take_body(&mut self, index: usize, bytes: &[u8]) -> Result<(), String> {
        let State::Busy(flight) = &mut self.connections[index].state else {
            return Err("bad response".into());
        };
        let Some((length, received)) = &mut flight.body else {
            return Err("bad response".into());
        };
        if *received + bytes.len() as u64 > *length {
            return Err("bad response".into());
        }
        for piece in bytes.chunks(READ_BUFFER_BYTES) {
            let start = crate::workload::pattern::pattern_start(0, *received);
            if self.check_body && piece != &self.pattern[start..start + piece.len()] {
                return Err("bad response".into());
            }
            *received += piece.len() as u64;
        }
        if *received < *length {
            return Ok(());
        }
        let now = Instant::now();
        let (due, sent_at) = (flight.due, flight.sent_at);
        if flight.server_closes {
            // Announced, so not an error: open a new connection for the next request.
            if let Some(mut stream) = self.connections[index].stream.take() {
                let _ = self.poll.registry().deregister(&mut stream);
            }
            self.connect(index, now);
        } else {
            self.connections[index].state = State::Idle;
            self.free.push_back(index);
        }
        self.completed_all += 1;
        // Achieved counts requests due inside the window that completed
        // inside it: a backlog from the warm-up finishing in the window is
        // not credited, so achieved can never exceed what was offered.
        if due >= self.measured_from && now <= self.measured_until {
            self.completed_in_window += 1;
        }
        if due >= self.measured_from {
            self.completed += 1;
            record(&mut self.latency, now - due);
            record(&mut self.service, now - sent_at);
        }
        Ok(())
    }
}

/// `load`'s command line.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The server: HOST:PORT or http://HOST:PORT[/path].
    #[arg(long)]
    pub target: String,
    /// Requests per second, offered on schedule whatever the server does.
    #[arg(long, value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: f64,
    /// Keep-alive connections (each carries one request at a time).
    #[arg(long, default_value = "10", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub connections: u64,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub duration_s: f64,
    /// Seconds at the start whose requests are sent but not counted.
    #[arg(long, default_value = "1", value_parser = parse_warmup)]
    pub warmup_s: f64,
    /// The request target [default: the path in --target, or /health].
    #[arg(long)]
    pub path: Option<String>,
    /// A request not answered this many seconds after it was due is a timeout.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub timeout_s: f64,
    /// Print the report as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Also write the latency histograms to FILE as an HdrHistogram interval
    /// log (`report --input` merges the logs of generators started together).
    #[arg(long, value_name = "FILE")]
    pub histogram_log: Option<std::path::PathBuf>,
    /// Write this experiment (rate, connections, request, duration) as a
    /// Locust file to FILE and exit without sending load.
    #[arg(long, value_name = "FILE")]
    pub export_locust: Option<std::path::PathBuf>,
    /// The latency objective the Locust file states (p99 at or below it), ms.
    #[arg(long, default_value = "100", value_parser = parse_objective)]
    pub objective_ms: f64,
    /// End the measured time early once the p99 has converged (steady
    /// within 2 % over 250 ms twice, 1,000 samples or more), but not
    /// before this many measured seconds.
    #[arg(long, value_parser = parse_seconds)]
    pub converge_min_s: Option<f64>,
}

fn parse_objective(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms > 0.0 && ms <= 3_600_000.0 => Ok(ms),
        _ => Err(format!(
            "{text:?} must be a number of milliseconds above 0 (at most one hour)"
        )),
    }
}

/// Refuses (exit 2) an output file whose directory does not exist, before
/// any load is sent: a measured run must not be lost at its end.
fn check_output_file(flag: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() || path.is_dir() {
        return Err(crate::os::error::UsageError(format!(
            "error: {flag} {}: {} is not a directory that exists",
            path.display(),
            if path.is_dir() { path } else { dir }.display()
        ))
        .into());
    }
    Ok(())
}

/// The slowest rate the schedule takes: one request every 100 s. (Slower
/// ones round to "0.0 req/s" and, far enough down, to an interval no
/// `Duration` holds.)
pub const MIN_RATE: f64 = 0.01;

/// The fastest rate the schedule takes.
pub const MAX_RATE: f64 = 10_000_000.0;

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "{text:?} must be a number of requests per second from 0.01 to 10,000,000"
        )),
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} must be a number of seconds above 0 (at most one day)"
        )),
    }
}

fn parse_warmup(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} must be a number of seconds from 0 to one day"
        )),
    }
}

/// `async-vs-blocking load`.
pub fn load_main(args: LoadArgs) -> anyhow::Result<i32> {
    let (target, path_in_target) = parse_target(&args.target)
        .map_err(|reason| crate::os::error::UsageError(format!("error: --target: {reason}")))?;
    let path = args
        .path
        .or(path_in_target)
        .unwrap_or_else(|| "/health".into());
    if !path.starts_with('/')
        || path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(crate::os::error::UsageError(format!(
            "error: --path {path:?} must start with / and hold no spaces"
        ))
        .into());
    }
    let needed = args.connections + crate::os::descriptors::RESERVED_DESCRIPTORS;
    let limit = crate::os::descriptors::raise_nofile_limit();
    if needed > limit {
        return Err(crate::os::error::UsageError(format!(
            "error: {} connections need about {needed} file descriptors, but the limit is {limit}; \
             raise it with `ulimit -n {needed}` or use fewer --connections",
            args.connections
        ))
        .into());
    }
    let options = LoadOptions {
        target,
        path,
        rate: args.rate,
        connections: args.connections as usize,
        duration: Duration::from_secs_f64(args.duration_s),
        warmup: Duration::from_secs_f64(args.warmup_s),
        timeout: Duration::from_secs_f64(args.timeout_s),
    };
    if let Some(file) = &args.export_locust {
        check_output_file("--export-locust", file)?;
        let text = super::locust::locustfile(&super::locust::Experiment {
            target: options.target,
            path: &options.path,
            rate: options.rate,
            connections: options.connections,
            warmup: options.warmup,
            duration: options.duration,
            timeout: options.timeout,
            objective_ms: args.objective_ms,
        });
        crate::os::output::replace_file(file, text.as_bytes())?;
        crate::os::output::write_stdout(format_args!("{}", file.display()), true)?;
        return Ok(0);
    }
    if let Some(file) = &args.histogram_log {
        check_output_file("--histogram-log", file)?;
    }
    crate::os::interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let convergence = args
        .converge_min_s
        .map(|s| crate::server::converge::Convergence::after(Duration::from_secs_f64(s)));
    let (report, recorded) = run_recorded(&options, convergence)?;
    if let Some(file) = &args.histogram_log {
        let run = crate::record::load_point::GeneratorRun {
            target: report.target.clone(),
            path: report.path.clone(),
            offered_rps: report.offered_rps,
            achieved_rps: report.achieved_rps,
            connections: report.connections as u64,
            scheduled: report.scheduled,
            completed: report.completed,
            errors: report.error_count(),
            measured_from_unix_s: recorded.measured_from_unix_s,
            duration_s: report.duration_s,
            interrupted: report.interrupted,
        };
        let log =
            crate::record::load_point::interval_log(&run, &recorded.latency, &recorded.service)?;
        crate::os::output::replace_file(file, &log)?;
    }
    if args.json {
        crate::os::output::write_stdout(format_args!("{}", serde_json::to_string(&report)?), true)?;
    } else {
        crate::os::output::write_stdout(format_args!("{}", report.text()), true)?;
    }
    Ok(if report.interrupted {
        crate::os::interrupt::EXIT_CODE
    } else {
        0
    })
}
