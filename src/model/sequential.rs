//! `sequential`: one thread runs the tasks one after another — plain
//! synchronous code, the baseline every other model is compared with.

use super::{blocking_task, Batch, Model, ModelConfig, Runner, Style};
use std::sync::Arc;

pub struct Sequential;

impl Model for Sequential {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::BLOCKING_DRIVER)
    }
    fn name(&self) -> &'static str {
        "sequential"
    }
    fn description(&self) -> &'static str {
        "one thread, tasks one after another (plain synchronous code; the baseline)"
    }
    fn style(&self) -> Style {
        Style::Blocking
    }
    fn workers_used(&self, _workers: usize, _tasks: u64) -> u64 {
        1
    }
    fn prepare(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(SequentialRunner))
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "inline",
            "no spawn: the empty task called in place (the floor)",
        )
    }
    /// An iterative server: one connection at a time, start to end, on one
    /// thread; every other client waits in the listen backlog.
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: std::sync::Arc<crate::net::http::Server>,
        _config: &ModelConfig,
    ) -> anyhow::Result<()> {
        crate::net::http::blocking::serve_one_at_a_time(listener, &server)
    }
}

struct SequentialRunner;

impl Runner for SequentialRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::blocking_pool(query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        for index in 0..batch.plan.tasks as usize {
            blocking_task(batch, index);
        }
        Ok(())
    }
}
