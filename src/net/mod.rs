//! The network side every model shares: the latency server behind the
//! `socket` workload ([`latency`]) with its wire [`protocol`], and the
//! HTTP/1.1 core each model serves with ([`http`]). It may import
//! [`crate::workload`], [`crate::record`], [`crate::stats`] and [`crate::os`],
//! never a model: the models stand on it.

pub mod http;
pub mod latency;
pub mod protocol;
