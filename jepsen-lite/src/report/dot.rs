//! Graphviz DOT for one anomaly's cycle: a node per transaction, an edge per step, labelled with
//! the relation and colored by it (ww red, wr blue, rw/prw orange dashed, rt/po grey dotted).

use std::fmt::Write;

use crate::anomaly::Anomaly;

/// The color and style of a relation's edges.
pub fn edge_style(relation: &str) -> (&'static str, &'static str) {
    match relation {
        "ww" => ("#c0392b", "solid"),
        "wr" => ("#2471a3", "solid"),
        "rw" | "prw" => ("#d68910", "dashed"),
        _ => ("#7f8c8d", "dotted"),
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The cycle as a DOT digraph.
pub fn render(anomaly: &Anomaly) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(anomaly.kind.name()));
    let _ = writeln!(
        out,
        "  label=\"{}\";\n  labelloc=t;\n  node [shape=circle, fontname=\"Helvetica\"];",
        escape(&format!("{}: {}", anomaly.kind, anomaly.kind.meaning()))
    );
    let mut nodes: Vec<u32> = anomaly.cycle.iter().map(|s| s.from).collect();
    nodes.dedup();
    for node in nodes {
        let _ = writeln!(out, "  T{node};");
    }
    for step in &anomaly.cycle {
        let (color, style) = edge_style(step.relation);
        let _ = writeln!(
            out,
            "  T{} -> T{} [label=\"{}\", color=\"{color}\", fontcolor=\"{color}\", style={style}, tooltip=\"{}\"];",
            step.from,
            step.to,
            step.relation,
            escape(&step.why)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::{AnomalyKind, CycleStep};

    #[test]
    fn dot_lists_every_step_with_its_relation() {
        let anomaly = Anomaly {
            kind: AnomalyKind::GSingle,
            txns: vec![1, 2],
            explanation: String::new(),
            cycle: vec![
                CycleStep {
                    from: 1,
                    to: 2,
                    relation: "rw",
                    why: "T1 read \"x\"".into(),
                },
                CycleStep {
                    from: 2,
                    to: 1,
                    relation: "wr",
                    why: String::new(),
                },
            ],
        };
        let dot = render(&anomaly);
        assert!(dot.starts_with("digraph \"G-single\""));
        assert!(dot.contains("T1 -> T2 [label=\"rw\""));
        assert!(dot.contains("T2 -> T1 [label=\"wr\""));
        assert!(dot.contains("T1 read \\\"x\\\""));
    }
}
