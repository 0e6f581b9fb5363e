//! Load from more than one generator, and from another engine: the lab's
//! `load` writes its histograms as an HdrHistogram interval log (the
//! standard format HdrHistogram's own tools read), several such logs from
//! generators started together merge into one [`LoadPoint`], and Locust's
//! CSV results read into one too. The report shows them in `load.jsonl`.
//!
//! Merging never averages percentiles: the rates are summed (each generator
//! counted what it alone carried) and the histograms are added, so the
//! merged p99 is the p99 of every request any generator sent. Generators
//! whose measured windows do not overlap did not load the server together,
//! and are refused rather than summed.

use crate::os::error::UsageError;
use crate::record::server_point::Quantiles;
use anyhow::Context;
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The file of load points the report reads beside its inputs.
pub const FILE_NAME: &str = "load.jsonl";

/// The comment line of an interval log that carries the generator's own
/// counts (standard readers skip comment lines).
const RUN_PREFIX: &str = "#[async-vs-blocking load] ";

/// The interval log's tag for latency from each request's due time.
pub const LATENCY_TAG: &str = "latency";

/// The interval log's tag for latency from each request's send.
pub const SERVICE_TAG: &str = "service";

/// Shorter overlap than this share of the shortest window: not together.
const TOGETHER: f64 = 0.5;

/// What one `load` process counted, beside its histograms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratorRun {
    pub target: String,
    pub path: String,
    pub offered_rps: f64,
    /// Responses completed inside the measured window, per second.
    pub achieved_rps: f64,
    pub connections: u64,
    /// Requests due in the measured window.
    pub scheduled: u64,
    pub completed: u64,
    pub errors: u64,
    /// When the measured window began, seconds since the Unix epoch.
    pub measured_from_unix_s: f64,
    pub duration_s: f64,
    pub interrupted: bool,
}

/// One interval log read back.
#[derive(Debug, Clone)]
pub struct GeneratorLog {
    pub run: GeneratorRun,
    /// From each request's due time (coordinated omission corrected), µs.
    pub latency: Histogram<u64>,
    /// From each request's send, µs.
    pub service: Histogram<u64>,
    /// The file it came from.
    pub source: String,
}

/// One point of load from outside the server sweep: one line of `load.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadPoint {
    /// `lab` (the lab's open-loop `load`) or `locust`.
    pub engine: String,
    /// True when the engine paces its users: each waits for a reply before
    /// its next request, so a stalled server is offered less, not more.
    pub closed_loop: bool,
    /// Generator processes merged into this point (Locust: its workers).
    pub generators: u64,
    pub target: String,
    pub path: String,
    /// Connections (Locust: users), summed over the generators.
    pub connections: u64,
    /// The offered rate, summed; for a closed-loop engine, the rate its
    /// users aimed at (what they reach depends on the replies).
    pub offered_rps: f64,
    /// Responses per second, summed over the generators.
    pub achieved_rps: f64,
    pub completed: u64,
    pub errors: u64,
    /// The lab's: from each request's due time; Locust's: from its send.
    pub latency: Quantiles,
    pub duration_s: f64,
    /// When the (first) measured window began.
    pub unix_s: u64,
    /// The files the point was read from.
    pub sources: Vec<String>,
}

/// The interval log of one generator run: a comment with `run`, then one
/// interval per histogram spanning the measured window, values in µs.
pub fn interval_log(
    run: &GeneratorRun,
    latency: &Histogram<u64>,
    service: &Histogram<u64>,
) -> anyhow::Result<Vec<u8>> {
    let start = UNIX_EPOCH + Duration::from_secs_f64(run.measured_from_unix_s.max(0.0));
    let mut bytes = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment("async-vs-blocking load: latency in microseconds")
            .add_comment(&format!(
                "Tag={LATENCY_TAG}: from each request's due time (coordinated omission corrected); \
                 Tag={SERVICE_TAG}: from its send"
            ))
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut bytes, &mut serializer)
            .map_err(|error| anyhow::anyhow!("starting the interval log: {error:?}"))?;
        writer
            .write_comment(&format!(
                "{}{}",
                &RUN_PREFIX[1..],
                serde_json::to_string(run).context("encoding the generator's counts")?
            ))
            .context("writing the interval log")?;
        let window = Duration::from_secs_f64(run.duration_s.max(0.0));
        for (histogram, tag) in [(latency, LATENCY_TAG), (service, SERVICE_TAG)] {
            writer
                .write_histogram(histogram, Duration::ZERO, window, Tag::new(tag))
                .map_err(|error| anyhow::anyhow!("writing the interval log: {error:?}"))?;
        }
    }
    Ok(bytes)
}

/// Reads an interval log that `load --histogram-log` wrote. Any other file
/// is an error in one line that names it.
pub fn read_interval_log(path: &Path) -> anyhow::Result<GeneratorLog> {
    let bad = |why: String| -> anyhow::Error {
        UsageError(format!(
            "error: {}: {why} (expected an interval log written by \
             `async-vs-blocking load --histogram-log`)",
            path.display()
        ))
        .into()
    };
    let bytes = std::fs::read(path).map_err(|error| bad(format!("cannot be read: {error}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8 text".into()))?;
    let run: GeneratorRun = text
        .lines()
        .find_map(|line| line.strip_prefix(RUN_PREFIX))
        .ok_or_else(|| bad("no line with the generator's counts".into()))
        .and_then(|json| {
            serde_json::from_str(json).map_err(|error| bad(format!("its counts: {error}")))
        })?;
    let (mut latency, mut service) = (None, None);
    for entry in IntervalLogIterator::new(&bytes) {
        let Ok(LogEntry::Interval(interval)) = entry else {
            if let Err(error) = entry {
                return Err(bad(format!("not an interval log: {error:?}")));
            }
            continue;
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|error| bad(format!("a histogram is not base64: {error}")))?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &encoded[..])
            .map_err(|error| bad(format!("a histogram cannot be decoded: {error:?}")))?;
        match interval.tag().as_deref() {
            Some(LATENCY_TAG) => latency = Some(histogram),
            Some(SERVICE_TAG) => service = Some(histogram),
            _ => {}
        }
    }
    let (Some(latency), Some(service)) = (latency, service) else {
        return Err(bad(format!(
            "no intervals tagged {LATENCY_TAG} and {SERVICE_TAG}"
        )));
    };
    Ok(GeneratorLog {
        run,
        latency,
        service,
        source: path.display().to_string(),
    })
}

/// Merges the logs of generators started together against one server into
/// one point: rates, connections and counts summed, histograms added. Logs
/// for different request targets, or whose measured windows overlap by
/// less than half the shortest, are refused in one line.
pub fn merge(logs: &[GeneratorLog]) -> anyhow::Result<LoadPoint> {
    let first = logs.first().context("no interval logs to merge")?;
    let refuse = |why: String| -> anyhow::Error { UsageError(format!("error: {why}")).into() };
    for log in logs {
        if (log.run.target.as_str(), log.run.path.as_str())
            != (first.run.target.as_str(), first.run.path.as_str())
        {
            return Err(refuse(format!(
                "{} loaded {}{} but {} loaded {}{}: only logs of one server and request merge",
                first.source,
                first.run.target,
                first.run.path,
                log.source,
                log.run.target,
                log.run.path
            )));
        }
    }
    let window = |log: &GeneratorLog| {
        let from = log.run.measured_from_unix_s;
        (from, from + log.run.duration_s)
    };
    let overlap = logs
        .iter()
        .map(|l| window(l).1)
        .fold(f64::INFINITY, f64::min)
        - logs
            .iter()
            .map(|l| window(l).0)
            .fold(f64::NEG_INFINITY, f64::max);
    let shortest = logs
        .iter()
        .map(|l| l.run.duration_s)
        .fold(f64::INFINITY, f64::min);
    if logs.len() > 1 && overlap < TOGETHER * shortest {
        return Err(refuse(format!(
            "the {} interval logs' measured windows overlap by {:.1} s of the shortest {:.1} s: \
             their generators did not load the server together, so their rates do not add up \
             (start them at the same time)",
            logs.len(),
            overlap.max(0.0),
            shortest
        )));
    }
    let mut latency = first.latency.clone();
    for log in &logs[1..] {
        latency
            .add(&log.latency)
            .map_err(|error| anyhow::anyhow!("adding {}'s histogram: {error:?}", log.source))?;
    }
    let sum = |f: fn(&GeneratorRun) -> f64| logs.iter().map(|l| f(&l.run)).sum::<f64>();
    Ok(LoadPoint {
        engine: "lab".into(),
        closed_loop: false,
        generators: logs.len() as u64,
        target: first.run.target.clone(),
        path: first.run.path.clone(),
        connections: logs.iter().map(|l| l.run.connections).sum(),
        offered_rps: sum(|r| r.offered_rps),
        achieved_rps: sum(|r| r.achieved_rps),
        completed: logs.iter().map(|l| l.run.completed).sum(),
        errors: logs.iter().map(|l| l.run.errors).sum(),
        latency: Quantiles::of(&latency),
        duration_s: logs.iter().map(|l| l.run.duration_s).fold(0.0, f64::max),
        unix_s: logs
            .iter()
            .map(|l| l.run.measured_from_unix_s)
            .fold(f64::INFINITY, f64::min)
            .max(0.0) as u64,
        sources: logs.iter().map(|l| l.source.clone()).collect(),
    })
}

/// The lab's description of a Locust run, written beside its CSV files as
/// `PREFIX_lab.json` by the lab's locustfile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LocustRun {
    pub target: String,
    pub path: String,
    pub users: u64,
    pub workers: u64,
    /// The rate the users together aimed at, requests per second.
    pub aimed_rps: f64,
    pub duration_s: f64,
    pub unix_s: u64,
}

/// Splits one CSV line (Locust's, written by Python's `csv` module).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("one field").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// Reads Locust's `PREFIX_stats.csv` (its "Aggregated" row) and the lab's
/// `PREFIX_lab.json` beside it into one closed-loop point.
pub fn read_locust(stats_csv: &Path) -> anyhow::Result<LoadPoint> {
    let bad = |why: String| -> anyhow::Error {
        UsageError(format!(
            "error: {}: {why} (expected Locust's PREFIX_stats.csv from scripts/locust_compare.sh)",
            stats_csv.display()
        ))
        .into()
    };
    let text = std::fs::read_to_string(stats_csv)
        .map_err(|error| bad(format!("cannot be read: {error}")))?;
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap_or(""));
    let row = lines
        .map(csv_fields)
        .find(|fields| fields.get(1).map(String::as_str) == Some("Aggregated"))
        .ok_or_else(|| bad("no Aggregated row".into()))?;
    let column = |name: &str| -> anyhow::Result<f64> {
        let at = header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no column {name:?}")))?;
        let value = row.get(at).map(String::as_str).unwrap_or("");
        // Locust writes N/A for a quantile of no requests.
        Ok(value.parse().unwrap_or(0.0))
    };
    let name = stats_csv
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let prefix = name
        .strip_suffix("_stats.csv")
        .ok_or_else(|| bad("its name does not end in _stats.csv".into()))?;
    let meta_path = stats_csv.with_file_name(format!("{prefix}_lab.json"));
    let meta: LocustRun = std::fs::read_to_string(&meta_path)
        .map_err(|error| format!("{}: {error}", meta_path.display()))
        .and_then(|json| {
            serde_json::from_str(&json).map_err(|error| format!("{}: {error}", meta_path.display()))
        })
        .map_err(|why| bad(format!("the lab's description beside it: {why}")))?;
    Ok(LoadPoint {
        engine: "locust".into(),
        closed_loop: true,
        generators: meta.workers,
        target: meta.target,
        path: meta.path,
        connections: meta.users,
        offered_rps: meta.aimed_rps,
        achieved_rps: column("Requests/s")?,
        completed: column("Request Count")? as u64,
        errors: column("Failure Count")? as u64,
        latency: Quantiles {
            p50_ms: column("50%")?,
            p90_ms: column("90%")?,
            p99_ms: column("99%")?,
            p999_ms: column("99.9%")?,
            max_ms: column("100%")?,
        },
        duration_s: meta.duration_s,
        unix_s: meta.unix_s,
        sources: vec![
            stats_csv.display().to_string(),
            meta_path.display().to_string(),
        ],
    })
}

/// Reads a `load.jsonl`; a malformed line is one line naming the file.
pub fn read_points(path: &Path) -> anyhow::Result<Vec<LoadPoint>> {
    crate::record::export::read_lines(path, "a load point").map_err(|error| {
        UsageError(format!(
            "error: {}",
            format!("{error:#}").replace('\n', " ")
        ))
        .into()
    })
}

/// Writes `points` as `load.jsonl`, replacing the file by rename.
pub fn write_points(path: &Path, points: &[LoadPoint]) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    for point in points {
        serde_json::to_writer(&mut lines, point).context("encoding a load point")?;
        lines.push(b'\n');
    }
    crate::os::output::replace_file(path, &lines)
}

/// Seconds since the Unix epoch of an instant `ago` before now.
pub fn unix_s_ago(ago: Duration) -> f64 {
    SystemTime::now()
        .checked_sub(ago)
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(values_us: &[u64]) -> Histogram<u64> {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &value in values_us {
            histogram.record(value).unwrap();
        }
        histogram
    }

    fn run(offered: f64, achieved: f64, from: f64) -> GeneratorRun {
        GeneratorRun {
            target: "127.0.0.1:8080".into(),
            path: "/work?wait_ms=20".into(),
            offered_rps: offered,
            achieved_rps: achieved,
            connections: 10,
            scheduled: (offered * 5.0) as u64,
            completed: (achieved * 5.0) as u64,
            errors: 0,
            measured_from_unix_s: from,
            duration_s: 5.0,
            interrupted: false,
        }
    }

    fn log_of(dir: &Path, name: &str, run: &GeneratorRun, values: &[u64]) -> GeneratorLog {
        let bytes = interval_log(run, &histogram_of(values), &histogram_of(values)).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        read_interval_log(&path).unwrap()
    }

    #[test]
    fn an_interval_log_reads_back_its_counts_and_histograms() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<u64> = (1..=1000).map(|i| i * 100).collect();
        let log = log_of(dir.path(), "a.hlog", &run(200.0, 199.0, 1e9), &values);
        assert_eq!(log.run, run(200.0, 199.0, 1e9));
        assert_eq!(log.latency.len(), 1000);
        assert_eq!(log.latency, histogram_of(&values));
        let text = std::fs::read_to_string(dir.path().join("a.hlog")).unwrap();
        // The standard layout: a StartTime header and tagged, compressed intervals.
        assert!(text.contains("#[StartTime: "), "{text}");
        assert!(text.contains("Tag=latency,0.000,5.000,"), "{text}");
        assert!(text.contains("HISTFAA"), "{text}");
    }

    #[test]
    fn merging_sums_rates_and_adds_histograms_never_averages_quantiles() {
        let dir = tempfile::tempdir().unwrap();
        // One fast generator, one that saw a stall: the merged p99 is the
        // p99 of all requests, not the mean of the two p99s.
        let fast: Vec<u64> = vec![1_000; 990];
        let stalled: Vec<u64> = (0..10).map(|_| 500_000).collect();
        let a = log_of(dir.path(), "a.hlog", &run(990.0, 990.0, 1e9), &fast);
        let b = log_of(dir.path(), "b.hlog", &run(10.0, 10.0, 1e9 + 0.2), &stalled);
        let point = merge(&[a, b]).unwrap();
        assert_eq!(point.generators, 2);
        assert_eq!(point.offered_rps, 1000.0);
        assert_eq!(point.achieved_rps, 1000.0);
        assert_eq!(point.connections, 20);
        let mut all = fast.clone();
        all.extend(&stalled);
        assert_eq!(point.latency, Quantiles::of(&histogram_of(&all)));
        // 1 % of the requests took 500 ms: the p99 is 1 ms, the p99.9 the stall.
        assert!(
            (point.latency.p99_ms - 1.0).abs() < 0.01,
            "{:?}",
            point.latency
        );
        assert!(point.latency.p999_ms > 499.0, "{:?}", point.latency);
    }

    #[test]
    fn logs_that_did_not_run_together_or_loaded_another_request_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = log_of(dir.path(), "a.hlog", &run(100.0, 100.0, 1e9), &[1000]);
        let later = log_of(dir.path(), "b.hlog", &run(100.0, 100.0, 1e9 + 4.0), &[1000]);
        let error = merge(&[a.clone(), later]).unwrap_err().to_string();
        assert!(
            error.contains("did not load the server together"),
            "{error}"
        );
        let mut other = run(100.0, 100.0, 1e9);
        other.path = "/health".into();
        let other = log_of(dir.path(), "c.hlog", &other, &[1000]);
        let error = merge(&[a, other]).unwrap_err().to_string();
        assert!(error.contains("only logs of one server"), "{error}");
        std::fs::write(dir.path().join("d.hlog"), "not a log\n").unwrap();
        let error = read_interval_log(&dir.path().join("d.hlog"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("d.hlog") && !error.contains('\n'), "{error}");
    }

    #[test]
    fn a_locust_aggregated_row_and_its_description_read_into_a_closed_loop_point() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("run_stats.csv"),
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
             Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
             50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n\
             GET,\"/work?wait_ms=20,x\",600,0,21,22.5,20,95,64,19.8,0.0,21,21,22,22,23,30,60,80,95,95,95\n\
             ,Aggregated,600,2,21,22.5,20,95,64,19.8,0.0,21,21,22,22,23,30,60,80,95,95,95\n",
        )
        .unwrap();
        let meta = LocustRun {
            target: "127.0.0.1:8080".into(),
            path: "/work?wait_ms=20".into(),
            users: 10,
            workers: 2,
            aimed_rps: 20.0,
            duration_s: 30.0,
            unix_s: 1_700_000_000,
        };
        std::fs::write(
            dir.path().join("run_lab.json"),
            serde_json::to_string(&meta).unwrap(),
        )
        .unwrap();
        let point = read_locust(&dir.path().join("run_stats.csv")).unwrap();
        assert!(point.closed_loop);
        assert_eq!(point.engine, "locust");
        assert_eq!((point.generators, point.connections), (2, 10));
        assert_eq!((point.completed, point.errors), (600, 2));
        assert_eq!(point.achieved_rps, 19.8);
        assert_eq!(point.latency.p99_ms, 80.0);
        assert_eq!(point.latency.max_ms, 95.0);
        std::fs::remove_file(dir.path().join("run_lab.json")).unwrap();
        let error = read_locust(&dir.path().join("run_stats.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("run_lab.json"), "{error}");
    }
}
