//! Small self-drawn SVG plots over run time: lines (throughput) and points (latency), with
//! fault windows shaded behind them.
//!
//! ```text
//!   y ▲      ░░░░ crash ░░░░
//!     │  ╱╲__░░░░░░░░░░░░░░░__╱╲   ← a line per series; ░ a fault window
//!     │ ╱    ░░░░░░░░░░░░░░░     ╲
//!     └──────────────────────────▶ seconds
//! ```

use std::fmt::Write;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;

/// A series of (seconds, value) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// A CSS color.
    pub color: &'static str,
    /// The points, by time.
    pub points: Vec<(f64, f64)>,
    /// Draw as a line (true) or as dots.
    pub line: bool,
}

/// A shaded interval (seconds).
#[derive(Clone, Debug)]
pub struct Shade {
    /// The label drawn at its top.
    pub label: String,
    /// Start, in seconds.
    pub start: f64,
    /// End, in seconds.
    pub end: f64,
    /// A CSS color.
    pub color: &'static str,
}

/// A step of about `range / 5` rounded to 1, 2 or 5 times a power of ten.
fn nice_step(range: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let rough = range / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let fraction = rough / power;
    let nice = if fraction < 1.5 {
        1.0
    } else if fraction < 3.5 {
        2.0
    } else if fraction < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * power
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders a plot of `series` over `[0, x_max]` seconds.
pub fn render(
    title: &str,
    y_label: &str,
    x_max: f64,
    series: &[Series],
    shades: &[Shade],
) -> String {
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let y_top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_step = nice_step(y_top.max(1e-9));
    let y_max = (y_top / y_step).ceil().max(1.0) * y_step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + t.clamp(0.0, x_max) / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - v.clamp(0.0, y_max) / y_max * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"#,
        escape(title)
    );
    for shade in shades {
        let (x0, x1) = (x(shade.start), x(shade.end.max(shade.start)));
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{plot_h}" fill="{}" fill-opacity="0.18"><title>{} {:.2}s–{:.2}s</title></rect>"#,
            (x1 - x0).max(1.0),
            shade.color,
            escape(&shade.label),
            shade.start,
            shade.end
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{}" font-size="10">{}</text>"#,
            x0 + 2.0,
            TOP + 10.0,
            shade.color,
            escape(&shade.label)
        );
    }
    // Axes and ticks.
    let _ = writeln!(
        svg,
        r##"<path d="M{LEFT},{TOP} V{:.1} H{:.1}" stroke="#444" fill="none"/>"##,
        TOP + plot_h,
        LEFT + plot_w
    );
    let x_step = nice_step(x_max);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">{}</text>"##,
            x(t),
            TOP + plot_h + 14.0,
            format_tick(t)
        );
        t += x_step;
    }
    let mut v = 0.0;
    while v <= y_max + 1e-9 {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
            LEFT + plot_w,
            y(v),
            y(v),
            LEFT - 4.0,
            y(v) + 4.0,
            format_tick(v)
        );
        v += y_step;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">seconds</text>"##,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0
    );
    let _ = writeln!(
        svg,
        r##"<text x="14" y="{:.1}" text-anchor="middle" fill="#444" transform="rotate(-90 14 {:.1})">{}</text>"##,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    // Data.
    for s in series {
        if s.line {
            let path: Vec<String> = s
                .points
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect();
            if !path.is_empty() {
                let _ = writeln!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6"/>"#,
                    path.join(" "),
                    s.color
                );
            }
        } else {
            for (t, v) in &s.points {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="1.6" fill="{}" fill-opacity="0.6"/>"#,
                    x(*t),
                    y(*v),
                    s.color
                );
            }
        }
    }
    // Legend.
    let mut legend_x = LEFT + plot_w - 10.0;
    for s in series.iter().rev() {
        legend_x -= 8.0 * s.name.len() as f64 + 22.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{legend_x:.1}" y="8" width="10" height="10" fill="{}"/><text x="{:.1}" y="17">{}</text>"#,
            s.color,
            legend_x + 14.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_tick(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(10.0), 2.0);
        assert_eq!(nice_step(1000.0), 200.0);
        assert_eq!(nice_step(3.0), 0.5);
        assert_eq!(format_tick(0.5), "0.5");
        assert_eq!(format_tick(2.0), "2");
    }

    #[test]
    fn plot_draws_series_and_shades() {
        let series = vec![Series {
            name: "ok".into(),
            color: "#2e7d32",
            points: vec![(0.0, 1.0), (1.0, 3.0)],
            line: true,
        }];
        let shades = vec![Shade {
            label: "crash".into(),
            start: 0.2,
            end: 0.4,
            color: "#c62828",
        }];
        let svg = render("throughput", "txn/s", 1.0, &series, &shades);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<polyline"));
        assert!(svg.contains(">crash</text>"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
