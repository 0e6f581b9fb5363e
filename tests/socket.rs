//! The latency server and the `socket` workload, driven through the real
//! binary: the server answers with the documented protocol, refuses remote
//! binds unless asked, every model completes a small socket cell, and no
//! server process outlives its cell, however the cell ends.
//!
//! Timing assertions are physics bounds with wide margins for a busy 2-core
//! machine: a reply cannot come before the server's delay, and concurrent
//! requests finish far sooner than the same requests one after another.

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn lab() -> Command {
    Command::cargo_bin("async-vs-blocking").unwrap()
}

/// Starts `serve` with `args` and returns the child and its first stdout line.
fn start_server(args: &[&str]) -> (Child, String) {
    let mut child = std::process::Command::new(cargo_bin("async-vs-blocking"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (child, first.trim().to_string())
}

fn stop(mut child: Child) -> String {
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// The command lines of every process on the machine.
fn command_lines() -> Vec<(u32, Vec<String>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        found.push((pid, args));
    }
    found
}

/// Latency servers started with `--delay-ms <delay_marker>` that are still alive.
fn servers_with_delay(delay_marker: &str) -> Vec<u32> {
    command_lines()
        .into_iter()
        .filter(|(_, args)| {
            args.iter().any(|a| a == "serve") && args.iter().any(|a| a == delay_marker)
        })
        // A zombie has an empty cmdline, so anything listed here still runs.
        .map(|(pid, _)| pid)
        .collect()
}

fn json_record(output: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().last().expect("run --json prints a record");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn serve_prints_its_address_and_answers_after_the_delay() {
    let (server, addr) =
        start_server(&["--port", "0", "--delay-ms", "40", "--reply-bytes", "3000"]);
    let started = Instant::now();
    let mut stream = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    stream.write_all(b"GET 5\n").unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let took = started.elapsed();
    let stderr = stop(server);

    let mut check = async_vs_blocking::workload::pattern::ReplyCheck::new(5, 3000);
    check.feed(&reply);
    check.finish().unwrap();
    assert!(took >= Duration::from_millis(40), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(stderr.contains("40 ms"), "{stderr}");
}

#[test]
fn a_non_loopback_bind_is_refused_without_allow_remote() {
    let output = lab()
        .args(["serve", "--bind", "0.0.0.0", "--port", "0"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--allow-remote") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn allow_remote_binds_with_a_warning() {
    let (server, addr) = start_server(&["--bind", "0.0.0.0", "--port", "0", "--allow-remote"]);
    let stderr = stop(server);
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    assert!(stderr.contains("warning"), "{stderr}");
}

#[test]
fn every_model_completes_a_small_socket_cell() {
    // 20 requests of 20 ms, 2 workers: concurrent models need about 20 ms,
    // two workers 10 x 20 = 200 ms, one thread 20 x 20 = 400 ms.
    for model in async_vs_blocking::model::names() {
        let output = lab()
            .args(["run", "--workload", "socket", "--model", model])
            .args(["--tasks", "20", "--sleep-ms", "20", "--workers", "2"])
            .args(["--repeat", "1", "--timeout-s", "60", "--json"])
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(output.status.success(), "{model}: {output:?}");
        let record = json_record(&output.stdout);
        assert_eq!(record["status"], "ok", "{model}: {record}");
        assert_eq!(record["reply_bytes"], 1024, "{model}");
        let wall = record["wall_ms"]["median"].as_f64().unwrap();
        let bytes_per_s = record["bytes_per_s"].as_f64().unwrap();
        let expected = 20.0 * 1024.0 / (wall / 1e3);
        assert!(
            (bytes_per_s - expected).abs() < expected * 1e-6,
            "{model}: {record}"
        );
        assert!(
            wall >= 20.0,
            "{model}: a reply came before the delay: {wall} ms"
        );
        match model {
            "sequential" => assert!(wall >= 400.0, "{model}: {wall} ms"),
            "thread-pool" | "rayon" => assert!(wall >= 200.0, "{model}: {wall} ms"),
            // All 20 waits overlap: far from the 400 ms of one after another.
            _ => assert!(wall < 200.0, "{model}: {wall} ms"),
        }
    }
}

#[test]
fn no_server_outlives_a_cell_that_ended_well_or_timed_out() {
    // Unusual delays mark this test's servers among everything on the machine.
    let ok = lab()
        .args(["run", "--workload", "socket", "--model", "tokio"])
        .args([
            "--tasks",
            "3",
            "--sleep-ms",
            "21.0173",
            "--repeat",
            "2",
            "--json",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(json_record(&ok.stdout)["status"], "ok", "{ok:?}");
    assert_eq!(servers_with_delay("21.0173"), Vec::<u32>::new());

    let started = Instant::now();
    let timed_out = lab()
        .args(["run", "--workload", "socket", "--model", "threads"])
        .args([
            "--tasks",
            "3",
            "--sleep-ms",
            "60000.0173",
            "--timeout-s",
            "1",
        ])
        .args(["--repeat", "1", "--json"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let record = json_record(&timed_out.stdout);
    assert_eq!(record["status"], "timeout", "{record}");
    // Killed at the timeout, not after the 60 s delay.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(servers_with_delay("60000.0173"), Vec::<u32>::new());
    let cells: Vec<_> = command_lines()
        .into_iter()
        .filter(|(_, args)| args.iter().any(|a| a.contains("60000.0173")))
        .collect();
    assert!(cells.is_empty(), "{cells:?}");
}

#[test]
fn the_server_dies_with_a_killed_lab() {
    let mut lab_process = std::process::Command::new(cargo_bin("async-vs-blocking"))
        .args(["run", "--workload", "socket", "--model", "smol"])
        .args(["--tasks", "2", "--sleep-ms", "60000.0271", "--repeat", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while servers_with_delay("60000.0271").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the lab never started its server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    lab_process.kill().unwrap();
    lab_process.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !servers_with_delay("60000.0271").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the server survived the lab: {:?}",
            servers_with_delay("60000.0271")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cell_beyond_the_descriptor_limit_fails_before_running() {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(cargo_bin("async-vs-blocking"));
    command
        .args(["run", "--workload", "socket", "--model", "tokio"])
        .args([
            "--tasks",
            "1000",
            "--sleep-ms",
            "20",
            "--repeat",
            "1",
            "--json",
        ]);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    // A failed cell is still recorded, and `run` says so with its own exit status.
    assert_eq!(
        output.status.code(),
        Some(async_vs_blocking::os::error::EXIT_CELL_FAILED),
        "{output:?}"
    );
    let record = json_record(&output.stdout);
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["repeats"], 0, "{record}");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("RLIMIT_NOFILE") && error.contains("256") && error.contains("ulimit -n"),
        "{error}"
    );
    // Nothing ran: no 20 ms wait, no thousand connections.
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_failed_request_fails_the_cell_with_a_clear_message() {
    use async_vs_blocking::lab::cell::{measure_repeat, CellSpec};
    // A port that was just free: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for model in ["sequential", "threads", "tokio", "smol"] {
        let spec = CellSpec::new("socket", model, 3)
            .with_workers(2)
            .with_sleep_ms(20.0)
            .with_cpu_us(1.0)
            .with_iters_per_us(1.0)
            .with_reply_bytes(1024)
            .with_server(Some(dead));
        let error = format!("{:#}", measure_repeat(&spec).unwrap_err());
        assert!(
            error.contains(&dead.to_string()) && error.contains("refused"),
            "{model}: {error}"
        );
        let no_server = CellSpec {
            server: None,
            ..spec
        };
        let error = format!("{:#}", measure_repeat(&no_server).unwrap_err());
        assert!(error.contains("no server address"), "{model}: {error}");
    }
}

#[test]
fn run_reports_the_reply_rate_and_the_servers_accuracy() {
    let output = lab()
        .args(["run", "--workload", "socket", "--model", "smol"])
        .args(["--tasks", "5", "--sleep-ms", "10", "--reply-bytes", "2000"])
        .args(["--repeat", "2"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("replies: 2000 bytes each"), "{stdout}");
    // Two repeats of five requests; the readiness probe sends none.
    assert!(
        stdout.contains("latency server: served 10 replies"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the 10 ms delay ended late by p50"),
        "{stdout}"
    );
}

#[test]
fn a_socket_record_carries_the_connection_cost_and_the_bound_it_set() {
    let record = run_json(
        "socket",
        &["--tasks", "20", "--sleep-ms", "10", "--repeat", "2"],
    );
    let cost = &record["conditions"]["connect_cost"];
    let us = cost["connect_cost_us"].as_f64().expect("a measured cost");
    // Several system calls and a handshake: above a few hundred ns on any
    // machine, far below 100 ms even on a crowded CI runner.
    assert!(us > 0.5 && us < 100_000.0, "{cost}");
    assert_eq!(cost["connections"], 200, "{cost}");
    assert!(cost["measured"].as_str().unwrap().contains("loopback"));
    let cores = record["machine"]["cores"].as_f64().unwrap();
    let connections_ms = cost["connections_ms"].as_f64().unwrap();
    assert!(
        (connections_ms - 20.0 * us / cores / 1e3).abs() < 1e-6,
        "{cost}"
    );
    // The ideal is the larger of the wait and the connections' CPU, and the
    // record names which one it was.
    let ideal = record["ideal_ms"].as_f64().unwrap();
    assert!(
        (ideal - connections_ms.max(10.0)).abs() < 1e-6,
        "{ideal} {cost}"
    );
    let bound = if connections_ms > 10.0 {
        "connections"
    } else {
        "wait"
    };
    assert_eq!(cost["bound"], bound, "{cost}");
    // Other workloads carry none.
    let sleep = run_json(
        "sleep",
        &["--tasks", "2", "--sleep-ms", "1", "--repeat", "1"],
    );
    assert!(sleep["conditions"].get("connect_cost").is_none());
}

/// The record of one `run --json` of `workload` under `threads`.
fn run_json(workload: &str, args: &[&str]) -> serde_json::Value {
    let output = lab()
        .args([
            "run",
            "--workload",
            workload,
            "--model",
            "threads",
            "--json",
        ])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    json_record(&output.stdout)
}
