//! The server sweep's record: one [`ServerPoint`] per line of
//! `server.jsonl`, the latency quantiles it carries, and how to read the
//! file back.
//!
//! The points stay out of `results.jsonl` on purpose: every reader of that
//! file (the records reader, the CSV export, `--resume`, the report's
//! dataset) expects one cell record per line, and a server point has other
//! fields (an offered rate, a connection count, the server's own process).
//! The sweep appends each point here the moment it is measured — the file's
//! one writer — and the report reads it from beside its input, so neither
//! reader has to guess what a line is. This module only describes the data:
//! the report reads it without importing anything that measures.

use crate::os::error::UsageError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file the server sweep writes in `--out`, and the report reads.
pub const FILE_NAME: &str = "server.jsonl";

/// Latency quantiles, ms.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Quantiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    /// The quantiles of a histogram of µs (zeros when it is empty).
    pub fn of(histogram: &hdrhistogram::Histogram<u64>) -> Quantiles {
        if histogram.is_empty() {
            return Quantiles::default();
        }
        let ms = |us: u64| us as f64 / 1e3;
        Quantiles {
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p90_ms: ms(histogram.value_at_quantile(0.9)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// One measured point: one line of `server.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerPoint {
    /// Always `server`.
    pub workload: String,
    /// The serving model: a lab model's name, or an outside server's
    /// (the Python servers' `py-…` names).
    pub model: String,
    /// The handler in words, e.g. `wait 20 ms`.
    pub handler: String,
    /// The request target, e.g. `/work?wait_ms=20&bytes=64&mode=block`.
    pub path: String,
    /// The latency objective: p99 at or below this passes (5 × the handler's own time).
    pub objective_ms: f64,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub connections: u64,
    /// From each request's due time (coordinated omission corrected).
    pub latency: Quantiles,
    /// From each request's send (uncorrected).
    pub service: Quantiles,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    /// True when the point met the objective (no errors, p99 within the
    /// objective, 90 % of the offered rate achieved, every connection open).
    pub ok: bool,
    /// Why the point failed to run at all, or the limit the server reported.
    pub failure: Option<String>,
    /// The server process's peak resident memory (VmHWM) so far, KiB.
    pub server_peak_rss_kib: u64,
    /// Most threads seen in the server process while the load ran.
    pub server_threads: u64,
    /// The server's CPU time (user + system) during the point, s.
    pub server_cpu_s: f64,
    pub generator_behind_p99_ms: f64,
    pub generator_cpu_s: f64,
    /// True when the generator ran on the server's machine (sharing its cores).
    pub shares_cores: bool,
    /// Mean cores other programs (neither the server nor the generator nor
    /// the sweep) used while the point ran; absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_cpu_cores: Option<f64>,
    pub unix_s: u64,
    /// Measured seconds (after the warm-up): shorter than planned when the
    /// p99 converged; absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_s: Option<f64>,
    /// Whether the point ended early because its p99 had converged (absent
    /// when the point did not look for convergence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_converged: Option<bool>,
    /// The CPUs the server and the generator could run on (`0-1`, or `all`
    /// when not pinned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_cpus: Option<String>,
    /// The path the requests took: `loopback`, or `veth` (two namespaces
    /// on one machine, `--placement apart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The host name of the machine the generator ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_host: Option<String>,
}

/// How an async handler waits (`mode=` in the request target; blocking
/// models always block). The HTTP server parses requests into this very
/// type, so the record and the server never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// The runtime's own timer (or a blocking sleep, for blocking models).
    Own,
    /// `std::thread::sleep` inside the handler: blocks the executor thread.
    Block,
    /// The wait and the compute on the runtime's blocking pool.
    Offload,
}

impl ServerPoint {
    /// A query parameter of the request target, e.g. `wait_ms`.
    fn query(&self, key: &str) -> Option<&str> {
        let (_, query) = self.path.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, value)| value)
    }

    /// The handler's wait, ms (0 when it does not wait).
    pub fn wait_ms(&self) -> f64 {
        self.query("wait_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// The handler's compute, µs (0 when it does not compute).
    pub fn cpu_us(&self) -> f64 {
        self.query("cpu_us")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// How the handler waits (see [`WaitMode`]).
    pub fn mode(&self) -> WaitMode {
        match self.query("mode") {
            Some("block") => WaitMode::Block,
            Some("offload") => WaitMode::Offload,
            _ => WaitMode::Own,
        }
    }

    /// The server's peak resident memory, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.server_peak_rss_kib as f64 / 1024.0
    }
}

/// The highest offered rate that passed among `points` (0 when none did).
pub fn highest_passing<'a>(points: impl IntoIterator<Item = &'a ServerPoint>) -> f64 {
    points
        .into_iter()
        .filter(|p| p.ok)
        .map(|p| p.offered_rps)
        .fold(0.0, f64::max)
}

/// Reads a `server.jsonl` the user pointed the lab at (or found beside an
/// input). A malformed line is a [`UsageError`] in one line naming the file
/// and the line.
pub fn read_points(path: &Path) -> anyhow::Result<Vec<ServerPoint>> {
    crate::record::export::read_lines(path, "a server point").map_err(|error| {
        UsageError(format!(
            "error: {} (expected {FILE_NAME} written by `async-vs-blocking sweep --workloads server`)",
            format!("{error:#}").replace('\n', " ")
        ))
        .into()
    })
}

/// True when the first record of the JSON Lines file at `path` is a server
/// point rather than a cell record (`report --input` accepts both).
pub fn holds_points(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .is_some_and(|value| value.get("offered_rps").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str) -> ServerPoint {
        ServerPoint {
            workload: "server".into(),
            model: "tokio".into(),
            handler: "wait 20 ms".into(),
            path: path.into(),
            objective_ms: 100.0,
            offered_rps: 100.0,
            achieved_rps: 100.0,
            connections: 10,
            latency: Quantiles::default(),
            service: Quantiles::default(),
            errors: 0,
            error_kinds: BTreeMap::new(),
            ok: true,
            failure: None,
            server_peak_rss_kib: 2048,
            server_threads: 4,
            server_cpu_s: 0.1,
            generator_behind_p99_ms: 0.1,
            generator_cpu_s: 0.1,
            shares_cores: true,
            foreign_cpu_cores: None,
            unix_s: 0,
            measured_s: None,
            p99_converged: None,
            server_cpus: None,
            generator_cpus: None,
            network: None,
            generator_host: None,
        }
    }

    #[test]
    fn the_handler_is_read_from_the_request_target() {
        let point = at("/work?wait_ms=20&bytes=64&mode=offload");
        assert_eq!(point.wait_ms(), 20.0);
        assert_eq!(point.cpu_us(), 0.0);
        assert_eq!(point.mode(), WaitMode::Offload);
        let point = at("/work?cpu_us=1000&bytes=64");
        assert_eq!((point.wait_ms(), point.cpu_us()), (0.0, 1000.0));
        assert_eq!(point.mode(), WaitMode::Own);
        assert_eq!(at("/health").mode(), WaitMode::Own);
    }

    #[test]
    fn a_file_without_the_foreign_load_field_still_reads() {
        let mut json = serde_json::to_value(at("/work?wait_ms=20")).unwrap();
        json.as_object_mut().unwrap().remove("foreign_cpu_cores");
        let point: ServerPoint = serde_json::from_value(json).unwrap();
        assert_eq!(point.foreign_cpu_cores, None);
    }
}
