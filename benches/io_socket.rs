//! `io_socket`: N tasks that each open a TCP connection over loopback to the
//! lab's latency server, send one request, wait the server's 20 ms delay,
//! read and check a 1 KiB reply and close — the `sleep` bench with real
//! sockets underneath — under every model, N from 1 to 10,000. It teaches
//! three things `io_sleep` cannot. Real I/O has a cost per request that no
//! model avoids: each connection is a handshake, data and a close in the
//! kernel, about 50 µs of client CPU and 15 µs of server CPU on the lab's
//! 2-core VM (`docs/src/socket.md`), and the server shares the cores with the
//! clients, so at thousands of tasks the time is set by that CPU, not by
//! the one delay the ideal assumes. Async runtimes wait on readiness events (epoll) for
//! thousands of sockets from a few threads, while a thread per task parks a
//! whole thread in the kernel per connection and pays its spawn and its
//! wake-up. And rayon doing blocking I/O: its pool is built for compute, so
//! every request in flight blocks one of its workers and it overlaps only
//! as many requests as it has workers, like any fixed pool (N·D/K).
//!
//! It does not teach the network: loopback has no latency, loss or
//! bandwidth limit, there is no TLS and no connection reuse (one connection
//! per request, the worst case for the per-connection cost), and the server
//! is the lab's own event loop, not a real database. Nor does it teach
//! memory or thread counts (the `sweep` command records them per cell, each
//! in its own process).
//!
//! Each cell gets its own server, `async-vs-blocking serve` in a separate
//! process, started before its samples and stopped after them; its report
//! of how late the delays ended is printed on stderr after the cell (a slow
//! cell with a late server is the machine's doing). Cells a model would
//! need more than [`MAX_EXPECTED_MS`] for (by `Plan::expected_ms` from its
//! wait concurrency, which leaves out the connections' CPU), or that would
//! hold more connections than the descriptor or port limits allow, are
//! skipped and named on stderr. Shared code: `benches/common/mod.rs`.

mod common;

use common::WorkloadBench;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// The server's delay per request, as the wait in `io_sleep`, so the two
/// reports can be read side by side.
const SLEEP_MS: f64 = 20.0;
/// Task counts: decades from 1 to 10,000 (a logarithmic axis). 10,000
/// connections are about 0.65 s of CPU for client and server together,
/// a second or two per sample on a busy 2-core machine.
const TASKS: [u64; 5] = [1, 10, 100, 1_000, 10_000];
/// Skip a cell whose expected time exceeds this (sequential at 100 tasks
/// would take 2 s per sample; a pool of 2 at 1,000 tasks, 10 s).
const MAX_EXPECTED_MS: f64 = 1_000.0;
/// Measured time per cell. One second, not `io_sleep`'s two: a run at
/// 10,000 tasks takes about that long, so `--quick` (which stops once the
/// measurement time has passed) makes one such run instead of three.
const MEASUREMENT: Duration = Duration::from_secs(1);

fn socket(c: &mut Criterion) {
    WorkloadBench {
        workload: "socket",
        tasks: &TASKS,
        sleep_ms: SLEEP_MS,
        cpu_us: 0.0,
        max_expected_ms: MAX_EXPECTED_MS,
        measurement: MEASUREMENT,
    }
    .run(c);
}

criterion_group!(benches, socket);
criterion_main!(benches);
