//! Drives `claims` through the real binary: bad ids, the listing, and three
//! fast experiments whose numbers must obey physics — waits that run one
//! after another cannot take less than their sum, and overlapping waits
//! cannot take their sum — whatever verdict a busy machine produces.

use assert_cmd::Command;
use async_vs_blocking::claims::{ClaimResult, ClaimsReport, Verdict};

fn lab() -> Command {
    Command::cargo_bin("async-vs-blocking").unwrap()
}

/// Runs `claims --json` for `ids`; checks that the same results were saved
/// as claims.json in `--out`, where `report` finds them.
fn claims_json(ids: &str) -> ClaimsReport {
    let out = tempfile::tempdir().unwrap();
    let output = lab()
        .args(["claims", "--only", ids, "--repeat", "1", "--json", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: ClaimsReport = serde_json::from_slice(&output.stdout).unwrap();
    let saved = std::fs::read_to_string(out.path().join("claims.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<ClaimsReport>(&saved).unwrap(),
        printed
    );
    printed
}

fn value(result: &ClaimResult, label: &str) -> f64 {
    result
        .figures
        .iter()
        .find(|f| f.label == label)
        .unwrap_or_else(|| panic!("{}: no figure {label:?}", result.id))
        .value
}

#[test]
fn an_unknown_id_is_one_line_naming_the_valid_ids_and_exit_2() {
    let output = lab()
        .args(["claims", "--only", "fan-out,nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
    for id in async_vs_blocking::claims::ids() {
        assert!(stderr.contains(id), "{id} missing from: {stderr}");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn list_shows_every_claim_without_measuring() {
    let output = lab().args(["claims", "--list"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    for id in async_vs_blocking::claims::ids() {
        assert!(stdout.contains(id), "{id} missing from the list");
    }
}

#[test]
fn fast_claims_report_physical_numbers_and_a_reproducing_command() {
    let report = claims_json("await-in-sequence,lazy-futures,blocking-freezes-loop");
    let ids: Vec<&str> = report.claims.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["await-in-sequence", "blocking-freezes-loop", "lazy-futures"]
    );
    assert!(report.machine.cores >= 1);
    for claim in &report.claims {
        assert_eq!(
            claim.command,
            format!("async-vs-blocking claims --only {}", claim.id)
        );
        assert_ne!(claim.verdict, Verdict::NotMeasured, "{claim:?}");
        assert!(!claim.thresholds.is_empty(), "{}", claim.id);
        assert!(!claim.decided_by.is_empty(), "{}", claim.id);
        // All three are demonstrations, labelled as such in --json.
        assert!(
            claim
                .demonstration
                .as_deref()
                .is_some_and(|what| !what.is_empty()),
            "{}",
            claim.id
        );
        assert_eq!(
            claim.verdict == Verdict::HoldsWithACaveat,
            claim.caveat.is_some(),
            "{}",
            claim.id
        );
    }

    // Three waits of 50 ms awaited one after another cannot beat 150 ms;
    // joined, they overlap and take far less than their sum.
    let sequence = &report.claims[0];
    assert!(value(sequence, "awaited in sequence") >= 148.0);
    assert!(value(sequence, "spawned and awaited one at a time") >= 148.0);
    assert!(value(sequence, "join!") < 140.0);
    assert!(value(sequence, "spawned first, then awaited") < 140.0);
    assert_eq!(sequence.verdict, Verdict::DoesNotHold);

    // Eight blocking sleeps of 25 ms on one thread take at least 200 ms and
    // starve the heartbeat for at least one of them; the fixes overlap.
    let blocking = &report.claims[1];
    let current = "tokio current-thread, std::thread::sleep";
    assert!(value(blocking, &format!("{current}: wall")) >= 198.0);
    assert!(value(blocking, &format!("{current}: heartbeat gap")) >= 24.0);
    assert!(value(blocking, "smol one thread, std::thread::sleep: wall") >= 198.0);
    assert!(value(blocking, "tokio current-thread, tokio::time::sleep: wall") < 150.0);
    assert!(value(blocking, "smol one thread, smol::unblock: wall") < 150.0);

    // Counting work is exact: dropped futures do nothing, awaited ones all.
    let lazy = &report.claims[2];
    assert_eq!(value(lazy, "futures dropped unawaited: work done"), 0.0);
    assert_eq!(value(lazy, "futures awaited: work done"), 1000.0);
    assert_eq!(value(lazy, "smol tasks, handle dropped: work done"), 0.0);
    assert_eq!(value(lazy, "smol tasks detached: work done"), 1000.0);
}

#[test]
fn the_table_shows_verdict_thresholds_and_machine() {
    let out = tempfile::tempdir().unwrap();
    let output = lab()
        .args(["claims", "--only", "lazy-futures", "--repeat", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let saved = out.path().join("claims.json");
    assert!(saved.is_file());
    assert!(
        stdout.trim_end().ends_with(&format!(
            "saved {}: a report written to {} (or drawn from a results.jsonl there) shows these verdicts",
            saved.display(),
            out.path().display()
        )),
        "{stdout}"
    );
    for needle in [
        "lazy-futures",
        "decided by:",
        "DROPPED_WORK_MAX",
        "demonstration:",
        "demonstrations (outcome fixed in advance): 1",
        "async-vs-blocking claims --only lazy-futures",
        "machine:",
        "cores",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
}

#[test]
fn file_io_reads_real_files_and_shows_the_threads_each_runtime_started() {
    let report = claims_json("async-file-io");
    let claim = &report.claims[0];
    assert_eq!(claim.id, "async-file-io");
    assert!(
        claim.demonstration.is_none(),
        "a verdict, not a demonstration"
    );
    // Every model read every file in both cases, each byte checked: a wall
    // time and a thread count for each, or the claim says why it has none.
    if claim.verdict == Verdict::NotMeasured && claim.figures.is_empty() {
        panic!("the experiment failed: {}", claim.decided_by);
    }
    for case in ["warm", "cold"] {
        for model in ["thread-pool", "threads", "tokio", "smol", "monoio"] {
            assert!(value(claim, &format!("{case} {model}: wall")) > 0.0);
        }
        // tokio::fs hands every read to spawn_blocking, whose threads start on demand.
        assert!(value(claim, &format!("{case} tokio: extra threads")) >= 1.0);
    }
    assert!(claim
        .thresholds
        .iter()
        .any(|t| t.name == "FASTER_FRACTION_MAX"));
}

#[test]
fn the_server_claim_reports_rates_no_server_can_beat() {
    // Whatever the verdict (a busy machine makes it "not measured", with
    // the figures kept), the rates obey arithmetic: nothing completes more
    // requests than were due (10 connections: 400 req/s offered), and a
    // pool of `cores` threads holding keep-alive connections serves at most
    // cores ÷ 20 ms, counted over the measured second plus its 1 s timeout.
    let report = claims_json("async-server-throughput");
    let claim = &report.claims[0];
    assert_eq!(claim.id, "async-server-throughput");
    assert!(!claim.decided_by.is_empty());
    let few = value(claim, "10 connections, 20 ms wait: tokio achieved");
    assert!(few > 0.0 && few <= 401.0, "{few}");
    let cores = report.machine.cores as f64;
    let pool = value(claim, "200 connections, 20 ms wait: thread-pool achieved");
    assert!(pool <= cores * 50.0 * 2.0 * 1.1, "{pool} on {cores} cores");
    assert!(value(claim, "200 connections, 20 ms wait: threads achieved") <= 8001.0);
}

#[test]
fn under_taskset_one_cpu_threads_for_cpu_is_not_measured_for_want_of_a_second_core() {
    // `taskset -c 0`: the lab may use one CPU of the machine. The claim that
    // needs parallelism must say so, never "does not hold", and never blame
    // load on CPUs it may not use.
    let out = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(assert_cmd::cargo::cargo_bin("async-vs-blocking"))
        .args([
            "claims",
            "--only",
            "threads-for-cpu",
            "--repeat",
            "1",
            "--json",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("taskset (util-linux) runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: ClaimsReport = serde_json::from_slice(&output.stdout).unwrap();
    let claim = &report.claims[0];
    assert_eq!(claim.cores, 1, "{claim:?}");
    assert_eq!(claim.verdict, Verdict::NotMeasured, "{claim:?}");
    assert!(
        claim.decided_by.contains("two usable physical cores"),
        "{}",
        claim.decided_by
    );
    assert!(
        claim
            .thresholds
            .iter()
            .any(|t| t.name == "CPU_JOBS" && t.value == 4.0),
        "4 jobs for one usable CPU: {:?}",
        claim.thresholds
    );
}
