//! `serve --model M`: an HTTP/1.1 server built on one execution model.
//!
//! The lab listens (one socket, loopback unless `--allow-remote`),
//! calibrates the compute kernel, prints the address on the first line of
//! stdout and hands the listener to the model ([`Model::serve`]), which
//! accepts and spawns with its own primitives. SIGINT or SIGTERM prints the
//! server's counters on stderr and ends the process, with every thread and
//! connection in it.

use super::Server;
use crate::model::{Model, ModelConfig};
use crate::server::ServeArgs;
use anyhow::Context;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Runs `model`'s server until SIGINT or SIGTERM.
pub fn serve_model(model: &'static dyn Model, args: &ServeArgs) -> anyhow::Result<i32> {
    let addr = crate::server::checked_address(args)?;
    let descriptors = crate::descriptors::raise_nofile_limit();
    ignore_broken_pipes();
    let server = Arc::new(Server::new(
        crate::compute::calibrate(),
        Duration::from_secs(args.idle_timeout_s),
    ));
    let listener = crate::server::listen(addr, 1)
        .with_context(|| format!("listening on {addr}"))?
        .remove(0);
    let local = listener.local_addr().context("reading the bound address")?;
    let config = ModelConfig {
        workers: args
            .workers
            .map_or_else(crate::measure::cores, |w| w as usize),
        stack_kib: None,
    };

    // Threads inherit the blocked mask: only the signal thread sees the signals.
    let signals = crate::server::block_stop_signals();
    {
        let server = Arc::clone(&server);
        std::thread::Builder::new()
            .name("serve-signals".into())
            .spawn(move || {
                crate::server::wait_for_stop_signal(&signals);
                // Never panics (stderr may be gone): the exit must follow.
                crate::stderr_line!("{}", server.stats.summary());
                std::process::exit(0);
            })
            .context("starting the signal thread")?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{local}").context("printing the address")?;
        stdout.flush().context("printing the address")?;
    }
    crate::stderr_line!(
        "{}{} HTTP/1.1 server on http://{local}: GET /work?wait_ms=D&cpu_us=C&bytes=R[&mode=block|offload], \
         GET /health; {}, idle timeout {} s, up to {descriptors} open descriptors. \
         Ctrl-C stops it and prints its counters.",
        model.name(),
        // What the runtime chose on this machine (monoio: its I/O driver).
        model
            .runtime_note()
            .map(|note| format!(" ({note})"))
            .unwrap_or_default(),
        workers_line(model, config.workers),
        args.idle_timeout_s
    );
    model.serve(listener, server, &config)?;
    Ok(0)
}

/// How many threads serve, as the model runs them: one for `sequential`
/// and `tokio-current` whatever `--workers` says, one per connection for
/// `threads` (its `workers_used` is its task count).
fn workers_line(model: &dyn Model, workers: usize) -> String {
    if model.workers_used(workers, 1) != model.workers_used(workers, 1000) {
        return "a thread per connection".into();
    }
    match model.workers_used(workers, 1) {
        1 => "1 worker".into(),
        n => format!("{n} workers"),
    }
}

/// A client that disconnects mid-reply must not kill the server: writes to
/// a closed socket fail with EPIPE instead of raising SIGPIPE (the binary
/// restores SIGPIPE's default for its pipelines).
fn ignore_broken_pipes() {
    // SAFETY: setting one signal's disposition at start-up.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}
