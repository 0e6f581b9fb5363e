//! `thread-pool`: a fixed pool of `--workers` blocking threads pulling tasks
//! from one queue — the classic server design. Compute spreads over the
//! workers, but a blocked worker is a lost worker: K workers overlap only K
//! waits, so N sleeping tasks take about N·D/K.

use super::{blocking_task, Batch, Model, ModelConfig, Runner, Style};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub struct ThreadPool;

impl Model for ThreadPool {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::BLOCKING_DRIVER)
    }
    fn name(&self) -> &'static str {
        "thread-pool"
    }
    fn description(&self) -> &'static str {
        "a fixed pool of --workers blocking threads pulling tasks from a queue"
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
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        (
            "pool-job",
            "a job on a fixed thread pool + completion message",
        )
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            let receiver = Arc::clone(&receiver);
            let mut builder = std::thread::Builder::new().name(format!("pool-{id}"));
            if let Some(kib) = config.stack_kib {
                builder = builder.stack_size(kib * 1024);
            }
            workers.push(builder.spawn(move || worker_loop(&receiver))?);
        }
        Ok(Box::new(PoolRunner {
            sender: Some(sender),
            workers,
        }))
    }
    /// `--workers` threads, each accepting a connection and serving it to
    /// its end: with keep-alive, at most `--workers` clients are served at
    /// once and the others wait in the backlog (the classic blocking pool).
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        use crate::net::http::blocking::{accept_failed, serve_connection};
        let listener = Arc::new(listener);
        let mut workers = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            let (listener, server) = (Arc::clone(&listener), Arc::clone(&server));
            let mut builder = std::thread::Builder::new().name(format!("pool-{id}"));
            if let Some(kib) = config.stack_kib {
                builder = builder.stack_size(kib * 1024);
            }
            workers.push(builder.spawn(move || -> anyhow::Result<()> {
                loop {
                    match listener.accept() {
                        Ok((stream, _)) => serve_connection(stream, &server),
                        Err(error) => std::thread::sleep(accept_failed(&error, &server)?),
                    }
                }
            })?);
        }
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a pool worker panicked"))??;
        }
        Ok(())
    }
}

/// One queued task and where to report that it finished.
struct Job {
    batch: Arc<Batch>,
    index: usize,
    finished: mpsc::Sender<()>,
}

fn worker_loop(receiver: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // Hold the lock only to take the next job, not while running it.
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        blocking_task(&job.batch, job.index);
        let _ = job.finished.send(());
    }
}

struct PoolRunner {
    sender: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Runner for PoolRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::blocking_pool(query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let sender = self.sender.as_ref().expect("pool is running");
        let (finished, all_finished) = mpsc::channel();
        let tasks = batch.plan.tasks as usize;
        for index in 0..tasks {
            sender
                .send(Job {
                    batch: Arc::clone(batch),
                    index,
                    finished: finished.clone(),
                })
                .map_err(|_| anyhow::anyhow!("the pool's workers have stopped"))?;
        }
        drop(finished);
        batch.all_spawned();
        for _ in 0..tasks {
            all_finished
                .recv()
                .map_err(|_| anyhow::anyhow!("a pool worker stopped before its task finished"))?;
        }
        Ok(())
    }
}

impl Drop for PoolRunner {
    fn drop(&mut self) {
        self.sender.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
