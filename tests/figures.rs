//! No typed figures: every measured number in the prose comes from a run kept
//! in the repository.
//!
//! A recorded run lives in `docs/figures/RUN/` (its data files, copied
//! unchanged from the run's `--out`, and a `meta.json` with date, machine,
//! command and load). Markdown pages quote it only inside generated blocks,
//!
//! ```text
//! <!-- figures:KEY -->
//! ...written by this file...
//! <!-- /figures -->
//! ```
//!
//! and this test (1) renders every block again from the data and fails when
//! the committed text differs — `FIGURES_WRITE=1 cargo test --release --test
//! figures` rewrites them instead — and (2) scans the prose outside generated
//! blocks, code and HTML comments for numbers that look measured (a number
//! followed by ms, µs, s, KiB, MiB, req/s, %, ×, cores, ...). Such a number
//! passes only when `docs/figures/fixed.txt` names it, for that file or for
//! every file, with the reason it is a parameter or a fixed fact rather than
//! a measurement.

use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The recorded run every generated block reads.
const DEFAULT_REPORT: &str = "docs/figures/default-report";

/// Scanned besides `README.md` and every `.md` under `docs/`: a page joins
/// this list once its prose quotes measurements only through generated
/// blocks.
const ALSO_SCANNED: &[&str] = &["WORKSHOP.md"];

/// The recorded workshop checks (`check --all` on the kit and on the
/// solutions) the `workshop-checks` block reads.
const WORKSHOP_RUNS: &str = "docs/figures/workshop";

/// Parameters and fixed facts that look like measurements, with reasons.
const FIXED: &str = "docs/figures/fixed.txt";

/// Set to rewrite the generated blocks from the data instead of comparing.
const WRITE_ENV: &str = "FIGURES_WRITE";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(name: &str) -> Value {
    let path = repo().join(DEFAULT_REPORT).join(name);
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_lines(name: &str) -> Vec<Value> {
    let path = repo().join(DEFAULT_REPORT).join(name);
    read(&path)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// The recorded default report, read once per rendering.
struct RecordedRun {
    meta: Value,
    doctor: Value,
    results: Vec<Value>,
    servers: Vec<Value>,
    timers: Vec<Value>,
    unit_costs: Value,
}

impl RecordedRun {
    fn load() -> Self {
        Self {
            meta: json("meta.json"),
            doctor: json("doctor.json"),
            results: json_lines("results.jsonl"),
            servers: json_lines("server.jsonl"),
            timers: json_lines("timers.jsonl"),
            unit_costs: json("unit-costs.json"),
        }
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

/// Thousands separated with commas, as the lab prints counts.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A link from `page` to a file of the recorded run, relative to the page.
fn run_link(page: &Path, file: &str) -> String {
    let depth = page.parent().map_or(0, |dir| dir.components().count());
    format!("{}{DEFAULT_REPORT}/{file}", "../".repeat(depth))
}

/// The sentence that says where a block's figures come from.
fn provenance(run: &RecordedRun, page: &Path) -> String {
    let meta = &run.meta;
    let first = &meta["runs"][0];
    format!(
        "From the default report recorded on {} at {}–{} UTC ({}, commit {}, `{}`) on a {}; `doctor`: {}, load average {} before. Data: [`{DEFAULT_REPORT}/`]({}).",
        text(meta, "date"),
        &text(first, "doctor_utc")[..5],
        &text(first, "page_written_utc")[..5],
        match meta["runs"].as_array().map_or(0, Vec::len) {
            1 => "one run".to_string(),
            n => format!("run 1 of {n}"),
        },
        text(meta, "commit"),
        text(meta, "command"),
        text(meta, "machine"),
        text(meta, "doctor"),
        number(meta, "load_average_before"),
        run_link(page, "meta.json"),
    )
}

fn report_time(run: &RecordedRun, page: &Path) -> String {
    let meta = &run.meta;
    let seconds: Vec<String> = meta["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| format!("{} s", number(r, "seconds")))
        .collect();
    format!(
        "After the build, the default report took {} on {}, on a {} (`doctor`: {}; commit {}; [recorded run]({})).",
        match seconds.len() {
            1 => format!("{} in one run", seconds[0]),
            n => format!("{} in {n} runs in a row", seconds.join(" and ")),
        },
        text(meta, "date"),
        text(meta, "machine"),
        text(meta, "doctor"),
        text(meta, "commit"),
        run_link(page, "meta.json"),
    )
}

fn doctor_line(run: &RecordedRun) -> String {
    let mut out = String::from("```\n");
    for finding in run.doctor["findings"].as_array().expect("findings") {
        let mark = match text(finding, "severity") {
            "info" => " ",
            _ => "!",
        };
        writeln!(
            out,
            "{mark}  {}: {}",
            text(finding, "topic"),
            text(finding, "text")
        )
        .unwrap();
    }
    writeln!(out, "{}\n```", text(&run.doctor, "summary")).unwrap();
    out
}

/// Each workload's cells at its largest task count.
fn largest_cells(run: &RecordedRun, page: &Path) -> String {
    let mut out = provenance(run, page);
    out.push_str("\n\n| workload | model | tasks | wall ms (min / median / max) | ideal ms | efficiency | peak threads | peak RSS MiB | marked |\n|---|---|---|---|---|---|---|---|---|\n");
    let mut workloads: Vec<&str> = Vec::new();
    for record in &run.results {
        let workload = text(record, "workload");
        if !workloads.contains(&workload) {
            workloads.push(workload);
        }
    }
    for workload in workloads {
        let cells: Vec<&Value> = run
            .results
            .iter()
            .filter(|r| text(r, "workload") == workload)
            .collect();
        let largest = cells.iter().map(|r| number(r, "tasks")).fold(0.0, f64::max);
        for record in cells.iter().filter(|r| number(r, "tasks") == largest) {
            let wall = &record["wall_ms"];
            let marks: Vec<&str> = [("noisy", "noisy"), ("disturbed", "disturbed")]
                .into_iter()
                .filter(|(key, _)| record[*key].as_bool() == Some(true))
                .map(|(_, word)| word)
                .collect();
            writeln!(
                out,
                "| {workload} | {} | {} | {:.1} / {:.1} / {:.1} | {:.1} | {:.2} | {} | {:.1} | {} |",
                text(record, "model"),
                grouped(largest),
                number(wall, "min"),
                number(wall, "median"),
                number(wall, "max"),
                number(record, "ideal_ms"),
                number(record, "efficiency"),
                grouped(number(record, "peak_threads")),
                number(record, "peak_rss_kib") / 1024.0,
                if marks.is_empty() { "—".to_string() } else { marks.join(", ") },
            )
            .unwrap();
        }
    }
    out.trim_end().to_string()
}

fn unit_costs(run: &RecordedRun, page: &Path) -> String {
    let mut out = provenance(run, page);
    writeln!(out, "\n\n{}\n", text(&run.unit_costs, "source")).unwrap();
    out.push_str("| unit | spawn and join, µs per unit | switch over a channel, µs | switch over a Unix socket pair, µs |\n|---|---|---|---|\n");
    let pairs = |key: &str| -> Vec<(String, f64)> {
        run.unit_costs[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("name").to_string(),
                    pair[1].as_f64().expect("ns"),
                )
            })
            .collect()
    };
    let spawn = pairs("spawn_ns");
    let switch = pairs("switch_ns");
    let switch_of = |unit: &str, via: &str| {
        switch
            .iter()
            .find(|(name, _)| name == &format!("{unit} ({via})"))
            .map_or("—".to_string(), |(_, ns)| format!("{:.2}", ns / 1000.0))
    };
    for (unit, ns) in &spawn {
        writeln!(
            out,
            "| {unit} | {:.2} | {} | {} |",
            ns / 1000.0,
            switch_of(unit, "channel"),
            switch_of(unit, "socket")
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

fn timer_precision(run: &RecordedRun, page: &Path) -> String {
    let mut out = provenance(run, page);
    out.push_str("\n\n| timer | model | requested ms | actual ms (min / median / max) | samples |\n|---|---|---|---|---|\n");
    for timer in &run.timers {
        let actual = &timer["actual_ms"];
        writeln!(
            out,
            "| {} | {} | {} | {:.3} / {:.3} / {:.3} | {} |",
            text(timer, "timer"),
            text(timer, "model"),
            number(timer, "requested_ms"),
            number(actual, "min"),
            number(actual, "median"),
            number(actual, "max"),
            number(timer, "samples"),
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

fn server_points(run: &RecordedRun, page: &Path) -> String {
    let mut out = provenance(run, page);
    out.push_str("\n\n| model | handler | connections | offered req/s | achieved req/s | p99 ms (from due) | server peak RSS MiB | server threads | result |\n|---|---|---|---|---|---|---|---|---|\n");
    for point in &run.servers {
        let result = match point["failure"].as_str() {
            Some(failure) => format!("failed: {failure}"),
            None if point["ok"].as_bool() == Some(true) => "ok".to_string(),
            None => "objective missed".to_string(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {} | {} |",
            text(point, "model"),
            text(point, "handler"),
            grouped(number(point, "connections")),
            grouped(number(point, "offered_rps")),
            grouped(number(point, "achieved_rps")),
            number(&point["latency"], "p99_ms"),
            number(point, "server_peak_rss_kib") / 1024.0,
            grouped(number(point, "server_threads")),
            result,
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

/// A measured figure as the workshop check prints it: a whole number past
/// 100 or for a count (grouped), else three significant digits.
fn workshop_figure(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 {
        grouped(value)
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The table of the recorded workshop checks: each exercise's figure on the
/// unfixed kit and on its solution, with the verdict and the bound each run
/// derived (bounds are measured too, so they may differ a little).
fn workshop_checks(page: &Path) -> String {
    let dir = repo().join(WORKSHOP_RUNS);
    let load = |name: &str| -> Value {
        let path = dir.join(name);
        serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let meta = load("meta.json");
    let runs = [
        load("student/workshop.json"),
        load("solution/workshop.json"),
    ];
    let cell = |record: &Value| {
        format!(
            "{} {}, {} (bound {} {})",
            workshop_figure(number(record, "measured")),
            text(record, "unit"),
            text(record, "verdict").replace('-', " "),
            workshop_figure(number(record, "bound")),
            text(record, "unit"),
        )
    };
    let depth = page.parent().map_or(0, |dir| dir.components().count());
    let mut out = format!(
        "Recorded on {} ({}), `{}`, {} UTC; [meta.json]({}{WORKSHOP_RUNS}/meta.json) says more.\n\n",
        text(&meta, "date"),
        text(&meta, "machine"),
        text(&meta, "command"),
        text(&meta, "utc"),
        "../".repeat(depth),
    );
    out.push_str("| exercise | figure | unfixed kit | reference solution |\n|---|---|---|---|\n");
    let records = |run: &Value| run["records"].as_array().cloned().unwrap_or_default();
    for student in records(&runs[0]) {
        let exercise = text(&student, "exercise");
        let solution = records(&runs[1])
            .into_iter()
            .find(|r| text(r, "exercise") == exercise)
            .map_or("not recorded".to_string(), |r| cell(&r));
        writeln!(
            out,
            "| {exercise} | {} | {} | {solution} |",
            text(&student, "figure"),
            cell(&student)
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

/// The recorded full server sweep (`scripts/servers_full.sh`).
const SERVERS_RUN: &str = "docs/figures/servers";

/// The recorded `http_server` bench (`scripts/http_bench_figures.sh`).
const HTTP_BENCH_RUN: &str = "docs/figures/http-bench";

fn optional_json(dir: &str, name: &str) -> Option<Value> {
    let path = repo().join(dir).join(name);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn optional_lines(dir: &str, name: &str) -> Option<Vec<Value>> {
    let path = repo().join(dir).join(name);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect(),
    )
}

/// A link from `page` to a file under `dir`, relative to the page.
fn link_to(page: &Path, dir: &str, file: &str) -> String {
    let depth = page.parent().map_or(0, |d| d.components().count());
    format!("{}{dir}/{file}", "../".repeat(depth))
}

/// Until the lead records the run, a block says how to record it.
fn not_recorded(what: &str, script: &str) -> String {
    format!("No {what} is recorded in the repository yet: `{script}` records one (run it alone on a quiet machine, then `FIGURES_WRITE=1 cargo test --release --test figures`).")
}

fn servers_provenance(meta: &Value, page: &Path) -> String {
    format!(
        "From the full server sweep recorded on {} at {}–{} UTC (commit {}, `{}`, {} points in {} s) on a {}; `doctor`: {}, load average {} before, {} after. Data: [`{SERVERS_RUN}/`]({}).",
        text(meta, "date"),
        text(meta, "started_utc"),
        text(meta, "finished_utc"),
        text(meta, "commit"),
        text(meta, "command"),
        number(meta, "points"),
        number(meta, "seconds"),
        text(meta, "machine"),
        text(meta, "doctor"),
        number(meta, "load_average_before"),
        number(meta, "load_average_after"),
        link_to(page, SERVERS_RUN, "meta.json"),
    )
}

/// Every search, `(handler, connections)`, in the order measured; the idle point apart.
fn searches(points: &[Value]) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = Vec::new();
    for point in points {
        let key = (
            text(point, "handler").to_string(),
            number(point, "connections") as u64,
        );
        if key.1 != 10_000 && !found.contains(&key) {
            found.push(key);
        }
    }
    found
}

/// The highest passing offered rate of one search with the lowest failing
/// one above it: `a–b`, `≥ a` when nothing failed above, `none` when
/// nothing passed, `—` when not searched.
fn knee(points: &[Value], model: &str, handler: &str, connections: u64) -> String {
    let mine: Vec<&Value> = points
        .iter()
        .filter(|p| {
            text(p, "model") == model
                && text(p, "handler") == handler
                && number(p, "connections") as u64 == connections
        })
        .collect();
    if mine.is_empty() {
        return "—".into();
    }
    let good = mine
        .iter()
        .filter(|p| p["ok"].as_bool() == Some(true))
        .map(|p| number(p, "offered_rps"))
        .fold(0.0, f64::max);
    let bad = mine
        .iter()
        .filter(|p| p["ok"].as_bool() != Some(true) && number(p, "offered_rps") > good)
        .map(|p| number(p, "offered_rps"))
        .fold(f64::INFINITY, f64::min);
    match (good > 0.0, bad.is_finite()) {
        (false, _) => "none".into(),
        (true, true) => format!("{}–{}", grouped(good), grouped(bad)),
        (true, false) => format!("≥ {}", grouped(good)),
    }
}

fn models_of(points: &[Value]) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for point in points {
        let model = text(point, "model").to_string();
        if !models.contains(&model) {
            models.push(model);
        }
    }
    models
}

fn servers_knees(page: &Path) -> String {
    let (Some(meta), Some(points)) = (
        optional_json(SERVERS_RUN, "meta.json"),
        optional_lines(SERVERS_RUN, "server.jsonl"),
    ) else {
        return not_recorded("full server sweep", "scripts/servers_full.sh");
    };
    let mut out = servers_provenance(&meta, page);
    let shared: Vec<(String, u64)> = searches(&points)
        .into_iter()
        .filter(|(h, _)| !h.contains("mode="))
        .collect();
    out.push_str("\n\nHighest offered rate that met the objective (p99 within 5 × the handler's own time, no errors, 90 % of the rate achieved) – lowest that missed it, req/s:\n\n| model |");
    for (handler, connections) in &shared {
        write!(out, " {handler}, {} conn. |", grouped(*connections as f64)).unwrap();
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(shared.len()));
    out.push('\n');
    for model in models_of(&points) {
        write!(out, "| {model} |").unwrap();
        for (handler, connections) in &shared {
            write!(out, " {} |", knee(&points, &model, handler, *connections)).unwrap();
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

fn servers_modes(page: &Path) -> String {
    let (Some(meta), Some(points)) = (
        optional_json(SERVERS_RUN, "meta.json"),
        optional_lines(SERVERS_RUN, "server.jsonl"),
    ) else {
        return not_recorded("full server sweep", "scripts/servers_full.sh");
    };
    let mut out = servers_provenance(&meta, page);
    out.push_str("\n\n| model | connections | own wait, req/s | mode=block, req/s | mode=offload, req/s |\n|---|---|---|---|---|\n");
    let modes: Vec<(String, u64)> = searches(&points)
        .into_iter()
        .filter(|(h, _)| h.contains("mode="))
        .collect();
    let connections: BTreeSet<u64> = modes.iter().map(|(_, c)| *c).collect();
    for model in models_of(&points) {
        for &c in &connections {
            let of = |mode: &str| {
                modes
                    .iter()
                    .find(|(h, cc)| *cc == c && h.contains(mode))
                    .map_or("—".to_string(), |(h, _)| knee(&points, &model, h, c))
            };
            let (block, offload) = (of("mode=block"), of("mode=offload"));
            if block == "—" && offload == "—" {
                continue;
            }
            writeln!(
                out,
                "| {model} | {} | {} | {block} | {offload} |",
                grouped(c as f64),
                knee(&points, &model, "wait 20 ms", c)
            )
            .unwrap();
        }
    }
    out.trim_end().to_string()
}

fn result_word(point: &Value) -> String {
    match point["failure"].as_str() {
        Some(failure) => format!("failed: {failure}"),
        None if point["ok"].as_bool() == Some(true) => "ok".to_string(),
        None => "objective missed".to_string(),
    }
}

fn servers_idle(page: &Path) -> String {
    let (Some(meta), Some(points)) = (
        optional_json(SERVERS_RUN, "meta.json"),
        optional_lines(SERVERS_RUN, "server.jsonl"),
    ) else {
        return not_recorded("full server sweep", "scripts/servers_full.sh");
    };
    let mut out = servers_provenance(&meta, page);
    out.push_str("\n\n| model | connections | server peak RSS MiB | server threads | p99 ms | result |\n|---|---|---|---|---|---|\n");
    for point in points
        .iter()
        .filter(|p| number(p, "connections") as u64 == 10_000)
    {
        writeln!(
            out,
            "| {} | {} | {:.1} | {} | {} | {} |",
            text(point, "model"),
            grouped(number(point, "connections")),
            number(point, "server_peak_rss_kib") / 1024.0,
            grouped(number(point, "server_threads")),
            // No request answered inside the window: no latency, not 0 ms.
            if number(&point["latency"], "max_ms") > 0.0 {
                format!("{:.1}", number(&point["latency"], "p99_ms"))
            } else {
                "no response".to_string()
            },
            result_word(point),
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

fn servers_apart(page: &Path) -> String {
    let meta = optional_json(SERVERS_RUN, "meta.json");
    let shared = optional_lines(SERVERS_RUN, "server-shared.jsonl");
    let apart = optional_lines(SERVERS_RUN, "server-apart.jsonl");
    let (Some(meta), Some(shared), Some(apart)) = (meta, shared, apart) else {
        return not_recorded("shared-versus-apart pair", "sudo scripts/servers_full.sh");
    };
    let mut out = servers_provenance(&meta, page);
    let cpus = |points: &[Value], key: &str| {
        points
            .first()
            .and_then(|p| p[key].as_str())
            .unwrap_or("all")
            .to_string()
    };
    write!(
        out,
        "\n\n`{}` shared (every CPU, loopback) and apart (server on CPUs {}, generator on CPUs {}, a veth pair between two namespaces), run back to back: highest passing – lowest failing offered rate, req/s.\n\n| search | shared | apart |\n|---|---|---|\n",
        text(&meta, "apart_model"),
        cpus(&apart, "server_cpus"),
        cpus(&apart, "generator_cpus"),
    )
    .unwrap();
    let model = text(&meta, "apart_model");
    for (handler, connections) in searches(&shared) {
        writeln!(
            out,
            "| {handler}, {} conn. | {} | {} |",
            grouped(connections as f64),
            knee(&shared, model, &handler, connections),
            knee(&apart, model, &handler, connections)
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

fn http_bench(page: &Path) -> String {
    let (Some(meta), Some(bench)) = (
        optional_json(HTTP_BENCH_RUN, "meta.json"),
        optional_json(HTTP_BENCH_RUN, "http_server.json"),
    ) else {
        return not_recorded("`http_server` bench run", "scripts/http_bench_figures.sh");
    };
    let mut out = format!(
        "From `{}` recorded on {} (commit {}, {} s) on a {}; load average {} before, {} after. Data: [`{HTTP_BENCH_RUN}/`]({}).\n\n{}\n\n| handler | model | req/s (median) | 95 % interval, req/s |\n|---|---|---|---|\n",
        text(&meta, "command"),
        text(&meta, "date"),
        text(&meta, "commit"),
        number(&meta, "seconds"),
        text(&meta, "machine"),
        number(&meta, "load_average_before"),
        number(&meta, "load_average_after"),
        link_to(page, HTTP_BENCH_RUN, "meta.json"),
        text(&bench, "source"),
    );
    for cell in bench["cells"].as_array().expect("cells") {
        let interval = &cell["ci95_ns"];
        let rate = |ns: f64| grouped(1e9 / ns);
        writeln!(
            out,
            "| {} | {} | {} | {}–{} |",
            text(cell, "handler"),
            text(cell, "model"),
            rate(number(cell, "median_ns")),
            rate(interval[1].as_f64().expect("upper")),
            rate(interval[0].as_f64().expect("lower")),
        )
        .unwrap();
    }
    out.trim_end().to_string()
}

/// What a generated block holds, by its key; `None` for an unknown key.
fn render(key: &str, run: &RecordedRun, page: &Path) -> Option<String> {
    Some(match key {
        "servers-knees" => servers_knees(page),
        "servers-modes" => servers_modes(page),
        "servers-idle" => servers_idle(page),
        "servers-apart" => servers_apart(page),
        "http-bench" => http_bench(page),
        "report-time" => report_time(run, page),
        "recorded-run" => provenance(run, page),
        "doctor" => doctor_line(run).trim_end().to_string(),
        "largest-cells" => largest_cells(run, page),
        "unit-costs" => unit_costs(run, page),
        "timer-precision" => timer_precision(run, page),
        "server-points" => server_points(run, page),
        "workshop-checks" => workshop_checks(page),
        _ => return None,
    })
}

const OPEN: &str = "<!-- figures:";
const CLOSE: &str = "<!-- /figures -->";

/// The key of a line that opens a generated block: the marker alone on its
/// line (a marker quoted inside a sentence or in code opens nothing).
fn block_key(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix(OPEN)?
        .strip_suffix("-->")
        .map(str::trim)
}

fn closes_block(line: &str) -> bool {
    line.trim() == CLOSE
}

/// The page with every generated block rendered again, or the problem.
fn regenerate(page: &Path, content: &str, run: &RecordedRun) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Option<(usize, &str)> = None;
    for (index, line) in content.split_inclusive('\n').enumerate() {
        if let Some((start, key)) = open {
            if closes_block(line) {
                let rendered = render(key, run, page).ok_or_else(|| {
                    format!(
                        "{}:{start}: no generator for the block key {key:?}",
                        page.display()
                    )
                })?;
                out.push_str(&rendered);
                out.push('\n');
                out.push_str(line);
                open = None;
            }
            continue;
        }
        out.push_str(line);
        if let Some(key) = block_key(line) {
            open = Some((index + 1, key));
        }
    }
    match open {
        Some((start, key)) => Err(format!(
            "{}:{start}: block {key} has no {CLOSE}",
            page.display()
        )),
        None => Ok(out),
    }
}

fn markdown_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            markdown_under(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            found.push(path);
        }
    }
}

/// Every scanned page, as a path relative to the repository.
fn scanned_pages() -> Vec<PathBuf> {
    let mut pages = vec![repo().join("README.md")];
    markdown_under(&repo().join("docs"), &mut pages);
    pages.extend(ALSO_SCANNED.iter().map(|name| repo().join(name)));
    pages
        .into_iter()
        .map(|path| path.strip_prefix(repo()).unwrap().to_path_buf())
        .collect()
}

#[test]
fn generated_figure_blocks_match_the_recorded_runs() {
    let run = RecordedRun::load();
    let write = std::env::var_os(WRITE_ENV).is_some();
    let mut stale = Vec::new();
    for page in scanned_pages() {
        let content = read(&repo().join(&page));
        let regenerated = regenerate(&page, &content, &run).unwrap_or_else(|e| panic!("{e}"));
        if regenerated != content {
            if write {
                std::fs::write(repo().join(&page), &regenerated).unwrap();
            } else {
                stale.push(page.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated figure blocks differ from the recorded runs in {stale:?}: run `{WRITE_ENV}=1 cargo test --release --test figures` and commit the result"
    );
}

/// The prose a reader sees, paragraph by paragraph with the line each
/// starts on: generated blocks and fenced code left out; inline code, HTML
/// comments and link targets blanked. Lines are joined, so a figure wrapped
/// across two lines is still seen.
fn prose_paragraphs(content: &str) -> Vec<(usize, String)> {
    let inline_code = Regex::new(r"`[^`]*`").unwrap();
    let comment = Regex::new(r"<!--.*?-->").unwrap();
    let link_target = Regex::new(r"\]\([^)]*\)").unwrap();
    let mut paragraphs: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut in_fence = false;
    let mut in_block = false;
    for (index, line) in content.lines().enumerate() {
        let mut ends_paragraph = line.trim().is_empty();
        let mut skip = ends_paragraph;
        if in_block {
            in_block = !closes_block(line);
            ends_paragraph = true;
            skip = true;
        } else if block_key(line).is_some() {
            in_block = true;
            ends_paragraph = true;
            skip = true;
        } else if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            ends_paragraph = true;
            skip = true;
        } else if in_fence {
            ends_paragraph = true;
            skip = true;
        }
        if ends_paragraph {
            paragraphs.extend(current.take());
        }
        if !skip {
            let (_, text) = current.get_or_insert_with(|| (index + 1, String::new()));
            text.push_str(line.trim());
            text.push(' ');
        }
    }
    paragraphs.extend(current);
    paragraphs
        .into_iter()
        .map(|(line, text)| {
            let text = inline_code.replace_all(&text, " ");
            let text = comment.replace_all(&text, " ");
            (line, link_target.replace_all(&text, "]").into_owned())
        })
        .collect()
}

/// Numbers that look measured: a number (or a range) with a unit, or a
/// ratio written ×N.
fn measured_looking() -> Regex {
    Regex::new(
        r"(?x)
        (?:^|[^\w.\-/])
        (
          [~≈]?\d+(?:,\d{3})*(?:\.\d+)?
          (?:\s?[–-]\s?\d+(?:,\d{3})*(?:\.\d+)?)?
          (?:
            \s?(?:ms|µs|us|ns|s|min|minutes?|seconds?|KiB|MiB|GiB|KB|kB|MB|GB|req/s|cores?|x\ faster|times\ faster)\b
            | \s?%
            | ×
          )
          |
          ×\d+(?:,\d{3})*(?:\.\d+)?
        )",
    )
    .unwrap()
}

/// One allowed figure: the file it is allowed in (`*` for any) and the figure.
fn allowed() -> Vec<(String, String, usize)> {
    read(&repo().join(FIXED))
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            assert!(
                fields.len() == 3 && !fields[2].is_empty(),
                "{FIXED}:{}: expected `FILE | FIGURE | REASON`, got {line:?}",
                index + 1
            );
            (fields[0].to_string(), normalise(fields[1]), index + 1)
        })
        .collect()
}

fn normalise(figure: &str) -> String {
    figure
        .replace('\u{a0}', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn prose_carries_no_measured_figure_without_a_recorded_source() {
    let pattern = measured_looking();
    let allowed = allowed();
    let mut used = BTreeSet::new();
    let mut unsourced = Vec::new();
    for page in scanned_pages() {
        let name = page.display().to_string();
        for (number, line) in prose_paragraphs(&read(&repo().join(&page))) {
            for capture in pattern.captures_iter(&line) {
                let figure = normalise(&capture[1]);
                match allowed
                    .iter()
                    .find(|(file, fixed, _)| (file == "*" || *file == name) && *fixed == figure)
                {
                    Some((_, _, entry)) => {
                        used.insert(*entry);
                    }
                    None => unsourced.push(format!("{name}:{number}: {figure:?}")),
                }
            }
        }
    }
    assert!(
        unsourced.is_empty(),
        "figures in prose with no recorded source — put them in a generated block, or, if they are parameters or fixed facts, list them in {FIXED} with the reason:\n{}",
        unsourced.join("\n")
    );
    let unused: Vec<String> = allowed
        .iter()
        .filter(|(_, _, entry)| !used.contains(entry))
        .map(|(file, figure, entry)| format!("{FIXED}:{entry}: {file} | {figure}"))
        .collect();
    assert!(
        unused.is_empty(),
        "{FIXED} allows figures no scanned page uses any more; remove them:\n{}",
        unused.join("\n")
    );
}

#[test]
fn the_scanner_tells_parameters_in_code_from_figures_in_prose() {
    let pattern = measured_looking();
    let figures = |text: &str| -> Vec<String> {
        prose_paragraphs(text)
            .iter()
            .flat_map(|(_, line)| {
                pattern
                    .captures_iter(line)
                    .map(|c| normalise(&c[1]))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(
        figures("tokio took 0.62 µs, ×1.95 the others, at 8,000 req/s and 1.03× memory; 35 %"),
        ["0.62 µs", "×1.95", "8,000 req/s", "1.03×", "35 %"]
    );
    assert_eq!(
        figures("run `sweep --sleep-ms 20` with p99 and HTTP/1.1\n```sh\nreport # 52 s\n```"),
        Vec::<String>::new()
    );
    assert_eq!(
        figures("<!-- figures:x -->\n52 s\n<!-- /figures -->\nrange 3.4–5.6 s"),
        ["3.4–5.6 s"]
    );
}

#[test]
fn a_figure_edited_by_hand_inside_a_block_is_caught() {
    let run = RecordedRun::load();
    let page = Path::new("README.md");
    let fresh = regenerate(
        page,
        "x\n<!-- figures:report-time -->\n<!-- /figures -->\n",
        &run,
    )
    .expect("a known key renders");
    assert_eq!(regenerate(page, &fresh, &run).unwrap(), fresh);
    let tampered = fresh.replacen(" s in one run", "1 s in one run", 1);
    assert_ne!(tampered, fresh);
    assert_ne!(regenerate(page, &tampered, &run).unwrap(), tampered);
    assert!(regenerate(
        page,
        "<!-- figures:no-such-key -->\n<!-- /figures -->\n",
        &run
    )
    .is_err());
    assert!(regenerate(page, "<!-- figures:report-time -->\nnever closed\n", &run).is_err());
}
