//! Load from more than one generator (issue #23, item 3a): two `load`
//! processes started together against one lab server write two
//! HdrHistogram interval logs, and `report --input` merges them into one
//! point whose rate is their sum and whose histogram is their merge. A
//! single generator at the combined rate is the reference; the bounds are
//! physical (nothing faster than the handler's wait, nothing achieved above
//! what was offered) and wide (2 busy cores run the server and all three
//! generators).

use assert_cmd::cargo::cargo_bin;
use async_vs_blocking::record::load_point::{self, LoadPoint};
use async_vs_blocking::record::server_point::Quantiles;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lab() -> Command {
    Command::new(cargo_bin("async-vs-blocking"))
}

/// A tokio server on a free loopback port: its guard and its address.
fn serve() -> (Guard, String) {
    let mut server = lab()
        .args(["serve", "--model", "tokio", "--workers", "2", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let guard = Guard(server);
    let mut address = String::new();
    BufReader::new(stdout).read_line(&mut address).unwrap();
    (guard, address.trim().to_string())
}

/// The handler waits this long on the runtime's timer.
const WAIT_MS: f64 = 10.0;
const RATE_EACH: f64 = 150.0;
const CONNECTIONS_EACH: u64 = 20;

fn load(address: &str, rate: f64, connections: u64, log: &Path) -> Child {
    lab()
        .args(["load", "--target", address])
        .args(["--path", &format!("/work?wait_ms={WAIT_MS}&bytes=64")])
        .args(["--rate", &rate.to_string()])
        .args(["--connections", &connections.to_string()])
        .args(["--duration-s", "3", "--warmup-s", "0.5", "--json"])
        .arg("--histogram-log")
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: Child) {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "load: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn report_of(inputs: &[&Path], out: &Path) -> LoadPoint {
    let output = lab()
        .arg("report")
        .arg("--input")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "report: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("Load from several generators"), "no section");
    let mut points = load_point::read_points(&out.join(load_point::FILE_NAME)).unwrap();
    assert_eq!(points.len(), 1, "{points:?}");
    points.remove(0)
}

#[test]
fn two_generators_logs_merge_into_one_point_with_their_summed_rate_and_merged_histogram() {
    let (_server, address) = serve();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, single) = (
        dir.path().join("a.hlog"),
        dir.path().join("b.hlog"),
        dir.path().join("single.hlog"),
    );
    // Started together, as generators on two hosts would be.
    let first = load(&address, RATE_EACH, CONNECTIONS_EACH, &a);
    let second = load(&address, RATE_EACH, CONNECTIONS_EACH, &b);
    finished(first);
    finished(second);
    finished(load(
        &address,
        2.0 * RATE_EACH,
        2 * CONNECTIONS_EACH,
        &single,
    ));

    let merged = report_of(&[&a, &b], &dir.path().join("merged"));
    let logs = [
        load_point::read_interval_log(&a).unwrap(),
        load_point::read_interval_log(&b).unwrap(),
    ];
    // The rate is the sum, exactly; the histogram is the merge, exactly.
    assert_eq!(merged.generators, 2);
    assert_eq!(merged.offered_rps, 2.0 * RATE_EACH);
    assert_eq!(merged.connections, 2 * CONNECTIONS_EACH);
    let achieved: f64 = logs.iter().map(|l| l.run.achieved_rps).sum();
    assert!((merged.achieved_rps - achieved).abs() < 1e-9, "{merged:?}");
    let mut histogram = logs[0].latency.clone();
    histogram.add(&logs[1].latency).unwrap();
    assert_eq!(merged.latency, Quantiles::of(&histogram));
    assert_eq!(
        histogram.len(),
        logs.iter().map(|l| l.run.completed).sum::<u64>()
    );

    // Against one generator at the combined rate: the same physics bounds.
    let one = report_of(&[&single], &dir.path().join("single"));
    assert_eq!(one.generators, 1);
    assert_eq!(one.offered_rps, merged.offered_rps);
    for point in [&merged, &one] {
        // Nothing achieved beyond what was offered. A handler that only
        // waits 10 ms lets 40 connections carry up to 4,000 req/s, far above
        // the 300 offered, so even a busy machine carries most of the offer.
        assert!(point.achieved_rps <= point.offered_rps * 1.01, "{point:?}");
        assert!(point.achieved_rps >= 0.7 * point.offered_rps, "{point:?}");
        // No reply before the handler's wait is over.
        assert!(point.latency.p50_ms >= WAIT_MS, "{point:?}");
    }
    let ratio = merged.achieved_rps / one.achieved_rps;
    assert!(
        (0.7..1.43).contains(&ratio),
        "merged {merged:?} single {one:?}"
    );
    // The median sits at the wait plus the machine's noise for both; the
    // merge must not drift far from the single generator's.
    assert!(
        merged.latency.p50_ms <= 3.0 * one.latency.p50_ms + 20.0
            && one.latency.p50_ms <= 3.0 * merged.latency.p50_ms + 20.0,
        "merged {merged:?} single {one:?}"
    );
}

#[test]
fn logs_of_generators_that_did_not_run_together_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, address) = serve();
    let (a, b) = (dir.path().join("a.hlog"), dir.path().join("b.hlog"));
    // One after the other: no overlap at all.
    finished(load(&address, 50.0, 5, &a));
    finished(load(&address, 50.0, 5, &b));
    let output = lab()
        .args(["report", "--input"])
        .args([&a, &b])
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("did not load the server together"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn an_output_file_in_a_directory_that_does_not_exist_is_refused_before_any_load() {
    for flag in ["--histogram-log", "--export-locust"] {
        let output = lab()
            .args(["load", "--target", "127.0.0.1:1", "--rate", "10"])
            .args([flag, "/nonexistent-dir/x"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains("/nonexistent-dir"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
