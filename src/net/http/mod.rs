//! The HTTP/1.1 core every model's server shares, so that only the
//! concurrency model differs between them.
//!
//! - [`request`]: parsing with `httparse`, the routes (`GET /work`,
//!   `GET /health`) and the limits on what a client may send.
//! - [`response`]: the status line, `Content-Length` and a checkable body.
//! - [`blocking`]: one connection served by a thread that blocks (used by
//!   `sequential`, `threads`, `thread-pool` and `rayon`).
//! - [`async_conn`]: one connection served by a task, generic over the few
//!   primitives a runtime supplies ([`async_conn::ServerRuntime`]).
//!
//! `serve --model M` (listen, calibrate, hand the listener to the model,
//! stop on Ctrl-C) is the CLI's, in `src/cli/commands/serve.rs`.
//!
//! Every model file owns its accept loop and spawn (see
//! [`crate::model::Model::serve`]); what happens on a connection is decided
//! here, once.

pub mod async_conn;
pub mod blocking;
pub mod request;
pub mod response;

use crate::workload::compute;
use request::{Route, Work};
use response::Response;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What every connection handler of one server shares: how to compute, how
/// long a connection may stay idle, and the counters printed at the end.
#[derive(Debug)]
pub struct Server {
    /// The calibrated compute rate (see [`compute::calibrate`]).
    pub iters_per_us: f64,
    /// A connection that sends nothing (or only part of a request) for this
    /// long is closed, so idle or half-sent connections cannot pile up forever.
    pub idle_timeout: Duration,
    /// What the server has done so far.
    pub stats: Stats,
}

impl Server {
    /// A server with the given compute rate and idle timeout.
    pub fn new(iters_per_us: f64, idle_timeout: Duration) -> Server {
        Server {
            iters_per_us,
            idle_timeout,
            stats: Stats::default(),
        }
    }

    /// Runs the calibrated kernel for `cpu_us` microseconds (nothing for 0).
    pub fn compute(&self, cpu_us: f64) -> u64 {
        if cpu_us <= 0.0 {
            return 0;
        }
        compute::spin(compute::iterations_for(cpu_us, self.iters_per_us))
    }

    /// The answer to a route once its wait (if any) is over; for `/work`,
    /// after the compute. `keep_alive` says whether the connection stays open.
    /// It counts as served only once written whole ([`Stats::served_one`]).
    pub fn answer(&self, route: &Route, keep_alive: bool) -> Response {
        match route {
            Route::Health => Response::text(200, "ok", keep_alive),
            Route::Work(Work { bytes, .. }) => Response::pattern(*bytes, keep_alive),
        }
    }
}

/// Counters of one server, printed when it stops.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests answered with 200, the reply written whole.
    pub served: AtomicU64,
    /// Requests answered with 4xx (malformed, unknown path, too large).
    pub rejected: AtomicU64,
    /// Connections that broke off (reset, write failed) before the reply was written.
    pub broke_off: AtomicU64,
    /// Connections closed because they stayed idle (or half-sent) for the idle timeout.
    pub timed_out: AtomicU64,
    /// Connections accepted and then closed unserved because the server could
    /// not take them (`threads` could not start a thread): one per connection.
    pub refused: AtomicU64,
    /// Times accepting stopped because descriptors ran out. The server does
    /// not refuse such connections, it cannot see them: the kernel holds them
    /// in the backlog until a descriptor is free. Each wait holds back at
    /// least one connection, so this is a lower bound on the connections
    /// delayed; it counts once per wait, however often accept was retried.
    pub descriptor_waits: AtomicU64,
    /// Whether accepting is waiting for a descriptor now (set by a failed
    /// accept, cleared by the next connection served).
    pub waiting_for_descriptor: AtomicBool,
    /// Connections open now.
    pub open: AtomicU64,
    /// The most connections open at once.
    pub peak_open: AtomicU64,
}

impl Stats {
    /// Counts one reply written whole.
    pub fn served_one(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn open_connection(&self) -> OpenConnection<'_> {
        self.waiting_for_descriptor.store(false, Ordering::Relaxed);
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_open.fetch_max(now, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// Counts an accept that failed for want of a descriptor; returns whether
    /// it began a new wait (the first failure since a connection was served).
    pub fn accept_waits_for_descriptor(&self) -> bool {
        let began = !self.waiting_for_descriptor.swap(true, Ordering::Relaxed);
        if began {
            self.descriptor_waits.fetch_add(1, Ordering::Relaxed);
        }
        began
    }

    /// One line for the operator.
    pub fn summary(&self) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        format!(
            "served {} requests, rejected {}; connections: {} broke off, {} closed idle, \
             {} refused, {} waits for a free descriptor, at most {} open at once",
            get(&self.served),
            get(&self.rejected),
            get(&self.broke_off),
            get(&self.timed_out),
            get(&self.refused),
            get(&self.descriptor_waits),
            get(&self.peak_open)
        )
    }
}

/// An open connection in [`Stats::open`]; closing is dropping.
#[derive(Debug)]
pub struct OpenConnection<'a>(&'a Stats);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a connection ended, for [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client closed it, or asked for `Connection: close`.
    Closed,
    /// A request could not be answered; a 4xx was sent.
    Rejected,
    /// Reading or writing failed (reset, broken pipe).
    BrokeOff,
    /// Idle (or a half-sent request) for the idle timeout.
    TimedOut,
}

impl Stats {
    /// Counts how a connection ended.
    pub fn ended(&self, ending: Ending) {
        match ending {
            Ending::Closed => {}
            Ending::Rejected => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
            }
            Ending::BrokeOff => {
                self.broke_off.fetch_add(1, Ordering::Relaxed);
            }
            Ending::TimedOut => {
                self.timed_out.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests;
