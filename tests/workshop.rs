//! WORKSHOP.md cannot rot: every command in its ```sh blocks is run, with
//! one repeat and its output sent to a temporary directory, and must
//! succeed; every `async-vs-blocking ...` mentioned inline in the prose is
//! parsed by the lab's own command line definition (a dry run). The
//! exercises must keep their shape: question, prediction, command, what to
//! look at, why.

use async_vs_blocking::cli::Cli;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one workshop command may take in the test.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workshop() -> String {
    std::fs::read_to_string(repo().join("WORKSHOP.md")).expect("WORKSHOP.md exists")
}

/// Lines of the ```sh blocks, in order.
fn sh_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if in_block {
            if trimmed == "```" {
                in_block = false;
            } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
                lines.push(trimmed.to_string());
            }
        } else if trimmed == "```sh" {
            in_block = true;
        }
    }
    assert!(!in_block, "an ```sh block in WORKSHOP.md is never closed");
    lines
}

/// `async-vs-blocking ...` commands written inline in backticks.
fn inline_commands(text: &str) -> Vec<String> {
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && span.starts_with("async-vs-blocking ") {
                commands.push(span.to_string());
            }
        }
    }
    commands
}

enum Step {
    /// Building and PATH set-up: the test has built the binary already.
    Setup,
    Lab(Vec<String>),
    Python(Vec<String>),
}

fn classify(line: &str) -> Step {
    assert!(
        !line.contains(['"', '\'', '|', ';', '&', '>']) || line.starts_with("export PATH="),
        "WORKSHOP.md commands are plain words; this one needs a shell: {line}"
    );
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    match words[0].as_str() {
        "cargo" if line == "cargo build --release" => Step::Setup,
        "export" if line.starts_with("export PATH=") => Step::Setup,
        "async-vs-blocking" => Step::Lab(words[1..].to_vec()),
        "scripts/python_mirror.sh" => Step::Python(words[1..].to_vec()),
        _ => panic!("WORKSHOP.md has a command the test does not know how to run: {line}"),
    }
}

/// Sets `--flag value`, replacing a value already given.
fn set(args: &mut Vec<String>, flag: &str, value: &str) {
    match args.iter().position(|a| a == flag) {
        Some(at) => args[at + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
}

/// The smallest version of a command: one repeat, output in `out`.
fn smallest(step: Step, out: &Path) -> Option<(PathBuf, Vec<String>)> {
    let out = out.display().to_string();
    match step {
        Step::Setup => None,
        Step::Lab(mut args) => {
            match args[0].as_str() {
                "run" => set(&mut args, "--repeat", "1"),
                "claims" | "sweep" => {
                    set(&mut args, "--repeat", "1");
                    set(&mut args, "--out", &out);
                }
                _ => {}
            }
            Some((PathBuf::from(env!("CARGO_BIN_EXE_async-vs-blocking")), args))
        }
        Step::Python(mut args) => {
            let found = Command::new("python3")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                eprintln!("python3 not found: skipping the Python exercise");
                return None;
            }
            set(&mut args, "--repeat", "1");
            set(&mut args, "--out", &out);
            Some((repo().join("scripts/python_mirror.sh"), args))
        }
    }
}

/// Runs a command from the repository root; an error describes the failure.
fn run(program: &Path, args: &[String]) -> Result<(), String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let stdout = tempfile::tempfile().map_err(|e| e.to_string())?;
    let stderr = tempfile::tempfile().map_err(|e| e.to_string())?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().map_err(|e| e.to_string())?)
        .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{shown}: still running after {COMMAND_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |mut file: std::fs::File| {
        use std::io::{Read, Seek};
        let mut text = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut text);
        text
    };
    let (stdout, stderr) = (read(stdout), read(stderr));
    if !status.success() {
        return Err(format!("{shown}: {status}\n{stderr}"));
    }
    if stdout.trim().is_empty() {
        return Err(format!("{shown}: printed nothing"));
    }
    Ok(())
}

#[test]
fn every_exercise_has_its_parts_and_the_order_is_fan_out_to_choice() {
    let text = workshop();
    let exercises: Vec<&str> = text.split("\n## ").skip(1).collect();
    let numbered: Vec<&&str> = exercises
        .iter()
        .filter(|e| e.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(
        (8..=10).contains(&numbered.len()),
        "{} exercises",
        numbered.len()
    );
    for exercise in &numbered {
        let title = exercise.lines().next().unwrap();
        for part in [
            "**Question.**",
            "**Predict first.**",
            "```sh",
            "**Look at**",
        ] {
            assert!(exercise.contains(part), "{title}: no {part}");
        }
        assert!(
            exercise.contains("**Why.**") || exercise.contains("**Discuss.**"),
            "{title}: no explanation"
        );
    }
    assert!(numbered[0].to_lowercase().contains("fan-out"));
    assert!(numbered
        .last()
        .unwrap()
        .contains("Which model would you pick for this service?"));
}

#[test]
fn inline_commands_parse() {
    let commands = inline_commands(&workshop());
    assert!(!commands.is_empty());
    for command in commands {
        if let Err(error) = Cli::try_parse_from(command.split_whitespace()) {
            panic!("WORKSHOP.md mentions `{command}`, which does not parse: {error}");
        }
    }
}

#[test]
fn every_workshop_command_runs() {
    let text = workshop();
    let out = tempfile::tempdir().unwrap();
    let commands: Vec<(PathBuf, Vec<String>)> = sh_lines(&text)
        .iter()
        .enumerate()
        // Each command writes into a directory of its own: a sweep refuses to
        // overwrite another one's results, as it should.
        .filter_map(|(index, line)| smallest(classify(line), &out.path().join(index.to_string())))
        .collect();
    assert!(commands.len() >= 10, "{} commands", commands.len());
    for (program, args) in &commands {
        if program.ends_with("async-vs-blocking") {
            let words = std::iter::once("async-vs-blocking".to_string()).chain(args.clone());
            if let Err(error) = Cli::try_parse_from(words) {
                panic!("{args:?} does not parse: {error}");
            }
        }
    }
    // Two at a time: the test checks that they work, not how fast.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some((program, args)) = commands.get(index) else {
                    break;
                };
                if let Err(error) = run(program, args) {
                    failures.lock().unwrap().push(error);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
