//! The report end to end: from a fixed results file (tests/fixtures), and
//! from a tiny sweep run by the library. The fixture is a trimmed real run
//! on a 2-core machine in which two cells were edited to a failure and a
//! timeout, so the page's handling of unfinished cells is exercised.

use assert_cmd::Command;
use async_vs_blocking::cell::ChildProcess;
use async_vs_blocking::report;
use async_vs_blocking::sweep::{self, SweepOptions};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results.jsonl")
}

fn lab() -> Command {
    Command::cargo_bin("async-vs-blocking").unwrap()
}

/// Runs `report --input <inputs> --out <dir>` and returns stdout.
fn report_from(inputs: &[PathBuf], out: &Path) -> String {
    let mut command = lab();
    command.arg("report").arg("--input");
    for input in inputs {
        command.arg(input);
    }
    let output = command.arg("--out").arg(out).output().unwrap();
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Hides what changes between machines and runs: decimals and dates.
fn redact(text: &str) -> String {
    let date = Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC").unwrap();
    let decimal = Regex::new(r"\d[\d,]*\.\d+").unwrap();
    let text = date.replace_all(text, "<date>");
    decimal.replace_all(&text, "#").into_owned()
}

fn strip_tags(html: &str) -> String {
    let tag = Regex::new(r"<[^>]+>").unwrap();
    let spaces = Regex::new(r"\s+").unwrap();
    let text = tag.replace_all(html, " ");
    spaces.replace_all(text.trim(), " ").replace(" ,", ",")
}

/// The page's structure as text: headings, verdicts, chart ids with their
/// legend entries, and each table's header with its row count.
fn outline(html: &str) -> String {
    let mut lines = Vec::new();
    let block = Regex::new(
        r#"(?s)<h([123])[^>]*>(.*?)</h[123]>|<li class="[^"]*">(.*?)</li>|<figure id="([^"]+)"[^>]*>(.*?)</figure>|<table>\s*<thead>(.*?)</thead>\s*<tbody>(.*?)</tbody>"#,
    )
    .unwrap();
    let legend =
        Regex::new(r#"(?s)<text[^>]*text-anchor="start"[^>]*>\s*([^<]*?)\s*</text>"#).unwrap();
    for found in block.captures_iter(html) {
        if let Some(level) = found.get(1) {
            let indent = "  ".repeat(level.as_str().parse::<usize>().unwrap() - 1);
            lines.push(format!(
                "{indent}h{}: {}",
                level.as_str(),
                strip_tags(&found[2])
            ));
        } else if let Some(verdict) = found.get(3) {
            lines.push(format!("    verdict: {}", strip_tags(verdict.as_str())));
        } else if let Some(id) = found.get(4) {
            let body = found.get(5).unwrap().as_str();
            let labels: Vec<String> = legend
                .captures_iter(body)
                .map(|c| c[1].to_string())
                .collect();
            lines.push(format!(
                "    chart {}: legend [{}]",
                id.as_str(),
                labels.join(" | ")
            ));
        } else if let Some(head) = found.get(6) {
            let rows = found.get(7).unwrap().as_str().matches("<tr>").count();
            lines.push(format!(
                "    table [{}]: {rows} rows",
                strip_tags(head.as_str())
            ));
        }
    }
    redact(&lines.join("\n"))
}

#[test]
fn report_from_a_results_file_writes_the_page_charts_and_data() {
    let out = tempfile::tempdir().unwrap();
    let stdout = report_from(&[fixture()], out.path());
    let index = out.path().join("index.html");
    assert_eq!(stdout.lines().last().unwrap(), index.display().to_string());
    for file in [
        "results.jsonl",
        "results.csv",
        "timers.jsonl",
        "unit-costs.json",
    ] {
        assert!(out.path().join(file).is_file(), "{file} is missing");
    }
    let html = std::fs::read_to_string(&index).unwrap();
    let svgs: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    // Charts 1-7: wall + efficiency per workload (3 × 2), memory, threads,
    // speedup, latency for the two workloads that wait, timers.
    assert_eq!(svgs.len(), 12, "{svgs:?}");
    for svg in &svgs {
        let id = svg.trim_end_matches(".svg");
        assert!(
            html.contains(&format!("<figure id=\"{id}\"")),
            "{id} is not on the page"
        );
        let standalone = std::fs::read_to_string(out.path().join(svg)).unwrap();
        assert!(
            standalone.starts_with("<svg") && standalone.contains("<text"),
            "{svg}"
        );
    }
    // Every record is kept in the data files, even the ones that did not finish.
    let fixture_lines = std::fs::read_to_string(fixture()).unwrap().lines().count();
    let written = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    assert_eq!(written.lines().count(), fixture_lines);
    // The spawn and switch costs found beside the input reach the table.
    assert!(
        html.contains("tokio task (channel)"),
        "unit costs are missing"
    );
    assert!(!html.contains(report::published::COST_NOT_MEASURED));
    insta::assert_snapshot!("page_outline", outline(&html));
}

#[test]
fn unfinished_cells_are_shown_never_dropped() {
    let out = tempfile::tempdir().unwrap();
    report_from(&[fixture()], out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let unfinished = &html[html.find("id=\"unfinished\"").unwrap()..];
    let unfinished = &unfinished[..unfinished.find("</section>").unwrap()];
    assert!(
        unfinished.contains("class=\"status-failed\">failed"),
        "{unfinished}"
    );
    assert!(
        unfinished.contains("class=\"status-timeout\">timeout"),
        "{unfinished}"
    );
    // ... and marked on the charts of their workload, in the legend.
    let sleep_wall = std::fs::read_to_string(out.path().join("wall-sleep.svg")).unwrap();
    assert!(sleep_wall.contains("did not finish"));
}

/// Attribute values and CSS that would make the browser fetch something.
fn remote_references(html: &str) -> Vec<String> {
    let attribute =
        Regex::new(r#"(?i)\b(src|href|srcset|poster|data|action|formaction|xlink:href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]*)"#)
            .unwrap();
    let css = Regex::new(r#"(?i)(url\(\s*["']?\s*(?:https?:)?//[^)]*\)|@import)"#).unwrap();
    let elements =
        Regex::new(r"(?i)<(script|link|img|iframe|object|embed|video|audio|source)\b").unwrap();
    attribute
        .captures_iter(html)
        .map(|c| c[0].to_string())
        .chain(css.captures_iter(html).map(|c| c[0].to_string()))
        .chain(elements.captures_iter(html).map(|c| c[0].to_string()))
        .collect()
}

#[test]
fn the_page_references_nothing_outside_itself() {
    // The check itself must catch what it looks for.
    let bad = r#"<link rel="stylesheet" href="https://cdn.example/x.css"><img src=//cdn.example/a.png><style>@import "x.css"; body{background:url(http://e/x.png)}</style><script src="x.js"></script>"#;
    assert_eq!(
        remote_references(bad).len(),
        7,
        "{:?}",
        remote_references(bad)
    );
    let out = tempfile::tempdir().unwrap();
    report_from(&[fixture()], out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert_eq!(remote_references(&html), Vec::<String>::new());
    // Relative links to the data files are fine, and present.
    assert!(html.contains("href=\"results.jsonl\""));
}

#[test]
fn results_from_two_machines_make_the_machine_a_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let text = std::fs::read_to_string(fixture()).unwrap();
    let moved = text.replace("\"cores\":2,", "\"cores\":8,");
    assert_ne!(moved, text);
    std::fs::write(other.join("results.jsonl"), moved).unwrap();
    let out = dir.path().join("out");
    let stdout = report_from(&[fixture(), other.join("results.jsonl")], &out);
    assert!(
        stdout.contains("on machine A") && stdout.contains("on machine B"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<h3>Machine B</h3>"));
    assert!(html.contains("tokio · B"));
    assert!(html.contains("limit: 8 cores"));
}

#[test]
fn a_missing_input_is_a_one_line_usage_error() {
    let out = tempfile::tempdir().unwrap();
    let output = lab()
        .args(["report", "--input", "no/such/results.jsonl", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no/such/results.jsonl"), "{stderr}");
    assert!(!out.path().join("index.html").exists());
}

#[test]
fn a_malformed_input_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    let first = std::fs::read_to_string(fixture())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&bad, format!("{first}\n{{\"workload\": 3}}\n")).unwrap();
    let output = lab()
        .args(["report", "--input"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.jsonl:2"), "{stderr}");
}

#[test]
fn without_input_the_report_measures_a_sweep_and_the_timers() {
    let out = tempfile::tempdir().unwrap();
    let mut profile = sweep::profile("quick").unwrap();
    profile.tasks = vec![1, 10, 100];
    profile.repeats = 1;
    let options = SweepOptions {
        profile,
        workloads: vec!["sleep".into()],
        models: vec!["threads".into(), "tokio".into()],
        workers: 2,
        out: out.path().to_path_buf(),
        invocation: "test".into(),
        resume: false,
    };
    let executor = ChildProcess {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_async-vs-blocking")),
        sample_every: Duration::from_millis(2),
    };
    let data = report::measure(&options, &executor).unwrap();
    assert_eq!(data.records.len(), 6);
    assert_eq!(data.timers.len(), 12, "4 timers × 3 requested sleeps");
    let written = report::write(out.path(), &data).unwrap();
    assert!(written.index.is_file());
    assert_eq!(written.verdicts.len(), 1);
    assert!(written.verdicts[0].starts_with("sleep (20 ms wait per task), at 100 tasks: "));
    let timers = std::fs::read_to_string(out.path().join("timers.jsonl")).unwrap();
    assert_eq!(timers.lines().count(), 12);
    assert!(out.path().join("timers.svg").is_file());
}
