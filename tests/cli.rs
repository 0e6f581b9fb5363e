//! Drives the real binary: small real cells with wide, physics-based bounds,
//! a small sweep's files, and every kind of bad input.

use assert_cmd::Command;
use serde_json::Value;

fn lab() -> Command {
    Command::cargo_bin("async-vs-blocking").unwrap()
}

/// Runs one cell with `--json` and returns its record.
fn run_json(args: &[&str]) -> Value {
    let output = lab().arg("run").args(args).arg("--json").output().unwrap();
    // 3: the cell failed or timed out, and its record is printed all the same.
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn wall_median(record: &Value) -> f64 {
    record["wall_ms"]["median"].as_f64().unwrap()
}

#[test]
fn list_names_every_model_and_workload() {
    let output = lab().arg("list").arg("--json").output().unwrap();
    assert!(output.status.success());
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    let models: Vec<&str> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    // The registry, not a list written here: a new model is listed by
    // adding it to `model::all`.
    assert_eq!(models, async_vs_blocking::model::names());
    assert!(models.contains(&"tokio") && models.contains(&"sequential"));
    let workloads: Vec<&str> = list["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    for name in ["sleep", "cpu", "mixed"] {
        assert!(workloads.contains(&name), "{workloads:?}");
    }
    let text = lab().arg("list").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("async-std (legacy)"));
}

#[test]
fn async_models_overlap_200_waits() {
    // 200 tasks x 50 ms: one after another is 10 s. Concurrently it cannot
    // beat 50 ms, and anything under a quarter of the serial time proves the
    // waits overlapped, even on a busy machine.
    for model in async_models() {
        let record = run_json(&[
            "--workload",
            "sleep",
            "--model",
            model,
            "--tasks",
            "200",
            "--sleep-ms",
            "50",
            "--repeat",
            "1",
        ]);
        assert_eq!(record["status"], "ok", "{model}: {record}");
        let wall = wall_median(&record);
        assert!(wall >= 50.0, "{model}: {wall} ms beats physics");
        assert!(
            wall < 200.0 * 50.0 / 4.0,
            "{model}: {wall} ms, waits did not overlap"
        );
        assert_eq!(record["ideal_ms"], 50.0);
        let latency = &record["latency_ms"];
        assert!(
            latency["p50"].as_f64().unwrap() >= 50.0,
            "{model}: {latency}"
        );
        assert!(
            latency["max"].as_f64().unwrap() <= wall + 0.01,
            "{model}: {latency}"
        );
    }
}

#[test]
fn sequential_takes_at_least_n_times_d() {
    let record = run_json(&[
        "--workload",
        "sleep",
        "--model",
        "sequential",
        "--tasks",
        "10",
        "--sleep-ms",
        "20",
        "--repeat",
        "2",
    ]);
    assert_eq!(record["status"], "ok");
    assert!(
        record["wall_ms"]["min"].as_f64().unwrap() >= 200.0,
        "{record}"
    );
    assert_eq!(record["repeats"], 2);
    // Efficiency is ideal / median: one wait out of ten, at most.
    assert!(
        record["efficiency"].as_f64().unwrap() <= 0.1 + 1e-9,
        "{record}"
    );
}

#[test]
fn threads_use_a_thread_per_task_and_tokio_a_few() {
    // 300 tasks sleeping 200 ms each: the parent samples the child's thread
    // count every 2 ms, so it sees them alive together.
    let threads = run_json(&[
        "--workload",
        "sleep",
        "--model",
        "threads",
        "--tasks",
        "300",
        "--sleep-ms",
        "200",
        "--repeat",
        "1",
    ]);
    assert!(
        threads["peak_threads"].as_u64().unwrap() >= 250,
        "{threads}"
    );
    assert_eq!(threads["workers"], 300);
    let tokio = run_json(&[
        "--workload",
        "sleep",
        "--model",
        "tokio",
        "--tasks",
        "300",
        "--sleep-ms",
        "200",
        "--workers",
        "2",
        "--repeat",
        "1",
    ]);
    let tokio_threads = tokio["peak_threads"].as_u64().unwrap();
    assert!((3..=12).contains(&tokio_threads), "{tokio}");
}

#[test]
fn cpu_cells_verify_their_work_in_every_model() {
    for model in async_vs_blocking::model::names() {
        let record = run_json(&[
            "--workload",
            "cpu",
            "--model",
            model,
            "--tasks",
            "4",
            "--cpu-us",
            "2000",
            "--repeat",
            "1",
        ]);
        assert_eq!(record["status"], "ok", "{model}: {record}");
        assert_eq!(record["sleep_ms"], 0.0);
        assert_eq!(record["cpu_us"], 2000.0);
        // Four 2 ms computes take at least 2 ms even on infinitely many cores.
        assert!(wall_median(&record) >= 2.0, "{model}: {record}");
        assert!(
            record["cpu_user_ms"].as_f64().unwrap() + record["cpu_sys_ms"].as_f64().unwrap() > 0.0
        );
    }
}

#[test]
fn a_cell_that_runs_too_long_is_killed_and_recorded() {
    let start = std::time::Instant::now();
    let record = run_json(&[
        "--workload",
        "sleep",
        "--model",
        "sequential",
        "--tasks",
        "1",
        "--sleep-ms",
        "20000",
        "--timeout-s",
        "1",
        "--repeat",
        "3",
    ]);
    assert_eq!(record["status"], "timeout", "{record}");
    assert!(record["error"].as_str().unwrap().contains("timeout"));
    assert!(
        start.elapsed().as_secs() < 15,
        "the timeout did not stop the cell"
    );
}

#[test]
fn a_small_sweep_writes_every_cell_to_jsonl_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let output = lab()
        .args([
            "sweep",
            "--workloads",
            "sleep,cpu",
            "--models",
            "tokio,sequential",
            "--tasks",
            "1,3",
        ])
        .args(["--repeat", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let jsonl = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    let records: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 8);
    for record in &records {
        assert_eq!(record["status"], "ok", "{record}");
        assert_eq!(record["profile"], "quick");
        assert!(record["command"]
            .as_str()
            .unwrap()
            .starts_with("async-vs-blocking run"));
        for field in [
            "workload",
            "model",
            "tasks",
            "workers",
            "sleep_ms",
            "cpu_us",
            "repeats",
            "wall_ms",
            "ideal_ms",
            "efficiency",
            "latency_ms",
            "peak_rss_kib",
            "peak_threads",
            "cpu_user_ms",
            "cpu_sys_ms",
            "ctx_voluntary",
            "ctx_involuntary",
            "status",
            "error",
            "machine",
        ] {
            assert!(record.get(field).is_some(), "missing {field}");
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9, "a header and one row per cell");
    assert!(csv.starts_with("workload,model,tasks,workers"));
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokyo",
                "--tasks",
                "1",
            ],
            "tokio",
        ),
        (
            &[
                "run",
                "--workload",
                "nap",
                "--model",
                "tokio",
                "--tasks",
                "1",
            ],
            "sleep, cpu, mixed",
        ),
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokio",
                "--tasks",
                "0",
            ],
            "--tasks",
        ),
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokio",
                "--tasks",
                "10000001",
            ],
            "--tasks",
        ),
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--sleep-ms",
                "0",
            ],
            "at least",
        ),
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--sleep-ms",
                "4000000",
            ],
            "one hour",
        ),
        (
            &[
                "run",
                "--workload",
                "cpu",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--cpu-us",
                "abc",
            ],
            "not a number",
        ),
        (
            &[
                "run",
                "--workload",
                "sleep",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--workers",
                "0",
            ],
            "--workers",
        ),
        (
            &[
                "run",
                "--workload",
                "file",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--file-kib",
                "0",
            ],
            "--file-kib",
        ),
        (
            &[
                "run",
                "--workload",
                "file",
                "--model",
                "tokio",
                "--tasks",
                "1",
                "--file-kib",
                "65537",
            ],
            "--file-kib",
        ),
        (
            &[
                "run",
                "--workload",
                "file-cold",
                "--model",
                "tokio",
                "--tasks",
                "100000",
                "--file-kib",
                "64",
            ],
            "lower --tasks or --file-kib",
        ),
        (&["sweep", "--file-kib", "many"], "--file-kib"),
        (&["sweep", "--models", "tokio,nope"], "valid"),
        (&["sweep", "--profile", "huge"], "quick, full"),
        (
            &["sweep", "--out", "/proc/version/not-a-dir"],
            "cannot write",
        ),
        (&["frobnicate"], "frobnicate"),
        (&["overhead", "--model", "rayon"], "tokio, threads"),
        (&["overhead", "--tasks", "0"], "--tasks"),
        (&["overhead", "--sleep-ms", "soon"], "not a number"),
    ];
    for (args, expected) in cases {
        let output = lab().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{args:?}: {stderr:?} lacks {expected:?}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
}

/// Pids of processes whose command line contains `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn a_killed_lab_leaves_no_cell_running() {
    // An unusual wait marks this test's cell among any others.
    let marker = "\"sleep_ms\":31337.0";
    let mut lab = std::process::Command::new(assert_cmd::cargo::cargo_bin("async-vs-blocking"))
        .args([
            "run",
            "--workload",
            "sleep",
            "--model",
            "sequential",
            "--tasks",
            "1",
        ])
        .args(["--sleep-ms", "31337", "--repeat", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids_with(marker).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!pids_with(marker).is_empty(), "the cell never started");
    lab.kill().unwrap(); // SIGKILL: the lab gets no chance to clean up
    lab.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !pids_with(marker).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(pids_with(marker).is_empty(), "the cell outlived the lab");
}

/// Every async model in the registry.
fn async_models() -> Vec<&'static str> {
    async_vs_blocking::model::all()
        .iter()
        .filter(|model| model.style() == async_vs_blocking::model::Style::Async)
        .map(|model| model.name())
        .collect()
}

#[test]
fn file_cells_read_checked_files_and_record_the_cache_and_the_threads_started() {
    for workload in ["file", "file-cold"] {
        let record = run_json(&[
            "--workload",
            workload,
            "--model",
            "tokio",
            "--tasks",
            "20",
            "--file-kib",
            "8",
            "--repeat",
            "1",
        ]);
        assert_eq!(record["status"], "ok", "{record}");
        assert_eq!(record["file_kib"], 8);
        let cache = &record["file_cache"];
        assert_eq!(cache["cold"], workload == "file-cold", "{record}");
        // Warm: every page was read just before the timed region.
        if workload == "file" {
            assert_eq!(cache["resident_share_max"], 1.0, "{record}");
        } else {
            // Cold, or the record says why it could not be.
            assert!(
                cache["really_cold"] == true || cache["note"].is_string(),
                "{record}"
            );
        }
        assert!(cache["bare_read_us"].as_f64().unwrap() > 0.0);
        assert!(record["ideal_ms"].as_f64().unwrap() > 0.0);
        // tokio::fs runs every read on spawn_blocking threads, started on demand.
        assert!(record["extra_threads"].as_u64().unwrap() >= 1, "{record}");
        assert!(record["command"].as_str().unwrap().contains("--file-kib 8"));
    }
}

#[test]
fn overhead_compares_the_lab_with_its_bare_program() {
    let output = lab()
        .args([
            "overhead",
            "--model",
            "tokio",
            "--tasks",
            "200",
            "--sleep-ms",
            "20",
        ])
        .args(["--repeat", "1", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let bare = std::path::Path::new(env!("CARGO_BIN_EXE_async-vs-blocking"))
        .parent()
        .unwrap()
        .join("examples/bare_tokio");
    if !bare.is_file() {
        // Not built here: the command says, in one line, how to build it.
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("cargo build --release --examples"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let comparison: Value = serde_json::from_slice(&output.stdout).unwrap();
    // 200 waits of 20 ms overlap in both programs: neither can beat one
    // wait, and neither should take ten.
    for side in ["bare_wall_ms", "lab_wall_ms"] {
        let ms = comparison[side].as_f64().unwrap();
        assert!((20.0..200.0).contains(&ms), "{side} {ms}: {comparison}");
    }
    let memory = comparison["memory_ratio"].as_f64().unwrap();
    assert!(memory > 0.5 && memory < 10.0, "{comparison}");
    assert_eq!(comparison["tasks"], 200);
}
