//! `socket`: each task opens a TCP connection to the lab's latency server
//! on loopback, sends one request, reads the whole reply (`--reply-bytes`),
//! checks every byte and closes. The server answers after `--sleep-ms`, so
//! this is the `sleep` workload with real sockets, epoll and kernel buffers
//! underneath — "fetch many pages", "query a slow database". The waits
//! overlap, but every connection also costs the cores real CPU (client and
//! server side), so the ideal is the larger of one delay and the
//! connections' CPU over the cores ([`super::Plan::socket_ideal`], from a
//! cost timed in the cell's process by `lab::connect_cost`).
//!
//! The lab starts the server in a separate process before the cell and
//! stops it afterwards ([`crate::net::latency::process`]); its address reaches the
//! plan through [`Params::server`].

use super::{Op, Params, Request, Workload};
use std::net::SocketAddr;
use std::time::Duration;

/// The reply size when none is given.
pub const DEFAULT_REPLY_BYTES: u64 = 1024;

pub struct Socket;

impl Workload for Socket {
    fn name(&self) -> &'static str {
        "socket"
    }
    fn description(&self) -> &'static str {
        "each task sends one request over TCP loopback to a server that answers after --sleep-ms \
         with --reply-bytes (ideal: one delay, or the connections' CPU over the cores when \
         that is longer)"
    }
    fn uses_sleep(&self) -> bool {
        true
    }
    fn uses_cpu(&self) -> bool {
        false
    }
    fn uses_server(&self) -> bool {
        true
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![Op::Request(Request {
            // Port 0 until the lab has started a server: connecting fails clearly.
            server: params
                .server
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            delay: Duration::from_secs_f64(params.sleep_ms / 1e3),
            reply_bytes: params.reply_bytes,
        })]
    }
}
