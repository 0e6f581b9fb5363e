//! What the charts mark on top of their lines, computed from the data, so a
//! reader sees what a plain line would hide:
//!
//! - a cell disturbed by other programs is drawn with a hollow grey marker
//!   (the lab did not judge it), and the sentence under the chart names it
//!   with the outside load its repeats saw;
//! - two lines that lie on top of each other (thread-pool and rayon on the
//!   sleep workload wait in the same batches) would look like one: the later
//!   is drawn dashed so the earlier shows between its dashes, and the
//!   sentence under the chart says they overlap.

use super::data::{self, Series};
use super::plot::{Axis, Line, Marker, Plot, Stroke};
use crate::record::result::CellRecord;
use plotters::style::{RGBColor, WHITE};

/// The ring of a disturbed cell's marker: grey, so it reads as "not judged"
/// in any model's colour.
pub const DISTURBED_GREY: RGBColor = RGBColor(140, 140, 140);

/// Two lines coincide when, at every task count they share, their points
/// are closer than this share of the plot's height (about a marker's
/// radius on the 620 px charts).
pub const COINCIDE_AXIS_SHARE: f64 = 0.015;

/// The legend row that explains a hollow grey marker.
pub fn disturbed_legend() -> (Line, String) {
    (
        Line {
            label: None,
            colour: DISTURBED_GREY,
            width: 2,
            stroke: Stroke::None,
            marker: Some(Marker {
                shape: super::plot::Shape::Circle,
                filled: false,
            }),
            points: Vec::new(),
            whiskers: Vec::new(),
        },
        "disturbed: not judged".to_string(),
    )
}

/// Draws the disturbed cells of `series` hollow and grey at each of
/// `values` (one per measured line of a series, e.g. p50 and p99): a white
/// marker over the line's filled one, then a grey ring. Returns the
/// sentence for under the chart ("" when nothing was disturbed).
pub fn mark_disturbed(
    plot: &mut Plot,
    series: &[Series],
    values: &[&dyn Fn(&CellRecord) -> f64],
) -> String {
    let mut named = Vec::new();
    for s in series {
        let disturbed: Vec<&CellRecord> = s.ok().filter(|r| r.disturbed).collect();
        if disturbed.is_empty() {
            continue;
        }
        let shape = super::plot::Shape::for_machine(s.key.machine);
        for value in values {
            let points: Vec<(f64, f64)> = disturbed
                .iter()
                .map(|r| (r.tasks as f64, value(r)))
                .collect();
            for (colour, filled) in [(WHITE, true), (DISTURBED_GREY, false)] {
                plot.lines.push(Line {
                    label: None,
                    colour,
                    width: 2,
                    stroke: Stroke::None,
                    marker: Some(Marker { shape, filled }),
                    points: points.clone(),
                    whiskers: Vec::new(),
                });
            }
        }
        named.push(format!(
            "{} at {} tasks ({})",
            s.label,
            data::join_words(
                &disturbed
                    .iter()
                    .map(|r| data::count(r.tasks))
                    .collect::<Vec<_>>()
            ),
            outside_load(&disturbed)
        ));
    }
    if named.is_empty() {
        return String::new();
    }
    plot.legend_notes.push(disturbed_legend());
    format!(
        " Hollow grey markers are cells that other programs disturbed beyond what they \
         tolerate, even after retries, so no verdict is drawn from them: {}.",
        data::join_words(&named)
    )
}

/// The outside load a set of disturbed cells saw, in words: the most other
/// programs used in one repeat, and the most the cells' threads waited for
/// a core where that is judged.
fn outside_load(cells: &[&CellRecord]) -> String {
    let most = cells
        .iter()
        .map(|r| r.conditions.foreign_cpu_cores_max)
        .fold(0.0, f64::max);
    let waited = cells
        .iter()
        .filter(|r| r.conditions.pressure_judged)
        .filter_map(|r| r.conditions.region_waiting_cores_max)
        .reduce(f64::max);
    match waited {
        Some(waited) => format!(
            "other programs used up to {most:.2} cores; its threads waited up to {waited:.2} \
             cores' worth for a core"
        ),
        None => format!("other programs used up to {most:.2} cores"),
    }
}

/// Where on `axis` a value lies, from 0 (bottom) to 1 (top).
fn position(axis: &Axis, value: f64) -> Option<f64> {
    let (start, end) = (axis.range.start, axis.range.end);
    if axis.log {
        (value > 0.0 && start > 0.0 && end > start)
            .then(|| (value.ln() - start.ln()) / (end.ln() - start.ln()))
    } else {
        (end > start).then(|| (value - start) / (end - start))
    }
}

/// True when `a` and `b` share at least two x values and, at each, their
/// points are within [`COINCIDE_AXIS_SHARE`] of the plot's height.
pub fn coincide(axis: &Axis, a: &[(f64, f64)], b: &[(f64, f64)]) -> bool {
    let mut shared = 0;
    for (x, y) in a {
        let Some((_, other)) = b.iter().find(|(bx, _)| (bx - x).abs() < 1e-9) else {
            continue;
        };
        match (position(axis, *y), position(axis, *other)) {
            (Some(p), Some(q)) if (p - q).abs() <= COINCIDE_AXIS_SHARE => shared += 1,
            _ => return false,
        }
    }
    shared >= 2
}

/// Finds measured lines (labelled, solid, with markers) that lie on top of
/// an earlier one, draws each such later line dashed so both show, and
/// returns the sentence for under the chart ("" when none overlap).
pub fn mark_coinciding(plot: &mut Plot) -> String {
    let measured = |line: &Line| {
        line.label.is_some()
            && line.stroke == Stroke::Solid
            && line.marker.is_some()
            && line.points.len() >= 2
    };
    // Each later line joins the group of the first earlier line it lies on.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for later in 1..plot.lines.len() {
        if !measured(&plot.lines[later]) {
            continue;
        }
        let earlier = (0..later).find(|&earlier| {
            measured(&plot.lines[earlier])
                && plot.lines[earlier].stroke == Stroke::Solid
                && coincide(
                    &plot.y,
                    &plot.lines[earlier].points,
                    &plot.lines[later].points,
                )
        });
        if let Some(earlier) = earlier {
            // Dashes mean a reference line; a coinciding pair is shown by
            // casing instead: the earlier line wide beneath the later.
            plot.lines[earlier].width = plot.lines[earlier].width.max(9);
            match groups.iter_mut().find(|(first, _)| *first == earlier) {
                Some((_, laters)) => laters.push(later),
                None => groups.push((earlier, vec![later])),
            }
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let name = |i: usize| plot.lines[i].label.clone().unwrap_or_default();
    let named: Vec<String> = groups
        .iter()
        .map(|(first, laters)| {
            let members: Vec<String> = std::iter::once(*first)
                .chain(laters.iter().copied())
                .map(name)
                .collect();
            data::join_words(&members)
        })
        .collect();
    format!(" On top of each other here: {}.", named.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::{Edge, Shape};

    fn plot(lines: Vec<Line>) -> Plot {
        Plot {
            title: "t".into(),
            x: Axis {
                description: "x".into(),
                log: true,
                range: 1.0..1000.0,
            },
            y: Axis {
                description: "y".into(),
                log: false,
                range: 0.0..1.0,
            },
            x_ticks: None,
            lines,
            unfinished: Vec::new(),
            unfinished_edge: Edge::Top,
            legend_notes: Vec::new(),
            bands: Vec::new(),
        }
    }

    fn line(label: &str, ys: &[f64]) -> Line {
        let points = ys
            .iter()
            .enumerate()
            .map(|(i, y)| (10f64.powi(i as i32), *y))
            .collect();
        Line::measured(label, RGBColor(1, 2, 3), Shape::Circle, points)
    }

    #[test]
    fn lines_on_top_of_each_other_are_told_apart() {
        let mut chart = plot(vec![
            line("thread-pool", &[0.5, 0.9, 0.95]),
            line("tokio", &[0.2, 0.5, 0.9]),
            line("rayon", &[0.5, 0.905, 0.95]),
        ]);
        let note = mark_coinciding(&mut chart);
        assert_eq!(chart.lines[0].stroke, Stroke::Solid);
        assert_eq!(chart.lines[1].stroke, Stroke::Solid);
        assert_eq!(chart.lines[2].stroke, Stroke::Solid);
        assert!(
            chart.lines[0].width > chart.lines[2].width,
            "the earlier of a coinciding pair is drawn wide beneath the later"
        );
        assert!(
            note.contains("On top of each other here: thread-pool and rayon."),
            "{note}"
        );
    }

    #[test]
    fn lines_that_part_anywhere_do_not_coincide() {
        let mut chart = plot(vec![
            line("thread-pool", &[0.5, 0.9, 0.95]),
            line("rayon", &[0.5, 0.9, 0.5]),
        ]);
        assert_eq!(mark_coinciding(&mut chart), "");
        assert_eq!(chart.lines[1].stroke, Stroke::Solid);
        // One shared point is not a line.
        let axis = &chart.y;
        assert!(!coincide(axis, &[(1.0, 0.5)], &[(1.0, 0.5), (10.0, 0.7)]));
    }

    #[test]
    fn disturbed_cells_are_drawn_hollow_and_named_with_their_load() {
        let mut record = crate::report::data::tests::record("cpu", "rayon", 100, 0.5);
        record.disturbed = true;
        record.conditions.foreign_cpu_cores_max = 0.98;
        let series = vec![Series {
            key: data::SeriesKey {
                model: "rayon".into(),
                machine: 0,
                stack_kib: None,
            },
            label: "rayon".into(),
            records: vec![&record],
        }];
        let mut chart = plot(vec![line("rayon", &[0.5])]);
        let note = mark_disturbed(&mut chart, &series, &[&|r: &CellRecord| r.efficiency]);
        assert!(note.contains("rayon at"), "{note}");
        assert!(note.contains("0.98 cores"), "{note}");
        // A white filled marker, then a grey ring, both unlabelled.
        assert_eq!(chart.lines.len(), 3);
        assert_eq!(chart.lines[2].colour, DISTURBED_GREY);
        assert_eq!(chart.lines[2].marker.map(|m| m.filled), Some(false));
        assert_eq!(chart.legend_notes.len(), 1);
        // Nothing disturbed: nothing added.
        let mut calm_record = record.clone();
        calm_record.disturbed = false;
        let calm = vec![Series {
            records: vec![&calm_record],
            ..series[0].clone()
        }];
        let mut chart = plot(Vec::new());
        assert_eq!(
            mark_disturbed(&mut chart, &calm, &[&|r: &CellRecord| r.efficiency]),
            ""
        );
        assert!(chart.lines.is_empty());
    }
}
