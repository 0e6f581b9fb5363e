//! The throwaway PostgreSQL of `db` (src/net/database.rs): it answers real
//! queries, and after a normal end, a Ctrl-C and a `kill -9` of the lab no
//! postgres process and no cluster directory remain.
//!
//! These tests need Debian's `postgresql` package (`.ci/run` installs it).
//! Under CI (CI=true) a missing PostgreSQL fails them; elsewhere they skip
//! with one line saying why.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LAB: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

/// How long the keeper may take to clean up after the lab is gone: a fast
/// shutdown of a small cluster, with a wide margin for a busy CI machine.
const CLEANUP_WITHIN: Duration = Duration::from_secs(30);

/// False (and a line on stderr) when PostgreSQL is missing outside CI.
fn postgres_available() -> bool {
    if async_vs_blocking::net::database::installed() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "PostgreSQL is missing under CI: .ci/run must install Debian's postgresql package"
    );
    eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
    false
}

/// A temporary directory for the lab's TMPDIR, readable by the `postgres`
/// user the server runs as.
fn tmpdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("avb-db-test-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Processes whose command line or working directory lies under `dir`:
/// the postmaster (`-D dir/...`) and every backend (cwd = its data dir).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cwd: PathBuf = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(dir) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

fn leftovers(dir: &Path) -> (Vec<String>, Vec<String>) {
    let entries = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    (processes_under(dir), entries)
}

/// Waits until nothing of the cluster remains, or fails naming what does.
fn assert_cleaned_up(dir: &Path, path: &str) {
    let deadline = Instant::now() + CLEANUP_WITHIN;
    loop {
        let (processes, entries) = leftovers(dir);
        if processes.is_empty() && entries.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {path}, {} s later: processes {processes:?}, files {entries:?}",
            CLEANUP_WITHIN.as_secs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `db --rows 1000` (waiting for a signal) and returns it once the
/// database is ready, with the URL it printed.
fn start_waiting(dir: &Path) -> (std::process::Child, String) {
    let mut lab = Command::new(LAB)
        .args(["db", "--rows", "1000"])
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(lab.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("postgresql://lab@127.0.0.1:"), "{line:?}");
    let (processes, entries) = leftovers(dir);
    assert!(
        !processes.is_empty() && !entries.is_empty(),
        "while ready, the cluster should exist: {processes:?} {entries:?}"
    );
    (lab, line.trim().to_string())
}

#[test]
fn a_normal_end_answers_real_queries_and_leaves_nothing() {
    if !postgres_available() {
        return;
    }
    let dir = tmpdir();
    let psql = async_vs_blocking::net::database::bin_dir()
        .unwrap()
        .join("psql");
    let script = format!(
        "{} -XtAc 'SELECT count(*), sum(amount) FROM items' \"$DATABASE_URL\"",
        psql.display()
    );
    let output = Command::new(LAB)
        .args(["db", "--rows", "1000", "--", "sh", "-c", &script])
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let (count, sum) = async_vs_blocking::net::database::expected_sum(1, 1000, 1000);
    assert!(
        stdout.contains(&format!("{count}|{sum}")),
        "psql should count the generated rows: {stdout}"
    );
    assert!(
        stderr.contains("PostgreSQL 1"),
        "the version is printed: {stderr}"
    );
    assert_cleaned_up(dir.path(), "a normal end");
}

#[test]
fn ctrl_c_stops_the_server_and_removes_its_directory() {
    if !postgres_available() {
        return;
    }
    let dir = tmpdir();
    let (mut lab, _url) = start_waiting(dir.path());
    // SAFETY: kill takes no pointers; the child has not been reaped.
    unsafe { libc::kill(lab.id() as libc::pid_t, libc::SIGINT) };
    let status = lab.wait().unwrap();
    assert_eq!(status.code(), Some(130), "the interrupted exit code");
    assert_cleaned_up(dir.path(), "SIGINT");
}

#[test]
fn a_killed_lab_leaves_no_server_and_no_directory() {
    if !postgres_available() {
        return;
    }
    let dir = tmpdir();
    let (mut lab, _url) = start_waiting(dir.path());
    lab.kill().unwrap();
    let _ = lab.wait();
    assert_cleaned_up(dir.path(), "SIGKILL of the lab");
}

#[test]
fn bad_rows_are_one_line_and_exit_code_2() {
    let output = Command::new(LAB)
        .args(["db", "--rows", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("from 1 to"), "{stderr}");
}
