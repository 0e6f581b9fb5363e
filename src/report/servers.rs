//! "Servers under load": the server sweep's points (`server.jsonl`) as the
//! report shows them — p99 latency against offered load (the hockey
//! stick), the highest rate each model sustained under the objective,
//! memory and threads against open connections, and a blocking call inside
//! an async handler beside its fix.
//!
//! Every sentence here is computed from the points: which side sustained
//! more and by how much, what a connection cost, how far `mode=block` cut
//! the rate. Nothing is written in advance of the data; a comparison the
//! data do not hold is left out, not guessed. Servers that are not lab
//! models (the Python servers, `py-…`) are drawn and tabled like the rest,
//! labelled "(Python)", and kept out of the async-versus-blocking
//! comparisons, whose sides are the lab's own models.

use super::charts::Chart;
use super::data::{self, count};
use super::palette;
use super::plot::{Axis, Edge, Line, Marker, Plot, Shape, Stroke, Unfinished};
use crate::model::{self, Style};
use crate::record::server_point::{highest_passing, ServerPoint, WaitMode};
use plotters::style::RGBColor;

/// The command that measures the server sweep, for a page without it.
pub const SERVERS_COMMAND: &str =
    "async-vs-blocking sweep --workloads server --out reports/servers";

/// One side sustained "more" only when its highest rate is above the
/// other's by more than this factor: the search's steps are about ×1.2 apart
/// near the knee, so a smaller gap is one step of the search.
pub const CLEARLY_MORE: f64 = 1.2;

/// `mode=block` "cut" the rate when it sustained less than this share of
/// the runtime's own wait; `mode=offload` "restored" it at or above it.
pub const KEPT_SHARE: f64 = 0.8;

/// A model offered at most this many rates in a search ran fixed rates
/// (the default report's quick run), not the doubling-then-bisecting search.
const QUICK_FIXED_RATES_AT_MOST: usize = 3;

/// A search: one model's handler at one connection count.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub handler: String,
    pub connections: u64,
    pub objective_ms: f64,
    pub mode: WaitMode,
    pub wait_ms: f64,
}

impl Group {
    fn of(point: &ServerPoint) -> Group {
        Group {
            handler: point.handler.clone(),
            connections: point.connections,
            objective_ms: point.objective_ms,
            mode: point.mode(),
            wait_ms: point.wait_ms(),
        }
    }

    fn holds(&self, point: &ServerPoint) -> bool {
        point.handler == self.handler && point.connections == self.connections
    }

    /// "wait 20 ms, 1,000 connections".
    pub fn title(&self) -> String {
        format!("{}, {} connections", self.handler, count(self.connections))
    }

    fn id(&self) -> String {
        format!("{}-{}", self.handler, self.connections)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// The legend and table name of a serving model: a lab model's label,
/// a Python server's name with "(Python)", any other name as it is.
pub fn label(model: &str) -> String {
    if model::by_name(model).is_some() {
        model::label(model)
    } else if model.starts_with("py-") {
        format!("{model} (Python)")
    } else {
        model.to_string()
    }
}

/// The style of a lab model; `None` for a server from outside the lab.
fn style(model: &str) -> Option<Style> {
    model::by_name(model).map(|m| m.style())
}

/// The models in the points, lab models in registry order, others after
/// in order of appearance.
pub fn models(points: &[ServerPoint]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for point in points {
        if !names.contains(&point.model) {
            names.push(point.model.clone());
        }
    }
    let lab = model::names();
    names.sort_by_key(|name| {
        lab.iter()
            .position(|n| *n == name.as_str())
            .unwrap_or(usize::MAX)
    });
    names
}

/// Every search in the points, in order of first appearance; a search is
/// a group in which some model was offered several rates.
pub fn searches(points: &[ServerPoint]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for point in points {
        let group = Group::of(point);
        if !groups.iter().any(|g| g.holds(point)) {
            groups.push(group);
        }
    }
    groups.retain(|group| {
        models(points).iter().any(|model| {
            points
                .iter()
                .filter(|p| p.model == *model && group.holds(p))
                .count()
                >= 2
        })
    });
    groups
}

/// True for a point measured with generator and server apart
/// (`--placement apart`: disjoint CPUs, a veth pair between namespaces).
pub fn is_apart(point: &ServerPoint) -> bool {
    point.network.as_deref() == Some("veth")
}

/// The points of `model` in `group`, by offered rate. A model measured
/// both shared and apart is drawn and tabled from its shared points (the
/// sweep's default, like every other model's); [`placement_rows`] sets the
/// two side by side.
fn of<'a>(points: &'a [ServerPoint], model: &str, group: &Group) -> Vec<&'a ServerPoint> {
    let shared_too = points.iter().any(|p| p.model == model && !is_apart(p));
    let mut mine: Vec<&ServerPoint> = points
        .iter()
        .filter(|p| p.model == model && group.holds(p) && !(shared_too && is_apart(p)))
        .collect();
    mine.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    mine
}

/// The highest rate any model was offered in `group`, req/s (0 when none).
pub fn highest_offered(points: &[ServerPoint], group: &Group) -> f64 {
    points
        .iter()
        .filter(|p| group.holds(p))
        .map(|p| p.offered_rps)
        .fold(0.0, f64::max)
}

/// The highest rate `model` sustained in `group`, and the lowest it failed
/// at; `None` when the model was not measured there.
pub fn sustained(points: &[ServerPoint], model: &str, group: &Group) -> Option<(f64, Option<f64>)> {
    let mine = of(points, model, group);
    if mine.is_empty() {
        return None;
    }
    let failed = mine
        .iter()
        .filter(|p| !p.ok)
        .map(|p| p.offered_rps)
        .fold(f64::INFINITY, f64::min);
    Some((
        highest_passing(mine.iter().copied()),
        failed.is_finite().then_some(failed),
    ))
}

/// The best lab model of `side` in `group`, with its highest sustained rate.
fn best_of(points: &[ServerPoint], side: Style, group: &Group) -> Option<(String, f64)> {
    models(points)
        .into_iter()
        .filter(|m| style(m) == Some(side))
        .filter_map(|m| sustained(points, &m, group).map(|(rate, _)| (m, rate)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// "rate req/s", or "no rate (failed at 50 req/s)" when none passed.
fn rate_words(rate: f64, failed_at: Option<f64>) -> String {
    match (rate > 0.0, failed_at) {
        (true, _) => format!("{} req/s", count(rate.round() as u64)),
        (false, Some(failed)) => format!(
            "no rate (it failed already at {} req/s)",
            count(failed.round() as u64)
        ),
        (false, None) => "no rate".to_string(),
    }
}

/// The best async and the best blocking lab server of one search, when
/// both sides were measured.
fn sides(points: &[ServerPoint], group: &Group) -> Option<((String, f64), (String, f64))> {
    Some((
        best_of(points, Style::Async, group)?,
        best_of(points, Style::Blocking, group)?,
    ))
}

/// True when neither model failed in `group` and both passed its highest
/// offered rate: the offer bounded the search, and it cannot tell them apart.
fn both_carried_the_top(points: &[ServerPoint], group: &Group, a: &str, b: &str) -> bool {
    let top = highest_offered(points, group);
    [a, b].iter().all(|model| {
        matches!(sustained(points, model, group), Some((rate, None)) if rate >= top && top > 0.0)
    })
}

/// One sentence over every search: where the best async server sustained
/// clearly more than the best blocking one, and where it did not.
pub fn summary(points: &[ServerPoint]) -> Option<String> {
    let mut helped = Vec::new();
    let mut did_not = Vec::new();
    let mut cannot_tell = Vec::new();
    for group in searches(points).iter().filter(|g| g.mode == WaitMode::Own) {
        if let Some(((async_model, async_rps), (blocking_model, blocking_rps))) =
            sides(points, group)
        {
            if both_carried_the_top(points, group, &async_model, &blocking_model) {
                cannot_tell.push(group.title());
            } else if async_rps > CLEARLY_MORE * blocking_rps {
                helped.push(group.title());
            } else {
                did_not.push(group.title());
            }
        }
    }
    if helped.is_empty() && did_not.is_empty() && cannot_tell.is_empty() {
        return None;
    }
    let untold = if cannot_tell.is_empty() {
        String::new()
    } else {
        format!(
            " In {}, both sides carried the highest rate offered, so the run cannot tell them \
             apart.",
            cannot_tell.join("; ")
        )
    };
    if helped.is_empty() && did_not.is_empty() {
        return Some(untold.trim_start().to_string());
    }
    let helped = if helped.is_empty() {
        format!("Async sustained clearly more (beyond ×{CLEARLY_MORE}) in none of these searches.")
    } else {
        format!(
            "Async sustained clearly more (beyond ×{CLEARLY_MORE}) in: {}.",
            helped.join("; ")
        )
    };
    Some(if did_not.is_empty() {
        format!("{helped}{untold}")
    } else {
        format!("{helped} It did not in: {}.{untold}", did_not.join("; "))
    })
}

/// The sentence comparing the best async and the best blocking server of
/// one search, when both sides were measured.
pub fn comparison(points: &[ServerPoint], group: &Group) -> Option<String> {
    let ((async_model, async_rps), (blocking_model, blocking_rps)) = sides(points, group)?;
    let outcome = if both_carried_the_top(points, group, &async_model, &blocking_model) {
        "both carried the highest rate offered, so this search cannot tell them apart (the \
         offered rate was the bound; offer more to find either's limit)"
            .to_string()
    } else if async_rps > CLEARLY_MORE * blocking_rps {
        if blocking_rps > 0.0 {
            format!("async sustained ×{:.1} more", async_rps / blocking_rps)
        } else {
            "only async sustained a rate".to_string()
        }
    } else if blocking_rps > CLEARLY_MORE * async_rps {
        if async_rps > 0.0 {
            format!("blocking sustained ×{:.1} more", blocking_rps / async_rps)
        } else {
            "only blocking sustained a rate".to_string()
        }
    } else {
        format!("within ×{CLEARLY_MORE} of each other: async does not help here")
    };
    Some(format!(
        "{}: the best async server ({}) sustained {} with p99 under {} ms, the best blocking \
         server ({}) {} — {outcome}.",
        group.title(),
        label(&async_model),
        rate_words(async_rps, None),
        data::number(group.objective_ms),
        label(&blocking_model),
        rate_words(blocking_rps, None),
    ))
}

/// What `model` used at each connection count: (connections, peak RSS
/// KiB, most threads, failure), the largest over its points there. The
/// `mode=` searches run other handlers and are left out.
pub fn footprint(points: &[ServerPoint], model: &str) -> Vec<(u64, u64, u64, Option<String>)> {
    let mut rows: Vec<(u64, u64, u64, Option<String>)> = Vec::new();
    for point in points
        .iter()
        .filter(|p| p.model == model && p.mode() == WaitMode::Own)
    {
        match rows.iter_mut().find(|row| row.0 == point.connections) {
            Some(row) => {
                row.1 = row.1.max(point.server_peak_rss_kib);
                row.2 = row.2.max(point.server_threads);
                if row.3.is_none() {
                    row.3 = point.failure.clone();
                }
            }
            None => rows.push((
                point.connections,
                point.server_peak_rss_kib,
                point.server_threads,
                point.failure.clone(),
            )),
        }
    }
    // Open is not served: a server that took every connection but met the
    // objective at none of its points there (rayon's jobs queued behind
    // blocked workers) did not hold them in any sense a client cares about.
    for row in rows.iter_mut().filter(|row| row.3.is_none()) {
        let at_count: Vec<&ServerPoint> = points
            .iter()
            .filter(|p| p.model == model && p.mode() == WaitMode::Own)
            .filter(|p| p.connections == row.0)
            .collect();
        if at_count.iter().any(|p| p.ok) {
            continue;
        }
        if let Some(best) = at_count
            .iter()
            .max_by(|a, b| a.achieved_rps.total_cmp(&b.achieved_rps))
        {
            let kinds = best
                .error_kinds
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect::<Vec<_>>()
                .join(", ");
            row.3 = Some(format!(
                "the connections were open, but it answered {:.0} of {:.0} req/s offered{}",
                best.achieved_rps,
                best.offered_rps,
                if kinds.is_empty() {
                    String::new()
                } else {
                    format!(" ({kinds})")
                }
            ));
        }
    }
    rows.sort_by_key(|row| row.0);
    rows
}

/// Resident memory per open connection, KiB: the slope between the fewest
/// and the most connections `model` held (`None` with fewer than two counts).
pub fn kib_per_connection(points: &[ServerPoint], model: &str) -> Option<f64> {
    let rows = footprint(points, model);
    let held: Vec<&(u64, u64, u64, Option<String>)> =
        rows.iter().filter(|row| row.3.is_none()).collect();
    let (first, last) = (held.first()?, held.last()?);
    (last.0 > first.0).then(|| (last.1 as f64 - first.1 as f64) / (last.0 - first.0) as f64)
}

/// Sentences on memory and threads per connection, from the points.
pub fn footprint_sentences(points: &[ServerPoint]) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut per_connection: Vec<(String, f64)> = Vec::new();
    for model in models(points) {
        let rows = footprint(points, &model);
        let Some(largest) = rows.last() else {
            continue;
        };
        match &largest.3 {
            Some(failure) => sentences.push(format!(
                "{} could not serve {} connections: {failure}.",
                label(&model),
                count(largest.0)
            )),
            None => {
                let slope = kib_per_connection(points, &model);
                if let Some(slope) = slope {
                    per_connection.push((model.clone(), slope));
                }
                sentences.push(format!(
                    "{} held {} connections with {:.1} MiB resident and {} threads{}.",
                    label(&model),
                    count(largest.0),
                    largest.1 as f64 / 1024.0,
                    count(largest.2),
                    slope
                        .map(|kib| format!(" (about {kib:.1} KiB more per connection)"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    let side = |wanted: Style| {
        per_connection
            .iter()
            .filter(|(m, _)| style(m) == Some(wanted))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .cloned()
    };
    let hungriest_blocking = per_connection
        .iter()
        .filter(|(m, _)| style(m) == Some(Style::Blocking))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .cloned();
    if let (Some((blocking, blocking_kib)), Some((asynchronous, async_kib))) =
        (hungriest_blocking, side(Style::Async))
    {
        let ratio = if async_kib > 0.0 {
            format!(" (×{:.0})", blocking_kib / async_kib)
        } else {
            String::new()
        };
        sentences.push(if blocking_kib > CLEARLY_MORE * async_kib.max(0.0) {
            format!(
                "Memory per connection: {} took {blocking_kib:.1} KiB per open connection, {} \
                 {async_kib:.1} KiB{ratio} — many open connections are where async saves memory.",
                label(&blocking),
                label(&asynchronous)
            )
        } else {
            format!(
                "Memory per connection: {} took {blocking_kib:.1} KiB per open connection, {} \
                 {async_kib:.1} KiB — no clear saving from async here.",
                label(&blocking),
                label(&asynchronous)
            )
        });
    }
    sentences
}

/// One async model's waiting handler three ways at one connection count:
/// the runtime's own wait, `mode=block` and `mode=offload`, each as
/// (highest sustained, lowest failed).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeRow {
    pub model: String,
    pub connections: u64,
    pub runtime: Option<(f64, Option<f64>)>,
    pub block: Option<(f64, Option<f64>)>,
    pub offload: Option<(f64, Option<f64>)>,
}

/// The rows of the block/offload comparison: every model and connection
/// count with a `mode=block` or `mode=offload` search.
pub fn mode_rows(points: &[ServerPoint]) -> Vec<ModeRow> {
    let groups = searches(points);
    let mut rows = Vec::new();
    for model in models(points) {
        let mut counts: Vec<u64> = points
            .iter()
            .filter(|p| p.model == model && p.mode() != WaitMode::Own)
            .map(|p| p.connections)
            .collect();
        counts.sort_unstable();
        counts.dedup();
        for connections in counts {
            let find = |mode: WaitMode| {
                groups
                    .iter()
                    .filter(|g| g.connections == connections && g.mode == mode && g.wait_ms > 0.0)
                    .find_map(|g| sustained(points, &model, g))
            };
            rows.push(ModeRow {
                model: model.clone(),
                connections,
                runtime: find(WaitMode::Own),
                block: find(WaitMode::Block),
                offload: find(WaitMode::Offload),
            });
        }
    }
    rows
}

/// The sentence for one [`ModeRow`]: how far a blocking call inside the
/// task cut the rate, and whether the blocking pool restored it.
pub fn mode_sentence(row: &ModeRow) -> Option<String> {
    let (runtime, _) = row.runtime?;
    let (block, block_failed) = row.block?;
    // The calls each server's mode= makes: a Python server blocks with
    // time.sleep and offloads with run_in_executor.
    let (blocking_call, holder, pool) = if row.model.starts_with("py-") {
        (
            "time.sleep inside the async handler",
            "the blocked event loop holds every request queued behind it",
            "the event loop's thread pool (run_in_executor)",
        )
    } else {
        (
            "std::thread::sleep inside the task",
            "a blocked worker thread holds every task queued behind it",
            "the runtime's blocking pool",
        )
    };
    let mut sentence = format!(
        "{}, {} connections: with the runtime's own wait it sustained {}; ",
        label(&row.model),
        count(row.connections),
        rate_words(runtime, None)
    );
    sentence += &if block < KEPT_SHARE * runtime {
        let cut = if block > 0.0 {
            format!(" (×{:.1} fewer)", runtime / block)
        } else {
            String::new()
        };
        format!(
            "{blocking_call} (mode=block) cut that to {}{cut}: {holder}",
            rate_words(block, block_failed)
        )
    } else {
        format!(
            "{blocking_call} (mode=block) did not cut it here ({})",
            rate_words(block, block_failed)
        )
    };
    if let Some((offload, offload_failed)) = row.offload {
        sentence += &if offload >= KEPT_SHARE * runtime {
            format!(
                "; {pool} (mode=offload) restored {}",
                rate_words(offload, offload_failed)
            )
        } else {
            format!(
                "; {pool} (mode=offload) reached {}, still below its own wait",
                rate_words(offload, offload_failed)
            )
        };
    }
    Some(sentence + ".")
}

/// One search of a model measured both shared and apart.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementRow {
    pub model: String,
    pub search: String,
    /// Highest sustained rate and lowest failed one, each way.
    pub shared: (f64, Option<f64>),
    pub apart: (f64, Option<f64>),
    /// The apart points' server and generator CPUs.
    pub cpus: (String, String),
}

fn sustained_where(
    points: &[ServerPoint],
    model: &str,
    group: &Group,
    apart: bool,
) -> Option<(f64, Option<f64>)> {
    let mine: Vec<ServerPoint> = points
        .iter()
        .filter(|p| is_apart(p) == apart)
        .cloned()
        .collect();
    sustained(&mine, model, group)
}

/// For every model with points both shared and apart, each search it ran
/// both ways: what sharing the cores over loopback did to its knee.
pub fn placement_rows(points: &[ServerPoint]) -> Vec<PlacementRow> {
    let mut rows = Vec::new();
    for model in models(points) {
        let Some(first_apart) = points.iter().find(|p| p.model == model && is_apart(p)) else {
            continue;
        };
        for group in searches(points) {
            let (Some(shared), Some(apart)) = (
                sustained_where(points, &model, &group, false),
                sustained_where(points, &model, &group, true),
            ) else {
                continue;
            };
            rows.push(PlacementRow {
                model: model.clone(),
                search: group.title(),
                shared,
                apart,
                cpus: (
                    first_apart.server_cpus.clone().unwrap_or_default(),
                    first_apart.generator_cpus.clone().unwrap_or_default(),
                ),
            });
        }
    }
    rows
}

/// The row in words; "within a step of the search" unless one way
/// sustained more than [`CLEARLY_MORE`] times the other.
pub fn placement_sentence(row: &PlacementRow) -> String {
    let (shared, apart) = (row.shared.0, row.apart.0);
    let verdict = if shared > 0.0 && apart > CLEARLY_MORE * shared {
        format!("apart it sustained ×{:.1} as much", apart / shared)
    } else if apart > 0.0 && shared > CLEARLY_MORE * apart {
        format!("sharing, it sustained ×{:.1} as much", shared / apart)
    } else if shared > 0.0 && apart > 0.0 {
        "the two are within a step of the search".to_string()
    } else {
        "one way no rate passed, so they are not compared".to_string()
    };
    format!(
        "{}, {}: {} sharing every core over loopback, {} apart (server on CPUs {}, generator on CPUs {}, over a veth pair); {verdict}.",
        label(&row.model),
        row.search,
        rate_words(row.shared.0, row.shared.1),
        rate_words(row.apart.0, row.apart.1),
        row.cpus.0,
        row.cpus.1,
    )
}

/// Every verdict sentence of the section, computed from the points: where
/// async sustained more and where not, for each search the best async
/// against the best blocking server, then
/// memory and threads per connection, then each blocking call beside its fix.
pub fn verdicts(points: &[ServerPoint]) -> Vec<String> {
    let mut sentences: Vec<String> = summary(points).into_iter().collect();
    sentences.extend(
        searches(points)
            .iter()
            .filter(|g| g.mode == WaitMode::Own)
            .filter_map(|g| comparison(points, g)),
    );
    sentences.extend(footprint_sentences(points));
    sentences.extend(mode_rows(points).iter().filter_map(mode_sentence));
    sentences.extend(placement_rows(points).iter().map(placement_sentence));
    sentences
}

/// The objective as a dashed horizontal line across `x`.
fn objective_line(objective_ms: f64, x: &Axis) -> Line {
    Line::reference(
        &format!("objective: p99 ≤ {} ms", data::number(objective_ms)),
        vec![(x.range.start, objective_ms), (x.range.end, objective_ms)],
    )
}

/// p99 of a point, or `None` when it has none to draw (nothing completed,
/// or the point could not run as asked).
fn drawable_p99(point: &ServerPoint) -> Option<f64> {
    (point.failure.is_none() && point.latency.p99_ms > 0.0).then_some(point.latency.p99_ms)
}

/// The (offered rate, p99) line of `model`'s points, gathering every rate
/// for the axis, every drawn p99 for its range, and the points with no
/// p99 to mark as unfinished.
fn trace(
    mine: &[&ServerPoint],
    model: &str,
    rates: &mut Vec<f64>,
    values: &mut Vec<f64>,
    unfinished: &mut Vec<Unfinished>,
) -> Vec<(f64, f64)> {
    let mut line_points = Vec::new();
    for point in mine {
        rates.push(point.offered_rps);
        match drawable_p99(point) {
            Some(p99) => {
                values.push(p99);
                line_points.push((point.offered_rps, p99));
            }
            None => unfinished.push(Unfinished {
                x: point.offered_rps,
                colour: palette::colour(model),
            }),
        }
    }
    line_points
}

/// The hockey stick of one search: p99 against offered load per model.
fn latency_chart(points: &[ServerPoint], group: &Group) -> anyhow::Result<Chart> {
    let names = models(points);
    let mut lines = Vec::new();
    let mut unfinished = Vec::new();
    let mut rates = Vec::new();
    let mut values = vec![group.objective_ms];
    for model in &names {
        let mine = of(points, model, group);
        if mine.is_empty() {
            continue;
        }
        let line_points = trace(&mine, model, &mut rates, &mut values, &mut unfinished);
        lines.push(Line::measured(
            &label(model),
            palette::colour(model),
            Shape::Circle,
            line_points,
        ));
    }
    let x = Axis::log_covering("offered load, requests per second (log scale)", rates);
    let mut reference = vec![objective_line(group.objective_ms, &x)];
    let cap = (group.wait_ms > 0.0).then(|| group.connections as f64 * 1e3 / group.wait_ms);
    let y = Axis::log_covering("p99 latency from the due time, ms (log scale)", values);
    if let Some(cap) = cap.filter(|cap| x.range.contains(cap)) {
        reference.push(Line {
            label: Some(format!(
                "connections ÷ wait = {} req/s",
                count(cap.round() as u64)
            )),
            colour: RGBColor(110, 110, 110),
            width: 2,
            stroke: Stroke::Dashed,
            marker: None,
            points: vec![(cap, y.range.start), (cap, y.range.end)],
            whiskers: Vec::new(),
        });
    }
    lines.extend(reference);
    let plot = Plot {
        title: format!("p99 vs offered load — {}", group.title()),
        x,
        y,
        x_ticks: None,
        lines,
        unfinished,
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let floor = if group.wait_ms > 0.0 {
        format!(
            "the floor is the handler's own {} ms wait",
            data::number(group.wait_ms)
        )
    } else {
        "the floor is the handler's own compute".to_string()
    };
    let cap_words = match cap {
        Some(cap) => format!(
            " With one request in flight per connection, {} connections cannot carry more than \
             {} req/s of this handler (dashed grey), whatever the model.",
            count(group.connections),
            count(cap.round() as u64)
        ),
        None => String::new(),
    };
    let finding = comparison(points, group)
        .map(|sentence| format!(" {sentence}"))
        .unwrap_or_default();
    // Say how the rates were chosen from the points themselves: the full
    // sweep's search offers many rates per model, the quick run a few
    // fixed ones.
    let most_rates = models(points)
        .iter()
        .map(|m| of(points, m, group).len())
        .max()
        .unwrap_or(0);
    let how = if most_rates > QUICK_FIXED_RATES_AT_MOST {
        "the rate doubles until p99 (from each request's due time, so stalls count) passes the \
         objective (dashed), then the search bisects"
            .to_string()
    } else {
        let mut rates: Vec<f64> = points
            .iter()
            .filter(|p| group.holds(p))
            .map(|p| p.offered_rps)
            .collect();
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        format!(
            "each model was offered {} req/s (fixed rates, no search); p99 counts from each \
             request's due time, so stalls count, against the objective (dashed)",
            data::join_words(
                &rates
                    .iter()
                    .map(|r| count(r.round() as u64))
                    .collect::<Vec<_>>()
            )
        )
    };
    let caption = format!(
        "Each model's server under open-loop load: {how}; {floor}.{cap_words}{finding} \
         Crosses: points that could not run as asked."
    );
    Chart::new(format!("server-latency-{}", group.id()), &plot, caption)
}

/// Server memory or threads against open connections, one line per model.
fn footprint_chart(points: &[ServerPoint], threads: bool) -> anyhow::Result<Chart> {
    let mut lines = Vec::new();
    let mut unfinished = Vec::new();
    let mut xs = Vec::new();
    let mut values = Vec::new();
    for model in models(points) {
        let rows = footprint(points, &model);
        let mut line_points = Vec::new();
        for (connections, rss_kib, thread_count, failure) in rows {
            xs.push(connections as f64);
            if failure.is_some() {
                unfinished.push(Unfinished {
                    x: connections as f64,
                    colour: palette::colour(&model),
                });
                continue;
            }
            let value = if threads {
                thread_count.max(1) as f64
            } else {
                rss_kib as f64 / 1024.0
            };
            values.push(value);
            line_points.push((connections as f64, value));
        }
        lines.push(Line::measured(
            &label(&model),
            palette::colour(&model),
            Shape::Circle,
            line_points,
        ));
    }
    let x = Axis::log_covering("open connections (log scale)", xs);
    let (title, y, id, caption) = if threads {
        (
            "Server threads vs open connections".to_string(),
            Axis::log_covering("most threads in the server (log scale)", values),
            "server-threads",
            "The most OS threads the server process had while the load ran. A thread per \
             connection follows the connections; a pool or an async runtime keeps its few \
             workers however many connections are open.",
        )
    } else {
        (
            "Server memory vs open connections".to_string(),
            Axis::log_covering("server peak resident memory, MiB (log scale)", values),
            "server-memory",
            "The server process's peak resident memory (VmHWM) at each number of open \
             keep-alive connections (the largest count mostly idle). What each connection \
             costs is the slope: a thread's touched stack and bookkeeping, or a task's state \
             and buffers.",
        )
    };
    let findings = footprint_sentences(points).join(" ");
    let plot = Plot {
        title,
        x,
        y,
        x_ticks: None,
        lines,
        unfinished,
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    Chart::new(id.to_string(), &plot, format!("{caption} {findings}"))
}

/// The line style of a wait mode on the block/offload chart.
fn mode_stroke(mode: WaitMode) -> (Stroke, bool) {
    match mode {
        WaitMode::Own => (Stroke::Solid, true),
        WaitMode::Block => (Stroke::Dotted, false),
        WaitMode::Offload => (Stroke::Dashed, true),
    }
}

/// p99 against offered load for each async model's waiting handler three
/// ways (own wait, mode=block, mode=offload) at one connection count.
fn mode_chart(points: &[ServerPoint], connections: u64) -> anyhow::Result<Chart> {
    let groups: Vec<Group> = searches(points)
        .into_iter()
        .filter(|g| g.connections == connections && g.wait_ms > 0.0)
        .collect();
    let mode_models: Vec<String> = mode_rows(points)
        .into_iter()
        .filter(|row| row.connections == connections)
        .map(|row| row.model)
        .collect();
    let mut lines = Vec::new();
    let mut unfinished = Vec::new();
    let mut rates = Vec::new();
    let mut values = Vec::new();
    let mut objective = None;
    for model in &mode_models {
        for group in &groups {
            let mine = of(points, model, group);
            if mine.is_empty() {
                continue;
            }
            objective = Some(group.objective_ms);
            let line_points = trace(&mine, model, &mut rates, &mut values, &mut unfinished);
            let (stroke, filled) = mode_stroke(group.mode);
            lines.push(Line {
                label: None,
                colour: palette::colour(model),
                width: 3,
                stroke,
                marker: Some(Marker {
                    shape: Shape::Circle,
                    filled,
                }),
                points: line_points,
                whiskers: Vec::new(),
            });
        }
    }
    // One legend row per model (its colour), and one per line style.
    let mut legend = Vec::new();
    for model in &mode_models {
        legend.push((
            Line::measured(
                &label(model),
                palette::colour(model),
                Shape::Circle,
                Vec::new(),
            ),
            label(model),
        ));
    }
    for (mode, words) in [
        (WaitMode::Own, "solid: the runtime's own wait"),
        (WaitMode::Block, "dotted: mode=block"),
        (WaitMode::Offload, "dashed: mode=offload"),
    ] {
        let (stroke, filled) = mode_stroke(mode);
        legend.push((
            Line {
                label: None,
                colour: RGBColor(60, 60, 60),
                width: 3,
                stroke,
                marker: Some(Marker {
                    shape: Shape::Circle,
                    filled,
                }),
                points: Vec::new(),
                whiskers: Vec::new(),
            },
            words.to_string(),
        ));
    }
    let x = Axis::log_covering("offered load, requests per second (log scale)", rates);
    if let Some(objective_ms) = objective {
        values.push(objective_ms);
        lines.push(objective_line(objective_ms, &x));
    }
    let plot = Plot {
        title: format!(
            "A blocking call in an async handler, and its fix — {} connections",
            count(connections)
        ),
        x,
        y: Axis::log_covering("p99 latency from the due time, ms (log scale)", values),
        x_ticks: None,
        lines,
        unfinished,
        unfinished_edge: Edge::Top,
        legend_notes: legend,
        bands: Vec::new(),
    };
    let findings: Vec<String> = mode_rows(points)
        .iter()
        .filter(|row| row.connections == connections)
        .filter_map(mode_sentence)
        .collect();
    let caption = format!(
        "The same waiting handler in each async server three ways: the runtime's own timer \
         (solid), std::thread::sleep inside the task (dotted: the pitfall — the sleep holds a \
         worker thread, so only as many requests wait at once as the runtime has workers), and \
         the sleep moved to the runtime's blocking pool with spawn_blocking or unblock (dashed: \
         the fix; a Python server blocks with time.sleep and offloads with run_in_executor). {}",
        findings.join(" ")
    );
    Chart::new(format!("server-modes-{connections}"), &plot, caption)
}

/// The section's charts, in the order the page shows them: the latency
/// charts of the shared handlers, memory and threads against connections,
/// then the block/offload charts.
pub fn charts(points: &[ServerPoint]) -> anyhow::Result<Vec<Chart>> {
    let mut charts = Vec::new();
    if points.is_empty() {
        return Ok(charts);
    }
    for group in searches(points).iter().filter(|g| g.mode == WaitMode::Own) {
        charts.push(latency_chart(points, group)?);
    }
    charts.push(footprint_chart(points, false)?);
    charts.push(footprint_chart(points, true)?);
    let mut mode_counts: Vec<u64> = mode_rows(points).iter().map(|r| r.connections).collect();
    mode_counts.sort_unstable();
    mode_counts.dedup();
    for connections in mode_counts {
        charts.push(mode_chart(points, connections)?);
    }
    Ok(charts)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::record::server_point::Quantiles;
    use std::collections::BTreeMap;

    pub fn point(model: &str, path: &str, connections: u64, rate: f64, ok: bool) -> ServerPoint {
        let handler = match path {
            p if p.contains("mode=block") => "wait 20 ms, mode=block",
            p if p.contains("mode=offload") => "wait 20 ms, mode=offload",
            p if p.contains("cpu_us") => "compute 1 ms",
            _ => "wait 20 ms",
        };
        ServerPoint {
            workload: "server".into(),
            model: model.into(),
            handler: handler.into(),
            path: path.into(),
            objective_ms: if path.contains("cpu_us") { 5.0 } else { 100.0 },
            offered_rps: rate,
            achieved_rps: rate,
            connections,
            latency: Quantiles {
                p99_ms: if ok { 21.0 } else { 900.0 },
                ..Quantiles::default()
            },
            service: Quantiles::default(),
            errors: 0,
            error_kinds: BTreeMap::new(),
            ok,
            failure: None,
            server_peak_rss_kib: 8_192,
            server_threads: 4,
            server_cpu_s: 1.0,
            generator_behind_p99_ms: 0.1,
            generator_cpu_s: 0.5,
            shares_cores: true,
            foreign_cpu_cores: Some(0.0),
            unix_s: 0,
            measured_s: None,
            p99_converged: None,
            server_cpus: None,
            generator_cpus: None,
            network: None,
            generator_host: None,
        }
    }

    const WAIT: &str = "/work?wait_ms=20&bytes=64";

    fn search(model: &str, path: &str, connections: u64, knee: f64) -> Vec<ServerPoint> {
        [50.0, 100.0, 200.0, 400.0, 800.0, 1600.0]
            .iter()
            .map(|rate| point(model, path, connections, *rate, *rate <= knee))
            .collect()
    }

    #[test]
    fn the_comparison_names_the_side_that_sustained_more_or_calls_it_even() {
        let mut points = search("tokio", WAIT, 1000, 1600.0);
        points.extend(search("thread-pool", WAIT, 1000, 100.0));
        points.extend(search("tokio", WAIT, 10, 400.0));
        points.extend(search("threads", WAIT, 10, 400.0));
        let sentences = verdicts(&points);
        let many = sentences
            .iter()
            .find(|s| s.starts_with("wait 20 ms, 1,000 connections"))
            .unwrap();
        assert!(
            many.contains("(tokio) sustained 1,600 req/s")
                && many.contains("async sustained ×16.0 more"),
            "{many}"
        );
        let few = sentences
            .iter()
            .find(|s| s.starts_with("wait 20 ms, 10 connections"))
            .unwrap();
        assert!(few.contains("async does not help here"), "{few}");
        assert_eq!(
            sentences[0],
            "Async sustained clearly more (beyond ×1.2) in: wait 20 ms, 1,000 connections. \
             It did not in: wait 20 ms, 10 connections."
        );
        let mut blocking_ahead = search("smol", "/work?cpu_us=1000&bytes=64", 10, 200.0);
        blocking_ahead.extend(search("threads", "/work?cpu_us=1000&bytes=64", 10, 800.0));
        let sentence = &verdicts(&blocking_ahead)[1];
        assert!(
            sentence.contains("blocking sustained ×4.0 more"),
            "{sentence}"
        );
    }

    #[test]
    fn memory_per_connection_is_the_slope_and_a_refusal_is_named() {
        let mut points = Vec::new();
        for (model, small, large, threads) in [
            ("threads", 5_000, 105_000, 10_002),
            ("tokio", 6_000, 26_000, 4),
        ] {
            let mut few = point(model, WAIT, 10, 100.0, true);
            few.server_peak_rss_kib = small;
            let mut many = point(model, WAIT, 10_000, 100.0, true);
            many.server_peak_rss_kib = large;
            many.server_threads = threads;
            points.extend([few, many]);
        }
        assert!(
            (kib_per_connection(&points, "threads").unwrap() - 100_000.0 / 9_990.0).abs() < 1e-9
        );
        let sentences = footprint_sentences(&points);
        assert!(
            sentences[0].contains("threads held 10,000 connections")
                && sentences[0].contains("10,002 threads"),
            "{sentences:?}"
        );
        let last = sentences.last().unwrap();
        assert!(
            last.contains("async saves memory") && last.contains("(×5)"),
            "{last}"
        );
        let mut refused = point("threads", WAIT, 10_000, 100.0, false);
        refused.failure = Some("only 5000 of 10000 connections were open: vm.max_map_count".into());
        let sentences = footprint_sentences(&[refused]);
        assert!(
            sentences[0].contains("could not serve 10,000")
                && sentences[0].contains("vm.max_map_count"),
            "{sentences:?}"
        );
        // Every connection open but none answered in time: not "held".
        let mut queued = point("rayon", WAIT, 10_000, 100.0, false);
        queued.achieved_rps = 0.0;
        queued.error_kinds.insert("timeout".into(), 300);
        let sentences = footprint_sentences(&[queued]);
        assert!(
            sentences[0].contains("rayon could not serve 10,000 connections")
                && sentences[0].contains("answered 0 of 100 req/s offered (300 timeout)"),
            "{sentences:?}"
        );
    }

    #[test]
    fn a_blocking_call_is_shown_beside_its_fix_with_the_numbers() {
        let mut points = search("tokio", WAIT, 10, 400.0);
        points.extend(search(
            "tokio",
            "/work?wait_ms=20&bytes=64&mode=block",
            10,
            50.0,
        ));
        points.extend(search(
            "tokio",
            "/work?wait_ms=20&bytes=64&mode=offload",
            10,
            400.0,
        ));
        let rows = mode_rows(&points);
        assert_eq!(rows.len(), 1);
        let sentence = mode_sentence(&rows[0]).unwrap();
        assert!(
            sentence.contains("cut that to 50 req/s (×8.0 fewer)"),
            "{sentence}"
        );
        assert!(sentence.contains("restored 400 req/s"), "{sentence}");
        // When blocking did not hurt, the sentence says so instead.
        let mut even = search("smol", WAIT, 10, 400.0);
        even.extend(search(
            "smol",
            "/work?wait_ms=20&bytes=64&mode=block",
            10,
            400.0,
        ));
        let sentence = mode_sentence(&mode_rows(&even)[0]).unwrap();
        assert!(sentence.contains("did not cut it here"), "{sentence}");
        // A Python server is told in its own calls, not in Rust's.
        let mut python = search("py-aiohttp", WAIT, 10, 400.0);
        python.extend(search(
            "py-aiohttp",
            "/work?wait_ms=20&bytes=64&mode=block",
            10,
            50.0,
        ));
        let sentence = mode_sentence(&mode_rows(&python)[0]).unwrap();
        assert!(
            sentence.contains("time.sleep inside the async handler (mode=block) cut that")
                && !sentence.contains("std::thread"),
            "{sentence}"
        );
        let charts = charts(&points).unwrap();
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "server-latency-wait-20-ms-10",
                "server-memory",
                "server-threads",
                "server-modes-10"
            ]
        );
    }

    #[test]
    fn servers_from_outside_the_lab_are_drawn_labelled_and_kept_out_of_the_comparison() {
        let mut points = search("py-aiohttp", WAIT, 10, 200.0);
        points.extend(search("go-net-http", WAIT, 10, 400.0));
        points.extend(search("tokio", WAIT, 10, 400.0));
        assert_eq!(label("py-aiohttp"), "py-aiohttp (Python)");
        assert_eq!(label("async-std"), "async-std (legacy)");
        // No blocking lab model: no async-versus-blocking sentence.
        assert!(verdicts(&points)
            .iter()
            .all(|s| !s.contains("best blocking")));
        let charts = charts(&points).unwrap();
        assert!(charts[0].svg.contains("py-aiohttp (Python)"));
        assert!(charts[0].svg.contains("go-net-http"));
    }

    #[test]
    fn no_points_no_charts() {
        assert!(charts(&[]).unwrap().is_empty());
        assert!(verdicts(&[]).is_empty());
    }

    #[test]
    fn servers_that_both_carry_the_top_rate_are_not_said_to_be_equal() {
        let mut points = search("tokio", WAIT, 1000, 1600.0);
        points.extend(search("threads", WAIT, 1000, 1600.0));
        let group = &searches(&points)[0];
        let sentence = comparison(&points, group).unwrap();
        assert!(sentence.contains("cannot tell them apart"), "{sentence}");
        assert!(!sentence.contains("does not help"), "{sentence}");
        let summary = summary(&points).unwrap();
        assert!(summary.contains("cannot tell them apart"), "{summary}");
        assert!(!summary.contains("did not"), "{summary}");
        // A knee inside the offer is still compared.
        let mut points = search("tokio", WAIT, 1000, 1600.0);
        points.extend(search("threads", WAIT, 1000, 400.0));
        let sentence = comparison(&points, &searches(&points)[0]).unwrap();
        assert!(sentence.contains("async sustained ×4.0 more"), "{sentence}");
    }

    #[test]
    fn a_model_measured_shared_and_apart_is_compared_and_tabled_from_its_shared_points() {
        let placed = |rate: f64, ok: bool, apart: bool| {
            let mut p = point("tokio", "/work?wait_ms=20&bytes=64", 1_000, rate, ok);
            if apart {
                p.network = Some("veth".into());
                p.server_cpus = Some("0".into());
                p.generator_cpus = Some("1".into());
            }
            p
        };
        let points = vec![
            placed(10_000.0, true, false),
            placed(20_000.0, false, false),
            placed(10_000.0, true, true),
            placed(14_000.0, true, true),
            placed(20_000.0, false, true),
        ];
        let rows = placement_rows(&points);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].shared.0, rows[0].apart.0), (10_000.0, 14_000.0));
        let sentence = placement_sentence(&rows[0]);
        assert!(sentence.contains("×1.4 as much"), "{sentence}");
        assert!(
            sentence.contains("CPUs 0") && sentence.contains("veth"),
            "{sentence}"
        );
        // The main table keeps to the shared points.
        let group = &searches(&points)[0];
        assert_eq!(
            sustained(&points, "tokio", group),
            Some((10_000.0, Some(20_000.0)))
        );
        // Close knees are a step of the search, not a difference.
        let close = PlacementRow {
            apart: (11_000.0, None),
            ..rows[0].clone()
        };
        assert!(placement_sentence(&close).contains("within a step"));
        // Without apart points there is nothing to compare.
        assert!(placement_rows(&points[..2]).is_empty());
    }
}
