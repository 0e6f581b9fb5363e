//! Contention: a small CPU sweep run quietly and again beside a busy-loop
//! hog (a normal-priority process spinning on one core, started here).
//!
//! The lab's promise under load: every cell the hog moved is either retried
//! into agreement or marked `disturbed`, the accounting sees the hog, and no
//! verdict sentence of the hog run names a disturbed model as falling short.
//! Cells whose timed region is a few ms, below what `/proc/stat`'s 10 ms
//! ticks resolve, are seen too (a widened window and CPU pressure).
//! The hog is stopped on every path (its guard kills it when dropped, also
//! when an assertion panics).

use async_vs_blocking::record::export::read_jsonl;
use async_vs_blocking::record::result::CellRecord;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_async-vs-blocking");

/// Efficiency may move this much between the quiet run and the hog run
/// before the cell must have been marked disturbed (the bound).
const MOVED: f64 = 0.1;

/// A busy loop on one core; killed and reaped when dropped.
struct Hog(Child);

impl Hog {
    fn start() -> Hog {
        Hog(Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the hog"))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two models (one using every core, one using one) at two task counts:
/// 40 and 200 tasks of 2.5 ms, 50 to 500 ms on 2 cores, long against the
/// 10 ms ticks the accounting counts in. (Short cells have their own test
/// below.)
fn small_cpu_sweep(out: &Path) -> Vec<CellRecord> {
    let output = Command::new(BIN)
        .args([
            "sweep",
            "--workloads",
            "cpu",
            "--models",
            "rayon,sequential",
            "--tasks",
            "40,200",
            "--cpu-us",
            "2500",
            "--repeat",
            "2",
            "--retries",
            "2",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("running the sweep");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    read_jsonl(&out.join("results.jsonl")).unwrap()
}

#[test]
fn a_hog_is_seen_and_no_verdict_blames_a_model_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = small_cpu_sweep(&dir.path().join("quiet"));
    let hogged = {
        let _hog = Hog::start();
        small_cpu_sweep(&dir.path().join("hog"))
    };
    assert_eq!(quiet.len(), 4);
    assert_eq!(hogged.len(), 4);

    // The accounting sees a core spinning beside the cells (on a shared
    // machine it sees more: everything else counts as outside load too).
    let most = hogged
        .iter()
        .map(|r| r.conditions.foreign_cpu_cores_max)
        .fold(0.0, f64::max);
    assert!(
        most >= 0.5,
        "outside load seen beside the hog: {most:.2} cores"
    );

    for hog in &hogged {
        let calm = quiet
            .iter()
            .find(|q| q.model == hog.model && q.tasks == hog.tasks)
            .expect("the same cell in both runs");
        let moved = (hog.efficiency - calm.efficiency).abs();
        // A disturbed quiet run is no baseline to compare with.
        if moved > MOVED && !calm.disturbed {
            assert!(
                hog.disturbed,
                "{} at {} tasks moved from {:.2} to {:.2} beside the hog and was not \
                 marked disturbed (retried {}; conditions {:?})",
                hog.model,
                hog.tasks,
                calm.efficiency,
                hog.efficiency,
                hog.conditions.retried,
                hog.conditions
            );
        }
        if hog.disturbed {
            assert!(hog.conditions.note.is_some(), "{:?}", hog.conditions);
        }
    }

    // The verdicts drawn from the hog run name no disturbed model as falling short.
    let report = Command::new(BIN)
        .args(["report", "--input"])
        .arg(dir.path().join("hog/results.jsonl"))
        .arg("--out")
        .arg(dir.path().join("report"))
        .output()
        .expect("drawing the report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    let text = String::from_utf8_lossy(&report.stdout).to_string() + &page;
    for clause in text.split(';').filter(|c| c.contains("fell short")) {
        let clause = clause.split("fell short").next().unwrap_or("");
        // Verdicts speak of the largest task count only.
        for hog in hogged.iter().filter(|r| r.disturbed && r.tasks == 200) {
            let named = format!("{} at", hog.model);
            assert!(
                !clause.contains(&named),
                "a disturbed {} is named as falling short: {clause}",
                hog.model
            );
        }
    }
}

/// Cores this machine runs on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn short_cells_beside_a_hog_are_seen() {
    // Five tasks of 2 ms per core on a pool of one worker per core: a timed
    // region of about 10 ms, which 10 ms ticks alone cannot judge (and at
    // least one jiffy, below which the kernel's CPU pressure shows nothing).
    // One hog shares one core with a worker; the pool needs every core.
    let cores = cores();
    let has_psi = std::fs::read_to_string("/proc/pressure/cpu").is_ok();
    if !has_psi && cores > 4 {
        // Without CPU pressure only the widened window's ticks remain, and
        // over 60 ms they resolve 10 ms × cores: more than one hog core here.
        eprintln!("skipped: no /proc/pressure/cpu and {cores} cores");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("short");
    let tasks = (5 * cores).to_string();
    let output = {
        let _hog = Hog::start();
        Command::new(BIN)
            .args([
                "sweep",
                "--workloads",
                "cpu",
                "--models",
                "rayon,tokio",
                "--tasks",
                &tasks,
                "--cpu-us",
                "2000",
                "--repeat",
                "2",
                "--on-busy",
                "mark",
                "--out",
            ])
            .arg(&out)
            .output()
            .expect("running the sweep")
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records: Vec<CellRecord> = read_jsonl(&out.join("results.jsonl")).unwrap();
    assert_eq!(records.len(), 2);
    for record in &records {
        // Seen: marked, or (a hog core being a small share of many cores)
        // judged against the capacity it left.
        let seen = record.disturbed || record.conditions.capacity_left_cores.is_some();
        assert!(
            seen,
            "{} at {} tasks ({:.1} ms) beside a hog was not seen: conditions {:?}",
            record.model, record.tasks, record.wall_ms.median, record.conditions
        );
        assert!(record.conditions.note.is_some(), "{:?}", record.conditions);
    }
}
