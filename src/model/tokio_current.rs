//! `tokio-current`: tokio's current-thread runtime — one thread runs every
//! task. Waits still overlap (that is concurrency), but compute cannot: only
//! one task runs at a time (that is the missing parallelism), so CPU work
//! takes as long as running it sequentially.

use super::tokio_multi::TokioRunner;
use super::{Model, ModelConfig, Runner, Style};
use anyhow::Context;

pub struct TokioCurrent;

impl Model for TokioCurrent {
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the tokio current-thread runtime")?;
        Ok(Box::new(TokioRunner { runtime }))
    }
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: std::sync::Arc<crate::http::Server>,
        _config: &ModelConfig,
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the tokio current-thread runtime")?;
        super::tokio_multi::serve_on(&runtime, listener, server)
    }
}
