//! `sweep --workloads server --placement apart` leaves nothing behind: its
//! two network namespaces (and the veth pair inside them) are gone after a
//! normal end, after Ctrl-C (SIGINT) and after the sweep is killed outright
//! (SIGKILL, where only its watchdog is left to clean up).
//!
//! Apart needs root and `ip` (iproute2). Where either is missing the tests
//! say they were skipped; with the CI environment variable set they fail
//! instead (CI runs as root, and `.ci/run` installs iproute2).

use assert_cmd::cargo::cargo_bin;
use async_vs_blocking::server::placement::{lab_namespaces, owner_pid, unavailable};
use async_vs_blocking::server::sweep::{self as server_sweep, plan};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when apart can run here; otherwise says why (and fails under CI).
fn can_run_apart() -> bool {
    match unavailable() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("CI must test --placement apart, but: {why}")
        }
        Some(why) => {
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// The lab's namespaces that belong to the sweep with `pid`.
fn namespaces_of(pid: u32) -> Vec<String> {
    lab_namespaces()
        .into_iter()
        .filter(|name| owner_pid(name) == Some(pid))
        .collect()
}

/// A fresh directory of this test's own under the system's temporary one.
fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("avb-apart-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn sweep(out: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(cargo_bin("async-vs-blocking"));
    command
        .args(["sweep", "--workloads", "server", "--models", "tokio"])
        .args(["--placement", "apart", "--out"])
        .arg(out)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A started sweep whose namespaces exist and whose first point is running.
fn started_sweep(out: &std::path::Path) -> Child {
    let child = sweep(out, &[]).spawn().unwrap();
    let pid = child.id();
    assert!(
        wait_until(Duration::from_secs(20), || namespaces_of(pid).len() == 2),
        "the sweep made no namespaces: {:?}",
        lab_namespaces()
    );
    // Let a server and a generator start inside them.
    std::thread::sleep(Duration::from_millis(1500));
    child
}

#[test]
fn a_normal_end_removes_the_namespaces() {
    if !can_run_apart() {
        return;
    }
    // Every search already finished (a pass at the top rate), so the
    // resumed sweep makes its namespaces, measures nothing and ends.
    let out = out_dir("normal");
    let models = vec!["tokio".to_string()];
    let mut lines = String::new();
    let point = |handler: &str, connections: u64, rate: f64| {
        serde_json::json!({
            "workload": "server", "model": "tokio", "handler": handler,
            "path": "/work?wait_ms=20", "objective_ms": 100.0,
            "offered_rps": rate, "achieved_rps": rate, "connections": connections,
            "latency": {"p50_ms": 20.0, "p90_ms": 20.0, "p99_ms": 21.0, "p999_ms": 21.0, "max_ms": 21.0},
            "service": {"p50_ms": 20.0, "p90_ms": 20.0, "p99_ms": 21.0, "p999_ms": 21.0, "max_ms": 21.0},
            "errors": 0, "error_kinds": {}, "ok": true, "failure": null,
            "server_peak_rss_kib": 8000, "server_threads": 3, "server_cpu_s": 0.5,
            "generator_behind_p99_ms": 0.1, "generator_cpu_s": 0.2, "shares_cores": false,
            "unix_s": 1
        })
        .to_string()
    };
    for (_, handler, connections) in plan(&models) {
        lines.push_str(&point(handler.name, connections, server_sweep::MAX_RPS));
        lines.push('\n');
    }
    lines.push_str(&point(
        server_sweep::WAIT.name,
        server_sweep::IDLE_CONNECTIONS,
        server_sweep::IDLE_RPS,
    ));
    lines.push('\n');
    std::fs::write(out.as_path().join("server.jsonl"), lines).unwrap();
    let child = sweep(out.as_path(), &["--resume"]).spawn().unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("over a veth pair"), "not apart: {stderr}");
    assert_eq!(namespaces_of(pid), Vec::<String>::new());
}

#[test]
fn ctrl_c_removes_the_namespaces() {
    if !can_run_apart() {
        return;
    }
    let out = out_dir("ctrl_c");
    let child = started_sweep(out.as_path());
    let pid = child.id();
    // SAFETY: kill sends a signal to the child we started.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(namespaces_of(pid), Vec::<String>::new());
}

#[test]
fn a_killed_sweep_leaves_its_watchdog_to_remove_the_namespaces() {
    if !can_run_apart() {
        return;
    }
    let out = out_dir("killed");
    let mut child = started_sweep(out.as_path());
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL: no handler, no Drop runs.
    child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || namespaces_of(pid).is_empty()),
        "left behind: {:?}",
        namespaces_of(pid)
    );
}
