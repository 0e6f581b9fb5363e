//! The "Load from several generators, and from Locust" section: points from
//! `load.jsonl` (several `load` processes' interval logs merged, Locust's
//! CSV read back), one row each, with the open-loop and closed-loop rows of
//! one server and request side by side and a sentence comparing them.

use super::data;
use crate::record::load_point::LoadPoint;
use serde::Serialize;

/// Why a closed-loop engine's figures read lower than the lab's, said once.
pub const CLOSED_LOOP_NOTE: &str = "Locust paces its users (closed-loop): each user waits for a \
    reply before its next request, so while a server stalls Locust simply sends less, and its \
    percentiles leave the stall out. The lab's generator keeps its schedule (open-loop) and counts \
    each request's latency from the moment it was due, so the same stall shows in full. A \
    closed-loop figure therefore under-reports stalls; read it beside the open-loop one.";

/// One row of the table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadRow {
    pub engine: String,
    pub request: String,
    pub generators: String,
    pub connections: String,
    pub offered: String,
    pub achieved: String,
    pub p50: String,
    pub p99: String,
    pub max: String,
    pub errors: String,
    pub sources: String,
}

/// The section: rows and the sentences under them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadsView {
    pub rows: Vec<LoadRow>,
    pub sentences: Vec<String>,
    pub closed_loop_note: &'static str,
}

fn engine_words(point: &LoadPoint) -> String {
    match (point.engine.as_str(), point.closed_loop) {
        ("lab", false) => "lab load, open-loop".into(),
        ("locust", true) => "Locust, closed-loop".into(),
        (engine, closed) => format!(
            "{engine}, {}",
            if closed { "closed-loop" } else { "open-loop" }
        ),
    }
}

fn row(point: &LoadPoint) -> LoadRow {
    let generators = match (point.engine.as_str(), point.generators) {
        ("locust", n) => format!("{n} worker{}", if n == 1 { "" } else { "s" }),
        (_, 1) => "1".into(),
        (_, n) => format!("{n}, merged"),
    };
    let answered = point.completed > 0;
    let latency = |ms: f64| {
        if answered {
            format!("{} ms", data::ms(ms))
        } else {
            "no responses".into()
        }
    };
    LoadRow {
        engine: engine_words(point),
        request: format!("{}{}", point.target, point.path),
        generators,
        connections: data::count(point.connections),
        offered: if point.closed_loop {
            format!("aimed at {}", data::number(point.offered_rps))
        } else {
            data::number(point.offered_rps)
        },
        achieved: format!("{:.1}", point.achieved_rps),
        p50: latency(point.latency.p50_ms),
        p99: latency(point.latency.p99_ms),
        max: latency(point.latency.max_ms),
        errors: data::count(point.errors),
        sources: point.sources.join(", "),
    }
}

/// For each request loaded by both an open-loop and a closed-loop engine,
/// one sentence comparing their p99s and rates, from the figures alone.
pub fn side_by_side(points: &[LoadPoint]) -> Vec<String> {
    let mut sentences = Vec::new();
    for open in points.iter().filter(|p| !p.closed_loop && p.completed > 0) {
        for closed in points.iter().filter(|p| {
            p.closed_loop && p.completed > 0 && p.target == open.target && p.path == open.path
        }) {
            let ratio = if closed.latency.p99_ms > 0.0 {
                format!(" (×{:.1})", open.latency.p99_ms / closed.latency.p99_ms)
            } else {
                String::new()
            };
            sentences.push(format!(
                "{}: the open-loop generator measured p99 {} ms at {:.1} req/s; Locust's \
                 closed-loop users measured p99 {} ms{} at {:.1} req/s.",
                open.path,
                data::ms(open.latency.p99_ms),
                open.achieved_rps,
                data::ms(closed.latency.p99_ms),
                ratio,
                closed.achieved_rps
            ));
        }
    }
    sentences
}

/// The section for `points`, or none when there are none. Open-loop rows
/// come first within each request, so the pairs sit together.
pub fn view(points: &[LoadPoint]) -> Option<LoadsView> {
    if points.is_empty() {
        return None;
    }
    let mut ordered: Vec<&LoadPoint> = points.iter().collect();
    ordered.sort_by(|a, b| {
        (&a.target, &a.path, a.closed_loop, a.unix_s).cmp(&(
            &b.target,
            &b.path,
            b.closed_loop,
            b.unix_s,
        ))
    });
    let mut sentences: Vec<String> = points
        .iter()
        .filter(|p| p.generators > 1 && !p.closed_loop)
        .map(|p| {
            format!(
                "{} {} generators merged: rates summed ({:.1} req/s achieved), histograms \
                 added, so the p99 is that of every request any of them sent (percentiles are \
                 never averaged).",
                p.target, p.generators, p.achieved_rps
            )
        })
        .collect();
    sentences.extend(side_by_side(points));
    Some(LoadsView {
        rows: ordered.into_iter().map(row).collect(),
        sentences,
        closed_loop_note: CLOSED_LOOP_NOTE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::server_point::Quantiles;

    fn point(engine: &str, closed: bool, p99: f64, achieved: f64) -> LoadPoint {
        LoadPoint {
            engine: engine.into(),
            closed_loop: closed,
            generators: 2,
            target: "127.0.0.1:8080".into(),
            path: "/work?wait_ms=20&mode=block".into(),
            connections: 10,
            offered_rps: 100.0,
            achieved_rps: achieved,
            completed: (achieved * 5.0) as u64,
            errors: 0,
            latency: Quantiles {
                p50_ms: p99 / 2.0,
                p90_ms: p99 * 0.9,
                p99_ms: p99,
                p999_ms: p99,
                max_ms: p99,
            },
            duration_s: 5.0,
            unix_s: 1,
            sources: vec!["a.hlog".into()],
        }
    }

    #[test]
    fn open_and_closed_loop_rows_of_one_request_sit_together_and_are_compared() {
        let points = vec![
            point("locust", true, 40.0, 45.0),
            point("lab", false, 800.0, 98.0),
        ];
        let view = view(&points).unwrap();
        assert_eq!(view.rows[0].engine, "lab load, open-loop");
        assert_eq!(view.rows[1].engine, "Locust, closed-loop");
        assert_eq!(view.rows[1].generators, "2 workers");
        assert_eq!(view.rows[0].generators, "2, merged");
        assert!(view.rows[1].offered.starts_with("aimed at"));
        let compared = view
            .sentences
            .iter()
            .find(|s| s.contains("Locust"))
            .unwrap();
        assert!(
            compared.contains("p99 800 ms") && compared.contains("p99 40.0 ms"),
            "{compared}"
        );
        assert!(compared.contains("(×20.0)"), "{compared}");
        assert!(view.closed_loop_note.contains("under-reports stalls"));
        assert!(super::view(&[]).is_none());
    }

    #[test]
    fn a_point_with_no_responses_says_so_instead_of_zero_latency() {
        let mut silent = point("lab", false, 0.0, 0.0);
        silent.completed = 0;
        let row = &view(&[silent]).unwrap().rows[0];
        assert_eq!(row.p99, "no responses");
    }
}
