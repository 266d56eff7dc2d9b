//! The page's plots, drawn as SVG by `plotters` (no fonts loaded: text is
//! SVG `<text>` the browser sets). A plot that cannot be drawn becomes a
//! line saying why, never a broken page.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;

const SIZE: (u32, u32) = (900, 320);

/// A line per series over a shared x axis, with optional vertical markers
/// (fault times) drawn as red ticks along the bottom.
/// `series` holds each line's points (x, y): lines may have x values of
/// their own (two runs counted in intervals of different widths).
pub fn lines(x_desc: &str, y_desc: &str, series: &[(String, Vec<(f64, f64)>)], markers: &[f64]) -> String {
    svg(|root| {
        // Wide enough for every point and every marker (a fault at the very end).
        let x_max = series
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.0))
            .chain(markers.iter().copied())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let y_max =
            series.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0, f64::max).max(1.0) * 1.05;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).light_line_style(WHITE.mix(0.0)).draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        if !markers.is_empty() {
            let tick = y_max * 0.06;
            chart
                .draw_series(markers.iter().map(|&x| PathElement::new(vec![(x, 0.0), (x, tick)], RED.stroke_width(3))))?
                .label("fault")
                .legend(|(x, y)| PathElement::new(vec![(x + 9, y - 6), (x + 9, y + 6)], RED.stroke_width(3)));
        }
        legend(&mut chart)?;
        Ok(())
    })
}

/// Bars, one per labelled bucket.
pub fn bars(x_desc: &str, y_desc: &str, labels: &[String], counts: &[u64]) -> String {
    svg(|root| {
        let y_max = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.05;
        let mut chart = category_chart(root, (x_desc, y_desc), labels, labels.len().max(1), 0.0..y_max, 70)?;
        // Rectangles drawn in bucket order: plotters' `Histogram` series
        // gathers its bars in a HashMap, so its SVG came out in a different
        // order on every run, and the page was not the same bytes.
        chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), c as f64)],
                BLUE.mix(0.6).filled(),
            );
            bar.set_margin(0, 0, 2, 2);
            bar
        }))?;
        Ok(())
    })
}

/// A line per series over labelled categories (e.g. latency buckets), so
/// two distributions share one plot.
pub fn category_lines(x_desc: &str, y_desc: &str, labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    svg(|root| {
        let y_max = series.iter().flat_map(|(_, ys)| ys.iter().copied()).fold(0.0, f64::max).max(1.0) * 1.05;
        let mut chart = category_chart(root, (x_desc, y_desc), labels, labels.len().max(1), 0.0..y_max, 70)?;
        for (i, (name, ys)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(SegmentValue<usize>, f64)> =
                ys.iter().enumerate().map(|(k, &y)| (SegmentValue::CenterOf(k), y)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        legend(&mut chart)?;
        Ok(())
    })
}

/// Axes with one labelled category per `labels` entry along x, 0 to
/// `y_max` along y, drawn.
type CategoryChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// A chart of one segment per label on x (`segments`: `0..segments`
/// segmented, which has `segments + 1` slots) over `y_range`.
fn category_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    (x_desc, y_desc): (&str, &str),
    labels: &[String],
    segments: usize,
    y_range: std::ops::Range<f64>,
    y_label_area: u32,
) -> Result<CategoryChart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(55)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d((0..segments).into_segmented(), y_range)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(labels.len().max(1))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}

/// Draws on a fresh white SVG canvas; what `draw` fails with becomes a
/// line saying why, in place of the plot.
fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(e) => {
            format!("<p class=\"note\">This plot could not be drawn: {}</p>", super::html::escape(&e.to_string()))
        }
    }
}

/// The series' names and colours, boxed in the upper right.
fn legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    Ok(())
}

/// Where a plot of means puts its x values.
pub enum MeansAxis<'a> {
    /// A numeric axis, one number per mean.
    Numbers(&'a [f64]),
    /// One labelled category per mean, in order.
    Labels(&'a [String]),
}

/// One mean with its interval; `low` = `high` = `mean` when there is none.
#[derive(Debug, Clone, Copy)]
pub struct Mean {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// Means against x values with their intervals as whiskers, joined by a
/// line on a numeric axis (a sweep's metric against one parameter). `None`: no mean there.
/// The y axis spans the whiskers, not from zero: differences matter here.
pub fn means(x_desc: &str, y_desc: &str, axis: MeansAxis<'_>, means: &[Option<Mean>]) -> String {
    svg(|root| {
        let finite = |m: &&Mean| m.mean.is_finite() && m.low.is_finite() && m.high.is_finite();
        let shown: Vec<&Mean> = means.iter().flatten().filter(finite).collect();
        if shown.is_empty() {
            return Err("no finished point has a finite value".into());
        }
        let (low, high) = shown.iter().fold((f64::MAX, f64::MIN), |(l, h), m| (l.min(m.low), h.max(m.high)));
        let pad = if high > low { (high - low) * 0.08 } else { (low.abs() * 0.05).max(1.0) };
        let y_range = (low - pad)..(high + pad);
        let color = BLUE.mix(0.8);
        match axis {
            MeansAxis::Numbers(xs) => {
                let points: Vec<(f64, Mean)> =
                    xs.iter().zip(means).filter_map(|(&x, m)| m.filter(|m| finite(&m)).map(|m| (x, m))).collect();
                let (x_low, x_high) = points.iter().fold((f64::MAX, f64::MIN), |(l, h), (x, _)| (l.min(*x), h.max(*x)));
                let x_pad = if x_high > x_low { (x_high - x_low) * 0.05 } else { (x_low.abs() * 0.5).max(1.0) };
                let mut chart = ChartBuilder::on(root)
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(80)
                    .build_cartesian_2d((x_low - x_pad)..(x_high + x_pad), y_range)?;
                chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).light_line_style(WHITE.mix(0.0)).draw()?;
                chart.draw_series(LineSeries::new(points.iter().map(|(x, m)| (*x, m.mean)), color.stroke_width(2)))?;
                chart.draw_series(
                    points
                        .iter()
                        .map(|(x, m)| PathElement::new(vec![(*x, m.low), (*x, m.high)], color.stroke_width(2))),
                )?;
                chart.draw_series(points.iter().map(|(x, m)| Circle::new((*x, m.mean), 4, color.filled())))?;
            }
            MeansAxis::Labels(labels) => {
                // `0..k` segmented has k + 1 segments: one per label, no empty one after.
                let last = (labels.len().max(1) - 1).max(1);
                let mut chart = category_chart(root, (x_desc, y_desc), labels, last, y_range, 80)?;
                let points: Vec<(SegmentValue<usize>, Mean)> = means
                    .iter()
                    .enumerate()
                    .filter_map(|(k, m)| m.filter(|m| finite(&m)).map(|m| (SegmentValue::CenterOf(k), m)))
                    .collect();
                // Categories have no order: their means are not joined by a line.
                chart.draw_series(points.iter().map(|(x, m)| {
                    PathElement::new(vec![(x.clone(), m.low), (x.clone(), m.high)], color.stroke_width(2))
                }))?;
                chart.draw_series(points.iter().map(|(x, m)| Circle::new((x.clone(), m.mean), 4, color.filled())))?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_are_joined_by_a_line_on_a_numeric_axis_only() {
        let m = |v: f64| Some(Mean { mean: v, low: v - 1.0, high: v + 1.0 });
        // A line through three means: a polyline of three points (whiskers and ticks have two).
        let lines = |svg: &str| {
            svg.lines()
                .filter(|l| l.starts_with("<polyline"))
                .filter(|l| l.split("points=\"").nth(1).is_some_and(|p| p.split_whitespace().count() == 4))
                .count()
        };
        let numbers = means("x", "y", MeansAxis::Numbers(&[1.0, 2.0, 3.0]), &[m(1.0), m(2.0), m(4.0)]);
        let labels = ["a".to_string(), "b".to_string(), "c".to_string()];
        let categories = means("x", "y", MeansAxis::Labels(&labels), &[m(1.0), m(2.0), m(4.0)]);
        assert_eq!((lines(&numbers), lines(&categories)), (1, 0));
    }
}
