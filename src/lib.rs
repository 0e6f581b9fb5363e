//! async-vs-blocking: the same workloads under blocking threads, a thread
//! pool, tokio, async-std, smol, rayon and monoio, measured honestly.
//!
//! One folder per part, listed bottom-up; a file imports only from its own
//! folder or a lower part (`tests/architecture.rs` checks it):
//!
//! - [`os`] and [`stats`]: the base. Clocks, `/proc`, limits, descriptors,
//!   signals, child processes, output; medians, quantiles and fits.
//! - [`record`]: every record the lab writes and the report reads (cell
//!   results, server points, claims, doctor, timers, unit costs), with their
//!   readers and the JSON Lines / CSV exporters.
//! - [`workload`]: what each task does, as data ([`workload::Plan`]), plus
//!   the compute kernel, the checkable byte pattern and the task files.
//! - [`net`]: the latency server behind the `socket` workload, its wire
//!   protocol, and the HTTP/1.1 core every model serves with.
//! - [`model`]: how tasks run; one file per execution model, one registry.
//! - [`lab`]: cells (each repeat in its own process), sweeps, outside-load
//!   accounting, the doctor, the harness's overhead, the memory fit, and the
//!   spawn/switch/timer/cost experiments.
//! - [`server`]: every model's HTTP server under an open-loop load
//!   generator, and the seeds' own Python servers beside them.
//! - [`claims`]: popular claims about async, each tested by an experiment.
//! - [`report`]: draws charts and the self-contained HTML page from records only.
//! - [`cli`]: the command line; nothing imports it.

// The lab reads /proc and uses epoll, timerfd and PR_SET_PDEATHSIG: say so
// once, instead of letting a macOS or Windows build fail in a hundred places.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "async-vs-blocking measures with Linux interfaces (/proc, epoll, timerfd, PR_SET_PDEATHSIG) \
     and builds only for Linux. On Windows, run it in WSL2; on macOS, in a Linux container or VM, \
     e.g. `docker run --rm -it -v \"$PWD\":/lab -w /lab rust:1 cargo run --release -- report` \
     (the numbers then describe that VM). See README.md, \"Where it runs\"."
);

pub mod claims;
pub mod cli;
pub mod lab;
pub mod model;
pub mod net;
pub mod os;
pub mod record;
pub mod report;
pub mod server;
pub mod stats;
pub mod workload;
pub mod workshop;
