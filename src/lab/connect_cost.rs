//! What one `socket` connection costs the cores, measured in the cell's own
//! process just before the timed region, so the `socket` ideal can count the
//! CPU the connections need besides the server's delay
//! ([`crate::workload::Plan::socket_ideal`]).
//!
//! One connection's whole life as the kernel does it, client and server side
//! on ONE thread: connect on loopback, send the request line, accept it from
//! the listening socket, read and parse the line, write the reply of the
//! cell's size (non-blocking, interleaved with the client's reads so a large
//! reply cannot wedge the thread), check every byte through the same
//! 1 KiB buffer the models read with, close the server side first (as the
//! latency server does), read the end of the stream and close the client.
//! On loopback none of these calls waits for anything — the packets are
//! processed in the sending call — so the thread's wall time for a batch is
//! the core time the batch used, softirq included (which thread CPU time
//! would leave out where the kernel accounts interrupts apart). The fastest
//! of a few batches is kept: a lower bound on the cost, the way the compute
//! kernel's fastest probe is.
//!
//! The real latency server does more per connection (epoll registration, a
//! timer, its own wake-ups), so the measured cost is, if anything, below the
//! real one: the ideal built from it stays a bound a perfect model could not
//! beat.

use crate::model::READ_BUFFER_BYTES;
use crate::net::protocol;
use crate::workload::pattern::{pattern_start, reply_pattern, ReplyCheck};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Connections timed per calibration (with the default 1 KiB reply).
pub const CONNECTIONS: u64 = 200;
/// Batches the connections are split into; the fastest batch counts.
pub const BATCHES: u64 = 5;
/// Reply bytes a calibration moves at most: large replies get fewer
/// connections (never fewer than two per batch).
const BYTES_BUDGET: u64 = 16 * 1024 * 1024;
/// Bytes the calibration's server side writes per call.
const WRITE_CHUNK_BYTES: usize = 64 * 1024;
/// No call of a loopback connection should take this long; one that does
/// ends the calibration with an error instead of hanging the repeat.
const STALL: Duration = Duration::from_secs(2);

/// How a record says the cost was measured.
pub const METHOD: &str = "fastest of 5 batches of sequential loopback connections on one thread \
     in the cell's process, client and server side (connect, request, accept, reply of the \
     cell's size, close), wall time per connection";

/// Connections a calibration times for replies of `reply_bytes`.
pub fn connections(reply_bytes: u64) -> u64 {
    (BYTES_BUDGET / reply_bytes.max(1)).clamp(2 * BATCHES, CONNECTIONS)
}

/// One connection's cost in µs (the fastest batch's mean), for replies of
/// `reply_bytes`.
pub fn connect_cost_us(reply_bytes: u64) -> io::Result<f64> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    let pattern = reply_pattern(WRITE_CHUNK_BYTES);
    // One untimed connection pages in the code paths and buffers.
    one_connection(&listener, addr, 0, reply_bytes, &pattern)?;
    let per_batch = connections(reply_bytes) / BATCHES;
    let mut fastest = f64::INFINITY;
    for batch in 0..BATCHES {
        let start = Instant::now();
        for i in 0..per_batch {
            one_connection(
                &listener,
                addr,
                batch * per_batch + i,
                reply_bytes,
                &pattern,
            )?;
        }
        fastest = fastest.min(start.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    Ok(fastest)
}

/// One connection's whole life, both sides on the calling thread.
fn one_connection(
    listener: &TcpListener,
    addr: SocketAddr,
    id: u64,
    reply_bytes: u64,
    pattern: &[u8],
) -> io::Result<()> {
    let mut client = TcpStream::connect(addr)?;
    client.set_read_timeout(Some(STALL))?;
    client.write_all(&protocol::request_line(id))?;
    let (mut server, _) = listener.accept()?;
    server.set_read_timeout(Some(STALL))?;
    let mut line = Vec::with_capacity(protocol::MAX_REQUEST_BYTES);
    let mut byte = [0u8; protocol::MAX_REQUEST_BYTES];
    while !line.ends_with(b"\n") {
        match server.read(&mut byte)? {
            0 => return Err(io::Error::other("the request ended without a newline")),
            read => line.extend_from_slice(&byte[..read]),
        }
    }
    if protocol::parse_request(&line).map_err(io::Error::other)? != id {
        return Err(io::Error::other("the request carried another id"));
    }
    server.set_nonblocking(true)?;
    let mut server = Some(server);
    let mut sent = 0u64;
    let mut check = ReplyCheck::new(id, reply_bytes);
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    loop {
        if let Some(stream) = server.as_mut() {
            while sent < reply_bytes {
                let start = pattern_start(id, sent);
                let len = (reply_bytes - sent).min(WRITE_CHUNK_BYTES as u64) as usize;
                match stream.write(&pattern[start..start + len]) {
                    Ok(written) => sent += written as u64,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
            if sent == reply_bytes {
                // The server closes first, as the latency server does.
                server = None;
            }
        }
        match client.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => check.feed(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    check.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_costs_some_microseconds_and_large_replies_fewer_connections() {
        let cost = connect_cost_us(1024).expect("loopback works");
        // A loopback connection is several system calls and a handshake:
        // more than a few hundred nanoseconds even on the fastest machine,
        // far less than 100 ms even on a crowded 2-core CI runner.
        assert!(cost > 0.5 && cost < 100_000.0, "{cost} µs");
        // Replies beyond the socket buffers still complete on one thread.
        let big = 4 * 1024 * 1024;
        assert_eq!(connections(big), 2 * BATCHES);
        let cost_big = connect_cost_us(big).expect("a large reply is interleaved");
        assert!(cost_big > cost / 10.0, "{cost_big} µs vs {cost} µs");
        assert_eq!(connections(1024), CONNECTIONS);
    }
}
