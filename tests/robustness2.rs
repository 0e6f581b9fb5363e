//! Round two of the hostile probes (issue #24), each turned into a test
//! that failed before its fix: servers that must stop when their stderr is
//! gone, async servers that must drop a client that stops reading, a load
//! generator that must reconnect and honour `Connection: close`, outputs
//! that must not be torn, shared, written through a symlink or over an
//! input, and the smaller edges the probes found.
//!
//! Every child process is killed by a guard on every path, and every wait
//! is bounded; time bounds are wide (the machine has 2 busy cores).

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command as TestCommand;
use async_vs_blocking::report::data::Dataset;
use async_vs_blocking::server::load::{self, LoadOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A child process that is killed and reaped when dropped.
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

/// Starts `serve --model M` with `stderr` and returns its guard and address.
fn serve_with(model: &str, extra: &[&str], stderr: Stdio) -> (Guard, SocketAddr) {
    let port: &[&str] = if extra.contains(&"--port") {
        &[]
    } else {
        &["--port", "0"]
    };
    let mut child = lab()
        .args(["serve", "--model", model, "--workers", "2"])
        .args(port)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{model}: first line {first:?}"));
    (guard, addr)
}

/// Waits for `child` to end, at most `limit`.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill takes no pointers; the child is ours and not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

fn health_is_ok(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply:?}");
}

const STOPPED_MODELS: [&str; 4] = ["tokio", "threads", "monoio", "sequential"];

#[test]
fn a_server_whose_stderr_reader_is_gone_still_stops_on_sigterm_and_sigint_with_exit_0() {
    for (model, stop) in STOPPED_MODELS
        .iter()
        .zip([libc::SIGTERM, libc::SIGINT].iter().cycle())
    {
        let mut child = lab()
            .args(["serve", "--model", model, "--port", "0", "--workers", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader of stderr goes away before the server writes to it
        // (`serve ... 2>&1 | head -1`).
        drop(child.stderr.take());
        let stdout = child.stdout.take().unwrap();
        let mut guard = Guard(child);
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        let addr: SocketAddr = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{model}: no address, first line {first:?}"));
        health_is_ok(addr);
        signal(&guard.0, *stop);
        let status = wait_at_most(&mut guard.0, Duration::from_secs(10));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{model}: {status:?} 10 s after signal {stop}"
        );
    }
}

#[test]
fn a_server_with_stderr_on_a_full_disk_serves_and_stops_on_sigterm_with_exit_0() {
    for model in STOPPED_MODELS {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let (mut guard, addr) = serve_with(model, &[], Stdio::from(full));
        health_is_ok(addr);
        signal(&guard.0, libc::SIGTERM);
        let status = wait_at_most(&mut guard.0, Duration::from_secs(10));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{model}: {status:?}"
        );
    }
}

#[test]
fn a_sweep_with_stderr_on_a_full_disk_measures_and_does_not_panic() {
    let out = tempfile::tempdir().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = Guard(
        lab()
            .args(["sweep", "--workloads", "sleep", "--models", "sequential"])
            .args(["--tasks", "1", "--repeat", "1", "--sleep-ms", "1", "--out"])
            .arg(out.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(full))
            .spawn()
            .unwrap(),
    );
    let status = wait_at_most(&mut child.0, Duration::from_secs(120));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
    assert!(out.path().join("results.jsonl").is_file());
}

/// Models whose server is tested for a client that never reads.
fn serving_models() -> Vec<&'static str> {
    async_vs_blocking::model::all()
        .iter()
        .filter(|m| m.serves())
        .map(|m| m.name())
        .collect()
}

#[test]
fn every_server_closes_a_client_that_stops_reading_within_its_idle_timeout() {
    const BODY: usize = 64 << 20;
    let checks: Vec<_> = serving_models()
        .into_iter()
        .map(|model| {
            std::thread::spawn(move || {
                let (_server, addr) = serve_with(model, &["--idle-timeout-s", "2"], Stdio::null());
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .write_all(b"GET /work?bytes=67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                // Read nothing: the socket buffers fill and the server's
                // writes stall. 2 s of that is idle; 10 s is far beyond it.
                std::thread::sleep(Duration::from_secs(10));
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut received = 0usize;
                let mut buffer = vec![0u8; 1 << 16];
                let started = Instant::now();
                // A closed connection gives its buffered bytes and then
                // ends; an open one streams the whole body.
                while started.elapsed() < Duration::from_secs(30) {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => received += read,
                    }
                }
                (model, received)
            })
        })
        .collect();
    for check in checks {
        let (model, received) = check.join().unwrap();
        assert!(
            received < BODY,
            "{model}: the server was still writing to a client that stopped reading \
             ({received} bytes arrived)"
        );
    }
}

fn options(target: SocketAddr, rate: f64, duration: Duration, timeout: Duration) -> LoadOptions {
    LoadOptions {
        target,
        path: "/health".into(),
        rate,
        connections: 2,
        duration,
        warmup: Duration::ZERO,
        timeout,
    }
}

#[test]
fn the_generator_reconnects_to_a_server_restarted_mid_run() {
    let (server, addr) = serve_with("threads", &[], Stdio::null());
    let port = addr.port().to_string();
    let generator = std::thread::spawn(move || {
        load::run(&options(
            addr,
            50.0,
            Duration::from_secs(6),
            Duration::from_secs(1),
        ))
        .unwrap()
    });
    std::thread::sleep(Duration::from_secs(1));
    drop(server);
    let (_restarted, again) = serve_with("threads", &["--port", &port], Stdio::null());
    assert_eq!(again, addr);
    let report = generator.join().unwrap();
    // Without reconnecting only the first second is answered (about 1/6).
    assert!(
        report.completed * 5 > report.scheduled * 2,
        "{} of {} completed: {:?}",
        report.completed,
        report.scheduled,
        report.errors
    );
}

#[test]
fn a_refused_target_is_counted_as_connect_errors_not_timeouts() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let report = load::run(&options(
        addr,
        20.0,
        Duration::from_secs(1),
        Duration::from_millis(500),
    ))
    .unwrap();
    assert!(
        report.errors.get("connect").copied().unwrap_or(0) > 0,
        "{:?}",
        report.errors
    );
    assert_eq!(report.completed, 0);
    assert!(report.text().contains("no responses"), "{}", report.text());
}

/// A server that answers every request with a 2-byte 200 carrying
/// `connection` and then closes the connection.
fn closing_server(connection: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: {connection}\r\n\r\nok"
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    addr
}

#[test]
fn the_generator_honours_connection_close_and_blames_nothing_on_the_server() {
    for connection in ["close", "close, TE", "keep-alive, close"] {
        let addr = closing_server(connection);
        let report = load::run(&options(
            addr,
            50.0,
            Duration::from_secs(1),
            Duration::from_secs(5),
        ))
        .unwrap();
        assert!(
            report.errors.is_empty(),
            "{connection}: {:?}",
            report.errors
        );
        assert_eq!(report.completed, report.scheduled, "{connection}");
    }
}

#[test]
fn the_server_closes_after_a_request_whose_connection_tokens_list_close() {
    let (_server, addr) = serve_with("tokio", &[], Stdio::null());
    for connection in ["close, TE", "keep-alive, close"] {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        // Ends (instead of timing out) only when the server closes.
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{connection}: {reply}");
    }
}

#[test]
fn the_generator_sends_an_ipv6_host_in_brackets() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let seen = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        String::from_utf8_lossy(&head).into_owned()
    });
    let _ = load::run(&LoadOptions {
        connections: 1,
        ..options(addr, 4.0, Duration::from_secs(1), Duration::from_secs(1))
    });
    let head = seen.join().unwrap();
    assert!(
        head.contains(&format!("Host: [::1]:{}\r\n", addr.port())),
        "{head}"
    );
}

/// Runs the lab with `args`; returns (exit code, stderr).
fn run_lab(args: &[&str]) -> (Option<i32>, String) {
    let output = TestCommand::new(cargo_bin("async-vs-blocking"))
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn rates_and_delays_out_of_range_are_one_line_errors_naming_the_range() {
    for rate in ["1e-20", "1e-300", "1e-10", "-1", "0", "inf"] {
        let (code, stderr) = run_lab(&["load", "--target", "127.0.0.1:1", "--rate", rate]);
        assert_eq!(code, Some(2), "--rate {rate}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "--rate {rate}: {stderr}");
        assert!(
            stderr.contains("0.01 to 10,000,000"),
            "--rate {rate}: {stderr}"
        );
    }
    let (code, stderr) = run_lab(&["serve", "--delay-ms", "-1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("between 0 and"), "{stderr}");
}

fn copy_fixture(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy("tests/fixtures/results.jsonl", dir.join("results.jsonl")).unwrap();
}

#[test]
fn report_never_writes_over_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_fixture(&data);
    let input = data.join("results.jsonl");
    let before = std::fs::read(&input).unwrap();
    let other = dir.path().join("other.jsonl");
    std::fs::copy("tests/fixtures/results.jsonl", &other).unwrap();
    // Merging another file into the directory that holds an input: refused.
    let (code, stderr) = run_lab(&[
        "report",
        "--input",
        input.to_str().unwrap(),
        other.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("holds the input"), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // Redrawing from the directory's own file leaves the file as it was.
    let (code, stderr) = run_lab(&[
        "report",
        "--input",
        input.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert!(data.join("index.html").is_file());
}

fn tiny_sweep(out: &Path, extra: &[&str]) -> Command {
    let mut command = lab();
    command
        .args([
            "sweep",
            "--workloads",
            "sleep",
            "--models",
            "sequential,threads",
        ])
        .args(["--tasks", "1,2", "--repeat", "2", "--sleep-ms", "20"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[test]
fn two_sweeps_started_at_once_into_one_out_one_measures_and_the_other_refuses() {
    let out = tempfile::tempdir().unwrap();
    let mut first = Guard(tiny_sweep(out.path(), &[]).spawn().unwrap());
    let mut second = Guard(tiny_sweep(out.path(), &[]).spawn().unwrap());
    let limit = Duration::from_secs(180);
    let codes = [
        wait_at_most(&mut first.0, limit).and_then(|s| s.code()),
        wait_at_most(&mut second.0, limit).and_then(|s| s.code()),
    ];
    let mut sorted = codes;
    sorted.sort();
    assert_eq!(sorted, [Some(0), Some(2)], "exit codes {codes:?}");
    let refused = if codes[0] == Some(2) {
        &mut first
    } else {
        &mut second
    };
    let mut stderr = String::new();
    refused
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let jsonl = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    let csv = std::fs::read_to_string(out.path().join("results.csv")).unwrap();
    let records = jsonl.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(records, 4, "{jsonl}");
    // The header and one row per record: nothing torn, nothing shared.
    assert_eq!(csv.lines().count(), records + 1, "{csv}");
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn overwrite_replaces_a_symlinked_output_instead_of_writing_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    std::os::unix::fs::symlink("../victim.txt", out.join("results.jsonl")).unwrap();
    std::os::unix::fs::symlink("../victim.txt", out.join("results.csv")).unwrap();
    let mut sweep = lab();
    sweep
        .args(["sweep", "--workloads", "sleep", "--models", "sequential"])
        .args([
            "--tasks",
            "1",
            "--repeat",
            "1",
            "--sleep-ms",
            "1",
            "--overwrite",
            "--out",
        ])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Guard(sweep.spawn().unwrap());
    let status = wait_at_most(&mut child.0, Duration::from_secs(120));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    for name in ["results.jsonl", "results.csv"] {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is still a link");
    }
}

#[test]
fn claims_only_keeps_the_other_claims_verdicts_in_claims_json() {
    let out = tempfile::tempdir().unwrap();
    std::fs::copy("tests/fixtures/claims.json", out.path().join("claims.json")).unwrap();
    let (code, stderr) = run_lab(&[
        "claims",
        "--only",
        "lazy-futures",
        "--repeat",
        "1",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("claims.json")).unwrap()).unwrap();
    let ids: Vec<&str> = saved["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "fan-out",
        "await-in-sequence",
        "async-not-for-cpu",
        "cpu-starves-io",
        "lazy-futures",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn a_file_cell_too_large_with_its_calibration_files_is_refused_before_running() {
    let (code, stderr) = run_lab(&[
        "run",
        "--workload",
        "file",
        "--model",
        "sequential",
        "--tasks",
        "1",
        "--file-kib",
        "65536",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("(1 + 16) × 65536 KiB = 1088 MiB"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn machine_labels_go_on_past_z_without_repeating() {
    assert_eq!(Dataset::machine_name(0), "A");
    assert_eq!(Dataset::machine_name(25), "Z");
    assert_eq!(Dataset::machine_name(26), "AA");
    assert_eq!(Dataset::machine_name(27), "AB");
    assert_eq!(Dataset::machine_name(701), "ZZ");
    assert_eq!(Dataset::machine_name(702), "AAA");
    let labels: std::collections::HashSet<String> = (0..2000).map(Dataset::machine_name).collect();
    assert_eq!(labels.len(), 2000);
}

#[test]
fn merging_many_records_keeps_the_latest_of_each_cell_and_counts_the_rest() {
    // The keyed merge must give what the pairwise search gave.
    let text = std::fs::read_to_string("tests/fixtures/results.jsonl").unwrap();
    let records: Vec<async_vs_blocking::record::result::CellRecord> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let once = Dataset::new(records.clone());
    let mut twice_records = records.clone();
    for record in &records {
        let mut later = record.clone();
        later.started_unix_s += 1;
        twice_records.push(later);
    }
    let twice = Dataset::new(twice_records);
    assert_eq!(twice.records.len(), once.records.len());
    assert_eq!(twice.superseded, once.superseded + records.len());
    assert!(twice
        .records
        .iter()
        .zip(&once.records)
        .all(|(t, o)| t.started_unix_s == o.started_unix_s + 1));
    assert_eq!(twice.machines.len(), once.machines.len());
}

#[test]
fn a_results_file_starting_with_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("results.jsonl");
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend(std::fs::read("tests/fixtures/results.jsonl").unwrap());
    std::fs::write(&input, text).unwrap();
    let (code, stderr) = run_lab(&[
        "report",
        "--input",
        input.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// Rust files under `dir`, recursively.
fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn only_the_audited_output_module_opens_files_for_writing() {
    // Every write goes through src/os/output.rs: a temporary name of the
    // writer's own (pid and counter) renamed into place, appends and
    // creations that never follow a symlink. Anything else that opens a
    // file for writing (outside tests) is a new writer to audit.
    let audited = Path::new("src/os/output.rs");
    let writers = [
        "File::create",
        "fs::write",
        "OpenOptions",
        "fs::rename",
        "fs::copy",
        "with_extension(\"",
        ".tmp\"",
    ];
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        if file == audited || file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests write fixtures into temporary directories: not outputs.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (number, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for writer in writers {
                if line.contains(writer) {
                    found.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "writers outside {}:\n{}",
        audited.display(),
        found.join("\n")
    );
    let output = std::fs::read_to_string(audited).unwrap();
    assert!(
        output.contains("std::process::id()") && output.contains("create_new(true)"),
        "temporary names must carry the process id and be created exclusively"
    );
    assert!(
        output.contains("O_NOFOLLOW"),
        "outputs must not follow symlinks"
    );
}

#[test]
fn an_empty_item_in_a_comma_list_is_named_as_such() {
    for (flag, value) in [("--only", ","), ("--only", "fan-out,")] {
        let (code, stderr) = run_lab(&["claims", flag, value, "--list"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("holds an empty item"), "{stderr}");
        assert!(!stderr.contains("none was supplied"), "{stderr}");
    }
}

#[test]
fn an_out_that_is_a_file_or_a_dangling_symlink_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    for (out, why) in [
        (&file, "it is a file, not a directory"),
        (&dangling, "symbolic link to nothing"),
    ] {
        let (code, stderr) = run_lab(&[
            "report",
            "--input",
            "tests/fixtures/results.jsonl",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
    }
}

#[test]
fn sweep_workloads_server_refuses_the_flags_that_only_shape_cells() {
    let out = tempfile::tempdir().unwrap();
    let (code, stderr) = run_lab(&[
        "sweep",
        "--workloads",
        "server",
        "--tasks",
        "5",
        "--repeat",
        "2",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--tasks, --repeat shape cells"), "{stderr}");
}

#[test]
fn a_rejected_request_gets_its_4xx_even_with_more_input_unread() {
    // The client sends a bad request and more bytes behind it: closing with
    // them unread would send a reset that can destroy the 400.
    for model in ["tokio", "threads"] {
        let (_server, addr) = serve_with(model, &[], Stdio::null());
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut request = b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        request.extend(std::iter::repeat_n(b'x', 100_000));
        let _ = stream.write_all(&request);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 4"), "{model}: {reply:?}");
    }
}

#[test]
fn a_server_out_of_descriptors_counts_each_wait_once_not_each_accept_retry() {
    // Forty descriptors: the server's own take about a dozen, so most of the
    // sixty connections below wait in the backlog, and accept is retried
    // every 10 ms for as long as they wait (about 150 times in 1.5 s).
    let mut command = lab();
    command
        .args([
            "serve",
            "--model",
            "threads",
            "--workers",
            "2",
            "--port",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 40,
                rlim_max: 40,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut guard = Guard(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr: SocketAddr = first.trim().parse().unwrap();
    const CONNECTIONS: usize = 60;
    let held: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    std::thread::sleep(Duration::from_millis(500));
    signal(&guard.0, libc::SIGTERM);
    let status = wait_at_most(&mut guard.0, Duration::from_secs(30)).expect("stopped");
    let mut text = String::new();
    stderr.read_to_string(&mut text).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    let waits: u64 = text
        .split(" waits for a free descriptor")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of waits in {text:?}"));
    // Each wait holds back at least one connection, so there were at least
    // one and at most as many waits as connections.
    assert!(
        (1..=CONNECTIONS as u64).contains(&waits),
        "{waits} waits for {CONNECTIONS} connections: {text}"
    );
}

/// A copy of the lab's binary in `dir` whose bare tokio program is the
/// shell script `script` (it finds it at `examples/bare_tokio` beside
/// itself), and the file where the script writes its process id.
fn lab_with_bare_program(dir: &Path, script: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let exe = dir.join("async-vs-blocking");
    if std::fs::hard_link(cargo_bin("async-vs-blocking"), &exe).is_err() {
        std::fs::copy(cargo_bin("async-vs-blocking"), &exe).unwrap();
    }
    std::fs::create_dir(dir.join("examples")).unwrap();
    let bare = dir.join("examples/bare_tokio");
    let pid_file = dir.join("bare.pid");
    let text = format!("#!/bin/sh\necho $$ > '{}'\n{script}\n", pid_file.display());
    std::fs::write(&bare, text).unwrap();
    std::fs::set_permissions(&bare, std::fs::Permissions::from_mode(0o755)).unwrap();
    (exe, pid_file)
}

/// Waits (at most 30 s) for the bare program to write its process id.
fn bare_pid(pid_file: &Path) -> i32 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the bare program never started");
}

fn is_gone(pid: i32) -> bool {
    // A zombie is gone too: it runs nothing, and its parent has exited.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn overhead_stops_a_bare_program_that_hangs_at_its_timeout() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (exe, pid_file) = lab_with_bare_program(dir.path(), "exec sleep 600");
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .args([
            "overhead",
            "--tasks",
            "1",
            "--sleep-ms",
            "1",
            "--repeat",
            "1",
        ])
        .args(["--timeout-s", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut guard = Guard(child);
    let status = wait_at_most(&mut guard.0, Duration::from_secs(60)).expect("overhead ended");
    let elapsed = started.elapsed();
    let mut text = String::new();
    stderr.read_to_string(&mut text).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("did not finish within 1 s"), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(
        is_gone(bare_pid(&pid_file)),
        "the hung bare program still runs"
    );
}

#[test]
fn overhead_interrupted_by_ctrl_c_or_sigterm_exits_130_and_leaves_nothing_running() {
    use std::os::unix::process::CommandExt;
    // (signal, to the whole process group as a terminal's Ctrl-C does?,
    //  the bare program's script, the cell's wait in ms)
    let cases = [
        (libc::SIGTERM, false, "exec sleep 600", "1"),
        (libc::SIGINT, true, "exec sleep 600", "1"),
        // The bare program answers at once; the signal comes while the
        // lab's own cell waits its minute.
        (
            libc::SIGTERM,
            false,
            "echo wall_ms=1.0 peak_rss_kib=1000",
            "60000",
        ),
    ];
    for (signal_number, to_group, script, sleep_ms) in cases {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let (exe, pid_file) = lab_with_bare_program(dir.path(), script);
        let mut child = Command::new(&exe)
            .args([
                "overhead",
                "--tasks",
                "1",
                "--sleep-ms",
                sleep_ms,
                "--repeat",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut guard = Guard(child);
        let bare = bare_pid(&pid_file);
        // Long enough for the lab's cell to start after a bare program that
        // answered at once.
        std::thread::sleep(Duration::from_millis(1500));
        let target = guard.0.id() as libc::pid_t;
        // SAFETY: kill takes no pointers; the group is the child's own.
        unsafe {
            libc::kill(if to_group { -target } else { target }, signal_number);
        }
        let status = wait_at_most(&mut guard.0, Duration::from_secs(30));
        let mut text = String::new();
        if status.is_some() {
            stderr.read_to_string(&mut text).unwrap();
        }
        let case = format!("signal {signal_number} (group {to_group}), {script:?}");
        let status = status.unwrap_or_else(|| panic!("{case}: overhead did not stop"));
        assert_eq!(status.code(), Some(130), "{case}: {text}");
        assert!(text.contains("interrupted by"), "{case}: {text}");
        assert!(is_gone(bare), "{case}: the bare program still runs");
        // SAFETY: kill takes no pointers; signal 0 only asks whether the
        // group still has a member (none should: the cell was killed too).
        let alive = unsafe { libc::kill(-target, 0) } == 0;
        assert!(!alive, "{case}: a process of overhead's group still runs");
    }
}
