//! The lab: one isolated measurement ([`cell`]), grids of them ([`sweep`]),
//! the outside-load accounting ([`busy`]), the machine check ([`doctor`]),
//! the harness's own cost ([`overhead`]), the per-unit memory fit
//! ([`memory`]) and the spawn, switch, timer and cost [`experiments`]. It
//! runs models on workloads and writes what it measures through
//! [`crate::record`]; it may import every part below it (model, net,
//! workload, record, stats, os), never server, claims, report or cli.

pub mod busy;
pub mod cell;
pub mod connect_cost;
pub mod doctor;
pub mod experiments;
pub mod machine;
pub mod memory;
pub mod overhead;
pub mod sweep;
