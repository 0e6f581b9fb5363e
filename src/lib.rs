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
//! - [`server`]: the loopback latency server behind the `socket` workload
//!   ([`protocol`], [`server_process`], [`descriptors`]).
//! - [`claims`]: popular claims about async, each tested by an experiment.

pub mod cell;
pub mod claims;
pub mod cli;
pub mod compute;
pub mod descriptors;
pub mod experiments;
pub mod export;
pub mod interrupt;
pub mod limits;
pub mod measure;
pub mod measure_report;
pub mod memory;
pub mod model;
pub mod protocol;
pub mod report;
pub mod result;
pub mod server;
pub mod server_process;
pub mod stats;
pub mod sweep;
pub mod table;
pub mod workload;
