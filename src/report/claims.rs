//! The "Claims on trial" section: the verdicts `async-vs-blocking claims`
//! measured, shown as they were measured, with a chart where the claim
//! carries one (e.g. cpu-starves-io: the probe's p99 delay against the CPU
//! µs between awaits, the 10–100 µs rule of thumb shaded).
//!
//! The report draws claims; it never runs them. A measuring `report` runs
//! them first (the claims' quick budget; `--no-claims` leaves them out, and
//! `--claims` asks for them with `--input` too) and hands them over;
//! otherwise it reads the newest `claims.json` found beside an `--input`
//! file or in the output directory, which `claims` writes. Without one, the
//! section says how to produce it.

use super::charts::Chart;
use super::palette;
use super::plot::{self, Axis, Band, Edge, Line, Plot, Shape, Stroke};
use crate::record::claims::{self as records, CatalogueEntry, ClaimsReport};
use plotters::style::RGBColor;
use std::path::{Path, PathBuf};

/// Claims shown in a report, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundClaims {
    pub report: ClaimsReport,
    /// Where they came from, as the page says it: "Read from PATH" or
    /// "Measured by this report".
    pub source: String,
    /// True only when this report ran the claims itself.
    pub measured_here: bool,
    /// Every claim the lab knows (from whoever found or measured these), so
    /// the page can name the ones this run lacks.
    pub catalogue: Vec<CatalogueEntry>,
}

/// The places a report looks for claims: beside each input, then in `out`.
pub fn candidates(inputs: &[PathBuf], out: &Path) -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = inputs
        .iter()
        .map(|input| {
            input
                .parent()
                .unwrap_or(Path::new("."))
                .join(records::FILE_NAME)
        })
        .collect();
    places.push(out.join(records::FILE_NAME));
    let mut unique = Vec::new();
    for place in places {
        if !unique.contains(&place) {
            unique.push(place);
        }
    }
    unique
}

/// The newest claims run among `places` (by when it started), if any file
/// exists. A file that exists but cannot be read is an error naming it.
/// `catalogue` is every claim the lab knows (`claims::catalogue()`).
pub fn find(
    places: &[PathBuf],
    catalogue: &[CatalogueEntry],
) -> anyhow::Result<Option<FoundClaims>> {
    let mut newest: Option<FoundClaims> = None;
    for place in places.iter().filter(|p| p.is_file()) {
        let report = records::read_claims(place, catalogue)?;
        if newest
            .as_ref()
            .map_or(true, |n| report.started_unix_s > n.report.started_unix_s)
        {
            newest = Some(FoundClaims {
                report,
                source: format!("Read from {}", place.display()),
                measured_here: false,
                catalogue: catalogue.to_vec(),
            });
        }
    }
    Ok(newest)
}

/// The one command that produces the claims for a report written to `out`.
pub fn how_to_measure(out: &Path) -> String {
    if out == Path::new("reports") {
        "async-vs-blocking claims".to_string()
    } else {
        format!("async-vs-blocking claims --out {}", out.display())
    }
}

/// The colour of a claim chart's line: a model's colour where the label
/// names one (e.g. "rayon + oneshot"), the blocking pool's where it is
/// `spawn_blocking`, the runtime's for work inline on tokio; otherwise one
/// of the palette's extra colours by position.
fn line_colour(label: &str, index: usize) -> RGBColor {
    let words: Vec<&str> = label
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .collect();
    let named = crate::model::names()
        .into_iter()
        .find(|model| words.contains(model));
    match named {
        Some(model) => palette::colour(model),
        None if words
            .iter()
            .any(|w| *w == "spawn_blocking" || *w == "unblock") =>
        {
            palette::colour("thread-pool")
        }
        None if words.contains(&"inline") => palette::colour("tokio"),
        None => palette::colour(&format!("claim line {index}")),
    }
}

/// True when a line is a baseline rather than a way of running the work.
fn is_baseline(label: &str) -> bool {
    label.starts_with("idle")
}

/// A claim's chart data as a [`Plot`]: the y axis is logarithmic when the
/// values span more than two decades.
pub fn plot(chart: &records::Chart) -> Plot {
    let xs: Vec<f64> = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p[0]))
        .chain(chart.marks.iter().map(|m| m.x))
        .chain(chart.bands.iter().flat_map(|b| [b.from, b.to]))
        .collect();
    let ys: Vec<f64> = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p[1]))
        .collect();
    let positive: Vec<f64> = ys.iter().copied().filter(|y| *y > 0.0).collect();
    let (low, high) = positive
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), y| {
            (lo.min(*y), hi.max(*y))
        });
    let y_log = positive.len() == ys.len() && !ys.is_empty() && high / low > 100.0;
    let x = if chart.x_log {
        Axis::log_covering(&chart.x_label, xs)
    } else {
        Axis::linear_covering(&chart.x_label, 0.0, 1.0, xs)
    };
    let y = if y_log {
        let description = if chart.y_label.contains("log") {
            chart.y_label.clone()
        } else {
            format!("{} (log scale)", chart.y_label)
        };
        Axis::log_covering(&description, ys)
    } else {
        let floor = if high > 0.0 { 0.0 } else { 1.0 };
        Axis::linear_covering(&chart.y_label, 0.0, floor, ys)
    };
    let shapes = [Shape::Circle, Shape::Triangle, Shape::Square];
    let mut lines: Vec<Line> = Vec::new();
    let mut measured = 0;
    for line in &chart.lines {
        let points: Vec<(f64, f64)> = line.points.iter().map(|p| (p[0], p[1])).collect();
        if is_baseline(&line.label) {
            let mut baseline = Line::reference(&line.label, points);
            baseline.colour = RGBColor(90, 90, 90);
            lines.push(baseline);
        } else {
            lines.push(Line::measured(
                &line.label,
                line_colour(&line.label, measured),
                shapes[measured % shapes.len()],
                points,
            ));
            measured += 1;
        }
    }
    let (y_low, y_high) = (y.range.start, y.range.end);
    for mark in &chart.marks {
        lines.push(Line {
            label: Some(mark.label.clone()),
            colour: RGBColor(110, 110, 110),
            width: 2,
            stroke: Stroke::Dotted,
            marker: None,
            points: vec![(mark.x, y_low), (mark.x, y_high)],
            whiskers: Vec::new(),
        });
    }
    Plot {
        title: chart.title.clone(),
        x,
        y,
        x_ticks: None,
        lines,
        unfinished: Vec::new(),
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: chart
            .bands
            .iter()
            .map(|b| Band {
                from: b.from,
                to: b.to,
                colour: RGBColor(100, 100, 100),
                label: b.label.clone(),
            })
            .collect(),
    }
}

/// The id (and file name stem) of a claim's chart.
pub fn chart_id(claim_id: &str) -> String {
    // Claim ids are read from claims.json: they name files.
    crate::os::output::safe_name(&format!("claim-{claim_id}"))
}

/// The chart of every claim that carries one, with a caption from the
/// claim's own words (the page shows it under the claim's verdict).
pub fn charts(report: &ClaimsReport) -> anyhow::Result<Vec<Chart>> {
    let mut charts = Vec::new();
    for result in &report.claims {
        let Some(chart) = &result.chart else {
            continue;
        };
        let plot = plot(chart);
        let mut caption = format!("{}: {}", result.id, sentence(&result.experiment));
        if !chart.note.is_empty() {
            caption += &format!(" {}", sentence(&chart.note));
        }
        charts.push(Chart {
            id: chart_id(&result.id),
            title: plot.title.clone(),
            caption,
            svg: plot.to_svg()?,
        });
    }
    Ok(charts)
}

/// Text ending with a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// A threshold's value without needless decimals: 0.5, 500, 1.25.
pub fn threshold_value(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.contains('.') {
        text.to_string()
    } else {
        plot::tick(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::claims::{Band, Chart as ClaimChart, Line as ClaimLine};

    fn chart() -> ClaimChart {
        ClaimChart {
            title: "probe".into(),
            x_label: "CPU µs between awaits (log scale)".into(),
            y_label: "probe p99 delay, ms".into(),
            x_log: true,
            lines: vec![
                ClaimLine {
                    label: "inline between awaits".into(),
                    points: vec![[10.0, 0.07], [10_000.0, 38.0]],
                },
                ClaimLine {
                    label: "rayon + oneshot".into(),
                    points: vec![[10.0, 0.08], [10_000.0, 2.5]],
                },
                ClaimLine {
                    label: "idle probe (no CPU load)".into(),
                    points: vec![[10.0, 0.1], [10_000.0, 0.1]],
                },
            ],
            marks: vec![],
            bands: vec![Band {
                from: 10.0,
                to: 100.0,
                label: "rule of thumb: 10–100 µs".into(),
            }],
            note: String::new(),
        }
    }

    #[test]
    fn a_claim_chart_becomes_a_plot_with_its_band_and_a_dashed_baseline() {
        let plot = plot(&chart());
        assert!(plot.x.log);
        assert!(plot.y.log, "0.07 to 38 ms spans more than two decades");
        assert_eq!(plot.y.description, "probe p99 delay, ms (log scale)");
        assert_eq!(plot.bands.len(), 1);
        assert_eq!((plot.bands[0].from, plot.bands[0].to), (10.0, 100.0));
        let idle = plot.lines.iter().find(|l| l.stroke == Stroke::Dashed);
        assert_eq!(
            idle.and_then(|l| l.label.clone()).as_deref(),
            Some("idle probe (no CPU load)")
        );
        assert_eq!(plot.lines[0].colour, palette::colour("tokio"));
        assert_eq!(plot.lines[1].colour, palette::colour("rayon"));
        let svg = plot.to_svg().unwrap();
        assert!(svg.contains("rule of thumb: 10–100 µs"));
    }

    #[test]
    fn a_narrow_range_keeps_a_linear_axis() {
        let mut narrow = chart();
        narrow.lines.truncate(1);
        narrow.lines[0].points = vec![[10.0, 1.0], [100.0, 5.0]];
        assert!(!plot(&narrow).y.log);
    }

    #[test]
    fn the_newest_claims_file_wins_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let report = |started| ClaimsReport {
            machine: crate::record::result::Machine::default(),
            started_unix_s: started,
            seconds: 1.0,
            invocation: String::new(),
            claims: vec![],
        };
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        records::write_claims(&a.join(records::FILE_NAME), &report(200)).unwrap();
        records::write_claims(&b.join(records::FILE_NAME), &report(100)).unwrap();
        let places = candidates(&[a.join("results.jsonl")], &b);
        assert_eq!(places.len(), 2);
        let found = find(&places, &[]).unwrap().unwrap();
        assert_eq!(found.report.started_unix_s, 200);
        assert!(find(&[dir.path().join("none.json")], &[])
            .unwrap()
            .is_none());
        std::fs::write(b.join(records::FILE_NAME), "{").unwrap();
        let error = format!("{:#}", find(&places, &[]).unwrap_err());
        assert!(error.contains("b/claims.json"), "{error}");
    }

    #[test]
    fn threshold_values_read_well() {
        assert_eq!(threshold_value(0.5), "0.5");
        assert_eq!(threshold_value(500.0), "500");
        assert_eq!(threshold_value(1.25), "1.25");
        assert_eq!(threshold_value(10_000.0), "10,000");
    }
}
