//! A hostile but fair user: the reproductions of issue 14, each turned into
//! a test. Nothing read from a file chooses where the lab writes, nothing is
//! lost or glued together, no input makes it panic, and every failure is one
//! line with a documented exit code (0 done, 1 failed, 2 bad input, 3 a `run`
//! cell failed or timed out, 130 interrupted).
//!
//! Cells here are the smallest there are (one task sleeping 1 ms, one
//! repeat), so the whole file runs in seconds.

use async_vs_blocking::record::result::{CellRecord, Status};
use async_vs_blocking::{net::protocol, os::error, record::export, record::reader};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

fn lab() -> Command {
    let mut command = Command::new(BIN);
    // A panic would print a backtrace with this set: the tests look for one.
    command.env("RUST_BACKTRACE", "1");
    command
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results.jsonl")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit code `code`, at most one line on stderr, and no panic.
fn assert_fails_cleanly(output: &Output, code: i32) -> String {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    text
}

/// The smallest sweep: one task sleeping 1 ms, one repeat.
fn tiny_sweep(out: &Path, extra: &[&str]) -> Output {
    lab()
        .args(["sweep", "--workloads", "sleep", "--models", "sequential"])
        .args(["--repeat", "1", "--sleep-ms", "1"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A small deterministic generator (xorshift64*): the same bytes every run,
/// so a failure can be reproduced from its seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

// 1. A name read from an input file becomes a path.
#[test]
fn names_from_input_files_never_choose_where_the_report_writes() {
    let dir = tempfile::tempdir().unwrap();
    let first = lines(&fixture()).remove(0);
    let mut input = String::new();
    for name in ["../../escaped", "/../../ESCAPED", "a/b", &"w".repeat(300)] {
        let mut record: serde_json::Value = serde_json::from_str(&first).unwrap();
        record["workload"] = name.into();
        input += &format!("{record}\n");
    }
    let input_path = dir.path().join("hostile.jsonl");
    std::fs::write(&input_path, input).unwrap();
    let out = dir.path().join("deep/er/out");
    // A directory named like a chart's prefix invited `wall-/../../X.svg`.
    std::fs::create_dir_all(out.join("wall-")).unwrap();
    let output = lab()
        .args(["report", "--input"])
        .arg(&input_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.join("index.html").is_file());
    // Nothing was written beside the input, above --out or anywhere else.
    let outside: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|path| !path.starts_with(&out) && *path != input_path)
        .collect();
    assert!(outside.is_empty(), "written outside --out: {outside:?}");
    for path in files_under(&out) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.len() <= 100, "{name}");
        assert_eq!(
            path.parent().unwrap(),
            out,
            "{path:?} is not directly in --out"
        );
    }
}

// 2. `--resume` glues records together.
#[test]
fn resume_repairs_a_whole_last_line_and_refuses_a_cut_off_one() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    assert!(tiny_sweep(dir.path(), &["--tasks", "1"]).status.success());
    // An editor or a copy dropped the final newline of a whole record.
    let text = std::fs::read_to_string(&results).unwrap();
    std::fs::write(&results, text.trim_end()).unwrap();
    let output = tiny_sweep(dir.path(), &["--tasks", "1,2", "--resume"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = export::read_jsonl(&results).unwrap();
    let tasks: Vec<u64> = records.iter().map(|r| r.tasks).collect();
    assert_eq!(tasks, [1, 2]);
    assert_eq!(lines(&results).len(), 2);

    // A crash cut the last record in half: refuse, name the line, touch nothing.
    let mut torn = std::fs::read_to_string(&results).unwrap();
    torn.truncate(torn.len() - 40);
    std::fs::write(&results, &torn).unwrap();
    let output = tiny_sweep(dir.path(), &["--tasks", "1,2,3", "--resume"]);
    let message = assert_fails_cleanly(&output, 2);
    assert!(message.contains("results.jsonl:2"), "{message}");
    assert!(message.contains("--overwrite"), "{message}");
    assert_eq!(std::fs::read_to_string(&results).unwrap(), torn);
}

// 3. A sweep silently empties earlier results.
#[test]
fn a_sweep_never_drops_earlier_results_unless_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    assert!(tiny_sweep(dir.path(), &["--tasks", "1"]).status.success());
    let before = std::fs::read_to_string(&results).unwrap();
    let output = tiny_sweep(dir.path(), &["--tasks", "2"]);
    let message = assert_fails_cleanly(&output, 2);
    assert!(
        message.contains("--resume") && message.contains("--overwrite"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&results).unwrap(), before);

    let output = tiny_sweep(dir.path(), &["--tasks", "2", "--overwrite"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = export::read_jsonl(&results).unwrap();
    assert_eq!(records.iter().map(|r| r.tasks).collect::<Vec<_>>(), [2]);
}

// 4. `report` ignores Ctrl-C during its experiments. A signal that arrived
// during the sweep's last cell, or during the timers, must stop the report
// before (or inside) the next experiment, with the data marked interrupted.
// This runs in the test process: the only test here that raises a signal.
#[test]
fn report_stops_between_its_experiments_on_a_signal() {
    use async_vs_blocking::{cli::report_run, lab::cell, lab::sweep, os::interrupt};
    let dir = tempfile::tempdir().unwrap();
    interrupt::install().unwrap();
    // SAFETY: raising a signal whose handler only stores atomics.
    unsafe {
        libc::raise(libc::SIGTERM);
    }
    assert!(interrupt::requested());
    let options = sweep::SweepOptions {
        profile: sweep::profile("quick").unwrap(),
        // No cells: the sweep ends at once, and the experiments are next.
        workloads: Vec::new(),
        models: Vec::new(),
        workers: 1,
        out: dir.path().to_path_buf(),
        invocation: "test".into(),
        resume: false,
        policy: Default::default(),
        db_rows: async_vs_blocking::workload::db::DEFAULT_ROWS,
    };
    let started = std::time::Instant::now();
    let data = report_run::measure(&options, &cell::ChildProcess::current().unwrap()).unwrap();
    assert!(data.interrupted);
    assert!(data.timers.is_empty() && data.unit_costs.spawn_ns.is_empty());
    // The timers and costs take seconds; none of them ran.
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

// 5. Non-UTF-8 paths panic.
#[test]
fn paths_that_are_not_utf8_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(OsStr::from_bytes(b"out-\xff"));
    let output = tiny_sweep(&out, &["--tasks", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = reader::load_records(&out.join("results.jsonl")).unwrap();
    assert!(records[0].invocation.contains("out-\u{fffd}"));

    let report_out = dir.path().join(OsStr::from_bytes(b"report-\xfe"));
    let output = lab()
        .arg("report")
        .arg("--input")
        .arg(out.join("results.jsonl"))
        .arg("--out")
        .arg(&report_out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(report_out.join("index.html").is_file());

    let missing = dir.path().join(OsStr::from_bytes(b"missing-\xff.jsonl"));
    let output = lab()
        .arg("report")
        .arg("--input")
        .arg(&missing)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_fails_cleanly(&output, 2);
}

// 6. A full stdout panics.
#[test]
fn a_full_stdout_is_one_line_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let report_args: Vec<&OsStr> = vec![
        OsStr::new("report"),
        OsStr::new("--input"),
        fixture.as_os_str(),
        OsStr::new("--out"),
        dir.path().as_os_str(),
    ];
    let run_args: Vec<&OsStr> = [
        "run",
        "--workload",
        "sleep",
        "--model",
        "sequential",
        "--tasks",
        "1",
        "--sleep-ms",
        "1",
        "--repeat",
        "1",
        "--json",
    ]
    .map(OsStr::new)
    .to_vec();
    let commands: Vec<Vec<&OsStr>> = vec![
        vec![OsStr::new("list")],
        vec![OsStr::new("list"), OsStr::new("--json")],
        vec![OsStr::new("claims"), OsStr::new("--list")],
        run_args,
        report_args,
    ];
    for args in commands {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = lab()
            .args(&args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let message = assert_fails_cleanly(&output, 1);
        assert!(message.contains("stdout"), "{args:?}: {message}");
    }
}

// 7, 8, 10. Unhelpful messages about arguments.
#[test]
fn argument_errors_name_the_flag_the_value_and_what_is_missing() {
    let output = lab().arg("run").output().unwrap();
    let message = assert_fails_cleanly(&output, 2);
    for name in ["--workload", "--model", "--tasks"] {
        assert!(message.contains(name), "{message}");
    }
    let output = lab()
        .args(["run", "--workload", "sleep", "--tasks", "1"])
        .output()
        .unwrap();
    let message = assert_fails_cleanly(&output, 2);
    assert!(
        message.contains("--model") && !message.contains("--tasks <"),
        "{message}"
    );

    let cell = [
        "run",
        "--workload",
        "sleep",
        "--model",
        "tokio",
        "--tasks",
        "1",
    ];
    for (flag, value, shown) in [
        ("--sleep-ms", "-inf", "-inf"),
        ("--sleep-ms", "-nan", "-nan"),
        ("--cpu-us", "-inf", "-inf"),
        ("--sleep-ms", "1\n2", "1\\n2"),
        ("--sleep-ms", "1e-300", "at least 0.001 ms"),
        ("--cpu-us", "1e-300", "at least 1 µs"),
    ] {
        let output = lab().args(cell).args([flag, value]).output().unwrap();
        let message = assert_fails_cleanly(&output, 2);
        assert!(
            message.contains(flag) && message.contains(shown),
            "{message}"
        );
    }
    let output = lab()
        .args(["sweep", "--sleep-ms", "-inf", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(assert_fails_cleanly(&output, 2).contains("--sleep-ms"));
}

// 9. Repeated list values measured the same cell again and again.
#[test]
fn repeated_list_values_are_measured_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = lab()
        .args(["sweep", "--workloads", "sleep,sleep", "--models"])
        .args(["sequential,sequential", "--tasks", "1,1", "--repeat", "1"])
        .args(["--sleep-ms", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(lines(&dir.path().join("results.jsonl")).len(), 1);
}

// 11. Binary data named the file but not the line.
#[test]
fn binary_input_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.jsonl");
    let first = lines(&fixture()).remove(0);
    let mut bytes = format!("{first}\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\x00garbage\n");
    std::fs::write(&path, bytes).unwrap();
    let output = lab()
        .args(["report", "--input"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let message = assert_fails_cleanly(&output, 2);
    assert!(
        message.contains("binary.jsonl:2") && message.contains("UTF-8"),
        "{message}"
    );
}

// 13. `run` exited 0 when its cell failed or timed out.
#[test]
fn a_run_whose_cell_timed_out_exits_3_with_its_record() {
    let output = lab()
        .args(["run", "--workload", "sleep", "--model", "sequential"])
        .args(["--tasks", "1", "--sleep-ms", "30000", "--timeout-s", "1"])
        .args(["--repeat", "1", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(error::EXIT_CELL_FAILED),
        "{}",
        stderr(&output)
    );
    let record: CellRecord = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record.status, Status::Timeout);

    let output = lab()
        .args(["run", "--workload", "sleep", "--model", "sequential"])
        .args(["--tasks", "1", "--sleep-ms", "1", "--repeat", "1", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

// 14. `serve --idle-timeout-s` is checked like every other number.
#[test]
fn serve_refuses_an_idle_timeout_out_of_range() {
    for value in ["0", "3601", "-1", "soon"] {
        let output = lab()
            .args(["serve", "--idle-timeout-s", value])
            .output()
            .unwrap();
        let message = assert_fails_cleanly(&output, 2);
        assert!(message.contains("--idle-timeout-s"), "{message}");
    }
}

// 15. Other operating systems get one clear message.
#[test]
fn other_systems_are_told_where_the_lab_runs() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(repo.join("src/lib.rs")).unwrap();
    let guard = lib.find("#[cfg(not(target_os = \"linux\"))]\ncompile_error!(");
    assert!(
        guard.is_some(),
        "src/lib.rs lost its compile_error! for other systems"
    );
    let build = std::fs::read_to_string(repo.join("build.rs")).unwrap();
    assert!(build.contains("CARGO_CFG_TARGET_OS"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    for words in [
        "Linux interfaces",
        "WSL2",
        "docker run --rm -it",
        "describe that VM",
    ] {
        assert!(readme.contains(words), "README.md does not say {words:?}");
    }
}

/// The docs' "Limits and failures" page lists every exit code (the README
/// links to it).
#[test]
fn the_limits_page_lists_every_exit_code() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/limits.md"))
            .unwrap();
    let section = page
        .split("## Exit codes")
        .nth(1)
        .expect("docs/src/limits.md has an Exit codes section");
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"] {
        assert!(section.contains(code), "exit code {code} is not listed");
    }
}

/// Any bytes given as a results file give a parsed record list or a usage
/// error (exit 2) — never a panic. Random files, and valid records with
/// random bytes changed, inserted or cut off.
#[test]
fn random_bytes_never_panic_the_record_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.jsonl");
    let valid = std::fs::read(fixture()).unwrap();
    let mut random = Random(0x5eed_1234_abcd_0001);
    let (mut parsed, mut refused) = (0, 0);
    for case in 0..400 {
        let bytes = match case % 4 {
            0 => {
                let len = random.below(512);
                random.bytes(len)
            }
            1 => {
                let mut bytes = valid.clone();
                for _ in 0..1 + random.below(4) {
                    let at = random.below(bytes.len());
                    bytes[at] = random.next() as u8;
                }
                bytes
            }
            2 => {
                let cut = random.below(valid.len());
                valid[..cut].to_vec()
            }
            _ => {
                let mut bytes = valid.clone();
                let at = random.below(bytes.len());
                let len = random.below(16);
                bytes.splice(at..at, random.bytes(len));
                bytes
            }
        };
        std::fs::write(&path, &bytes).unwrap();
        match reader::load_records(&path) {
            Ok(records) => {
                assert!(!records.is_empty());
                parsed += 1;
            }
            Err(error) => {
                assert!(
                    error.downcast_ref::<error::UsageError>().is_some(),
                    "case {case}: not a usage error: {error:#}"
                );
                assert!(!error.to_string().contains('\n'), "case {case}: {error}");
                refused += 1;
            }
        }
    }
    // The generator reaches both outcomes, or the test proves little.
    assert!(
        parsed > 0 && refused > 0,
        "parsed {parsed}, refused {refused}"
    );

    // Through the binary too, for a few: exit 2, one line, no panic.
    for _ in 0..3 {
        let len = 1 + random.below(256);
        std::fs::write(&path, random.bytes(len)).unwrap();
        let output = lab()
            .args(["report", "--input"])
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert_fails_cleanly(&output, 2);
    }
}

/// Any bytes as a request line give an id or a reason — never a panic — and
/// an accepted line is exactly `GET <id>` with an optional line ending.
#[test]
fn random_bytes_never_panic_the_request_parser() {
    let mut random = Random(0x5eed_0000_1111_2222);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..20_000 {
        let line = match case % 3 {
            0 => {
                let len = random.below(protocol::MAX_REQUEST_BYTES + 1);
                random.bytes(len)
            }
            1 => {
                // Near misses: a valid line with one byte changed.
                let mut line = protocol::request_line(random.next() % 1_000_000);
                let at = random.below(line.len());
                line[at] = random.next() as u8;
                line
            }
            _ => {
                let mut line = b"GET ".to_vec();
                let len = random.below(24);
                line.extend((0..len).map(|_| b"0123456789 -+\r\n"[random.below(15)]));
                line
            }
        };
        match protocol::parse_request(&line) {
            Ok(id) => {
                let text = String::from_utf8(line.clone()).unwrap();
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                assert_eq!(text.strip_prefix("GET ").unwrap().parse::<u64>(), Ok(id));
                accepted += 1;
            }
            Err(reason) => {
                assert!(!reason.is_empty());
                refused += 1;
            }
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "accepted {accepted}, refused {refused}"
    );
}
