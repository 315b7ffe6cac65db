//! A self-drawn SVG of one anomaly's cycle: transactions on a circle, steps as curved labelled
//! arrows (curving to the right of their direction, so the two arrows of a 2-cycle separate),
//! and the explanation of every step written underneath.
//!
//! ```text
//!            T1
//!        rw ↗   ↘ wr        each arrow: quadratic Bézier from circle edge to circle edge,
//!        T3 ←ww─ T2         its label at the curve's midpoint
//! ```

use std::fmt::Write;

use crate::anomaly::Anomaly;
use crate::report::dot::edge_style;

const NODE_RADIUS: f64 = 24.0;
const LINE_HEIGHT: f64 = 18.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The cycle as an SVG document.
pub fn render(anomaly: &Anomaly) -> String {
    let mut nodes: Vec<u32> = Vec::new();
    for step in &anomaly.cycle {
        for t in [step.from, step.to] {
            if !nodes.contains(&t) {
                nodes.push(t);
            }
        }
    }
    let n = nodes.len().max(1) as f64;
    let radius = (n * 40.0).max(90.0);
    let width = (2.0 * radius + 240.0).max(720.0);
    let center = (width / 2.0, radius + 80.0);
    let position = |t: u32| -> (f64, f64) {
        let i = nodes.iter().position(|&x| x == t).unwrap_or(0) as f64;
        let angle = -std::f64::consts::FRAC_PI_2 + i * std::f64::consts::TAU / n;
        (
            center.0 + radius * angle.cos(),
            center.1 + radius * angle.sin(),
        )
    };
    let text_top = center.1 + radius + 70.0;
    let height = text_top + LINE_HEIGHT * (anomaly.cycle.len() as f64 + 2.0);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif">"#
    );
    out.push_str("<defs>\n");
    for relation in ["ww", "wr", "rw", "prw", "rt", "po"] {
        let (color, _) = edge_style(relation);
        let _ = writeln!(
            out,
            r#"<marker id="arrow-{relation}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>"#
        );
    }
    out.push_str("</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        out,
        r#"<text x="20" y="30" font-size="18" font-weight="bold">{}</text>"#,
        escape(anomaly.kind.name())
    );
    let _ = writeln!(
        out,
        r#"<text x="20" y="52" font-size="13">{}</text>"#,
        escape(anomaly.kind.meaning())
    );

    for step in &anomaly.cycle {
        let (a, b) = (position(step.from), position(step.to));
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
        // Control point: the midpoint pushed to the right of the direction of travel.
        let bend = 0.25 * length;
        let control = ((a.0 + b.0) / 2.0 - uy * bend, (a.1 + b.1) / 2.0 + ux * bend);
        let start_dir = unit(control.0 - a.0, control.1 - a.1);
        let end_dir = unit(b.0 - control.0, b.1 - control.1);
        let start = (
            a.0 + start_dir.0 * NODE_RADIUS,
            a.1 + start_dir.1 * NODE_RADIUS,
        );
        let end = (
            b.0 - end_dir.0 * (NODE_RADIUS + 2.0),
            b.1 - end_dir.1 * (NODE_RADIUS + 2.0),
        );
        let (color, style) = edge_style(step.relation);
        let dash = match style {
            "dashed" => r#" stroke-dasharray="8,5""#,
            "dotted" => r#" stroke-dasharray="2,4""#,
            _ => "",
        };
        let _ = writeln!(
            out,
            r#"<path d="M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}" fill="none" stroke="{color}" stroke-width="2"{dash} marker-end="url(#arrow-{})"><title>{}</title></path>"#,
            start.0,
            start.1,
            control.0,
            control.1,
            end.0,
            end.1,
            step.relation,
            escape(&step.why)
        );
        let label = (
            0.25 * a.0 + 0.5 * control.0 + 0.25 * b.0,
            0.25 * a.1 + 0.5 * control.1 + 0.25 * b.1,
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="14" font-weight="bold" fill="{color}" text-anchor="middle">{}</text>"#,
            label.0,
            label.1 - 4.0,
            step.relation
        );
    }
    for &t in &nodes {
        let (x, y) = position(t);
        let _ = writeln!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{NODE_RADIUS}" fill="#fdfefe" stroke="#2c3e50" stroke-width="2"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" font-size="14" text-anchor="middle">T{t}</text>"#,
            y + 5.0
        );
    }
    for (i, step) in anomaly.cycle.iter().enumerate() {
        let y = text_top + LINE_HEIGHT * i as f64;
        let (color, _) = edge_style(step.relation);
        let _ = writeln!(
            out,
            r#"<text x="20" y="{y:.1}" font-size="12"><tspan font-weight="bold" fill="{color}">T{} -{}-&gt; T{}</tspan>  {}</text>"#,
            step.from,
            step.relation,
            step.to,
            escape(&step.why)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn unit(dx: f64, dy: f64) -> (f64, f64) {
    let length = (dx * dx + dy * dy).sqrt();
    if length < 1e-9 {
        (1.0, 0.0)
    } else {
        (dx / length, dy / length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::{AnomalyKind, CycleStep};

    #[test]
    fn draws_a_node_per_transaction_and_an_arrow_per_step() {
        let anomaly = Anomaly {
            kind: AnomalyKind::G2Item,
            txns: vec![1, 2, 3],
            explanation: String::new(),
            cycle: vec![
                CycleStep {
                    from: 1,
                    to: 2,
                    relation: "rw",
                    why: "T1 read x < 3".into(),
                },
                CycleStep {
                    from: 2,
                    to: 3,
                    relation: "ww",
                    why: String::new(),
                },
                CycleStep {
                    from: 3,
                    to: 1,
                    relation: "wr",
                    why: String::new(),
                },
            ],
        };
        let svg = render(&anomaly);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("marker-end=").count(), 3);
        assert!(svg.contains("T1 read x &lt; 3"));
    }
}
