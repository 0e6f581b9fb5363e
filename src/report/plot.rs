//! A small, data-driven line chart drawn with plotters' SVG backend.
//!
//! Every chart of the report is a [`Plot`]: axes, coloured lines with
//! markers and min–max whiskers, black dashed reference lines (the ideal,
//! a limit), shaded bands over a span of x (a rule of thumb's range),
//! crosses for cells that did not finish, and a legend in a strip to the
//! right of the plot so it never hides data. Text is written as SVG
//! `<text>` with a generic `sans-serif` family, so the browser picks a font:
//! no font file is read or embedded (plotters' font features stay off, as
//! they break criterion).

use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

/// Size of every chart's viewBox, in px.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 620;

const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 34;
const AXIS_DESC_SIZE: u32 = 27;
const TICK_SIZE: u32 = 24;
const LEGEND_SIZE: u32 = 23;
/// Rough width of one legend character at `LEGEND_SIZE`, for sizing the strip.
const LEGEND_CHAR_PX: u32 = 11;
/// Height of one legend (key) row, px.
const KEY_ROW_PX: i32 = 34;
/// The least distance between two end labels' centres, px (the label text
/// is `LEGEND_SIZE` tall).
const END_LABEL_GAP_PX: i32 = 26;
/// How strongly a band's colour shades the plot (0 = not at all, 1 = opaque).
const BAND_OPACITY: f64 = 0.16;

/// One axis: log or linear, over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub description: String,
    pub log: bool,
    pub range: Range<f64>,
}

impl Axis {
    /// A log axis that covers `values` with some room on both ends.
    pub fn log_covering(description: &str, values: impl IntoIterator<Item = f64>) -> Axis {
        let (low, high) = bounds(values.into_iter().filter(|v| *v > 0.0));
        let (low, high) = if low.is_finite() {
            (low, high)
        } else {
            (1.0, 10.0)
        };
        Axis {
            description: description.to_string(),
            log: true,
            range: low / 1.6..(high * 1.6).max(low * 4.0),
        }
    }

    /// A linear axis from `low` up to cover `values` (and at least `min_high`).
    pub fn linear_covering(
        description: &str,
        low: f64,
        min_high: f64,
        values: impl IntoIterator<Item = f64>,
    ) -> Axis {
        let (_, high) = bounds(values.into_iter());
        let high = if high.is_finite() {
            high.max(min_high)
        } else {
            min_high
        };
        Axis {
            description: description.to_string(),
            log: false,
            range: low..high * 1.08,
        }
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Marker shapes: one per machine when records come from several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Triangle,
    Square,
    Cross,
}

impl Shape {
    /// The shape for machine `index`.
    pub fn for_machine(index: usize) -> Shape {
        [Shape::Circle, Shape::Triangle, Shape::Square, Shape::Cross][index % 4]
    }
}

/// A marker drawn at every point of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub shape: Shape,
    pub filled: bool,
}

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    /// Long dashes: the ideal or a physical limit.
    Dashed,
    /// Short dashes: a threshold or a secondary measure.
    Dotted,
    /// Markers only, no connecting line.
    None,
}

/// A line (or set of points) on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text; `None` keeps the line out of the legend.
    pub label: Option<String>,
    pub colour: RGBColor,
    pub width: u32,
    pub stroke: Stroke,
    pub marker: Option<Marker>,
    pub points: Vec<(f64, f64)>,
    /// Vertical whiskers: (x, low, high), e.g. min and max over repeats.
    pub whiskers: Vec<(f64, f64, f64)>,
}

impl Line {
    /// A measured series: solid, with markers.
    pub fn measured(label: &str, colour: RGBColor, shape: Shape, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: Some(label.to_string()),
            colour,
            width: 3,
            stroke: Stroke::Solid,
            marker: Some(Marker {
                shape,
                filled: true,
            }),
            points,
            whiskers: Vec::new(),
        }
    }

    /// A reference line (the ideal, a limit): black, dashed, no markers.
    pub fn reference(label: &str, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: Some(label.to_string()),
            colour: BLACK,
            width: 3,
            stroke: Stroke::Dashed,
            marker: None,
            points,
            whiskers: Vec::new(),
        }
    }
}

/// Where a "did not finish" cross goes: the top of the chart (it took
/// longer than anything shown) or the bottom (it achieved nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Top,
    Bottom,
}

/// A cell that failed or timed out, drawn as a cross at its task count.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub x: f64,
    pub colour: RGBColor,
}

/// A shaded vertical band over a span of x (e.g. a rule of thumb's range),
/// with its edges drawn as thin lines so it survives printing in grey.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub colour: RGBColor,
    /// Legend text.
    pub label: String,
}

/// A whole chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    /// Labels at chosen x positions instead of numbers (categorical x).
    pub x_ticks: Option<Vec<(f64, String)>>,
    pub lines: Vec<Line>,
    pub unfinished: Vec<Unfinished>,
    pub unfinished_edge: Edge,
    /// Extra legend rows that explain styles (e.g. "solid: p50").
    pub legend_notes: Vec<(Line, String)>,
    /// Shaded spans of x, drawn behind the lines.
    pub bands: Vec<Band>,
}

/// An axis with tick marks exactly where the report wants them (plotters'
/// own choice leaves a log axis spanning less than two decades with one label).
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

trait IntoRanged: AsRangedCoord<Value = f64> + Sized {
    fn into_ranged(self) -> Self::CoordDescType {
        self.into()
    }
}

impl<T: AsRangedCoord<Value = f64>> IntoRanged for T {}

trait Tick: Ranged<ValueType = f64> + Sized {
    fn ticked(self, ticks: Vec<f64>) -> Ticked<Self> {
        Ticked { inner: self, ticks }
    }
}

impl<T: Ranged<ValueType = f64>> Tick for T {}

type DrawResult<T> = anyhow::Result<T>;

fn err<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {error:?}")
}

/// Tick positions for an axis, at most about `most` of them: for a log
/// axis 1-2-5 steps per decade (fewer when the axis spans many decades,
/// more when it spans less than one); for a linear axis a round step.
pub fn axis_ticks(axis: &Axis, most: usize) -> Vec<f64> {
    let Range { start, end } = axis.range;
    if axis.log {
        let first = start.log10().floor() as i32;
        let last = end.log10().ceil() as i32;
        let within = |mantissas: &[f64]| -> Vec<f64> {
            (first..=last)
                .flat_map(|exp| mantissas.iter().map(move |m| m * 10f64.powi(exp)))
                .filter(|v| *v >= start * 0.999 && *v <= end * 1.001)
                .collect()
        };
        let mut ticks = within(&[1.0, 2.0, 5.0]);
        if ticks.len() < 3 {
            ticks = within(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        if ticks.len() > most {
            ticks = within(&[1.0, 3.0]);
        }
        if ticks.len() > most {
            ticks = within(&[1.0]);
        }
        ticks
    } else {
        let rough = (end - start) / most.max(2) as f64;
        let magnitude = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|step| *step >= rough)
            .unwrap_or(magnitude * 10.0);
        let mut ticks = Vec::new();
        let mut value = (start / step).ceil() * step;
        while value <= end + step * 1e-9 {
            ticks.push(if value.abs() < step * 1e-9 {
                0.0
            } else {
                value
            });
            value += step;
        }
        ticks
    }
}

/// Formats an axis value: integers with separators, small values with decimals.
pub fn tick(value: f64) -> String {
    if value >= 1000.0 {
        super::data::count(value.round() as u64)
    } else if value >= 10.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// An exact value shown on hover: an invisible circle over a data point
/// with an SVG `<title>` (browsers show it as a tooltip; no script).
#[derive(Debug, Clone, PartialEq)]
pub struct Tip {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// Escapes text for an SVG element's content.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Plot {
    /// Draws the chart as a standalone SVG document.
    pub fn to_svg(&self) -> DrawResult<String> {
        self.to_svg_with_tips(&[])
    }

    /// Draws the chart with hover tips over the given data points.
    pub fn to_svg_with_tips(&self, tips: &[Tip]) -> DrawResult<String> {
        let mut svg = String::new();
        let at_tips: Vec<(i32, i32)>;
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let root = root
                .titled(
                    &self.title,
                    (FONT, TITLE_SIZE).into_font().style(FontStyle::Bold),
                )
                .map_err(err)?;
            let (plot_area, legend_area) = root.split_horizontally(WIDTH - self.legend_width());
            let x_ticks = match &self.x_ticks {
                Some(ticks) => ticks.iter().map(|(at, _)| *at).collect(),
                None => axis_ticks(&self.x, 6),
            };
            let y_ticks = axis_ticks(&self.y, 9);
            let (x_range, y_range) = (self.x.range.clone(), self.y.range.clone());
            let at = match (self.x.log, self.y.log) {
                (true, true) => self.draw_on(
                    &plot_area,
                    x_range.log_scale().into_ranged().ticked(x_ticks),
                    y_range.log_scale().into_ranged().ticked(y_ticks),
                    tips,
                )?,
                (true, false) => self.draw_on(
                    &plot_area,
                    x_range.log_scale().into_ranged().ticked(x_ticks),
                    y_range.into_ranged().ticked(y_ticks),
                    tips,
                )?,
                (false, true) => self.draw_on(
                    &plot_area,
                    x_range.into_ranged().ticked(x_ticks),
                    y_range.log_scale().into_ranged().ticked(y_ticks),
                    tips,
                )?,
                (false, false) => self.draw_on(
                    &plot_area,
                    x_range.into_ranged().ticked(x_ticks),
                    y_range.into_ranged().ticked(y_ticks),
                    tips,
                )?,
            };
            self.draw_end_labels(&plot_area, &legend_area, &at.ends)?;
            self.draw_legend(&legend_area)?;
            at_tips = at.tips;
            root.present().map_err(err)?;
        }
        if !tips.is_empty() {
            let mut layer = String::from("<g class=\"tips\" fill=\"transparent\">\n");
            for ((x, y), tip) in at_tips.iter().zip(tips) {
                layer += &format!(
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"14\"><title>{}</title></circle>\n",
                    xml_text(&tip.text)
                );
            }
            layer += "</g>\n";
            if let Some(end) = svg.rfind("</svg>") {
                svg.insert_str(end, &layer);
            }
        }
        Ok(svg)
    }

    fn legend_rows(&self) -> Vec<(Line, String)> {
        let mut rows: Vec<(Line, String)> = self
            .lines
            .iter()
            .filter_map(|l| l.label.clone().map(|label| (l.clone(), label)))
            .collect();
        rows.extend(self.legend_notes.iter().cloned());
        if !self.unfinished.is_empty() {
            let cross = Line {
                label: None,
                colour: BLACK,
                width: 3,
                stroke: Stroke::None,
                marker: Some(Marker {
                    shape: Shape::Cross,
                    filled: true,
                }),
                points: Vec::new(),
                whiskers: Vec::new(),
            };
            rows.push((cross, "did not finish (in its colour)".to_string()));
        }
        rows
    }

    fn legend_width(&self) -> u32 {
        let longest = self
            .legend_rows()
            .iter()
            .map(|(_, label)| label.as_str())
            .chain(self.bands.iter().map(|b| b.label.as_str()))
            .map(|label| label.chars().count() as u32)
            .max()
            .unwrap_or(0);
        (longest * LEGEND_CHAR_PX + 80).clamp(160, 400)
    }

    fn draw_on<X, Y>(
        &self,
        area: &DrawingArea<SVGBackend, Shift>,
        x_spec: X,
        y_spec: Y,
        tips: &[Tip],
    ) -> DrawResult<Drawn>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(72)
            .y_label_area_size(96)
            .build_cartesian_2d(x_spec, y_spec)
            .map_err(err)?;
        let ticks = self.x_ticks.clone();
        let x_formatter = move |value: &f64| match &ticks {
            Some(ticks) => ticks
                .iter()
                .find(|(at, _)| (at - value).abs() < 1e-6)
                .map(|(_, label)| label.clone())
                .unwrap_or_default(),
            None => tick(*value),
        };
        let y_formatter = |value: &f64| tick(*value);
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.x.description.as_str())
            .y_desc(self.y.description.as_str())
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .label_style((FONT, TICK_SIZE))
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .bold_line_style(RGBColor(215, 215, 215));
        if self.x_ticks.is_some() {
            mesh.disable_x_mesh();
        }
        mesh.draw().map_err(err)?;

        let Range { start, end } = self.y.range;
        for band in &self.bands {
            let from = band.from.clamp(self.x.range.start, self.x.range.end);
            let to = band.to.clamp(self.x.range.start, self.x.range.end);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, start), (to, end)],
                    band.colour.mix(BAND_OPACITY).filled(),
                )))
                .map_err(err)?;
            for x in [from, to] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, start), (x, end)],
                        ShapeStyle::from(&band.colour).stroke_width(1),
                    )))
                    .map_err(err)?;
            }
        }

        for line in &self.lines {
            let style = ShapeStyle::from(&line.colour).stroke_width(line.width);
            let points = line.points.clone();
            match line.stroke {
                Stroke::Solid => {
                    chart
                        .draw_series(LineSeries::new(points, style))
                        .map_err(err)?;
                }
                Stroke::Dashed => {
                    chart
                        .draw_series(DashedLineSeries::new(points, 14, 9, style))
                        .map_err(err)?;
                }
                Stroke::Dotted => {
                    chart
                        .draw_series(DashedLineSeries::new(points, 5, 7, style))
                        .map_err(err)?;
                }
                Stroke::None => {}
            }
            for (x, low, high) in &line.whiskers {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*x, *low), (*x, *high)],
                        ShapeStyle::from(&line.colour).stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            if let Some(marker) = line.marker {
                for point in &line.points {
                    draw_marker(&mut chart, *point, marker, line.colour, 7)?;
                }
            }
        }
        // Just inside the plot area, so the cross is never clipped.
        let fraction = match self.unfinished_edge {
            Edge::Top => 0.95,
            Edge::Bottom => 0.05,
        };
        let y_edge = if self.y.log {
            (start.ln() + fraction * (end.ln() - start.ln())).exp()
        } else {
            start + fraction * (end - start)
        };
        for cell in &self.unfinished {
            draw_marker(
                &mut chart,
                (cell.x, y_edge),
                Marker {
                    shape: Shape::Cross,
                    filled: true,
                },
                cell.colour,
                11,
            )?;
        }
        let ends = self
            .end_labelled()
            .iter()
            .map(|line| {
                line.points
                    .iter()
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|end| chart.backend_coord(end))
            })
            .collect();
        Ok(Drawn {
            tips: tips
                .iter()
                .map(|tip| chart.backend_coord(&(tip.x, tip.y)))
                .collect(),
            ends,
        })
    }

    /// True when the lines are named at their right ends instead of in a
    /// legend: a numeric x axis, and every named line has a point.
    fn labels_at_ends(&self) -> bool {
        self.x_ticks.is_none()
            && self
                .lines
                .iter()
                .filter(|l| l.label.is_some())
                .all(|l| !l.points.is_empty())
    }

    /// The lines named at their ends, in drawing order.
    fn end_labelled(&self) -> Vec<&Line> {
        if !self.labels_at_ends() {
            return Vec::new();
        }
        self.lines.iter().filter(|l| l.label.is_some()).collect()
    }

    /// The strip's rows that are not a line's end label: style notes, the
    /// "did not finish" cross (the legend rows when labels are not at ends).
    fn key_rows(&self) -> Vec<(Line, String)> {
        if self.labels_at_ends() {
            // legend_rows lists the named lines first, then notes and the cross.
            let named = self.lines.iter().filter(|l| l.label.is_some()).count();
            self.legend_rows().into_iter().skip(named).collect()
        } else {
            self.legend_rows()
        }
    }

    /// Names each line at its right end: the label sits in the strip at the
    /// height of the line's last point, nudged apart from its neighbours so
    /// no two overlap, with a thin leader from the point to the label.
    fn draw_end_labels(
        &self,
        plot_area: &DrawingArea<SVGBackend, Shift>,
        strip: &DrawingArea<SVGBackend, Shift>,
        ends: &[Option<(i32, i32)>],
    ) -> DrawResult<()> {
        let lines = self.end_labelled();
        let (_, base_y) = strip.get_base_pixel();
        let (plot_x, _) = plot_area.get_base_pixel();
        let (plot_width, plot_height) = plot_area.dim_in_pixel();
        let (plot_width, plot_height) = (plot_width as i32, plot_height as i32);
        let strip_height = strip.dim_in_pixel().1 as i32;
        let key_height = (self.key_rows().len() + self.bands.len()) as i32 * KEY_ROW_PX;
        // (line, x within the plot area, y) of each line's last point.
        let wanted: Vec<EndPoint> = ends
            .iter()
            .enumerate()
            .filter_map(|(index, end)| end.map(|(x, y)| (index, x - plot_x, y - base_y)))
            .collect();
        // The right of the data: the last point of a measured line (one with
        // markers); a reference line drawn across the whole axis ends later
        // and is named in the strip with them.
        let measured_right = wanted
            .iter()
            .filter(|w| lines[w.0].marker.is_some())
            .map(|w| w.1)
            .max();
        let right = measured_right
            .or_else(|| wanted.iter().map(|w| w.1).max())
            .unwrap_or(0);
        // Lines that reach the right of the chart are named in the strip, with
        // a leader; a line that stops earlier (a cell left out beyond it) is
        // named just right of its last point, so no leader crosses the plot.
        // Each group is nudged apart on its own.
        let mut groups: Vec<(i32, Vec<EndPoint>)> = Vec::new();
        for point in &wanted {
            let column = if point.1 >= right - 2 { right } else { point.1 };
            match groups.iter_mut().find(|(x, _)| (x - column).abs() <= 2) {
                Some((_, members)) => members.push(*point),
                None => groups.push((column, vec![*point])),
            }
        }
        for (column, members) in groups {
            let in_strip = column == right;
            let (low, high) = if in_strip {
                (
                    END_LABEL_GAP_PX / 2,
                    strip_height - key_height - END_LABEL_GAP_PX / 2,
                )
            } else {
                (END_LABEL_GAP_PX / 2, plot_height - END_LABEL_GAP_PX)
            };
            let placed = nudge_apart(
                &members.iter().map(|(_, _, y)| *y).collect::<Vec<_>>(),
                END_LABEL_GAP_PX,
                low,
                high,
            );
            for ((index, x, y), label_y) in members.iter().zip(placed) {
                let line = lines[*index];
                let leader = ShapeStyle::from(&line.colour.mix(0.6)).stroke_width(1);
                let colour = if line.colour == BLACK || is_muted(line.colour) {
                    RGBColor(80, 80, 80)
                } else {
                    BLACK
                };
                let label = Text::new(
                    line.label.clone().unwrap_or_default(),
                    if in_strip {
                        (10, label_y)
                    } else {
                        (x + 14, label_y)
                    },
                    legend_font().color(&colour),
                );
                if in_strip {
                    plot_area
                        .draw(&PathElement::new(
                            vec![(x + 9, *y), (plot_width - 1, label_y)],
                            leader,
                        ))
                        .map_err(err)?;
                    strip
                        .draw(&PathElement::new(vec![(0, label_y), (6, label_y)], leader))
                        .map_err(err)?;
                    strip.draw(&label).map_err(err)?;
                } else {
                    plot_area.draw(&label).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    fn draw_legend(&self, area: &DrawingArea<SVGBackend, Shift>) -> DrawResult<()> {
        let row_height = KEY_ROW_PX;
        let rows = self.key_rows();
        let top = if self.labels_at_ends() {
            // Below the end labels: the strip's last rows.
            area.dim_in_pixel().1 as i32 - (rows.len() + self.bands.len()) as i32 * row_height
                + row_height / 2
                - 8
        } else {
            40
        };
        for (index, (line, label)) in rows.iter().enumerate() {
            let y = top + index as i32 * row_height;
            let style = ShapeStyle::from(&line.colour).stroke_width(line.width);
            let (x0, x1) = (6, 52);
            match line.stroke {
                Stroke::Solid => area
                    .draw(&PathElement::new(vec![(x0, y), (x1, y)], style))
                    .map_err(err)?,
                Stroke::Dashed | Stroke::Dotted => {
                    let (dash, gap) = if line.stroke == Stroke::Dashed {
                        (12, 6)
                    } else {
                        (5, 6)
                    };
                    let mut x = x0;
                    while x < x1 {
                        area.draw(&PathElement::new(
                            vec![(x, y), ((x + dash).min(x1), y)],
                            style,
                        ))
                        .map_err(err)?;
                        x += dash + gap;
                    }
                }
                Stroke::None => {}
            }
            if let Some(marker) = line.marker {
                draw_pixel_marker(area, ((x0 + x1) / 2, y), marker, line.colour, 7)?;
            }
            area.draw(&Text::new(label.clone(), (x1 + 10, y), legend_font()))
                .map_err(err)?;
        }
        for (index, band) in self.bands.iter().enumerate() {
            let y = top + (rows.len() + index) as i32 * row_height;
            let (x0, x1) = (6, 52);
            area.draw(&Rectangle::new(
                [(x0, y - 11), (x1, y + 11)],
                band.colour.mix(BAND_OPACITY).filled(),
            ))
            .map_err(err)?;
            area.draw(&Rectangle::new(
                [(x0, y - 11), (x1, y + 11)],
                ShapeStyle::from(&band.colour).stroke_width(1),
            ))
            .map_err(err)?;
            area.draw(&Text::new(band.label.clone(), (x1 + 10, y), legend_font()))
                .map_err(err)?;
        }
        Ok(())
    }
}

/// Where `draw_on` put things, in the backend's pixels: each tip's point,
/// and the last point of each line named at its end (in drawing order).
struct Drawn {
    tips: Vec<(i32, i32)>,
    ends: Vec<Option<(i32, i32)>>,
}

/// A named line's last point: (its index among the named lines, x, y).
type EndPoint = (usize, i32, i32);

/// The grey of lines a chart shows for context only (see [`MUTED`]).
pub const MUTED: RGBColor = RGBColor(178, 178, 178);

fn is_muted(colour: RGBColor) -> bool {
    colour == MUTED
}

/// Positions for labels that want to sit at `wanted` (any order), each at
/// least `gap` from the next and all within `low..=high`: walking down from
/// the top, each label is pushed below the one above it; walking up from the
/// bottom, each is pulled above the one below. Returned in `wanted`'s order.
/// When they cannot all fit, the gap shrinks to what fits.
pub fn nudge_apart(wanted: &[i32], gap: i32, low: i32, high: i32) -> Vec<i32> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| (wanted[i], i));
    let count = wanted.len() as i32;
    let gap = if count > 1 {
        gap.min((high - low).max(0) / (count - 1))
    } else {
        gap
    };
    let mut placed: Vec<i32> = order.iter().map(|&i| wanted[i].clamp(low, high)).collect();
    for k in 1..placed.len() {
        placed[k] = placed[k].max(placed[k - 1] + gap);
    }
    if let Some(last) = placed.last_mut() {
        *last = (*last).min(high);
    }
    for k in (0..placed.len().saturating_sub(1)).rev() {
        placed[k] = placed[k].min(placed[k + 1] - gap);
    }
    let mut result = vec![0; wanted.len()];
    for (k, &i) in order.iter().enumerate() {
        result[i] = placed[k].max(low.min(high));
    }
    result
}

fn legend_font() -> TextStyle<'static> {
    (FONT, LEGEND_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ))
}

fn marker_style(colour: RGBColor, filled: bool) -> ShapeStyle {
    if filled {
        colour.filled()
    } else {
        ShapeStyle::from(&colour).stroke_width(2)
    }
}

fn draw_marker<X, Y>(
    chart: &mut ChartContext<SVGBackend, Cartesian2d<X, Y>>,
    at: (f64, f64),
    marker: Marker,
    colour: RGBColor,
    size: i32,
) -> DrawResult<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = marker_style(colour, marker.filled);
    let result = match marker.shape {
        Shape::Circle => chart
            .draw_series(std::iter::once(Circle::new(at, size, style)))
            .map(|_| ()),
        Shape::Triangle => chart
            .draw_series(std::iter::once(TriangleMarker::new(at, size + 1, style)))
            .map(|_| ()),
        Shape::Square => chart
            .draw_series(std::iter::once(
                EmptyElement::at(at) + Rectangle::new([(-size, -size), (size, size)], style),
            ))
            .map(|_| ()),
        Shape::Cross => chart
            .draw_series(std::iter::once(Cross::new(
                at,
                size,
                ShapeStyle::from(&colour).stroke_width(4),
            )))
            .map(|_| ()),
    };
    result.map_err(err)
}

fn draw_pixel_marker(
    area: &DrawingArea<SVGBackend, Shift>,
    at: (i32, i32),
    marker: Marker,
    colour: RGBColor,
    size: i32,
) -> DrawResult<()> {
    let style = marker_style(colour, marker.filled);
    let result = match marker.shape {
        Shape::Circle => area.draw(&Circle::new(at, size, style)),
        Shape::Triangle => area.draw(&TriangleMarker::new(at, size + 1, style)),
        Shape::Square => area.draw(&Rectangle::new(
            [(at.0 - size, at.1 - size), (at.0 + size, at.1 + size)],
            style,
        )),
        Shape::Cross => area.draw(&Cross::new(
            at,
            size,
            ShapeStyle::from(&colour).stroke_width(4),
        )),
    };
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_labels_are_nudged_apart_and_kept_in_the_strip() {
        // Three lines ending at almost the same height, one far below.
        let placed = nudge_apart(&[100, 104, 98, 400], 26, 10, 500);
        let mut sorted = placed.clone();
        sorted.sort();
        assert!(sorted.windows(2).all(|w| w[1] - w[0] >= 26), "{placed:?}");
        assert_eq!(placed[3], 400, "a label with room stays at its line");
        // Crowded at the bottom: pulled up, still apart, none below `high`.
        let placed = nudge_apart(&[495, 496, 497], 26, 10, 500);
        assert!(placed.iter().all(|y| (10..=500).contains(y)), "{placed:?}");
        let mut sorted = placed.clone();
        sorted.sort();
        assert!(sorted.windows(2).all(|w| w[1] - w[0] >= 26), "{placed:?}");
        // More labels than fit: the gap shrinks, order and bounds hold.
        let placed = nudge_apart(&[50; 30], 26, 0, 290);
        assert!(placed.iter().all(|y| (0..=290).contains(y)));
        assert!(placed.windows(2).all(|w| w[1] - w[0] >= 10), "{placed:?}");
    }

    #[test]
    fn a_chart_names_its_lines_at_their_ends_and_keeps_the_key_for_styles() {
        let plot = Plot {
            title: "t".into(),
            x: Axis::log_covering("x", [1.0, 1000.0]),
            y: Axis::log_covering("y", [1.0, 100.0]),
            x_ticks: None,
            lines: vec![
                Line::measured(
                    "alpha",
                    RGBColor(0, 0, 200),
                    Shape::Circle,
                    vec![(1.0, 2.0), (1000.0, 50.0)],
                ),
                Line::measured(
                    "beta",
                    MUTED,
                    Shape::Circle,
                    vec![(1.0, 2.0), (1000.0, 51.0)],
                ),
                Line::reference("ideal", vec![(1.0, 1.0), (1000.0, 1.0)]),
            ],
            unfinished: vec![Unfinished {
                x: 10.0,
                colour: BLACK,
            }],
            unfinished_edge: Edge::Top,
            legend_notes: Vec::new(),
            bands: Vec::new(),
        };
        assert!(plot.labels_at_ends());
        assert_eq!(plot.end_labelled().len(), 3);
        let key: Vec<String> = plot.key_rows().into_iter().map(|(_, l)| l).collect();
        assert_eq!(key, vec!["did not finish (in its colour)".to_string()]);
        let svg = plot.to_svg().unwrap();
        for label in ["alpha", "beta", "ideal", "did not finish"] {
            assert!(svg.contains(label), "{label} missing");
        }
        // A reference across the whole axis (beyond the last data point) is
        // named in the strip beside the lines that reach the right, and a
        // line that stops early is named inside the plot.
        let mut plot = plot;
        plot.lines[2].points = vec![(plot.x.range.start, 1.0), (plot.x.range.end, 1.0)];
        plot.lines.push(Line::measured(
            "early",
            RGBColor(200, 0, 0),
            Shape::Circle,
            vec![(1.0, 3.0), (10.0, 30.0)],
        ));
        let svg = plot.to_svg().unwrap();
        let x_of = |label: &str| -> f64 {
            // plotters writes a text's content on a line of its own.
            let end = svg.find(&format!("\n{label}\n</text>")).expect(label);
            let start = svg[..end].rfind("<text").unwrap();
            let tag = &svg[start..end];
            let x = &tag[tag.find(" x=\"").unwrap() + 4..];
            x[..x.find('"').unwrap()].parse().unwrap()
        };
        assert_eq!(x_of("alpha"), x_of("ideal"), "{svg}");
        assert_eq!(x_of("alpha"), x_of("beta"));
        assert!(x_of("early") < x_of("alpha") - 100.0);
    }
}
