//! A hand-written SVG bar chart: one group of bars per workload, one bar per
//! system (series), on a log scale, since a benchmark's figures can differ by
//! orders of magnitude (a synced commit against a cached read) and a linear
//! axis would hide the small ones.
//!
//! ```text
//!   10M ┤ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─
//!    1M ┤   █▆        █▇
//!  100k ┤   ███  ▅    ███ ...
//!       └──fillseq──fillrandom──...
//!         ■ isodb ■ fjall ■ sqlite
//! ```

use std::fmt::Write as _;

const COLORS: [&str; 6] = [
    "#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096",
];
const LEFT: f64 = 70.0;
const TOP: f64 = 60.0;
const PLOT_HEIGHT: f64 = 320.0;
const BAR_WIDTH: f64 = 26.0;
const GROUP_GAP: f64 = 30.0;
/// Width of a legend entry: the swatch and gap, plus this per character of
/// the longest series name (12 px sans-serif averages about 7 px).
const LEGEND_SWATCH: f64 = 34.0;
const LEGEND_CHAR: f64 = 7.0;

/// One group of bars.
pub struct Group {
    /// The label under the group.
    pub label: String,
    /// The unit of the figures, shown in each bar's tooltip.
    pub unit: &'static str,
    /// One figure per series, in series order; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// A chart: a title, the series (systems) and the groups (workloads).
pub struct BarChart {
    /// The title line.
    pub title: String,
    /// The names of the series, in the legend and the tooltips.
    pub series: Vec<String>,
    /// The groups, left to right.
    pub groups: Vec<Group>,
}

impl BarChart {
    /// The chart as an SVG document. Groups without any figure are left out.
    pub fn svg(&self) -> String {
        let groups: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| g.values.iter().any(|v| v.is_some_and(|v| v > 0.0)))
            .collect();
        let rates: Vec<f64> = groups
            .iter()
            .flat_map(|g| g.values.iter().flatten().copied())
            .filter(|r| *r > 0.0)
            .collect();
        let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rates.iter().copied().fold(0.0, f64::max);
        let (low_exp, mut high_exp) = if rates.is_empty() {
            (0.0, 1.0)
        } else {
            (low.log10().floor(), high.log10().ceil())
        };
        if high_exp <= low_exp {
            high_exp = low_exp + 1.0;
        }
        let y =
            |rate: f64| TOP + PLOT_HEIGHT * (1.0 - (rate.log10() - low_exp) / (high_exp - low_exp));
        let bottom = TOP + PLOT_HEIGHT;

        let bars = self.series.len().max(1) as f64;
        let group_width = bars * BAR_WIDTH + GROUP_GAP;
        let plot_width = groups.len() as f64 * group_width;
        let longest = self.series.iter().map(|s| s.chars().count()).max();
        let legend_entry = LEGEND_SWATCH + LEGEND_CHAR * longest.unwrap_or(0) as f64;
        let legend_width = self.series.len() as f64 * legend_entry;
        let width = LEFT + plot_width.max(legend_width) + 20.0;
        // The legend sits under the group labels, clear of the tallest bars' labels.
        let legend_y = bottom + 34.0;
        let height = legend_y + 26.0;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            out,
            r#"<rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="24" font-size="15" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        let mut exp = low_exp;
        while exp <= high_exp {
            let line_y = y(10f64.powf(exp));
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{line_y:.1}" x2="{:.1}" y2="{line_y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                width - 20.0,
                LEFT - 6.0,
                line_y + 4.0,
                short(10f64.powf(exp))
            );
            exp += 1.0;
        }
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="black"/><line x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="black"/>"#,
            width - 20.0
        );
        for (g, group) in groups.iter().enumerate() {
            let group_x = LEFT + GROUP_GAP / 2.0 + g as f64 * group_width;
            for (s, (name, value)) in self.series.iter().zip(&group.values).enumerate() {
                let Some(rate) = value.filter(|r| *r > 0.0) else {
                    continue;
                };
                let x = group_x + s as f64 * BAR_WIDTH;
                let top = y(rate);
                let _ = writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {rate:.0} {}</title></rect>"#,
                    BAR_WIDTH - 3.0,
                    bottom - top,
                    COLORS[s % COLORS.len()],
                    escape(name),
                    escape(&group.label),
                    group.unit
                );
                let label_x = x + BAR_WIDTH / 2.0 + 2.0;
                let _ = writeln!(
                    out,
                    r#"<text x="{label_x:.1}" y="{:.1}" font-size="10" transform="rotate(-90 {label_x:.1} {:.1})">{}</text>"#,
                    top - 4.0,
                    top - 4.0,
                    short(rate)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                group_x + bars * BAR_WIDTH / 2.0,
                bottom + 18.0,
                escape(&group.label)
            );
        }
        for (s, name) in self.series.iter().enumerate() {
            let x = LEFT + s as f64 * legend_entry;
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{legend_y:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                COLORS[s % COLORS.len()],
                x + 16.0,
                legend_y + 11.0,
                escape(name)
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

/// `1234567.0` as `1.2M`, `45000.0` as `45k`.
fn short(value: f64) -> String {
    let (scaled, suffix) = if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    if scaled >= 100.0 || scaled.fract() == 0.0 {
        format!("{scaled:.0}{suffix}")
    } else {
        format!("{scaled:.1}{suffix}")
    }
}

/// Text made safe for SVG character data.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
