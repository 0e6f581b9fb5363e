//! The decision table at the top of the page: one row per question a
//! reader brings ("do async waits help?", "does a blocking call hurt?"),
//! each answered in one word computed from intervals, with the comparison
//! stated the way hyperfine states results: "tokio ran 1.9 × (1.6–2.3)
//! faster than threads".
//!
//! Which models are async comes from the model registry
//! ([`crate::model::Model::style`]), never from a list written here. The
//! answer is a pure function of a ratio's interval ([`answer`]): the page
//! says "helps" or "hurts" only when the whole interval is beyond the
//! tolerance band, "same" only when it lies wholly inside it, and "too close
//! to call" otherwise.

use super::data::{self, Dataset, Series};
use super::servers;
use crate::model::{self, Style};
use crate::record::result::CellRecord;
use crate::record::server_point::{ServerPoint, WaitMode};
use crate::stats::interval::{
    ratio_of_intervals, ratio_of_medians, side_of_band, slope_interval, BandSide, Interval,
    IntervalMethod,
};

/// Two figures are "the same" when their ratio's interval lies wholly
/// within ×1.1 either way (criterion's noise threshold is ±1 % on a quiet
/// machine; a shared laptop's repeats move by several percent).
pub const SAME_WITHIN: f64 = 1.1;

/// The one-word answer of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Helps,
    Same,
    Hurts,
    TooCloseToCall,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Helps => "helps",
            Answer::Same => "same",
            Answer::Hurts => "hurts",
            Answer::TooCloseToCall => "too close to call",
        }
    }
}

/// The answer for a benefit ratio's interval: above 1 means the async
/// choice did better (less time, more requests, less memory), below 1
/// worse. Helps / hurts only beyond the [`SAME_WITHIN`] band, same only
/// wholly inside it.
pub fn answer(benefit: &Interval) -> Answer {
    match side_of_band(benefit, SAME_WITHIN) {
        BandSide::Above => Answer::Helps,
        BandSide::Within => Answer::Same,
        BandSide::Below => Answer::Hurts,
        BandSide::TooClose => Answer::TooCloseToCall,
    }
}

/// A ratio with its interval in hyperfine's words: "1.9 × (1.6–2.3)".
pub fn ratio_words(ratio: f64, interval: &Interval) -> String {
    let end = |value: f64| {
        if value.is_infinite() {
            "∞".to_string()
        } else {
            format!("{value:.2}")
        }
    };
    format!(
        "{ratio:.2} × ({}–{})",
        end(interval.low),
        end(interval.high)
    )
}

/// "A ran r × (lo–hi) faster than B": `ratio` is A's benefit over B;
/// below 1 it is turned round ("slower") so the figure is at least 1.
fn compare(
    a: &str,
    b: &str,
    ratio: f64,
    interval: &Interval,
    verb: &str,
    more: &str,
    less: &str,
) -> String {
    if ratio >= 1.0 {
        format!(
            "{a} {verb} {} {more} than {b}",
            ratio_words(ratio, interval)
        )
    } else {
        let flipped = Interval {
            low: 1.0 / interval.high,
            high: if interval.low > 0.0 {
                1.0 / interval.low
            } else {
                f64::INFINITY
            },
            ..*interval
        };
        format!(
            "{a} {verb} {} {less} than {b}",
            ratio_words(1.0 / ratio, &flipped)
        )
    }
}

/// One row of the decision table.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// The question, e.g. "Many tasks that wait (sleep 20 ms)".
    pub question: String,
    /// Where on the page the evidence is (an anchor without `#`).
    pub evidence: &'static str,
    /// The size compared: "at 1,000 tasks".
    pub size: String,
    /// The best async model's figure, the thread pool's, a thread per task's.
    pub best_async: String,
    pub thread_pool: String,
    pub thread_per_task: String,
    /// The comparison in words, with its interval.
    pub statement: String,
    /// What bounded the comparison, when something other than the models did.
    pub bound: String,
    /// None when the data hold nothing to answer with.
    pub answer: Option<Answer>,
    /// The command that measures the row, when its data are absent.
    pub command: String,
    /// The workload a workload row compares on (empty for other rows).
    pub workload: String,
    /// The models the row compares (best async, the thread pool, a thread
    /// per task, where measured): the charts draw these in colour.
    pub compared: Vec<String>,
}

impl DecisionRow {
    /// A row whose figures this run did not measure: it says so and names
    /// the command that measures them.
    fn not_measured(question: &str, evidence: &'static str, command: &str) -> DecisionRow {
        DecisionRow {
            question: question.to_string(),
            evidence,
            size: String::new(),
            best_async: "—".into(),
            thread_pool: "—".into(),
            thread_per_task: "—".into(),
            statement: "not measured in this run".into(),
            bound: String::new(),
            answer: None,
            command: command.to_string(),
            workload: String::new(),
            compared: Vec::new(),
        }
    }
}

fn is_async(model_name: &str) -> bool {
    model::by_name(model_name).is_some_and(|m| m.style() == Style::Async)
}

/// A thread per task, as the registry says.
fn thread_per_task() -> &'static str {
    model::thread_per_task().name()
}

/// The thread pool the table compares: the registry's first blocking model
/// that runs tasks on a fixed set of more than one thread (not a thread per
/// task, not one thread).
fn thread_pool() -> Option<&'static str> {
    model::all()
        .iter()
        .find(|m| {
            m.style() == Style::Blocking && !m.thread_per_task() && m.workers_used(4, 100) > 1
        })
        .map(|m| m.name())
}

/// The blocking models the table compares with async: the pool, then a
/// thread per task.
fn blocking_compared() -> Vec<&'static str> {
    thread_pool()
        .into_iter()
        .chain([thread_per_task()])
        .collect()
}

/// The ratio `a / b` of two cells' median wall times with its interval:
/// a bootstrap over their repeats when both records carry them, else the
/// extreme ratios of their min–max ranges (older records).
pub fn wall_ratio(a: &CellRecord, b: &CellRecord) -> Option<(f64, Interval)> {
    if a.wall_ms_repeats.len() >= 2 && b.wall_ms_repeats.len() >= 2 {
        let estimate = ratio_of_medians(&a.wall_ms_repeats, &b.wall_ms_repeats)?;
        return Some((estimate.ratio, estimate.interval));
    }
    let range = |r: &CellRecord| Interval {
        low: r.wall_ms.min,
        high: r.wall_ms.max,
        method: IntervalMethod::Range,
        coverage: 0.0,
    };
    if b.wall_ms.median <= 0.0 {
        return None;
    }
    let interval = ratio_of_intervals(&range(a), &range(b))?;
    Some((a.wall_ms.median / b.wall_ms.median, interval))
}

fn judged(record: &CellRecord) -> bool {
    record.status == crate::record::result::Status::Ok
        && !record.disturbed
        && record.wall_ms.median > 0.0
}

/// A workload's row: at the task count where the best async model and the
/// best of the thread pool and a thread per task differ most.
fn workload_row(
    dataset: &Dataset,
    workload: &str,
    question: &str,
    evidence: &'static str,
    command: &str,
) -> DecisionRow {
    let empty = DecisionRow::not_measured(question, evidence, command);
    let Some(variant) = dataset
        .variants()
        .into_iter()
        .find(|v| v.workload == workload)
    else {
        return empty;
    };
    let series: Vec<Series> = dataset
        .series(&variant)
        .into_iter()
        .filter(|s| s.key.machine == 0 && s.key.stack_kib.is_none())
        .collect();
    let question = format!("{question} ({})", variant.parameters());
    let at = |name: &str, tasks: u64| -> Option<&CellRecord> {
        series
            .iter()
            .find(|s| s.key.model == name)?
            .ok()
            .find(|r| r.tasks == tasks && judged(r))
    };
    let mut counts: Vec<u64> = series
        .iter()
        .flat_map(|s| s.ok().map(|r| r.tasks))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    // One task cannot show a concurrency difference (every model runs it
    // alone): only sizes where tasks could overlap are compared.
    let single_only = !counts.is_empty() && counts.iter().all(|&tasks| tasks < 2);
    counts.retain(|&tasks| tasks >= 2);
    // (tasks, best async record, best blocking record, |log ratio|)
    let mut widest: Option<(u64, &CellRecord, &CellRecord, f64)> = None;
    for tasks in counts {
        let best = |want_async: bool| {
            series
                .iter()
                .filter(|s| {
                    if want_async {
                        is_async(&s.key.model)
                    } else {
                        blocking_compared().contains(&s.key.model.as_str())
                    }
                })
                .filter_map(|s| at(&s.key.model, tasks))
                .min_by(|a, b| a.wall_ms.median.total_cmp(&b.wall_ms.median))
        };
        if let (Some(fast_async), Some(blocking)) = (best(true), best(false)) {
            let gap = (blocking.wall_ms.median / fast_async.wall_ms.median)
                .ln()
                .abs();
            if !matches!(widest, Some((_, _, _, widest_gap)) if widest_gap >= gap) {
                widest = Some((tasks, fast_async, blocking, gap));
            }
        }
    }
    let Some((tasks, best_async, blocking, _)) = widest else {
        let statement = if single_only {
            "only one task was measured, and one task cannot show a concurrency difference"
        } else {
            "no size above one task at which an async model and a thread model both finished undisturbed"
        };
        return DecisionRow {
            question,
            statement: statement.into(),
            ..empty
        };
    };
    let figure = |name: &str| -> String {
        match at(name, tasks) {
            None => "—".into(),
            Some(record) => {
                let mut text = format!("{} ms", data::ms(record.wall_ms.median));
                if let Some((ratio, interval)) = wall_ratio(record, best_async) {
                    text += &format!(" · {} the best async", ratio_words(ratio, &interval));
                }
                text
            }
        }
    };
    let (statement, answer) = match wall_ratio(blocking, best_async) {
        Some((ratio, interval)) => (
            compare(
                &model::label(&best_async.model),
                &model::label(&blocking.model),
                ratio,
                &interval,
                "ran",
                "faster",
                "slower",
            ),
            Some(answer(&interval)),
        ),
        None => ("no ratio: a median of zero".into(), None),
    };
    let compared = std::iter::once(best_async.model.clone())
        .chain(
            blocking_compared()
                .into_iter()
                .filter(|name| at(name, tasks).is_some())
                .map(str::to_string),
        )
        .collect();
    DecisionRow {
        question,
        workload: workload.to_string(),
        compared,
        size: format!(
            "at {} task{}",
            data::count(tasks),
            if tasks == 1 { "" } else { "s" }
        ),
        best_async: format!(
            "{} {} ms",
            model::label(&best_async.model),
            data::ms(best_async.wall_ms.median)
        ),
        thread_pool: thread_pool().map_or_else(|| "—".into(), figure),
        thread_per_task: figure(thread_per_task()),
        statement,
        answer,
        command: String::new(),
        ..empty
    }
}

/// The capacity bracket of a rate search: the highest rate that passed and
/// the lowest that failed (infinite when none failed).
fn capacity(found: (f64, Option<f64>)) -> Interval {
    Interval {
        low: found.0,
        high: found.1.unwrap_or(f64::INFINITY),
        method: IntervalMethod::Range,
        coverage: 0.0,
    }
}

/// `a / b` for two rate brackets: from a's lowest over b's highest to a's
/// highest over b's lowest.
fn rate_ratio(a: (f64, Option<f64>), b: (f64, Option<f64>)) -> Option<(f64, Interval)> {
    let (a, b) = (capacity(a), capacity(b));
    if a.low <= 0.0 || b.low <= 0.0 {
        return None;
    }
    let interval = Interval {
        low: a.low / b.high,
        high: a.high / b.low,
        ..a
    };
    Some((a.low / b.low, interval))
}

fn rate_text(found: Option<(f64, Option<f64>)>) -> String {
    match found {
        None => "—".into(),
        Some((rate, _)) if rate > 0.0 => format!("{} req/s", data::count(rate.round() as u64)),
        Some(_) => "none passed".into(),
    }
}

fn server_row(points: &[ServerPoint]) -> DecisionRow {
    let mut row = DecisionRow::not_measured(
        "A server's throughput (requests that wait)",
        "servers",
        super::servers::SERVERS_COMMAND,
    );
    let groups: Vec<servers::Group> = servers::searches(points)
        .into_iter()
        .filter(|g| g.mode == WaitMode::Own)
        .collect();
    // The search with the most connections: where a thread per connection
    // is tested hardest.
    let Some(group) = groups.iter().max_by_key(|g| g.connections) else {
        return row;
    };
    let models = servers::models(points);
    let best_async = models
        .iter()
        .filter(|m| is_async(m))
        .filter_map(|m| servers::sustained(points, m, group).map(|found| (m.clone(), found)))
        .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0));
    let blocking: Vec<(String, (f64, Option<f64>))> = blocking_compared()
        .iter()
        .filter_map(|m| servers::sustained(points, m, group).map(|found| (m.to_string(), found)))
        .collect();
    row.size = group.title();
    row.command = String::new();
    row.thread_pool = rate_text(thread_pool().and_then(|m| servers::sustained(points, m, group)));
    row.thread_per_task = rate_text(servers::sustained(points, thread_per_task(), group));
    if group.wait_ms > 0.0 {
        let cap = group.connections as f64 / (group.wait_ms / 1e3);
        row.bound = format!(
            "{} connections × a {} ms handler allow at most {} req/s to any model",
            data::count(group.connections),
            data::number(group.wait_ms),
            data::count(cap.round() as u64)
        );
    }
    let Some((async_model, async_found)) = best_async else {
        row.statement = "no async server measured in this search".into();
        return row;
    };
    row.best_async = format!(
        "{} {}",
        model::label(&async_model),
        rate_text(Some(async_found))
    );
    let Some((blocking_model, blocking_found)) = blocking
        .into_iter()
        .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
    else {
        row.statement = "no blocking server measured in this search".into();
        return row;
    };
    // Neither failed: both carried the highest rate offered, so the offered
    // rate bounded the search, not the servers, and a ratio would be
    // 0–∞. Say so instead.
    if async_found.1.is_none() && blocking_found.1.is_none() {
        let top = servers::highest_offered(points, group);
        row.statement = format!(
            "{} and {} both carried the highest rate offered, {} req/s: this run cannot tell them apart",
            model::label(&async_model),
            model::label(&blocking_model),
            data::count(top.round() as u64)
        );
        row.bound = format!(
            "the offered rate ({} req/s at most), not the servers{}",
            data::count(top.round() as u64),
            if row.bound.is_empty() {
                String::new()
            } else {
                format!("; {}", row.bound)
            }
        );
        row.answer = Some(Answer::TooCloseToCall);
        return row;
    }
    match rate_ratio(async_found, blocking_found) {
        Some((ratio, interval)) => {
            row.statement = format!(
                "{} sustained {} the rate {} sustained",
                model::label(&async_model),
                ratio_words(ratio, &interval),
                model::label(&blocking_model)
            );
            row.answer = Some(answer(&interval));
        }
        None => {
            row.statement = "a server sustained no rate: see the servers section".into();
        }
    }
    row
}

fn pitfall_row(points: &[ServerPoint]) -> DecisionRow {
    let mut row = DecisionRow::not_measured(
        "A blocking call inside an async handler",
        "server-modes",
        super::servers::SERVERS_COMMAND,
    );
    let Some(found) = servers::mode_rows(points)
        .into_iter()
        .find(|r| r.block.is_some() && r.runtime.is_some())
    else {
        return row;
    };
    let (Some(block), Some(own)) = (found.block, found.runtime) else {
        return row;
    };
    row.command = String::new();
    row.size = format!("{} connections", data::count(found.connections));
    row.best_async = format!(
        "{}: own wait {}, blocking call {}, offloaded {}",
        model::label(&found.model),
        rate_text(Some(own)),
        rate_text(Some(block)),
        rate_text(found.offload)
    );
    match rate_ratio(block, own) {
        Some((ratio, interval)) => {
            row.statement = format!(
                "with the blocking call {} sustained {} its own wait's rate",
                model::label(&found.model),
                ratio_words(ratio, &interval)
            );
            row.answer = Some(answer(&interval));
        }
        None => {
            row.statement = format!(
                "with the blocking call {} sustained no rate at all",
                model::label(&found.model)
            );
            row.answer = Some(Answer::Hurts);
        }
    }
    row
}

/// The memory row: bytes per task of the leanest async model against a
/// thread per task, from the slopes of peak RSS against waiting tasks.
fn memory_row(dataset: &Dataset) -> DecisionRow {
    let mut row = DecisionRow::not_measured(
        "Memory per waiting task",
        "memory",
        "async-vs-blocking report",
    );
    let slopes: Vec<(String, Interval, f64)> = data::memory_per_unit(dataset)
        .into_iter()
        .filter(|fit| fit.machine == 0)
        .filter_map(|fit| {
            let points = memory_points(dataset, &fit.model)?;
            let interval = slope_interval(&points)?;
            Some((fit.model, interval, fit.fit?.slope))
        })
        .collect();
    let threads = slopes.iter().find(|(m, _, _)| m == thread_per_task());
    let leanest = slopes
        .iter()
        .filter(|(m, _, _)| is_async(m))
        .min_by(|a, b| a.2.total_cmp(&b.2));
    let per_task = |slope: f64, interval: &Interval| {
        if interval.low <= 0.0 {
            "not measurable (below the resolution of these points)".to_string()
        } else {
            format!("{} / task", data::bytes(slope * 1024.0))
        }
    };
    if let Some((_, interval, slope)) = threads {
        row.thread_per_task = per_task(*slope, interval);
    }
    if let Some((model_name, interval, slope)) = leanest {
        row.best_async = format!(
            "{} {}",
            model::label(model_name),
            per_task(*slope, interval)
        );
    }
    let (
        Some((_, threads_interval, threads_slope)),
        Some((model_name, async_interval, async_slope)),
    ) = (threads, leanest)
    else {
        if !slopes.is_empty() {
            row.statement = "too few task counts for a slope's interval".into();
        }
        return row;
    };
    row.command = String::new();
    row.size = "slope of peak RSS against tasks".into();
    match ratio_of_intervals(threads_interval, async_interval) {
        // The async slope's interval reaches zero: its own figure is below
        // what the points resolve, so only the ratio's lower end means
        // anything ("at least").
        Some(interval) if async_interval.low <= 0.0 && interval.low.is_finite() => {
            row.statement = format!(
                "{} used at least {:.2} × less memory per task than a thread per task (its own \
                 slope is below what these points resolve)",
                model::label(model_name),
                interval.low
            );
            row.answer = Some(answer(&interval));
        }
        Some(interval) if *async_slope > 0.0 => {
            let ratio = threads_slope / async_slope;
            row.statement = format!(
                "{} used {} less memory per task than a thread per task",
                model::label(model_name),
                ratio_words(ratio, &interval)
            );
            row.answer = Some(answer(&interval));
        }
        _ => {
            row.statement =
                "a thread's memory per task is not measurable at this resolution".into();
        }
    }
    row
}

/// The (tasks, peak RSS KiB) points the memory fit of `model_name` used.
fn memory_points(dataset: &Dataset, model_name: &str) -> Option<Vec<(f64, f64)>> {
    let variant = dataset
        .variants()
        .into_iter()
        .find(|v| v.workload == "sleep")?;
    let rule = model::memory_rule();
    let series = dataset
        .series(&variant)
        .into_iter()
        .find(|s| s.key.model == model_name && s.key.machine == 0 && s.key.stack_kib.is_none())?;
    Some(
        series
            .ok()
            .filter(|r| rule.counts_for_memory(r))
            .map(|r| (r.tasks as f64, r.peak_rss_kib as f64))
            .collect(),
    )
}

/// Every row of the table, in the order a reader asks.
pub fn rows(dataset: &Dataset, points: &[ServerPoint]) -> Vec<DecisionRow> {
    vec![
        workload_row(
            dataset,
            "sleep",
            "Many tasks that wait",
            "wall-sleep",
            "async-vs-blocking report",
        ),
        workload_row(
            dataset,
            "cpu",
            "Tasks that compute",
            "wall-cpu",
            "async-vs-blocking report",
        ),
        workload_row(
            dataset,
            "mixed",
            "Tasks that wait and compute",
            "wall-mixed",
            "async-vs-blocking report",
        ),
        workload_row(
            dataset,
            "socket",
            "Tasks that wait on a socket",
            "wall-socket",
            "async-vs-blocking sweep --workloads socket --out reports/socket",
        ),
        server_row(points),
        memory_row(dataset),
        pitfall_row(points),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::tests::record;

    fn interval(low: f64, high: f64) -> Interval {
        Interval {
            low,
            high,
            method: IntervalMethod::Bootstrap,
            coverage: 0.95,
        }
    }

    #[test]
    fn each_answer_comes_from_where_the_interval_lies() {
        assert_eq!(answer(&interval(1.6, 2.3)), Answer::Helps);
        assert_eq!(answer(&interval(0.97, 1.04)), Answer::Same);
        assert_eq!(answer(&interval(0.3, 0.5)), Answer::Hurts);
        assert_eq!(answer(&interval(0.9, 1.6)), Answer::TooCloseToCall);
        assert_eq!(
            answer(&interval(1.05, f64::INFINITY)),
            Answer::TooCloseToCall
        );
    }

    #[test]
    fn ratios_read_like_hyperfine() {
        assert_eq!(ratio_words(1.9, &interval(1.6, 2.3)), "1.90 × (1.60–2.30)");
        assert_eq!(
            compare(
                "tokio",
                "threads",
                0.5,
                &interval(0.4, 0.625),
                "ran",
                "faster",
                "slower"
            ),
            "tokio ran 2.00 × (1.60–2.50) slower than threads"
        );
    }

    fn with_repeats(mut r: CellRecord, walls: &[f64]) -> CellRecord {
        r.wall_ms_repeats = walls.to_vec();
        r.wall_ms.median = crate::stats::median(walls);
        r.wall_ms.min = walls.iter().copied().fold(f64::INFINITY, f64::min);
        r.wall_ms.max = walls.iter().copied().fold(0.0, f64::max);
        r
    }

    #[test]
    fn a_waiting_workload_row_says_helps_when_async_is_clearly_faster() {
        let dataset = Dataset::new(vec![
            with_repeats(
                record("sleep", "tokio", 1000, 0.9),
                &[21.0, 22.0, 21.5, 22.5, 21.2],
            ),
            with_repeats(
                record("sleep", "threads", 1000, 0.4),
                &[50.0, 52.0, 55.0, 51.0, 53.0],
            ),
            with_repeats(
                record("sleep", "thread-pool", 1000, 0.1),
                &[200.0, 202.0, 201.0, 205.0, 199.0],
            ),
        ]);
        let rows = rows(&dataset, &[]);
        let sleep = &rows[0];
        assert_eq!(sleep.answer, Some(Answer::Helps), "{sleep:?}");
        assert!(
            sleep.statement.starts_with("tokio ran 2.42 × ("),
            "{}",
            sleep.statement
        );
        assert!(
            sleep.statement.contains("faster than threads"),
            "{}",
            sleep.statement
        );
        assert_eq!(sleep.size, "at 1,000 tasks");
    }

    #[test]
    fn overlapping_repeats_are_too_close_to_call_and_absent_data_say_so() {
        let dataset = Dataset::new(vec![
            with_repeats(record("cpu", "smol", 10, 0.9), &[20.0, 24.0, 21.0]),
            with_repeats(record("cpu", "thread-pool", 10, 0.9), &[21.0, 25.0, 20.5]),
        ]);
        let rows = rows(&dataset, &[]);
        assert_eq!(
            rows[1].answer,
            Some(Answer::TooCloseToCall),
            "{:?}",
            rows[1]
        );
        assert_eq!(rows[0].answer, None);
        assert_eq!(rows[0].statement, "not measured in this run");
        assert!(
            !rows[3].command.is_empty(),
            "a missing row names its command"
        );
    }

    #[test]
    fn one_task_is_never_where_models_differ_most() {
        // At 1 task the async model is far faster (a wide gap), at 10
        // tasks the gap is narrower: the row still compares at 10.
        let dataset = Dataset::new(vec![
            with_repeats(record("cpu", "smol", 1, 0.9), &[0.5, 0.52, 0.51]),
            with_repeats(record("cpu", "thread-pool", 1, 0.5), &[1.5, 1.52, 1.51]),
            with_repeats(record("cpu", "smol", 10, 0.9), &[5.0, 5.2, 5.1]),
            with_repeats(record("cpu", "thread-pool", 10, 0.9), &[5.5, 5.6, 5.55]),
        ]);
        let cpu = &rows(&dataset, &[])[1];
        assert_eq!(cpu.size, "at 10 tasks", "{cpu:?}");
        let only_one = Dataset::new(vec![
            with_repeats(record("cpu", "smol", 1, 0.9), &[0.5, 0.52, 0.51]),
            with_repeats(record("cpu", "thread-pool", 1, 0.5), &[1.5, 1.52, 1.51]),
        ]);
        let cpu = &rows(&only_one, &[])[1];
        assert_eq!(cpu.answer, None, "{cpu:?}");
        assert!(
            cpu.statement
                .contains("one task cannot show a concurrency difference"),
            "{}",
            cpu.statement
        );
    }

    fn server_search(model: &str, rates: &[f64], knee: f64) -> Vec<ServerPoint> {
        rates
            .iter()
            .map(|rate| {
                crate::report::servers::tests::point(
                    model,
                    "/work?wait_ms=20&bytes=64",
                    1000,
                    *rate,
                    *rate <= knee,
                )
            })
            .collect()
    }

    fn server_row_of(points: &[ServerPoint]) -> DecisionRow {
        rows(&Dataset::new(Vec::new()), points)
            .into_iter()
            .find(|row| row.evidence == "servers")
            .unwrap()
    }

    #[test]
    fn servers_that_both_carry_the_top_rate_offered_are_too_close_to_call_bound_by_the_offer() {
        let rates = [2_000.0, 8_000.0, 16_000.0];
        let mut points = server_search("tokio", &rates, 16_000.0);
        points.extend(server_search("threads", &rates, 16_000.0));
        let row = server_row_of(&points);
        assert_eq!(row.answer, Some(Answer::TooCloseToCall), "{row:?}");
        assert!(
            row.statement
                .contains("both carried the highest rate offered, 16,000 req/s"),
            "{}",
            row.statement
        );
        assert!(!row.statement.contains('∞'), "{}", row.statement);
        assert!(row.bound.starts_with("the offered rate"), "{}", row.bound);
    }

    #[test]
    fn a_server_that_carries_more_than_the_other_fails_at_helps() {
        let rates = [2_000.0, 8_000.0, 16_000.0];
        let mut points = server_search("tokio", &rates, 16_000.0);
        points.extend(server_search("threads", &rates, 2_000.0));
        let row = server_row_of(&points);
        // tokio carried 16,000; threads failed at 8,000: at least 2 ×.
        assert_eq!(row.answer, Some(Answer::Helps), "{row:?}");
        assert!(
            row.statement.starts_with("tokio sustained 8.00 × (2.00–∞)"),
            "{}",
            row.statement
        );
    }
}
