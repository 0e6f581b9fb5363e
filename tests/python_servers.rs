//! The seeds' own Python servers (scripts/python/servers/: FastAPI under
//! uvicorn, aiohttp) answer the lab's `/health` and `/work` over keep-alive,
//! to `curl` and to the lab's own generator (`load`), and the sweep names
//! them and says how to set them up.
//!
//! They run in the virtual environment `scripts/python/setup_servers_venv.sh`
//! creates. Where it is missing these tests try to create it once; where it
//! cannot be created (no python3 venv, no PyPI) they say they were skipped,
//! and with the CI environment variable set they fail instead, so CI always
//! runs them (`.ci/run` creates the venv first). Every server a test starts
//! is killed by a guard, on every path.

use assert_cmd::cargo::cargo_bin;
use async_vs_blocking::net::http::response::body_byte;
use async_vs_blocking::server::load::{self, LoadOptions};
use async_vs_blocking::server::python as python_servers;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A child process that is killed and reaped when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when the venv exists or could be made now (once per test binary).
fn venv_ready() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        if python_servers::python().is_ok() {
            return Ok(());
        }
        let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join(python_servers::SETUP_SCRIPT);
        match Command::new(&setup).output() {
            Ok(output) if output.status.success() => python_servers::python()
                .map(|_| ())
                .map_err(|error| error.to_string()),
            Ok(output) => Err(format!(
                "{} failed: {}",
                setup.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Err(format!("{}: {error}", setup.display())),
        }
    });
    match ready {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI must test the Python servers, but their venv cannot be created: {why}")
        }
        Err(why) => {
            eprintln!("skipped: the Python servers' venv cannot be created here: {why}");
            false
        }
    }
}

/// Starts a Python server the way the sweep does; returns its guard and address.
fn start(server: &python_servers::PythonServer) -> (Guard, SocketAddr) {
    let mut child = server
        .command()
        .unwrap()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: first line {first:?}", server.name));
    (guard, addr)
}

/// Sends `bytes` on a new connection and reads until the server closes it.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn python_servers_answer_health_and_work_over_keep_alive_to_curl_and_load() {
    if !venv_ready() {
        return;
    }
    let curl_missing = Command::new("curl").arg("--version").output().is_err();
    assert!(
        !curl_missing || std::env::var_os("CI").is_none(),
        "curl is not installed, and CI must run the curl test (apt-get install curl)"
    );
    for server in python_servers::ALL {
        let name = server.name;
        let (_guard, addr) = start(&server);
        if curl_missing {
            eprintln!("{name}: curl part skipped: curl is not installed");
        } else {
            let output = Command::new("curl")
                .args([
                    "-sS",
                    "--max-time",
                    "20",
                    "-w",
                    "\n%{http_code} %{num_connects}\n",
                ])
                .arg(format!("http://{addr}/health"))
                .arg(format!("http://{addr}/work?wait_ms=5&cpu_us=200&bytes=100"))
                .arg(format!("http://{addr}/work?bytes=3&mode=offload"))
                .arg(format!("http://{addr}/work?wait_ms=1&bytes=2&mode=block"))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{name}: {text} {output:?}");
            let lines: Vec<&str> = text.lines().collect();
            let body: String = (0..100).map(|k| body_byte(k) as char).collect();
            assert_eq!(
                lines,
                ["ok", "", "200 1", &body, "200 0", "abc", "200 0", "ab", "200 0"],
                "{name}: every request after the first must reuse the first connection"
            );
        }
        let reply = exchange(addr, b"GET /work?wait_ms=nine HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(
            reply.starts_with("HTTP/1.1 400 ") && reply.contains("wait_ms"),
            "{name}: {reply:?}"
        );
        // The lab's own generator checks every byte of every /work body.
        let report = load::run(&LoadOptions {
            target: addr,
            path: "/work?wait_ms=2&bytes=300".into(),
            rate: 100.0,
            connections: 4,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(10),
        })
        .unwrap();
        assert!(report.errors.is_empty(), "{name}: {}", report.text());
        assert!(report.completed >= 50, "{name}: {}", report.text());
    }
}

#[test]
fn the_sweep_takes_python_servers_only_for_the_server_workload_and_says_how_to_set_them_up() {
    let out = tempfile::tempdir().unwrap();
    let sweep = |workloads: &str, models: &str, venv: &Path| {
        let output = Command::new(cargo_bin("async-vs-blocking"))
            .args([
                "sweep",
                "--workloads",
                workloads,
                "--models",
                models,
                "--out",
            ])
            .arg(out.path())
            .env(python_servers::VENV_ENV, venv)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let nowhere = out.path().join("no-venv");
    let (code, stderr) = sweep("server", "tokio,py-nope", &nowhere);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("py-fastapi") && stderr.contains("py-aiohttp") && stderr.contains("tokio"),
        "{stderr}"
    );
    let (code, stderr) = sweep("sleep", "py-fastapi", &nowhere);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--workloads server alone"), "{stderr}");
    let (code, stderr) = sweep("server", "py-aiohttp", &nowhere);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(python_servers::SETUP_SCRIPT) && stderr.lines().count() == 1,
        "{stderr}"
    );
    // Nothing was measured or written.
    assert!(!out.path().join("server.jsonl").exists());
}
