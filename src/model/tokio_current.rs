//! `tokio-current`: tokio's current-thread runtime — one thread runs every
//! task. Waits still overlap (that is concurrency), but compute cannot: only
//! one task runs at a time (that is the missing parallelism), so CPU work
//! takes as long as running it sequentially.

use super::tokio_multi::{TokioLab, TokioRunner, PING_PONG_LINKS};
use super::{Lab, Model, ModelConfig, Offers, Runner, Style};
use anyhow::Context;

pub struct TokioCurrent;

impl Model for TokioCurrent {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::TOKIO_DRIVER)
    }
    fn name(&self) -> &'static str {
        "tokio-current"
    }
    fn description(&self) -> &'static str {
        "tokio current-thread runtime: every task on one thread (concurrent, not parallel)"
    }
    fn style(&self) -> super::Style {
        Style::Async
    }
    fn workers_used(&self, _workers: usize, _tasks: u64) -> u64 {
        1
    }
    fn prepare(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(TokioRunner {
            runtime: runtime()?,
        }))
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "tokio-current",
            "tokio::spawn on the current-thread runtime + await handle",
        )
    }
    fn offers(&self) -> Offers {
        // Its timer is tokio's, shown once under `tokio`.
        Offers {
            ping_pong: Some(PING_PONG_LINKS),
            ..Offers::default()
        }
    }
    fn lab(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Ok(Box::new(TokioLab {
            runtime: runtime()?,
        }))
    }
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: std::sync::Arc<crate::net::http::Server>,
        _config: &ModelConfig,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the tokio current-thread runtime")?;
        super::tokio_multi::serve_on(&runtime, listener, server)
    }
}

/// The current-thread runtime as this model runs it, timer and I/O enabled.
/// The one place the lab builds it; claims that test tokio ask for it here.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio current-thread runtime")
}
