//! The Python mirror (scripts/python/) writes records the lab can read: run
//! it with tiny parameters and parse its output with the lab's own reader.
//! These tests fail where no `python3` is installed: a missing interpreter
//! must not pass for a working mirror (CI has one).

use async_vs_blocking::record::export::read_jsonl;
use async_vs_blocking::record::result::Status;
use std::path::Path;
use std::process::Command;

/// The interpreter, or a failed test saying it is missing.
fn python() -> &'static str {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "python3 not found: the Python mirror cannot be tested (install python3)"
    );
    "python3"
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_mirror_writes_records_the_lab_reads() {
    python();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(repo().join("scripts/python_mirror.sh"))
        .args(["--tasks", "4", "--sleep-ms", "20"])
        .args(["--cpu-tasks", "2", "--cpu-us", "2000"])
        .args(["--blocking-tasks", "4", "--blocking-sleep-ms", "20"])
        .args(["--repeat", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = read_jsonl(&out.path().join("results.jsonl")).unwrap();
    // fan-out: 4 models; cpu: 4 models; blocking-in-async: 3 models.
    assert_eq!(records.len(), 11, "{records:?}");
    for record in &records {
        assert_eq!(record.status, Status::Ok, "{record:?}");
        assert!(record.model.starts_with("py-"), "{}", record.model);
        assert!(["sleep", "cpu"].contains(&record.workload.as_str()));
        assert!(record.machine.crates.contains_key("python"));
        assert!(record.wall_ms.median > 0.0 && record.ideal_ms > 0.0);
        assert!(record.command.starts_with("scripts/python_mirror.sh"));
    }
    let free_threaded = records[0].machine.crates["python-gil"] == "disabled";
    let wall = |workload: &str, model: &str| {
        let model = if free_threaded {
            format!("{model}-ft")
        } else {
            model.to_string()
        };
        records
            .iter()
            .find(|r| r.workload == workload && r.model == model)
            .map(|r| r.wall_ms.median)
            .unwrap_or_else(|| panic!("no {workload}/{model} record"))
    };
    // Four 20 ms waits one after another take at least 80 ms; asyncio
    // overlaps them; time.sleep inside coroutines serialises them again.
    assert!(wall("sleep", "py-sequential") >= 79.0);
    assert!(wall("sleep", "py-asyncio") < 79.0);
    assert!(
        records
            .iter()
            .filter(|r| r.model.starts_with("py-asyncio-blocking"))
            .all(|r| r.wall_ms.median >= 79.0),
        "the blocking pitfall overlapped its waits"
    );
    // py-threads starts its threads inside the timed region, like the lab.
    let threads = records
        .iter()
        .find(|r| r.workload == "sleep" && r.model.starts_with("py-threads"))
        .unwrap();
    assert!(threads.peak_threads >= 5, "{threads:?}");
    // The mirror counts cores the way the lab does.
    assert_eq!(
        records[0].machine.cores,
        async_vs_blocking::os::measure::cores()
    );
}

#[test]
fn cpu_cells_calibrate_in_their_own_interpreter_and_record_the_spread() {
    python();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(repo().join("scripts/python_mirror.sh"))
        .args(["--experiments", "cpu", "--models", "py-sequential"])
        .args([
            "--cpu-tasks",
            "2",
            "--cpu-us",
            "2000",
            "--repeat",
            "2",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let calibrations = record["calibration"].as_array().expect("one per repeat");
    assert_eq!(calibrations.len(), 2, "{record}");
    for calibration in calibrations {
        assert!(calibration["iters_per_us"].as_f64().unwrap() > 0.0);
        assert!(calibration["spread"].as_f64().unwrap() >= 1.0);
    }
}

#[test]
fn blocking_in_async_defaults_to_the_labs_8_by_25_ms() {
    python();
    let output = Command::new(python())
        .current_dir(repo().join("scripts/python"))
        .args([
            "-c",
            "import mirror; a = mirror.parse_args([]); print(a.blocking_tasks, a.blocking_sleep_ms)",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), "8 25.0");
}

#[test]
fn the_python_kernel_computes_the_same_checksum_as_the_lab() {
    let python = python();
    let output = Command::new(python)
        .current_dir(repo().join("scripts/python"))
        .args([
            "-c",
            "import kernel; print(kernel.spin(1000), kernel.spin(12345))",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let expected = format!(
        "{} {}",
        async_vs_blocking::workload::compute::spin(1000),
        async_vs_blocking::workload::compute::spin(12345)
    );
    assert_eq!(text.trim(), expected);
}

#[test]
fn a_bad_experiment_name_is_one_line_and_exit_2() {
    python();
    let output = Command::new(repo().join("scripts/python_mirror.sh"))
        .args(["--experiments", "fan-out,nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("fan-out, cpu, blocking-in-async"),
        "{stderr}"
    );
}
