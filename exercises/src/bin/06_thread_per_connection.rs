//! # Exercise 6: a thread per connection, under 20,000 idle connections
//!
//! **What the program does.** A chat-style server: each client keeps a
//! connection open and now and then sends `ping`, answered with `pong`.
//! Most of the time a connection is idle. The server starts one operating
//! system thread per connection, which reads from it (blocking) until the
//! client leaves.
//!
//! **What users see.** Fine with a hundred clients. With tens of thousands
//! of mostly idle ones, the machine runs into its thread ceiling (the
//! user's process limit, `threads-max`, a container's `pids.max`, or memory
//! for the stacks): new clients are refused while the threads that exist
//! sit waiting.
//!
//! **The question.** How many threads does this server need to *wait* for
//! 20,000 connections? How many does it need to *work*, when only a few
//! clients send anything at a time? (Look up `tokio::net::TcpListener`.)
//!
//! **How the check grades it.** The check opens C idle connections and
//! samples the server's thread count (`/proc/<pid>/status`). C is 20,000,
//! or less where this machine's limits do not allow it (the open-file limit
//! of the server and of the check itself; the check prints which).
//! - one thread per connection makes at least C threads (or dies trying);
//! - a server that waits for all of them with a few threads (async, or an
//!   epoll loop) needs about one per core plus a handful: F = cores + 4;
//! - the bound is the geometric middle, √(F × C): with 2 cores and
//!   C = 20,000 about 350, some 60× from both sides.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// Answers each `ping` line with `pong` until the client leaves.
fn serve_client(stream: TcpStream) -> std::io::Result<()> {
    for line in BufReader::new(&stream).lines() {
        if line?.trim() == "ping" {
            (&stream).write_all(b"pong\n")?;
        }
    }
    Ok(())
}

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on loopback");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    kit::ready(address, &[("cores", cores as f64)]);

    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // TODO: one thread per connection, each blocked in a read while its
        // client is idle. Wait for all the connections with a few threads
        // instead (tokio: one task per connection).
        let started = std::thread::Builder::new().spawn(move || serve_client(stream));
        if let Err(error) = started {
            eprintln!("could not start a thread for a new client ({error}): refused");
        }
    }
}
