//! Claims on trial: popular statements about async programming, each tested
//! by one small experiment on this machine. This part may import every part
//! below it (server, lab, model, net, workload, record, stats, os), never
//! the report or the CLI; what a claim leaves is a record
//! ([`crate::record::claims`]) that the report draws.
//!
//! Every claim is one entry in [`all`]: an id, the claim in plain words, and
//! a function that measures and then decides. Each claim's file keeps the
//! two apart: `measure` runs the experiment and returns its `Figures`, and
//! `judge` is a pure function from those figures to the verdict, tested on
//! invented figures for every outcome it can give. Thresholds are named
//! constants in the claim's file and are printed next to the verdict, so a
//! reader can see which number decided it — and why the same claim may get
//! another verdict on another machine (one core, a quiet server, another
//! kernel).
//!
//! Some claims cannot come out either way: the language or the machine fixes
//! the outcome (sequential awaits add up; one thread keeps at most one core
//! busy). They are kept because watching them teaches, but they are
//! *demonstrations*, labelled as such everywhere they are shown, and the
//! tally counts them apart from the verdicts.
//!
//! Where a claim is a lab cell (a workload under a model), it is measured the
//! way `run` measures it: each repeat in its own child process. Where it
//! needs code of its own (awaiting in sequence, blocking inside a task,
//! futures never awaited, a probe task starved by computation), that code
//! lives in the claim's file, builds its runtime outside the timed region,
//! and shows the pitfall next to its fix.

mod await_in_sequence;
mod blocking_freezes_loop;
mod cpu;
mod cpu_starves_io;
mod database;
mod fan_out;
mod file_io;
mod lazy_futures;
pub mod machine;
mod memory;
mod one_request;
mod output;
pub(crate) mod physics;
mod precision;
mod server_throughput;
mod spawn_switch;

pub use crate::record::claims::{
    tally, Band, Chart, ClaimResult, ClaimsReport, Figure, Kind, Line, Mark, Threshold, Verdict,
};
pub use machine::CpuTopology;
pub use output::{claims_markdown, claims_table, list_text};

use crate::lab::cell::{CellSpec, Provenance, RepeatExecutor};
use crate::lab::sweep;
use crate::record::result::{CellRecord, Status};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a claim's experiment returns; [`run_claims`] adds the rest.
pub struct Trial {
    pub measured: String,
    pub figures: Vec<Figure>,
    pub verdict: Verdict,
    pub caveat: Option<String>,
    pub decided_by: String,
    pub thresholds: Vec<Threshold>,
    pub cell_commands: Vec<String>,
    pub chart: Option<Chart>,
}

/// Why an experiment produced no figures, and the cells it had run.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub why: String,
    pub cell_commands: Vec<String>,
}

impl Failure {
    pub fn new(why: impl Into<String>, cell_commands: Vec<String>) -> Failure {
        Failure {
            why: why.into(),
            cell_commands,
        }
    }
}

/// The experiment's figures judged, or "not measured" when it failed or its
/// figures are physically impossible ([`physics::Physical`]).
pub(crate) fn decide<F: physics::Physical>(
    measured: Result<F, Failure>,
    judge: impl Fn(&F) -> Trial,
) -> Trial {
    match physics::checked(measured) {
        Ok(figures) => judge(&figures),
        Err(failure) => Trial::not_measured(failure.why, failure.cell_commands),
    }
}

impl Trial {
    /// A trial whose measurement failed.
    pub fn not_measured(why: impl Into<String>, cell_commands: Vec<String>) -> Trial {
        let why = why.into();
        Trial {
            measured: format!("the experiment failed: {why}"),
            figures: Vec::new(),
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: why,
            thresholds: Vec::new(),
            cell_commands,
            chart: None,
        }
    }
}

/// A claim on trial.
pub struct Claim {
    /// The id `--only` accepts.
    pub id: &'static str,
    /// The claim in plain words.
    pub claim: &'static str,
    /// For a demonstration, what it shows; `None` when the measurement
    /// decides the verdict.
    pub demonstrates: Option<&'static str>,
    /// What the experiment does, in one sentence.
    pub experiment: &'static str,
    run: fn(&Trials) -> Trial,
}

impl Claim {
    /// Whether the measurement decides this claim.
    pub fn kind(&self) -> Kind {
        match self.demonstrates {
            Some(_) => Kind::Demonstration,
            None => Kind::Verdict,
        }
    }
}

/// Every claim, in the order the table shows them.
pub fn all() -> &'static [Claim] {
    &[
        fan_out::CLAIM,
        await_in_sequence::CLAIM,
        blocking_freezes_loop::CLAIM,
        lazy_futures::CLAIM,
        cpu::ASYNC_NOT_FOR_CPU,
        cpu::CONCURRENCY_IS_NOT_PARALLELISM,
        cpu_starves_io::CLAIM,
        memory::THREADS_COST_MEMORY,
        spawn_switch::THREADS_COST_TO_SPAWN,
        memory::SCALES_TO_THOUSANDS,
        one_request::CLAIM,
        server_throughput::CLAIM,
        file_io::CLAIM,
        database::CLAIM,
        cpu::THREADS_FOR_CPU,
        spawn_switch::SWITCH_COST,
    ]
}

/// Every claim's id and, for a demonstration, what it shows: what a report
/// needs to know about the claims it did not measure.
pub fn catalogue() -> Vec<crate::record::claims::CatalogueEntry> {
    all()
        .iter()
        .map(|claim| crate::record::claims::CatalogueEntry {
            id: claim.id.to_string(),
            demonstrates: claim.demonstrates.map(String::from),
        })
        .collect()
}

/// The ids of every claim.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|c| c.id).collect()
}

/// Finds a claim by id.
pub fn by_id(id: &str) -> Option<&'static Claim> {
    all().iter().find(|c| c.id == id)
}

/// How the claims are measured.
pub struct ClaimOptions<'a> {
    /// Runs the lab cells (a child process per repeat, or in-process in tests).
    pub executor: &'a dyn RepeatExecutor,
    /// Repeats per timing; the median is used, min and max shown.
    pub repeats: u32,
    /// The exact command line, stored with the cells.
    pub invocation: String,
    /// Called before each claim runs, with its position, the total and its id.
    pub on_start: &'a dyn Fn(usize, usize, &str),
    /// How much each claim may measure: the full sizes of `claims`, or the
    /// quick ones of the default `report`.
    pub budget: Budget,
}

/// How much the claims measure. The quick budget keeps every verdict's
/// rule and repeats; it shrinks only sizes whose verdict does not depend on
/// them, and each claim states what it shrank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `claims`: every experiment at its full size.
    Full,
    /// The default `report`: shorter server points and a smaller async
    /// scale test, so the whole report stays short on 2 cores.
    Quick,
}

fn no_progress(_position: usize, _total: usize, _id: &str) {}

impl<'a> ClaimOptions<'a> {
    /// Options with no progress output, e.g. for the report:
    /// `run_claims(&[], &ClaimOptions::new(&ChildProcess::current()?, 3))`.
    pub fn new(executor: &'a dyn RepeatExecutor, repeats: u32) -> ClaimOptions<'a> {
        ClaimOptions {
            executor,
            repeats,
            invocation: crate::lab::cell::invocation(),
            on_start: &no_progress,
            budget: Budget::Full,
        }
    }
}

/// The shared state of one claims run: options and the cells measured so
/// far, so claims that look at the same cell (e.g. CPU jobs run
/// sequentially) measure it once.
pub struct Trials<'a> {
    options: &'a ClaimOptions<'a>,
    cells: RefCell<HashMap<String, CellRecord>>,
    /// Logical CPUs this process may use: the worker count of every runtime.
    pub cores: usize,
    /// The machine the judges scale their sizes and thresholds to.
    pub machine: CpuTopology,
    /// Repeats for a second pass (sequential sampling), in place of the
    /// options' repeats while it runs.
    repeats_override: std::cell::Cell<Option<u32>>,
}

/// The timeout for one repeat of a claim's cell.
const CELL_TIMEOUT: Duration = Duration::from_secs(60);

impl Trials<'_> {
    /// Repeats per timing.
    pub fn repeats(&self) -> u32 {
        self.repeats_override
            .get()
            .unwrap_or(self.options.repeats)
            .max(1)
    }

    /// How much each claim may measure.
    pub fn budget(&self) -> Budget {
        self.options.budget
    }

    /// Measures a lab cell (once per claims run) with `repeats` repeats.
    pub fn cell(&self, spec: CellSpec, repeats: u32) -> CellRecord {
        let key = format!(
            "{}|{}",
            serde_json::to_string(&spec).unwrap_or_default(),
            repeats
        );
        if let Some(record) = self.cells.borrow().get(&key) {
            return record.clone();
        }
        let record = sweep::measure_cell(
            spec,
            repeats,
            CELL_TIMEOUT,
            self.options.executor,
            &Provenance {
                profile: Some("claims".into()),
                invocation: self.options.invocation.clone(),
            },
        );
        self.cells.borrow_mut().insert(key, record.clone());
        record
    }

    /// A cell spec with this run's worker count (= cores).
    pub fn spec(&self, workload: &str, model: &str, tasks: u64) -> CellSpec {
        CellSpec {
            workload: workload.into(),
            model: model.into(),
            tasks,
            workers: self.cores,
            sleep_ms: 100.0,
            cpu_us: 1000.0,
            stack_kib: None,
            iters_per_us: 0.0,
            reply_bytes: crate::workload::DEFAULT_REPLY_BYTES,
            server: None,
            file_kib: crate::workload::DEFAULT_FILE_KIB,
            pool: crate::workload::db::DEFAULT_POOL,
            database: None,
        }
    }
}

/// Runs the claims whose ids are in `only` (all when empty), in table order.
/// Unknown ids are skipped; the CLI rejects them before calling this.
pub fn run_claims(only: &[String], options: &ClaimOptions) -> Vec<ClaimResult> {
    let machine = CpuTopology::detect();
    let trials = Trials {
        options,
        cells: RefCell::new(HashMap::new()),
        cores: machine.usable_logical,
        machine,
        repeats_override: std::cell::Cell::new(None),
    };
    let chosen: Vec<&Claim> = all()
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|id| id == c.id))
        .collect();
    let total = chosen.len();
    chosen
        .into_iter()
        .enumerate()
        .map(|(position, claim)| {
            (options.on_start)(position + 1, total, claim.id);
            let load_average = load_average();
            let started = Instant::now();
            let (mut trial, extra_repeats) = sequentially(&trials, claim);
            // Every verdict states the machine its sizes and gates came from.
            trial.thresholds.extend(trials.machine.thresholds());
            ClaimResult {
                id: claim.id.into(),
                claim: claim.claim.into(),
                demonstration: claim.demonstrates.map(String::from),
                experiment: claim.experiment.into(),
                measured: trial.measured,
                figures: trial.figures,
                verdict: trial.verdict,
                caveat: trial.caveat,
                decided_by: trial.decided_by,
                thresholds: trial.thresholds,
                command: format!("async-vs-blocking claims --only {}", claim.id),
                cell_commands: trial.cell_commands,
                chart: trial.chart,
                cores: trials.cores,
                load_average,
                seconds: started.elapsed().as_secs_f64(),
                extra_repeats,
            }
        })
        .collect()
}

/// Runs a claim; when its intervals straddle its line, once more with
/// max(2 × repeats, 9) repeats (the sweep's sequential-sampling budget,
/// [`crate::lab::cell::SEQUENTIAL_BUDGET_FACTOR`]), keeping that pass's
/// verdict and saying so. Returns the trial and the second pass's repeats
/// (0 when the first pass decided).
fn sequentially(trials: &Trials, claim: &Claim) -> (Trial, u32) {
    let first = (claim.run)(trials);
    if first.verdict != Verdict::TooCloseToCall {
        return (first, 0);
    }
    let asked = trials.repeats();
    let budget = (asked * crate::lab::cell::SEQUENTIAL_BUDGET_FACTOR)
        .max(crate::lab::cell::SEQUENTIAL_MIN_BUDGET);
    trials.repeats_override.set(Some(budget));
    let mut again = (claim.run)(trials);
    trials.repeats_override.set(None);
    if again.figures == first.figures {
        // Its figures do not rest on repeats (single cells): more cannot
        // narrow them.
        let mut first = first;
        first.decided_by +=
            " — more repeats cannot narrow these figures (they rest on single cells)";
        return (first, 0);
    }
    again.decided_by += &format!(
        " — sequential sampling: too close to call at {asked} repeat(s), measured again with {budget}"
    );
    (again, budget)
}

/// The 1-minute load average from /proc/loadavg (0 when unreadable).
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

// ---- helpers shared by the claim files ----

/// A figure.
pub(crate) fn figure(label: impl Into<String>, value: f64, unit: &str) -> Figure {
    Figure {
        label: label.into(),
        value,
        unit: unit.into(),
        interval: None,
    }
}

/// A threshold.
pub(crate) fn threshold(name: &str, value: f64, meaning: &str) -> Threshold {
    Threshold {
        name: name.into(),
        value,
        meaning: meaning.into(),
    }
}

/// Runs `body` `repeats` times and returns the median wall time in ms with
/// min and max. `body` returns the duration of its own timed region, so it
/// can build whatever it needs outside it.
pub(crate) fn timed(
    repeats: u32,
    mut body: impl FnMut() -> Duration,
) -> crate::record::result::WallMs {
    let walls: Vec<f64> = (0..repeats.max(1))
        .map(|_| body().as_secs_f64() * 1e3)
        .collect();
    crate::record::result::WallMs::spread_of(&walls)
}

/// The models that start every one of `tasks` tasks at once, whatever the
/// machine (one thread per task, or an async runtime), in the registry's
/// order: a claim about concurrency asks the registry, so a new runtime is
/// never silently missing from it.
pub(crate) fn all_at_once(tasks: u64) -> Vec<&'static str> {
    crate::model::all()
        .iter()
        .filter(|model| model.wait_concurrency(1, tasks) >= tasks)
        .map(|model| model.name())
        .collect()
}

/// The model that gives every task its own thread (the blocking side of
/// many claims), as the registry says.
pub(crate) fn thread_per_task() -> &'static str {
    crate::model::thread_per_task().name()
}

/// The async runtimes in the registry, in its order.
pub(crate) fn async_models() -> Vec<&'static str> {
    crate::model::async_models()
        .iter()
        .map(|m| m.name())
        .collect()
}

/// The registry's reference async runtime, for a claim that samples one.
pub(crate) fn reference_async() -> &'static str {
    crate::model::reference_async().name()
}

/// The median wall of a cell, or why there is none.
pub(crate) fn median_ms(record: &CellRecord) -> Result<f64, String> {
    match record.status {
        Status::Ok => Ok(record.wall_ms.median),
        _ => Err(format!(
            "{} / {} / {} tasks: {} ({})",
            record.workload,
            record.model,
            record.tasks,
            record.status.as_str(),
            record.error.as_deref().unwrap_or("no detail")
        )),
    }
}

/// "12.3 ms (11.9–13.0)" for a spread.
pub(crate) fn spread_text(wall: &crate::record::result::WallMs) -> String {
    format!("{:.1} ms ({:.1}–{:.1})", wall.median, wall.min, wall.max)
}

/// The p-quantile (0..=1) of `values` (nearest rank); 0 for none.
pub(crate) fn quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_sixteen_of_the_claims_list_and_unique() {
        let ids = ids();
        assert_eq!(ids.len(), 16);
        for id in &ids {
            assert_eq!(ids.iter().filter(|i| *i == id).count(), 1, "{id}");
            assert!(by_id(id).is_some());
        }
        for expected in [
            "fan-out",
            "await-in-sequence",
            "blocking-freezes-loop",
            "lazy-futures",
            "async-not-for-cpu",
            "concurrency-is-not-parallelism",
            "cpu-starves-io",
            "threads-cost-memory",
            "threads-cost-to-spawn",
            "scales-to-thousands",
            "one-request-not-faster",
            "async-server-throughput",
            "threads-for-cpu",
            "switch-cost",
            "async-file-io",
            "async-database",
        ] {
            assert!(ids.contains(&expected), "{expected}");
        }
    }

    #[test]
    fn quantile_uses_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_failed_experiment_is_not_measured_with_its_reason_and_cells() {
        let judge = |_: &lazy_futures::Figures| panic!("no figures to judge");
        let trial = decide(
            Err(Failure::new("cell refused", vec!["run x".into()])),
            judge,
        );
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert_eq!(trial.decided_by, "cell refused");
        assert_eq!(trial.cell_commands, ["run x"]);
    }

    #[test]
    fn the_seven_demonstrations_are_labelled_and_the_rest_are_verdicts() {
        let demonstrations: Vec<&str> = all()
            .iter()
            .filter(|c| c.kind() == Kind::Demonstration)
            .map(|c| c.id)
            .collect();
        assert_eq!(
            demonstrations,
            [
                "fan-out",
                "await-in-sequence",
                "blocking-freezes-loop",
                "lazy-futures",
                "async-not-for-cpu",
                "concurrency-is-not-parallelism",
                "async-server-throughput"
            ]
        );
        for claim in all() {
            if let Some(what) = claim.demonstrates {
                assert!(!what.is_empty() && !what.ends_with('.'), "{}", claim.id);
            }
        }
    }

    #[test]
    fn a_claim_too_close_to_call_is_measured_again_with_the_stated_budget() {
        // A claim whose interval narrows with repeats: too close at 3, decided at 9.
        fn narrowing(trials: &Trials) -> Trial {
            let repeats = trials.repeats();
            Trial {
                verdict: if repeats >= 9 {
                    Verdict::Holds
                } else {
                    Verdict::TooCloseToCall
                },
                figures: vec![figure("repeats", repeats as f64, "count")],
                ..Trial::not_measured("invented", vec![])
            }
        }
        // One that rests on single cells: more repeats change nothing.
        fn fixed(_: &Trials) -> Trial {
            Trial {
                verdict: Verdict::TooCloseToCall,
                ..Trial::not_measured("invented", vec![])
            }
        }
        let options = ClaimOptions::new(&crate::lab::cell::InProcess, 3);
        let trials = Trials {
            options: &options,
            cells: RefCell::new(HashMap::new()),
            cores: 2,
            machine: CpuTopology::simulated(2, 2),
            repeats_override: std::cell::Cell::new(None),
        };
        let claim = |run| Claim {
            id: "invented",
            claim: "",
            demonstrates: None,
            experiment: "",
            run,
        };
        let (trial, extra) = sequentially(&trials, &claim(narrowing));
        assert_eq!((trial.verdict, extra), (Verdict::Holds, 9));
        assert!(
            trial
                .decided_by
                .contains("too close to call at 3 repeat(s), measured again with 9"),
            "{}",
            trial.decided_by
        );
        assert_eq!(trials.repeats(), 3, "the second pass's repeats end with it");
        let (trial, extra) = sequentially(&trials, &claim(fixed));
        assert_eq!((trial.verdict, extra), (Verdict::TooCloseToCall, 0));
        assert!(trial.decided_by.contains("more repeats cannot narrow"));
    }

    #[test]
    fn verdicts_serialize_as_kebab_case() {
        let json = serde_json::to_string(&Verdict::HoldsWithACaveat).unwrap();
        assert_eq!(json, "\"holds-with-a-caveat\"");
    }
}
