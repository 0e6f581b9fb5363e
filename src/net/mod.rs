//! The network side every model shares: the latency server behind the
//! `socket` workload ([`latency`]) with its wire [`protocol`], and the
//! HTTP/1.1 core each model serves with ([`http`]), and the throwaway
//! PostgreSQL behind the `db` workload ([`database`]). It may import
//! [`crate::workload`], [`crate::record`], [`crate::stats`] and [`crate::os`],
//! never a model: the models stand on it.

pub mod database;
pub mod http;
pub mod latency;
pub mod protocol;
