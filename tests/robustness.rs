//! Robustness: the lab keeps working, records what happened and loses
//! nothing when a sweep is interrupted, a cell hangs, the OS refuses more
//! threads, or the user types something wrong.
//!
//! Each test drives the real binary. Cell children are found through
//! `/proc/*/cmdline`, by an argument no other process on the machine has (a
//! wait like `61234.5` ms, or a test sleeper started by the cell).

use async_vs_blocking::record::export::read_jsonl;
use async_vs_blocking::record::result::{CellRecord, Status};
use async_vs_blocking::{os::error, record::reader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

fn lab() -> Command {
    let mut command = Command::new(BIN);
    // A panic anywhere would print a backtrace with this set: the tests check
    // that none appears.
    command.env("RUST_BACKTRACE", "1");
    command
}

/// Live processes that have an argument containing `needle`.
fn processes_with_arg(needle: &str) -> Vec<u32> {
    processes_with_arg_containing(&[needle])
}

/// Live processes that have one argument containing every one of `needles`.
fn processes_with_arg_containing(needles: &[&str]) -> Vec<u32> {
    let own = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == own {
            continue;
        }
        // Zombies have an empty cmdline, so only live processes match.
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let matches = cmdline
            .split(|&b| b == 0)
            .map(String::from_utf8_lossy)
            .any(|arg| needles.iter().all(|n| arg.contains(n)));
        if matches {
            found.push(pid);
        }
    }
    found
}

/// Waits up to `limit` for `condition`; true if it held in time.
fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

/// A running lab process that is stopped with SIGTERM if a test fails
/// before it ends (the lab then ends its cell too), so no run outlives a test.
struct Running(Option<Child>);

impl Running {
    fn pid(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }

    fn wait_with_limit(mut self, limit: Duration) -> Output {
        let mut child = self.0.take().unwrap();
        let ended = wait_for(limit, || child.try_wait().unwrap().is_some());
        if !ended {
            self.0 = Some(child);
            panic!("the lab did not exit within {limit:?}");
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            // SAFETY: signalling our own child process by its pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            if !wait_for(Duration::from_secs(5), || {
                child.try_wait().ok().flatten().is_some()
            }) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A wait (ms) no other process on the machine has in its arguments;
/// `fraction` is a binary fraction so that JSON prints it the same way.
fn unique_wait_ms(fraction: f64) -> String {
    format!(
        "{}",
        61_000.0 + (std::process::id() % 1000) as f64 + fraction
    )
}

/// A sleeper argument no other process has: `sleep 3xxx.yyyyyy`.
fn unique_seconds() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}.{:06}", 3000 + std::process::id() % 1000, nanos / 1000)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Every line of results.jsonl is a whole record, and results.csv holds the
/// same cells in the same order.
fn assert_whole_results(dir: &Path) -> Vec<CellRecord> {
    let jsonl = dir.join("results.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "partial last line: {text:?}"
    );
    for (number, line) in text.lines().enumerate() {
        serde_json::from_str::<CellRecord>(line)
            .unwrap_or_else(|e| panic!("line {} is not a whole record: {e}: {line}", number + 1));
    }
    let records = read_jsonl(&jsonl).unwrap();
    let mut csv = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), records.len(), "CSV rows vs JSONL lines");
    for (row, record) in rows.iter().zip(&records) {
        assert_eq!(&row[column("workload")], record.workload);
        assert_eq!(&row[column("model")], record.model);
        assert_eq!(row[column("tasks")].parse::<u64>().unwrap(), record.tasks);
        assert_eq!(&row[column("status")], record.status.as_str());
    }
    records
}

/// Starts a sweep whose first two cells (cpu) are quick and whose third
/// (sleep, about a minute) is still running when the signal arrives; returns the
/// results of the interrupted sweep.
fn interrupt_a_sweep(signal: libc::c_int, dir: &Path, wait_arg: &str) -> Vec<CellRecord> {
    let sleeper = unique_seconds();
    let child = Running(Some(
        lab()
            .args(["sweep", "--workloads", "cpu,sleep", "--models", "tokio"])
            .args(["--tasks", "1,2", "--repeat", "1", "--sleep-ms", wait_arg])
            .arg("--out")
            .arg(dir)
            .env("AVB_TEST_CELL_SLEEPER_S", &sleeper)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let pid = child.pid();
    // Only the long cell's child has this in one argument (its spec as JSON).
    let long_cell = || processes_with_arg_containing(&["\"workload\":\"sleep\"", wait_arg]);
    let jsonl = dir.join("results.jsonl");
    let two_done = wait_for(Duration::from_secs(60), || {
        jsonl.exists() && lines(&jsonl).len() >= 2
    });
    assert!(two_done, "the two quick cells did not finish");
    // The long cell's child (and its sleeper) are running.
    assert!(
        wait_for(Duration::from_secs(20), || !long_cell().is_empty()),
        "the long cell never started"
    );
    assert!(
        wait_for(Duration::from_secs(20), || !processes_with_arg(&sleeper)
            .is_empty()),
        "the long cell's sleeper never started"
    );

    let signalled = Instant::now();
    // SAFETY: signalling our own child process by its pid.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
    let output = child.wait_with_limit(Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "stderr: {stderr}");
    // It stopped the minute-long cell instead of waiting for it.
    assert!(signalled.elapsed() < Duration::from_secs(15));
    assert!(stderr.contains("interrupted by"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    // Nothing of the stopped cell's process group survives.
    assert!(
        wait_for(Duration::from_secs(3), || long_cell().is_empty()
            && processes_with_arg(&sleeper).is_empty()),
        "a process of the interrupted cell survived"
    );
    let records = assert_whole_results(dir);
    assert_eq!(records.len(), 2, "only the finished cells are kept");
    assert!(records
        .iter()
        .all(|r| r.workload == "cpu" && r.status == Status::Ok));
    records
}

#[test]
fn sigint_keeps_finished_cells_and_resume_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    interrupt_a_sweep(libc::SIGINT, dir.path(), &unique_wait_ms(0.5));

    // Resume with a short wait: the two cpu cells are skipped (their key
    // does not involve the wait), the two sleep cells run.
    let output = lab()
        .args(["sweep", "--workloads", "cpu,sleep", "--models", "tokio"])
        .args(["--tasks", "1,2", "--repeat", "1", "--sleep-ms", "20"])
        .arg("--out")
        .arg(dir.path())
        .arg("--resume")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("skipped 2 cells"), "{stdout}");
    let records = assert_whole_results(dir.path());
    let cells: Vec<(&str, u64)> = records
        .iter()
        .map(|r| (r.workload.as_str(), r.tasks))
        .collect();
    assert_eq!(cells, [("cpu", 1), ("cpu", 2), ("sleep", 1), ("sleep", 2)]);

    // Resuming a finished sweep runs nothing.
    let output = lab()
        .args(["sweep", "--workloads", "cpu,sleep", "--models", "tokio"])
        .args(["--tasks", "1,2", "--repeat", "1", "--sleep-ms", "20"])
        .arg("--out")
        .arg(dir.path())
        .arg("--resume")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("skipped 4 cells"));
    assert_eq!(assert_whole_results(dir.path()).len(), 4);
}

#[test]
fn sigterm_stops_the_running_cell_and_keeps_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    interrupt_a_sweep(libc::SIGTERM, dir.path(), &unique_wait_ms(0.25));
}

#[test]
fn timeout_kills_the_cells_whole_process_group() {
    let sleeper = unique_seconds();
    let wait_arg = &unique_wait_ms(0.125);
    let child = Running(Some(
        lab()
            .args(["run", "--workload", "sleep", "--model", "threads"])
            .args(["--tasks", "3", "--sleep-ms", wait_arg])
            .args(["--timeout-s", "1", "--repeat", "1", "--json"])
            .env("AVB_TEST_CELL_SLEEPER_S", &sleeper)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    // The cell's child started its sleeper in its own group.
    assert!(
        wait_for(Duration::from_secs(20), || !processes_with_arg(&sleeper)
            .is_empty()),
        "the test sleeper never started"
    );
    let output = child.wait_with_limit(Duration::from_secs(30));
    // A timed-out cell: its record on stdout, exit code 3 for scripts.
    assert_eq!(output.status.code(), Some(3));
    let record: CellRecord = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record.status, Status::Timeout);
    assert!(record.error.as_deref().unwrap_or("").contains("timeout"));
    assert_eq!(record.repeats, 0);
    // A cell that sleeps a minute was stopped after about a second.
    assert!(
        wait_for(Duration::from_secs(3), || processes_with_arg(&sleeper)
            .is_empty()
            && processes_with_arg_containing(&[
                "\"workload\":\"sleep\"",
                wait_arg
            ])
            .is_empty()),
        "a process of the timed-out cell's group survived"
    );
}

#[test]
fn thread_ceiling_is_a_recorded_failure_not_a_panic() {
    // RLIMIT_AS of 512 MiB in the cell's child: with 2 MiB stacks (and glibc's
    // 64 MiB malloc arenas) it runs out after tens of threads, fast and safely.
    let started = Instant::now();
    let output = lab()
        .args(["run", "--workload", "sleep", "--model", "threads"])
        .args(["--tasks", "100000", "--sleep-ms", "200", "--repeat", "1"])
        .args(["--json"])
        .env("AVB_TEST_CELL_RLIMIT_AS_MIB", "512")
        .output()
        .unwrap();
    // A failed cell: its record on stdout, exit code 3 for scripts.
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    let record: CellRecord = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record.status, Status::Failed);
    let error = record.error.unwrap();
    assert!(!error.contains('\n'));
    assert!(!error.to_lowercase().contains("panic"), "{error}");
    assert!(error.contains("RLIMIT_AS"), "{error}");
    // How many threads had started: some, far fewer than asked. Usually the
    // lab stops or pthread_create refuses ("had started", all joined); in the
    // rare race where a new thread's own signal stack or thread-local storage
    // is what no longer fits, the Rust runtime ends the child and the parent
    // reports the threads it saw running.
    let (marker, joined) = if error.contains(" threads had started") {
        (" threads had started", true)
    } else {
        (" threads were running", false)
    };
    let count: u64 = error
        .split(marker)
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no thread count in: {error}"));
    assert!((1..100_000).contains(&count), "{error}");
    if joined {
        // The started threads were joined (each sleeps 200 ms), not abandoned.
        assert!(error.contains("joined"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, "").unwrap();
    let under_a_file = a_file.join("out");
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    std::fs::write(damaged.join("results.jsonl"), "{\"workload\": \"sleep\"\n").unwrap();

    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--workload", "sleep", "--model", "tokio"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let words = |line: &str| line.split(' ').map(String::from).collect::<Vec<_>>();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            words("run --workload sleep --model nope --tasks 5"),
            "tokio",
        ),
        (
            words("run --workload nope --model tokio --tasks 5"),
            "sleep",
        ),
        (words("sweep --models tokio,nope"), "smol"),
        (words("sweep --profile huge"), "memory"),
        (run(&["--tasks", "0"]), "--tasks"),
        (run(&["--tasks", "10000001"]), "--tasks"),
        (words("sweep --tasks 10,20000000"), "--tasks"),
        (run(&["--tasks", "5", "--sleep-ms", "0"]), "at least"),
        (run(&["--tasks", "5", "--sleep-ms", "-3"]), "at least"),
        (run(&["--tasks", "5", "--sleep-ms", "3600001"]), "one hour"),
        (run(&["--tasks", "5", "--cpu-us", "0"]), "at least"),
        (run(&["--tasks", "5", "--timeout-s", "0"]), "--timeout-s"),
        (run(&["--tasks", "5", "--timeout-s", "3601"]), "--timeout-s"),
        (words("sweep --sleep-ms 0"), "at least"),
        (words("sweep --cpu-us 7200000000"), "one hour"),
        (words("sweep --timeout-s 86400"), "--timeout-s"),
        (run(&["--tasks", "5", "--workers", "0"]), "--workers"),
        (run(&["--tasks", "5", "--stack-kib", "1"]), "--stack-kib"),
        (run(&["--tasks", "five"]), "--tasks"),
        (
            vec![
                "sweep".into(),
                "--out".into(),
                under_a_file.display().to_string(),
            ],
            "output directory",
        ),
        (
            vec![
                "sweep".into(),
                "--resume".into(),
                "--out".into(),
                damaged.display().to_string(),
            ],
            "results.jsonl:1",
        ),
    ];
    for (args, expected) in cases {
        let output = lab().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = args.join(" ");
        assert_eq!(output.status.code(), Some(2), "{shown}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{shown}: {stderr}");
        assert!(stderr.starts_with("error: "), "{shown}: {stderr}");
        assert!(stderr.contains(expected), "{shown}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{shown}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{shown}: ran anyway");
    }
    // Nothing ran, so nothing was written into the damaged directory.
    assert_eq!(lines(&damaged.join("results.jsonl")).len(), 1);
}

#[test]
fn input_files_are_checked_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let usage = |path: &Path| {
        let error = reader::load_records(path).unwrap_err();
        assert!(
            error.downcast_ref::<error::UsageError>().is_some(),
            "{error}"
        );
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        line
    };
    let missing = dir.path().join("missing.jsonl");
    assert!(usage(&missing).contains("missing.jsonl"));

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    assert!(usage(&empty).contains("no records"));

    // A good record, then a damaged second line.
    let good = dir.path().join("good");
    let output = lab()
        .args(["sweep", "--workloads", "sleep", "--models", "smol"])
        .args(["--tasks", "1", "--repeat", "1", "--sleep-ms", "5"])
        .arg("--out")
        .arg(&good)
        .output()
        .unwrap();
    assert!(output.status.success());
    let first = lines(&good.join("results.jsonl")).remove(0);
    assert_eq!(
        reader::load_records(&good.join("results.jsonl"))
            .unwrap()
            .len(),
        1
    );
    let malformed = dir.path().join("malformed.jsonl");
    std::fs::write(&malformed, format!("{first}\nnot json\n")).unwrap();
    assert!(usage(&malformed).contains("malformed.jsonl:2"));
}
