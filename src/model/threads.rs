//! `threads`: one OS thread per task, blocking calls. Creating a thread
//! costs tens of microseconds and a stack, so this model pays for every
//! task up front; in exchange, blocking is harmless and all waits overlap.

use super::lab::{self, Lab, Medium, Offers, PingPongLinks, StdChannelEnd};
use super::{blocking_task, Batch, Model, ModelConfig, Runner, Style};
use crate::os::limits::{self, ThreadBudget};
use anyhow::Context;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

pub struct Threads;

impl Model for Threads {
    fn database_driver(&self) -> Option<&'static str> {
        Some(super::db::BLOCKING_DRIVER)
    }
    fn name(&self) -> &'static str {
        "threads"
    }
    fn description(&self) -> &'static str {
        "one OS thread per task (std::thread::spawn), blocking sleep and compute"
    }
    fn style(&self) -> Style {
        Style::Blocking
    }
    fn workers_used(&self, _workers: usize, tasks: u64) -> u64 {
        tasks
    }
    fn uses_stack_size(&self) -> bool {
        true
    }
    fn thread_per_task(&self) -> bool {
        true
    }
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(ThreadsRunner {
            stack_kib: config.stack_kib,
        }))
    }
    fn spawn_primitive(&self) -> (&'static str, &'static str) {
        ("thread", "std::thread::spawn + join")
    }
    fn offers(&self) -> Offers {
        Offers {
            timer: Some("std::thread::sleep"),
            ping_pong: Some(PingPongLinks {
                channel: "two threads, std::sync::mpsc channels",
                socket: "two threads, std UnixStream pair, blocking I/O",
            }),
            unit: Some("thread"),
        }
    }
    fn lab(&self, _config: &ModelConfig) -> anyhow::Result<Box<dyn Lab>> {
        Ok(Box::new(ThreadsLab))
    }
    /// A thread per connection, for the connection's whole life. The same
    /// [`ThreadBudget`] as for tasks stops short of the limits where the
    /// Rust runtime would abort; a connection past them is closed at once
    /// and the limit is printed.
    fn serve(
        &self,
        listener: std::net::TcpListener,
        server: Arc<crate::net::http::Server>,
        config: &ModelConfig,
    ) -> anyhow::Result<()> {
        use crate::net::http::blocking::{
            accept_failed, serve_connection, warn_at_most_once_a_second,
        };
        let stack_bytes = config.stack_kib.map(|kib| kib as u64 * 1024);
        let mut budget = ThreadBudget::new(stack_bytes);
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(error) => {
                    std::thread::sleep(accept_failed(&error, &server)?);
                    continue;
                }
            };
            let refused = |reason: String| {
                server
                    .stats
                    .refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                warn_at_most_once_a_second(&format!("closed a new connection: {reason}"));
            };
            if let Err(reached) = budget.admit() {
                refused(reached.to_string());
                continue;
            }
            let mut builder = std::thread::Builder::new();
            if let Some(bytes) = stack_bytes {
                builder = builder.stack_size(bytes as usize);
            }
            let connection_server = Arc::clone(&server);
            if let Err(error) = builder.spawn(move || serve_connection(stream, &connection_server))
            {
                let open = server.stats.open.load(std::sync::atomic::Ordering::Relaxed);
                refused(limits::diagnose_thread_failure(&error, open));
            }
        }
    }
}

/// Threads need no runtime: the experiments start their own.
struct ThreadsLab;

impl Lab for ThreadsLab {
    fn sample_sleeps(
        &mut self,
        requested: &[Duration],
        samples: usize,
    ) -> anyhow::Result<Vec<Vec<f64>>> {
        Ok(lab::sample_sleeps_blocking(requested, samples))
    }

    fn ping_pong(&mut self, medium: Medium, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
        match medium {
            Medium::Channel => {
                let (a, b) = StdChannelEnd::pair();
                lab::ping_pong_threads(a, b, round_trips)
            }
            Medium::Socket => {
                let (a, b) = UnixStream::pair().context("creating a socket pair")?;
                lab::ping_pong_threads(a, b, round_trips)
            }
        }
    }
}

struct ThreadsRunner {
    stack_kib: Option<usize>,
}

impl Runner for ThreadsRunner {
    fn connect(&mut self, query: &crate::workload::Query) -> anyhow::Result<super::db::AnyPool> {
        super::db::blocking_pool(query)
    }

    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let tasks = batch.plan.tasks as usize;
        let stack_bytes = self.stack_kib.map(|kib| kib as u64 * 1024);
        // Stops just short of the map and address-space limits, where the
        // Rust runtime would abort instead of returning an error (see limits.rs).
        let mut budget = ThreadBudget::new(stack_bytes);
        let mut handles = Vec::with_capacity(tasks);
        let mut refused = None;
        for index in 0..tasks {
            if let Err(reached) = budget.admit() {
                refused = Some(format!(
                    "stopped before thread {} of {tasks}: {reached}; {} threads had started",
                    index + 1,
                    index
                ));
                break;
            }
            let mut builder = std::thread::Builder::new();
            if let Some(bytes) = stack_bytes {
                builder = builder.stack_size(bytes as usize);
            }
            let batch = Arc::clone(batch);
            match builder.spawn(move || blocking_task(&batch, index)) {
                Ok(handle) => handles.push(handle),
                Err(error) => {
                    refused = Some(format!(
                        "the OS refused thread {} of {tasks}: {}",
                        index + 1,
                        limits::diagnose_thread_failure(&error, index as u64)
                    ));
                    break;
                }
            }
        }
        if refused.is_none() {
            batch.all_spawned();
        }
        // Join what started either way, so a refusal leaves no thread behind.
        for handle in handles {
            if handle.join().is_err() {
                anyhow::bail!("a task thread panicked");
            }
        }
        if let Some(refusal) = refused {
            anyhow::bail!("{refusal} (all were joined)");
        }
        Ok(())
    }
}
