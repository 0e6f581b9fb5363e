//! `load --converge-min-s`: a point whose p99 has settled ends early and
//! says so; one asked for no convergence runs its whole time.

use assert_cmd::cargo::cargo_bin;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_steady_server_point_ends_once_its_p99_converges_and_says_so() {
    let lab = cargo_bin("async-vs-blocking");
    let mut server = Command::new(&lab)
        .args(["serve", "--model", "tokio", "--port", "0", "--workers", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut addr = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    let run = |extra: &[&str]| -> serde_json::Value {
        let output = Command::new(&lab)
            .args(["load", "--target", addr.trim(), "--path", "/health"])
            .args(["--rate", "4000", "--connections", "10", "--duration-s", "6"])
            .args(["--warmup-s", "0.2", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let converged = run(&["--converge-min-s", "0.5"]);
    let whole = run(&[]);
    let _ = server.kill();
    let _ = server.wait();
    let measured = converged["duration_s"].as_f64().unwrap();
    // 4,000 req/s of /health on 2 cores: 1,000 samples in a quarter second,
    // so the p99 settles long before the 6 s planned (a wide bound for a
    // noisy CI machine: converged, and at least a second shorter).
    assert_eq!(converged["converged"], true, "{converged}");
    assert!((0.5..5.0).contains(&measured), "{measured} s");
    assert_eq!(whole["converged"], false);
    assert!((whole["duration_s"].as_f64().unwrap() - 6.0).abs() < 1e-6);
    // The achieved rate counts the shorter window, not the planned one.
    let achieved = converged["achieved_rps"].as_f64().unwrap();
    assert!((2_000.0..=4_040.0).contains(&achieved), "{achieved}");
}
