//! Time-series charts as SVG, drawn with `plotters` (SVG backend): a stack of panels sharing
//! a date axis, each with lines, optional dashed reference levels, split markers and an
//! optional right-hand axis.
//!
//! Text is emitted as SVG `<text>` elements in a generic `sans-serif` family, and plotters is
//! built without its font features, so rendering needs no font files and works offline; the
//! browser picks the font when it displays the chart.
//!
//! Invariant: a drawing failure is an `Err`, never a panic; an empty panel, a single day or a
//! flat line still gets a non-empty axis range.

use chrono::{Datelike, NaiveDate};
use plotters::chart::DualCoordChartContext;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
pub use plotters::style::RGBColor;

/// A day on the x axis: days from the Common Era, so dates are plain integers to plotters.
pub fn day(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn day_label(x: &i32) -> String {
    NaiveDate::from_num_days_from_ce_opt(*x)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// One line of a panel.
pub struct Line {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(i32, f64)>,
}

/// A horizontal reference level, drawn dashed.
pub struct Level {
    pub name: String,
    pub color: RGBColor,
    pub y: f64,
}

/// One panel: lines on the left axis, optionally one line on a right axis.
pub struct Panel {
    pub title: String,
    /// Left axis label with its unit, e.g. `億円`.
    pub y_desc: String,
    pub lines: Vec<Line>,
    pub levels: Vec<Level>,
    /// Days marked with a vertical dashed line (splits).
    pub markers: Vec<i32>,
    /// A line on the right axis, with the axis label.
    pub right: Option<(String, Line)>,
}

impl Panel {
    pub fn new(title: &str, y_desc: &str, lines: Vec<Line>) -> Self {
        Self {
            title: title.into(),
            y_desc: y_desc.into(),
            lines,
            levels: vec![],
            markers: vec![],
            right: None,
        }
    }
}

pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREY: RGBColor = RGBColor(110, 110, 110);

/// The value range of some points (with the levels), padded so lines do not touch the frame.
fn y_range<'a>(points: impl Iterator<Item = &'a (i32, f64)>, extra: &[f64]) -> (f64, f64) {
    let ys = points.map(|p| p.1).chain(extra.iter().copied());
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1e-9) * 0.01);
    (lo - pad, hi + pad)
}

/// Renders `panels` stacked under `title`, `width` pixels wide.
pub fn render(title: &str, panels: &[Panel], width: u32) -> Result<String, String> {
    let mut svg = String::new();
    let height = 60 + 300 * u32::try_from(panels.len()).unwrap_or(1);
    let xs: Vec<i32> = panels
        .iter()
        .flat_map(|p| p.lines.iter().chain(p.right.iter().map(|(_, l)| l)))
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    let (x0, x1) = match (xs.iter().min(), xs.iter().max()) {
        (Some(a), Some(b)) if a < b => (*a, *b),
        (Some(a), _) => (*a - 1, *a + 1),
        _ => (0, 1),
    };
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 22))
            .map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (area, p) in areas.iter().zip(panels) {
            draw_panel(area, p, (x0, x1)).map_err(|e| format!("{}: {e}", p.title))?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Coords = Cartesian2d<RangedCoordi32, RangedCoordf64>;
/// A panel's chart: dates against the left axis, and against the right one.
type Chart<'a, 'b> = DualCoordChartContext<'a, SVGBackend<'b>, Coords, Coords>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws one panel: axes, reference levels, split markers, lines, the right axis, legend.
fn draw_panel(area: &Area, p: &Panel, (x0, x1): (i32, i32)) -> DrawResult {
    let levels: Vec<f64> = p.levels.iter().map(|l| l.y).collect();
    let (y0, y1) = y_range(p.lines.iter().flat_map(|l| &l.points), &levels);
    let (r0, r1) = y_range(p.right.iter().flat_map(|(_, l)| &l.points), &[]);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(80)
        .right_y_label_area_size(if p.right.is_some() { 80 } else { 0 })
        .build_cartesian_2d(x0..x1, y0..y1)?
        .set_secondary_coord(x0..x1, r0..r1);
    let digits = tick_decimals(y1 - y0);
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&day_label)
        .y_label_formatter(&|y| format!("{y:.digits$}"))
        .x_desc("申込日 / date")
        .y_desc(p.y_desc.as_str())
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    draw_levels(&mut chart, &p.levels, (x0, x1))?;
    for m in &p.markers {
        let style = ShapeStyle::from(GREY).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(vec![(*m, y0), (*m, y1)], 4, 4, style))?;
    }
    for l in &p.lines {
        let style = ShapeStyle::from(l.color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), style))?
            .label(l.name.as_str())
            .legend(legend_mark(style));
    }
    if let Some((desc, l)) = &p.right {
        draw_right_axis(&mut chart, desc, l)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

/// Enough decimals to tell the ticks of a left axis spanning `span` apart, none on large
/// values.
fn tick_decimals(span: f64) -> usize {
    if span < 0.5 {
        3
    } else if span < 50.0 {
        2
    } else {
        0
    }
}

/// The legend's sample of a series: a short stroke in its style.
fn legend_mark(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style)
}

/// The reference levels, dashed across the whole date range.
fn draw_levels(chart: &mut Chart, levels: &[Level], (x0, x1): (i32, i32)) -> DrawResult {
    for l in levels {
        let style = ShapeStyle::from(l.color).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, l.y), (x1, l.y)],
                6,
                4,
                style,
            ))?
            .label(l.name.as_str())
            .legend(legend_mark(style));
    }
    Ok(())
}

/// The right-hand axis labelled `desc`, and its line.
fn draw_right_axis(chart: &mut Chart, desc: &str, l: &Line) -> DrawResult {
    chart
        .configure_secondary_axes()
        .y_desc(desc)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    let style = ShapeStyle::from(l.color).stroke_width(2);
    chart
        .draw_secondary_series(LineSeries::new(l.points.iter().copied(), style))?
        .label(l.name.as_str())
        .legend(legend_mark(style));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_svg_with_labels_levels_and_a_right_axis_without_fonts() {
        let d0 = day(NaiveDate::from_ymd_opt(2026, 1, 9).unwrap());
        let mut p = Panel::new(
            "信用評価損益率",
            "%",
            vec![Line {
                name: "評価損益率".into(),
                color: BLUE,
                points: vec![(d0, -5.0), (d0 + 7, -12.0)],
            }],
        );
        p.levels.push(Level {
            name: "-10 %".into(),
            color: BLUE,
            y: -10.0,
        });
        p.markers.push(d0 + 3);
        p.right = Some((
            "億円".into(),
            Line {
                name: "時価総額".into(),
                color: GREEN,
                points: vec![(d0, 100.0), (d0 + 7, 120.0)],
            },
        ));
        let empty = Panel::new("empty", "万株", vec![]);
        let svg = render("title", &[p, empty], 800).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for text in [
            "信用評価損益率",
            "評価損益率",
            "-10 %",
            "時価総額",
            "億円",
            "2026-01-1",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.contains("<polyline"), "no line drawn");
    }
}
