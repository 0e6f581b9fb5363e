//! `serve`: the latency server behind the `socket` workload on its own
//! (`serve`), or an HTTP/1.1 server built on one execution model
//! (`serve --model M`).
//!
//! Either way the command checks the address (loopback unless
//! `--allow-remote`), raises the descriptor limit, prints the bound address
//! on the first line of stdout and serves until SIGINT or SIGTERM, when it
//! prints its counters (and, for the latency server, how accurate its delays
//! were) on stderr. With `--model`, it calibrates the compute kernel and
//! hands the listener to the model ([`Model::serve`]), which accepts and
//! spawns with its own primitives. The servers themselves are in
//! [`crate::net`]; this file only turns the command line into one.

use crate::cli::args::ServeArgs;
use crate::model::{Model, ModelConfig};
use crate::net::http::Server;
use crate::net::latency;
use crate::os::error::UsageError;
use anyhow::Context;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// `async-vs-blocking serve`: checks the address, raises the descriptor
/// limit, prints the bound address on the first line and serves until
/// SIGINT/SIGTERM, when it prints how accurate its delays were.
pub fn serve(args: ServeArgs) -> anyhow::Result<i32> {
    if let Some(model) = &args.model {
        let model = crate::model::by_name(model).expect("clap checked the model name");
        return serve_model(model, &args);
    }
    let addr = checked_address(&args)?;
    let limit = crate::os::descriptors::raise_nofile_limit();
    let config = latency::ServerConfig {
        delay: Duration::from_secs_f64(args.delay_ms / 1e3),
        reply_bytes: args.reply_bytes,
        idle_timeout: Duration::from_secs(args.idle_timeout_s),
    };
    let threads = args
        .threads
        .map_or_else(crate::os::measure::cores, |t| t as usize);
    let listeners =
        latency::listen(addr, threads).with_context(|| format!("listening on {addr}"))?;
    let local = listeners[0]
        .local_addr()
        .context("reading the bound address")?;

    // Block SIGINT and SIGTERM in every thread (threads inherit the mask),
    // so that one thread can wait for them and print the summary.
    let signals = latency::block_stop_signals();
    let stats = Arc::new(latency::ServerStats::default());
    {
        let stats = Arc::clone(&stats);
        let delay = config.delay;
        std::thread::Builder::new()
            .name("serve-signals".into())
            .spawn(move || {
                latency::wait_for_stop_signal(&signals);
                crate::os::output::stderr_line!("{}", stats.summary(delay));
                std::process::exit(0);
            })
            .context("starting the signal thread")?;
    }

    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{local}").context("printing the address")?;
        stdout.flush().context("printing the address")?;
    }
    crate::os::output::stderr_line!(
        "latency server on {local}: each request (`GET <id>` + newline) is answered after {} ms \
         with {} bytes, then closed; {threads} event-loop threads, up to {limit} open \
         descriptors; connections idle for {} s are closed. Ctrl-C stops it and prints how \
         accurate the delays were.",
        args.delay_ms,
        config.reply_bytes,
        args.idle_timeout_s
    );
    latency::run(listeners, config, stats).context("serving")?;
    Ok(0)
}

/// The address to listen on: loopback, unless `--allow-remote` (then with a warning).
fn checked_address(args: &ServeArgs) -> anyhow::Result<SocketAddr> {
    let addr = SocketAddr::new(args.bind, args.port);
    if !is_loopback(args.bind) && !args.allow_remote {
        return Err(UsageError(format!(
            "error: --bind {} is not a loopback address; the server only listens on \
             loopback (127.0.0.1, ::1) unless you add --allow-remote",
            args.bind
        ))
        .into());
    }
    if !is_loopback(args.bind) {
        crate::os::output::stderr_line!(
            "warning: listening on {addr} (--allow-remote): anyone who can reach this address can \
             connect and hold connections open"
        );
    }
    Ok(addr)
}

/// Runs `model`'s server until SIGINT or SIGTERM.
fn serve_model(model: &'static dyn Model, args: &ServeArgs) -> anyhow::Result<i32> {
    let addr = checked_address(args)?;
    let descriptors = crate::os::descriptors::raise_nofile_limit();
    ignore_broken_pipes();
    let server = Arc::new(Server::new(
        crate::workload::compute::calibrate(),
        Duration::from_secs(args.idle_timeout_s),
    ));
    let listener = latency::listen(addr, 1)
        .with_context(|| format!("listening on {addr}"))?
        .remove(0);
    let local = listener.local_addr().context("reading the bound address")?;
    let config = ModelConfig {
        workers: args
            .workers
            .map_or_else(crate::os::measure::cores, |w| w as usize),
        stack_kib: None,
    };

    // Threads inherit the blocked mask: only the signal thread sees the signals.
    let signals = latency::block_stop_signals();
    {
        let server = Arc::clone(&server);
        std::thread::Builder::new()
            .name("serve-signals".into())
            .spawn(move || {
                latency::wait_for_stop_signal(&signals);
                // Never panics (stderr may be gone): the exit must follow.
                crate::os::output::stderr_line!("{}", server.stats.summary());
                std::process::exit(0);
            })
            .context("starting the signal thread")?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{local}").context("printing the address")?;
        stdout.flush().context("printing the address")?;
    }
    crate::os::output::stderr_line!(
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

/// Loopback, an IPv4-mapped loopback address (`::ffff:127.0.0.1`) included.
fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_mapped_loopback_address_is_loopback() {
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(!is_loopback("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!is_loopback("0.0.0.0".parse().unwrap()));
    }
}
