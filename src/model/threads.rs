//! `threads`: one OS thread per task, blocking calls. Creating a thread
//! costs tens of microseconds and a stack, so this model pays for every
//! task up front; in exchange, blocking is harmless and all waits overlap.

use super::{blocking_task, Batch, Model, ModelConfig, Runner, Style};
use anyhow::Context;
use std::sync::Arc;

pub struct Threads;

impl Model for Threads {
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
    fn prepare(&self, config: &ModelConfig) -> anyhow::Result<Box<dyn Runner>> {
        Ok(Box::new(ThreadsRunner {
            stack_kib: config.stack_kib,
        }))
    }
}

struct ThreadsRunner {
    stack_kib: Option<usize>,
}

impl Runner for ThreadsRunner {
    fn run(&mut self, batch: &Arc<Batch>) -> anyhow::Result<()> {
        let tasks = batch.plan.tasks as usize;
        let mut handles = Vec::with_capacity(tasks);
        let mut refused = None;
        for index in 0..tasks {
            let mut builder = std::thread::Builder::new();
            if let Some(kib) = self.stack_kib {
                builder = builder.stack_size(kib * 1024);
            }
            let batch = Arc::clone(batch);
            match builder.spawn(move || blocking_task(&batch, index)) {
                Ok(handle) => handles.push(handle),
                Err(error) => {
                    refused = Some(error);
                    break;
                }
            }
        }
        let started = handles.len();
        // Join what started either way, so a refusal leaves no thread behind.
        for handle in handles {
            if handle.join().is_err() {
                anyhow::bail!("a task thread panicked");
            }
        }
        if let Some(error) = refused {
            return Err(error).with_context(|| {
                format!(
                    "the OS refused thread {} of {tasks} ({started} had started)",
                    started + 1
                )
            });
        }
        Ok(())
    }
}
