//! async-vs-blocking: the same workloads under blocking threads, a thread
//! pool, tokio, async-std, smol and rayon, measured honestly.
//!
//! - [`workload`]: what each task does, as data ([`workload::Plan`]).
//! - [`model`]: how tasks run; one file per execution model.
//! - [`cell`]: one isolated measurement, each repeat in its own process.
//! - [`sweep`]: grids of cells; [`export`]: JSON Lines and CSV.
//! - [`experiments`]: spawn and context-switch costs, shared by benches and reports.
//! - [`measure_report`]: `report`'s measuring half (sweep, timers, costs → data files);
//! - [`report`]: draws charts and the self-contained HTML page from data files.
//! - [`files`]: the task files the `file` workloads read, warm or cold.
//! - [`server`]: the loopback latency server behind the `socket` workload
//!   ([`protocol`], [`server_process`], [`descriptors`]).
//! - [`claims`]: popular claims about async, each tested by an experiment.
//! - [`overhead`]: the harness's own cost, against bare reference programs.
//! - [`http`]: the HTTP/1.1 server every model runs (`serve --model`);
//!   [`load`]: the open-loop load generator that drives it;
//!   [`server_sweep`]: latency against offered load for every model's server,
//!   one [`server_point::ServerPoint`] per line of `server.jsonl`;
//!   [`python_servers`]: the seeds' own Python servers, driven beside them.

// The lab reads /proc and uses epoll, timerfd and PR_SET_PDEATHSIG: say so
// once, instead of letting a macOS or Windows build fail in a hundred places.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "async-vs-blocking measures with Linux interfaces (/proc, epoll, timerfd, PR_SET_PDEATHSIG) \
     and builds only for Linux. On Windows, run it in WSL2; on macOS, in a Linux container or VM, \
     e.g. `docker run --rm -it -v \"$PWD\":/lab -w /lab rust:1 cargo run --release -- report` \
     (the numbers then describe that VM). See README.md, \"Where it runs\"."
);

pub mod busy;
pub mod cell;
pub mod claim_records;
pub mod claims;
pub mod cli;
pub mod compute;
pub mod descriptors;
pub mod doctor;
pub mod error;
pub mod experiments;
pub mod export;
pub mod files;
pub mod http;
pub mod interrupt;
pub mod limits;
pub mod load;
pub mod measure;
pub mod measure_report;
pub mod memory;
pub mod model;
pub mod output;
pub mod overhead;
pub mod protocol;
pub mod python_servers;
pub mod records;
pub mod report;
pub mod result;
pub mod server;
pub mod server_point;
pub mod server_process;
pub mod server_sweep;
pub mod stats;
pub mod sweep;
pub mod table;
pub mod workload;
pub mod workshop;
