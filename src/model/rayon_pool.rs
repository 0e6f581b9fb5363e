//! `rayon`: a rayon pool of `--workers` threads, each task a pool job
//! (`scope.spawn`). Rayon is built for compute: it spreads CPU work over the
//! cores with work stealing. Its threads block when a task blocks — a sleep,
//! or a blocking `std::net` request in the `socket` workload — so for waits
//! and I/O it behaves like a fixed thread pool of `--workers` threads: only
//! that many requests are in flight at once. That contrast is the lesson:
//! rayon is for compute, not for waiting on I/O.

use super::{blocking_task, Batch, Model, ModelConfig, OtherSpawn, Runner, Style};
use anyhow::Context;
use std::sync::{mpsc, Arc};

pub struct Rayon;

impl Model for Rayon {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::BLOCKING_DRIVER)
    }
    fn name(&self) -> &'static str {
        "rayon"
    }
    fn description(&self) -> &'static str {
        "a rayon pool of --workers threads, each task a pool job (built for compute; a wait or blocking socket I/O blocks a worker)"
    }
    fn style(&self) -> Style {
        Style::Blocking
    }
    fn workers_used(&self, workers: usize, _tasks: u64) -> u64 {
        workers as u64
    }
    fn uses_stack_size(&self) -> bool {
        true
    }
    /// A misuse to learn from: every connection becomes a rayon job that
    /// blocks one of the `--workers` compute threads until the client
    /// leaves. Rayon is built for short CPU jobs; here a few idle
    /// keep-alive clients take the whole pool.
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        use crate::net::http::blocking::{accept_failed, serve_connection};
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.workers)
            .build()?;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let server = Arc::clone(&server);
                    pool.spawn(move || serve_connection(stream, &server));
                }
                Err(error) => std::thread::sleep(accept_failed(&error, &server)?),
            }
        }
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(RayonRunner {
            pool: pool(config)?,
        }))
    }
    fn crates(&self) -> &'static [&'static str] {
        &["rayon"]
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "rayon-scope",
            "rayon ThreadPool::scope with scope.spawn per unit",
        )
    }
    fn other_spawns(&self) -> &'static [OtherSpawn] {
        &[OtherSpawn {
            name: "rayon-spawn",
            description: "rayon ThreadPool::spawn + completion message",
            prepare: |config| {
                Ok(Box::new(RayonSpawnRunner {
                    pool: pool(config)?,
                }))
            },
        }]
    }
}

/// A pool as this model runs it, every worker started. The one place the
/// lab builds one; claims that test rayon ask for it here.
pub fn pool(config: &ModelConfig) -> anyhow::Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new().num_threads(config.workers);
    if let Some(kib) = config.stack_kib {
        builder = builder.stack_size(kib * 1024);
    }
    let pool = builder.build().context("building a rayon pool")?;
    // Make sure every worker has started before the timed region.
    pool.broadcast(|_| ());
    Ok(pool)
}

/// `ThreadPool::spawn` per task, joined by a completion message: rayon's
/// fire-and-forget spawn, which no model uses, for the spawn-cost table.
struct RayonSpawnRunner {
    pool: rayon::ThreadPool,
}

impl Runner for RayonSpawnRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::blocking_pool(query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let (finished, all_finished) = mpsc::channel();
        for index in 0..batch.plan.tasks as usize {
            let batch = Arc::clone(batch);
            let finished = finished.clone();
            self.pool.spawn(move || {
                blocking_task(&batch, index);
                let _ = finished.send(());
            });
        }
        drop(finished);
        batch.all_spawned();
        for _ in 0..batch.plan.tasks {
            all_finished
                .recv()
                .context("a rayon job ended without reporting")?;
        }
        Ok(())
    }
}

struct RayonRunner {
    pool: rayon::ThreadPool,
}

impl Runner for RayonRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::blocking_pool(query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let tasks = batch.plan.tasks as usize;
        self.pool.scope(|scope| {
            for index in 0..tasks {
                let batch: &Batch = batch;
                scope.spawn(move |_| blocking_task(batch, index));
            }
            batch.all_spawned();
        });
        Ok(())
    }
}
