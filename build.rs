//! Records the compiler version and the version of every crate in
//! Cargo.lock, so every record says what built it. Which of them a record
//! shows is decided at run time: the crates each model names
//! (`Model::crates`), plus the lab's measuring and drawing crates — so a new
//! model needs no line here.
use std::process::Command;

/// Why the lab builds only for Linux, and how to run it elsewhere: the same
/// words as the `compile_error!` in src/lib.rs.
const NOT_LINUX: &str = "async-vs-blocking measures with Linux interfaces (/proc, epoll, timerfd, PR_SET_PDEATHSIG) and builds only for Linux. On Windows, run it in WSL2; on macOS, in a Linux container or VM, e.g. `docker run --rm -it -v \"$PWD\":/lab -w /lab rust:1 cargo run --release -- report` (the numbers then describe that VM). See README.md, \"Where it runs\".";

fn main() {
    // Stop before compiling anything: one message instead of a wall of
    // errors about missing epoll, timerfd and /proc.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        eprintln!("error: {NOT_LINUX}");
        std::process::exit(1);
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AVB_RUSTC_VERSION={version}");

    // Every package's version, read from Cargo.lock.
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                if !found.iter().any(|(k, _): &(String, String)| k == n) {
                    found.push((n.to_string(), v.trim_matches('"').to_string()));
                }
            }
        }
    }
    let joined: Vec<String> = found.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("cargo:rustc-env=AVB_LOCK_VERSIONS={}", joined.join(","));
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
}
