//! `http_server`: how many requests per second each model's HTTP server
//! (`serve --model M`, the lab's one HTTP core) answers to 50 keep-alive
//! clients that each send their next request the moment the previous reply
//! is in — a closed loop, like `wrk`. Two handlers: `/health`, which costs
//! nothing but parsing, the runtime's I/O and its scheduling, so the
//! runtimes differ most there; and `/work?cpu_us=100`, 100 µs of calibrated
//! compute per request, where two cores cap every model near 20,000 req/s
//! and what is left is how well the model keeps both cores busy. It teaches
//! the per-request cost of each concurrency model at a fixed load. It does
//! not teach latency under load: a closed loop slows down with the server,
//! so a stall hides in it (the open-loop `load` command and the `server`
//! sweep measure that), nor memory or thread counts (the sweep records
//! them), nor the network (loopback, client and server share the cores).
//!
//! Each model's server is a separate process (the lab's own binary, as in
//! the `server` sweep), started once per model with one worker per core,
//! outside the timed region; the 50 connections are opened before the
//! samples and reused by all of them. Each sample (`iter_custom`) times
//! `iters` requests spread over the connections, from the first send to the
//! last reply; every reply must be a 200 with its whole `Content-Length`, or
//! the bench stops. Criterion's throughput is one request per iteration,
//! so its report reads in requests per second. The client is none of the
//! models: one thread, epoll through `mio`. A model that serves fewer
//! keep-alive connections at once than the 50 clients (`sequential`, and a
//! pool of one worker per core) is skipped and named on stderr: in a closed
//! loop the other clients would wait for ever.

use async_vs_blocking::lab::experiments;
use async_vs_blocking::model;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Keep-alive connections, each with one request in flight.
const CONNECTIONS: usize = 50;
/// The handlers: (name in the report, request target).
const HANDLERS: [(&str, &str); 2] = [
    ("health", "/health"),
    ("cpu_100us", "/work?cpu_us=100&bytes=64"),
];
/// Samples per cell: criterion's minimum, to keep `cargo bench` short.
const SAMPLES: usize = 10;
/// Bootstrap resamples (default 100,000; 10,000 give the same intervals to
/// within a few percent at 10 samples, and cheaper report plots).
const RESAMPLES: usize = 10_000;
/// Warm-up per cell: long enough for every connection to carry requests.
const WARM_UP: Duration = Duration::from_millis(500);
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_secs(2);
/// A reply slower than this means the server is stuck: the bench stops.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The lab's own binary, which cargo builds for the benches.
const LAB_BINARY: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

/// `serve --model M` in a process of its own, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(model: &str) -> Server {
        let mut child = Command::new(LAB_BINARY)
            .args(["serve", "--model", model, "--port", "0"])
            .args(["--workers", &experiments::workers().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting `serve --model {model}`: {error}"));
        let mut first = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut first);
        let addr = read.ok().and_then(|_| first.trim().parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`serve --model {model}` printed no address (first line {first:?})");
        };
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive connection and the reply bytes read on it so far.
struct Connection {
    stream: TcpStream,
    inbox: Vec<u8>,
    busy: bool,
}

/// The closed-loop client: [`CONNECTIONS`] connections, opened once.
struct Client {
    poll: Poll,
    events: Events,
    connections: Vec<Connection>,
    request: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, path: &str) -> Client {
        let poll = Poll::new().expect("creating an epoll instance");
        let connections = (0..CONNECTIONS)
            .map(|index| {
                let std_stream = std::net::TcpStream::connect(addr)
                    .unwrap_or_else(|error| panic!("connecting to {addr}: {error}"));
                std_stream.set_nodelay(true).expect("setting TCP_NODELAY");
                std_stream
                    .set_nonblocking(true)
                    .expect("making the socket non-blocking");
                let mut stream = TcpStream::from_std(std_stream);
                poll.registry()
                    .register(&mut stream, Token(index), Interest::READABLE)
                    .expect("registering a connection");
                Connection {
                    stream,
                    inbox: Vec::with_capacity(4096),
                    busy: false,
                }
            })
            .collect();
        Client {
            poll,
            events: Events::with_capacity(CONNECTIONS),
            connections,
            request: format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes(),
        }
    }

    /// Sends `requests` requests, each on a connection as soon as it is
    /// free, and returns the time from the first send to the last reply.
    fn run(&mut self, requests: u64) -> Duration {
        let started = Instant::now();
        let mut unsent = requests;
        let mut answered = 0;
        for index in 0..self.connections.len() {
            if unsent == 0 {
                break;
            }
            self.send(index);
            unsent -= 1;
        }
        let mut buffer = vec![0u8; 64 * 1024];
        while answered < requests {
            match self.poll.poll(&mut self.events, Some(REPLY_TIMEOUT)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => panic!("polling: {error}"),
            }
            assert!(
                !self.events.is_empty(),
                "no reply for {REPLY_TIMEOUT:?}: the server is stuck"
            );
            let ready: Vec<usize> = self.events.iter().map(|event| event.token().0).collect();
            for index in ready {
                let replies = self.receive(index, &mut buffer);
                answered += replies;
                if replies > 0 && unsent > 0 {
                    self.send(index);
                    unsent -= 1;
                }
            }
        }
        started.elapsed()
    }

    fn send(&mut self, index: usize) {
        let connection = &mut self.connections[index];
        let mut written = 0;
        while written < self.request.len() {
            match connection.stream.write(&self.request[written..]) {
                Ok(0) => panic!("the server closed a connection"),
                Ok(n) => written += n,
                // A request is a few dozen bytes on an idle connection: the
                // send buffer is empty, so this is only ever a brief wait.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    std::thread::yield_now()
                }
                Err(error) => panic!("sending a request: {error}"),
            }
        }
        connection.busy = true;
    }

    /// Reads what arrived on connection `index`; returns how many whole
    /// replies (0 or 1: one request is in flight) it completed.
    fn receive(&mut self, index: usize, buffer: &mut [u8]) -> u64 {
        let connection = &mut self.connections[index];
        loop {
            match connection.stream.read(buffer) {
                Ok(0) => panic!("the server closed a keep-alive connection"),
                Ok(n) => connection.inbox.extend_from_slice(&buffer[..n]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => panic!("reading a reply: {error}"),
            }
        }
        match whole_reply(&connection.inbox) {
            Some(length) if connection.busy => {
                connection.inbox.drain(..length);
                connection.busy = false;
                1
            }
            Some(_) => panic!("a reply arrived that no request asked for"),
            None => 0,
        }
    }
}

/// The length of the whole reply at the start of `bytes` (head and body),
/// or `None` while it is incomplete. Anything but a 200 stops the bench: a
/// server must not look fast by failing.
fn whole_reply(bytes: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut reply = httparse::Response::new(&mut headers);
    let head = match reply.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return None,
        Err(error) => panic!("a malformed reply: {error}"),
    };
    assert_eq!(
        reply.code,
        Some(200),
        "the server answered {:?}",
        reply.code
    );
    let body: usize = reply
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .expect("a reply without Content-Length");
    (bytes.len() >= head + body).then_some(head + body)
}

fn http_server(c: &mut Criterion) {
    let mut group = c.benchmark_group("http_server");
    group
        .sample_size(SAMPLES)
        .nresamples(RESAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .throughput(Throughput::Elements(1));
    for model in model::all().iter().filter(|model| model.serves()) {
        // A model that serves fewer keep-alive connections at once than the
        // clients hold would leave the rest waiting for ever in a closed loop.
        let at_once = model.wait_concurrency(experiments::workers(), CONNECTIONS as u64);
        if at_once < CONNECTIONS as u64 {
            eprintln!(
                "http_server/{}: skipped, serves {at_once} keep-alive connection{} at once, \
                 not {CONNECTIONS} (its figure is the server sweep's)",
                model.name(),
                if at_once == 1 { "" } else { "s" }
            );
            continue;
        }
        // Started once per model, outside the timed region.
        let server = Server::start(model.name());
        for (handler, path) in HANDLERS {
            let mut client = Client::connect(server.addr, path);
            group.bench_function(BenchmarkId::new(handler, model.name()), |b| {
                b.iter_custom(|requests| client.run(requests))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, http_server);
criterion_main!(benches);
