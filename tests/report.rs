//! The report end to end: from a fixed results file (tests/fixtures), and
//! from a tiny sweep run by the library. The fixture is a trimmed real run
//! on a 2-core machine in which two cells were edited to a failure and a
//! timeout, so the page's handling of unfinished cells is exercised. Beside
//! it, `claims.json` is a real run of four claims on the same machine
//! (`claims --only fan-out,await-in-sequence,async-not-for-cpu,cpu-starves-io`)
//! with three kinds of verdict and the cpu-starves-io chart.

use assert_cmd::Command;
use async_vs_blocking::lab::cell::ChildProcess;
use async_vs_blocking::lab::experiments::timers;
use async_vs_blocking::lab::sweep::{self, SweepOptions};
use async_vs_blocking::{cli::report_run, report};
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

/// A chart's legend entries, in order.
fn legend(svg: &str) -> String {
    let entry =
        Regex::new(r#"(?s)<text[^>]*text-anchor="start"[^>]*>\s*([^<]*?)\s*</text>"#).unwrap();
    let labels: Vec<String> = entry.captures_iter(svg).map(|c| c[1].to_string()).collect();
    labels.join(" | ")
}

/// The claims table: per claim its verdict, the names of its thresholds,
/// and its chart's legend.
fn claims_outline(table: &str) -> Vec<String> {
    let claim = Regex::new(
        r#"(?s)<tbody class="claim" id="claim-([^"]+)-row">.*?<strong class="verdict[^"]*">(.*?)</strong>(.*?)</tbody>"#,
    )
    .unwrap();
    let threshold = Regex::new(r"<li><code>([A-Z_]+) = ").unwrap();
    let figure = Regex::new(r#"(?s)<figure id="([^"]+)"[^>]*>(.*?)</figure>"#).unwrap();
    let mut lines = Vec::new();
    for found in claim.captures_iter(table) {
        let names: Vec<&str> = threshold
            .captures_iter(&found[3])
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        lines.push(format!(
            "    claim {}: {} [{}]",
            &found[1],
            &found[2],
            names.join(", ")
        ));
        for chart in figure.captures_iter(&found[3]) {
            lines.push(format!(
                "      chart {}: legend [{}]",
                &chart[1],
                legend(&chart[2])
            ));
        }
    }
    lines
}

/// The page's structure as text: headings, verdicts, chart ids with their
/// legend entries, each table's header with its row count, and the claims.
fn outline(html: &str) -> String {
    let mut lines = Vec::new();
    let block = Regex::new(
        r#"(?s)<h([123])[^>]*>(.*?)</h[123]>|<li class="[^"]*">(.*?)</li>|<figure id="([^"]+)"[^>]*>(.*?)</figure>|<table>\s*<thead>(.*?)</thead>\s*<tbody>(.*?)</tbody>|<table class="claims">\s*<thead>(.*?)</thead>(.*?)</table>|<p class="(?:tally|note)">(.*?)</p>|<details id="[^"]+"><summary>(.*?)</summary>|<tr><td data-label="question">(.*?)</tr>"#,
    )
    .unwrap();
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
            lines.push(format!(
                "    chart {}: legend [{}]",
                id.as_str(),
                legend(body)
            ));
        } else if let Some(head) = found.get(6) {
            let rows = found.get(7).unwrap().as_str().matches("<tr>").count();
            lines.push(format!(
                "    table [{}]: {rows} rows",
                strip_tags(head.as_str())
            ));
        } else if let Some(head) = found.get(8) {
            lines.push(format!("    claims table [{}]", strip_tags(head.as_str())));
            lines.extend(claims_outline(found.get(9).unwrap().as_str()));
        } else if let Some(summary) = found.get(11) {
            lines.push(format!("  folded: {}", strip_tags(summary.as_str())));
        } else if let Some(row) = found.get(12) {
            lines.push(format!("    decision: {}", strip_tags(row.as_str())));
        } else if let Some(note) = found.get(10) {
            let text = strip_tags(note.as_str());
            // Only the claims section's notes: what is missing, where it came from.
            if text.starts_with("verdicts:") || text.starts_with("Not in this run") {
                lines.push(format!(
                    "    note: {}",
                    text.split(". ").next().unwrap_or("")
                ));
            }
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
    // speedup, latency for the two workloads that wait, timers; and the
    // cpu-starves-io chart of the claims found beside the input.
    assert_eq!(svgs.len(), 13, "{svgs:?}");
    assert!(out.path().join("claims.json").is_file());
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
    // The server run starts this test binary's `serve`, which it has not.
    profile.report_servers = false;
    let options = SweepOptions {
        profile,
        workloads: vec!["sleep".into()],
        models: vec!["threads".into(), "tokio".into()],
        workers: 2,
        out: out.path().to_path_buf(),
        invocation: "test".into(),
        resume: false,
        policy: Default::default(),
        db_rows: async_vs_blocking::workload::db::DEFAULT_ROWS,
    };
    let executor = ChildProcess {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_async-vs-blocking")),
        sample_every: Duration::from_millis(2),
    };
    let data = report_run::measure(&options, &executor).unwrap();
    assert_eq!(data.records.len(), 6);
    let timer_lines = timers::timers().len() * timers::REQUESTED_MS.len();
    assert_eq!(
        data.timers.len(),
        timer_lines,
        "every timer × every requested sleep"
    );
    let written = report::draw(out.path(), &data).unwrap();
    assert!(written.index.is_file());
    assert_eq!(written.verdicts.len(), 1);
    assert!(written.verdicts[0].starts_with("sleep (20 ms wait per task), at 100 tasks: "));
    let timers = std::fs::read_to_string(out.path().join("timers.jsonl")).unwrap();
    assert_eq!(timers.lines().count(), timer_lines);
    assert!(out.path().join("timers.svg").is_file());
}

/// Copies the results fixture alone into `dir` (no claims.json beside it).
fn results_without_claims(dir: &Path) -> PathBuf {
    let input = dir.join("results.jsonl");
    std::fs::copy(fixture(), &input).unwrap();
    input
}

/// The "Claims on trial" section of a page, or (claims not measured) the
/// folded note in the reference that says how to measure them.
fn claims_section(html: &str) -> &str {
    if let Some(start) = html.find("<section id=\"claims\">") {
        return &html[start..start + html[start..].find("</section>").unwrap()];
    }
    let start = html
        .find("<details id=\"claims-absent\">")
        .expect("the claims section or its folded note");
    &html[start..start + html[start..].find("</details>").unwrap()]
}

#[test]
fn claims_beside_the_input_are_shown_as_measured_with_their_chart() {
    let out = tempfile::tempdir().unwrap();
    report_from(&[fixture()], out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let section = claims_section(&html);
    let claims: async_vs_blocking::claims::ClaimsReport = serde_json::from_str(
        &std::fs::read_to_string(fixture().with_file_name("claims.json")).unwrap(),
    )
    .unwrap();
    // Every claim of the file, with its verdict, caveat and command, exactly.
    for claim in &claims.claims {
        let escaped = |text: &str| minijinja::HtmlEscape(text).to_string();
        assert!(section.contains(&format!("id=\"claim-{}-row\"", claim.id)));
        assert!(section.contains(&escaped(claim.verdict.as_str())));
        assert!(section.contains(&escaped(&claim.command)));
        if let Some(caveat) = &claim.caveat {
            assert!(section.contains(&escaped(caveat)), "{}", claim.id);
        }
        for threshold in &claim.thresholds {
            assert!(section.contains(&threshold.name), "{}", threshold.name);
        }
    }
    // The machine and load they were measured under.
    assert!(section.contains("on 2 cores (Intel(R) Xeon(R) Processor, Linux 6.18.44-fc-v657)"));
    assert!(section.contains("load average"));
    // The chart: the probe's p99 against the chunk size, the guidance shaded.
    let svg = std::fs::read_to_string(out.path().join("claim-cpu-starves-io.svg")).unwrap();
    for needle in [
        "inline between awaits",
        "spawn_blocking",
        "rayon + oneshot",
        "idle probe",
        "rule of thumb: 10–100 µs",
        "(log scale)",
    ] {
        assert!(svg.contains(needle), "{needle} is missing from the chart");
    }
    assert!(section.contains("<figure id=\"claim-cpu-starves-io\" class=\"chart\">"));
}

#[test]
fn without_claims_the_page_says_how_to_measure_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = results_without_claims(dir.path());
    let out = dir.path().join("out");
    report_from(std::slice::from_ref(&input), &out);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let section = claims_section(&html);
    assert!(section.contains("No claims were measured for this report"));
    assert!(
        !html.contains("<a href=\"#claims\">"),
        "an empty section is left out of the navigation"
    );
    let command = format!("async-vs-blocking claims --out {}", out.display());
    assert!(
        section.contains(&minijinja::HtmlEscape(&command).to_string()),
        "{section}"
    );
    assert!(section.contains("--claims"));
    // No verdict is shown that was not measured.
    assert!(!section.contains("class=\"verdict"));
    assert!(!out.join("claims.json").exists());

    // Once `claims` has saved its file in the output directory, the next
    // report shows it.
    std::fs::copy(
        fixture().with_file_name("claims.json"),
        out.join("claims.json"),
    )
    .unwrap();
    report_from(&[input], &out);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(claims_section(&html).contains("id=\"claim-fan-out-row\""));
}

#[test]
fn a_malformed_claims_file_names_itself() {
    let dir = tempfile::tempdir().unwrap();
    let input = results_without_claims(dir.path());
    std::fs::write(dir.path().join("claims.json"), "{\"claims\": 3}").unwrap();
    let output = lab()
        .args(["report", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("claims.json"), "{stderr}");
}

#[test]
fn figures_loaded_from_files_are_labelled_loaded_with_their_date_and_machine() {
    // A results file and a claims file recorded elsewhere, copied here.
    let dir = tempfile::tempdir().unwrap();
    let input = results_without_claims(dir.path());
    std::fs::copy(
        fixture().with_file_name("claims.json"),
        dir.path().join("claims.json"),
    )
    .unwrap();
    let out = dir.path().join("out");
    report_from(std::slice::from_ref(&input), &out);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let start = html.find("id=\"provenance\"").expect("the provenance list");
    let provenance: Vec<String> = html[start..start + html[start..].find("</ul>").unwrap()]
        .split("<li>")
        .skip(1)
        .map(strip_tags)
        .collect();

    let records = async_vs_blocking::record::export::read_jsonl(&input).unwrap();
    let first_cell = records.iter().map(|r| r.started_unix_s).min().unwrap();
    let claims: async_vs_blocking::claims::ClaimsReport = serde_json::from_str(
        &std::fs::read_to_string(fixture().with_file_name("claims.json")).unwrap(),
    )
    .unwrap();
    let date = |unix_s| async_vs_blocking::os::measure::utc_date(unix_s)[..10].to_string();
    let escaped = |text: &str| minijinja::HtmlEscape(text).to_string();
    let cells = provenance
        .iter()
        .find(|l| l.contains("Cells:"))
        .expect("a line for the cells");
    assert!(cells.contains("loaded from"), "{cells}");
    assert!(
        cells.contains(&escaped(&input.display().to_string())),
        "{cells}"
    );
    assert!(cells.contains(&date(first_cell)), "{cells}");
    assert!(
        cells.contains(&escaped(&records[0].machine.cpu_model)),
        "{cells}"
    );
    assert!(cells.contains("not by this report"), "{cells}");
    let claims_line = provenance
        .iter()
        .find(|l| l.contains("Claims on trial:"))
        .expect("a line for the claims");
    assert!(claims_line.contains("loaded"), "{claims_line}");
    assert!(
        claims_line.contains(&date(claims.started_unix_s)),
        "{claims_line}"
    );
    assert!(
        claims_line.contains(&escaped(&claims.machine.cpu_model)),
        "{claims_line}"
    );
    assert!(claims_line.contains("not by this report"), "{claims_line}");
    // Nowhere does the page claim to have measured what it loaded.
    assert!(!html.contains("measured by this report"), "{provenance:?}");
    assert!(!html.contains("Measured by this report"));
}

fn server_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers/server.jsonl")
}

/// The "Servers under load" section of a page, with the slashes the
/// template's escaping writes as `&#x2f;` read back.
fn servers_section(html: &str) -> String {
    let start = html
        .find("<section id=\"servers\">")
        .expect("the servers section");
    html[start..start + html[start..].find("</section>").unwrap()].replace("&#x2f;", "/")
}

#[test]
fn server_points_draw_the_servers_section_with_sentences_from_the_data() {
    // The fixture is a real server sweep (threads, tokio, smol on 2 cores),
    // trimmed to the waiting handler: 10 and 1,000 connections and 10,000 idle.
    let out = tempfile::tempdir().unwrap();
    let stdout = report_from(&[fixture(), server_fixture()], out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let section = servers_section(&html);
    for id in [
        "server-latency-wait-20-ms-10",
        "server-latency-wait-20-ms-1000",
        "server-memory",
        "server-threads",
    ] {
        assert!(section.contains(&format!("<figure id=\"{id}\"")), "{id}");
        assert!(out.path().join(format!("{id}.svg")).is_file(), "{id}.svg");
    }
    // The copy beside the page holds every point, so the page can be redrawn.
    let points =
        async_vs_blocking::record::server_point::read_points(&out.path().join("server.jsonl"))
            .unwrap();
    assert_eq!(
        points.len(),
        std::fs::read_to_string(server_fixture())
            .unwrap()
            .lines()
            .count()
    );
    // The sentences follow the points: all three sustained the same highest
    // rate at 1,000 connections; 10,000 connections cost threads far more.
    let text = strip_tags(&section);
    assert!(
        text.contains("wait 20 ms, 1,000 connections: the best async server")
            && text.contains("43,054 req/s")
            && text.contains("async does not help here"),
        "{text}"
    );
    assert!(
        text.contains("threads held 10,000 connections") && text.contains("async saves memory"),
        "{text}"
    );
    assert!(
        text.contains("is not in these data (no mode=block"),
        "{text}"
    );
    assert!(stdout.contains("Servers: "), "{stdout}");
    assert!(html.contains("<a href=\"server.jsonl\">server.jsonl</a>"));
}

#[test]
fn a_server_jsonl_alone_is_a_valid_input_and_without_one_the_page_says_how_to_measure() {
    let out = tempfile::tempdir().unwrap();
    report_from(&[server_fixture()], out.path());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(servers_section(&html).contains("server-memory"));

    let without = tempfile::tempdir().unwrap();
    report_from(&[fixture()], without.path());
    let html = std::fs::read_to_string(without.path().join("index.html")).unwrap();
    let section = servers_section(&html);
    assert!(
        section.contains("sweep --workloads server --out reports/servers"),
        "{section}"
    );
    assert!(!section.contains("<figure"));
}

#[test]
fn a_malformed_server_file_names_itself_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = results_without_claims(dir.path());
    let mut text = std::fs::read_to_string(server_fixture()).unwrap();
    text.push_str("{\"offered_rps\": \"fast\"}\n");
    std::fs::write(dir.path().join("server.jsonl"), text).unwrap();
    let output = lab()
        .arg("report")
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.jsonl:64"), "{stderr}");
}
