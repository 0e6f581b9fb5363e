//! Locust's distributed mode against a lab server (issue #23, item 3b):
//! `scripts/locust_compare.sh` starts a server with the blocking pitfall
//! (`mode=block`), loads it with the lab's open-loop generator, then with
//! one Locust master and two workers running the same experiment exported
//! by `load --export-locust`, and draws both in one report, labelled.
//!
//! Locust comes from the scripts' virtual environment. Where it cannot be
//! made (no python3 venv, no PyPI) the test says it was skipped; with the
//! CI environment variable set it fails instead, as tests/python_servers.rs
//! does, so CI always runs it.

use async_vs_blocking::record::load_point;
use std::path::Path;
use std::process::Command;

fn venv_ready(root: &Path) -> bool {
    let setup = root.join("scripts/python/setup_servers_venv.sh");
    let why = match Command::new(&setup).output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "{} failed: {}",
            setup.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("{}: {error}", setup.display()),
    };
    if std::env::var_os("CI").is_some() {
        panic!("CI must test Locust, but the scripts' venv cannot be created: {why}");
    }
    eprintln!("skipped: the scripts' venv (with Locust) cannot be created here: {why}");
    false
}

#[test]
fn locust_master_and_two_workers_run_beside_the_open_loop_generator_and_miss_the_stall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !venv_ready(root) {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    // 150 req/s against a server that carries at most 2 workers / 20 ms =
    // 100 req/s: the open-loop generator's queue grows for the whole run,
    // while Locust's ten users just wait their turn.
    let output = Command::new(root.join("scripts/locust_compare.sh"))
        .arg(out.path())
        .args([
            "tokio",
            "/work?wait_ms=20&bytes=64&mode=block",
            "150",
            "10",
            "4",
        ])
        .env("LAB", assert_cmd::cargo::cargo_bin("async-vs-blocking"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let points = load_point::read_points(&out.path().join("report/load.jsonl")).unwrap();
    let open = points
        .iter()
        .find(|p| !p.closed_loop)
        .expect("the lab's point");
    let closed = points
        .iter()
        .find(|p| p.closed_loop)
        .expect("Locust's point");
    assert_eq!(
        (open.engine.as_str(), closed.engine.as_str()),
        ("lab", "locust")
    );
    // Both workers took part, and both engines loaded the same request.
    assert_eq!(closed.generators, 2, "{closed:?}");
    assert_eq!((&open.target, &open.path), (&closed.target, &closed.path));
    assert!(closed.completed > 0 && open.completed > 0, "{points:?}");
    // Physics: neither carries more than the server's 100 req/s ceiling
    // (with room for timing), and no reply comes before the 20 ms wait.
    for point in [open, closed] {
        assert!(point.achieved_rps <= 110.0, "{point:?}");
        assert!(point.latency.p50_ms >= 20.0, "{point:?}");
    }
    // The stall: open-loop latency counts the growing queue from each due
    // time; closed-loop users never build one, so Locust reports less.
    assert!(
        open.latency.p99_ms > closed.latency.p99_ms,
        "open {open:?} closed {closed:?}"
    );
    let page = std::fs::read_to_string(out.path().join("report/index.html")).unwrap();
    for label in [
        "lab load, open-loop",
        "Locust, closed-loop",
        "under-reports stalls",
    ] {
        assert!(page.contains(label), "{label} missing from the page");
    }
}
