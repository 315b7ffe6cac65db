//! Every history format Elle and elle-cli read gives the same history and the same verdict:
//! Jepsen EDN one operation per line and in a vector, elle-cli's JSON array, JSON lines with
//! array or object micro-ops; keys and values of every scalar type; `:f`, `:index`, `:time` and
//! `:process` optional; `:info` operations indeterminate.

use jepsen_lite::checker::{CheckReport, check};
use jepsen_lite::history::{History, Outcome};
use jepsen_lite::load::{Format, history_from_text};
use jepsen_lite::op::Workload;
use jepsen_lite::report::elle::{Request, result};

fn read(text: &str, source: &str) -> History {
    history_from_text(text, source, Format::Auto, Workload::Auto)
        .unwrap_or_else(|e| panic!("{source}: {e}\n{text}"))
}

fn elle(history: &History) -> serde_json::Value {
    result(&check(history), history, &Request::default())
}

/// A read skew (G-single-item) among three transactions, as (process, type, micro-ops) with
/// micro-ops as (f, key, value) in EDN and JSON spelling.
const EDN_OPS: [&str; 6] = [
    "{:type :invoke, :f :txn, :value [[:append :x 1] [:append \"y\" 1]], :process 0, :time 10, :index 0}",
    "{:type :ok, :f :txn, :value [[:append :x 1] [:append \"y\" 1]], :process 0, :time 20, :index 1}",
    "{:type :invoke, :f :txn, :value [[:r :x nil] [:r \"y\" nil]], :process 1, :time 15, :index 2}",
    "{:type :ok, :f :txn, :value [[:r :x []] [:r \"y\" [1]]], :process 1, :time 30, :index 3}",
    "{:type :invoke, :f :txn, :value [[:r 3 nil]], :process 2, :time 31, :index 4}",
    "{:type :ok, :f :txn, :value [[:r 3 []]], :process 2, :time 32, :index 5}",
];

/// The same history in JSON (keywords become strings, as Clojure's JSON writer makes them).
const JSON_OPS: [&str; 6] = [
    r#"{"type":"invoke","f":"txn","value":[["append","x",1],["append","y",1]],"process":0,"time":10,"index":0}"#,
    r#"{"type":"ok","f":"txn","value":[["append","x",1],["append","y",1]],"process":0,"time":20,"index":1}"#,
    r#"{"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]],"process":1,"time":15,"index":2}"#,
    r#"{"type":"ok","f":"txn","value":[["r","x",[]],["r","y",[1]]],"process":1,"time":30,"index":3}"#,
    r#"{"type":"invoke","f":"txn","value":[["r",3,null]],"process":2,"time":31,"index":4}"#,
    r#"{"type":"ok","f":"txn","value":[["r",3,[]]],"process":2,"time":32,"index":5}"#,
];

fn json_objects(line: &str) -> String {
    // ["append","x",1] → {"f":"append","key":"x","value":1}
    let mut op: serde_json::Value = serde_json::from_str(line).expect("JSON");
    let mops: Vec<serde_json::Value> = op["value"]
        .as_array()
        .expect("micro-ops")
        .iter()
        .map(|m| serde_json::json!({"f": m[0], "key": m[1], "value": m[2]}))
        .collect();
    op["value"] = serde_json::Value::Array(mops);
    op.to_string()
}

#[test]
fn every_format_gives_the_same_history_and_verdict() {
    let edn_lines = EDN_OPS.join("\n");
    let edn_vector = format!("[{}]", EDN_OPS.join("\n "));
    let edn_list_commas = format!("({})", EDN_OPS.join(",\n"));
    let json_array = format!("[{}]", JSON_OPS.join(",\n "));
    let json_lines = JSON_OPS.join("\n");
    let json_object_lines: Vec<String> = JSON_OPS.iter().map(|l| json_objects(l)).collect();
    let json_object_lines = json_object_lines.join("\n");
    let reference = read(&json_lines, "h.jsonl");
    let expected = elle(&reference);
    assert_eq!(
        expected["anomaly-types"],
        serde_json::json!(["G-single-item"])
    );
    for (text, source) in [
        (&edn_lines, "h.edn"),
        (&edn_lines, "h.txt"),
        (&edn_vector, "h.edn"),
        (&edn_list_commas, "h"),
        (&json_array, "h.json"),
        (&json_object_lines, "h.jsonl"),
    ] {
        let history = read(text, source);
        assert_eq!(history.txns, reference.txns, "{source}: {text}");
        // Keywords read from EDN print as keywords, strings as strings: the names differ only
        // in spelling, never in what is found.
        let got = elle(&history);
        for field in ["valid?", "anomaly-types", "not", "also-not"] {
            assert_eq!(got[field], expected[field], "{field} from {source}");
        }
    }
}

trait KeyOf {
    fn key(self) -> i64;
}

impl KeyOf for jepsen_lite::history::MicroOp {
    fn key(self) -> i64 {
        use jepsen_lite::history::MicroOp;
        match self {
            MicroOp::Append { key, .. }
            | MicroOp::ReadList { key, .. }
            | MicroOp::Write { key, .. }
            | MicroOp::Read { key, .. } => key,
            MicroOp::PredicateRead { .. } => panic!("no key"),
        }
    }
}

#[test]
fn keys_and_values_of_every_scalar_type() {
    // Registers keyed by an integer, a string, a keyword, a float, a boolean, a big integer and
    // a character, holding values of as many types; a garbage read among them is still found.
    let keys = [
        "1",
        "\"k\"",
        ":k",
        "2.5",
        "true",
        "123456789012345678901234567890N",
        "\\c",
    ];
    let values = [
        "7",
        "\"seven\"",
        ":seven",
        "7.5",
        "false",
        "98765432109876543210987654321N",
        "\\v",
    ];
    let mut lines = Vec::new();
    for (p, (k, v)) in keys.iter().zip(values).enumerate() {
        lines.push(format!(
            "{{:type :invoke, :value [[:w {k} {v}]], :process {p}}}"
        ));
        lines.push(format!(
            "{{:type :ok, :value [[:w {k} {v}]], :process {p}}}"
        ));
        lines.push(format!(
            "{{:type :invoke, :value [[:r {k} nil]], :process {p}}}"
        ));
        lines.push(format!(
            "{{:type :ok, :value [[:r {k} {v}]], :process {p}}}"
        ));
    }
    let history = read(&lines.join("\n"), "h.edn");
    assert_eq!(history.txns.len(), 2 * keys.len());
    let report: CheckReport = check(&history);
    assert!(report.anomalies.is_empty(), "{:#?}", report.anomalies);
    assert!(report.edges >= keys.len(), "one wr edge per key");
    let shown: Vec<String> = history
        .txns
        .iter()
        .step_by(2)
        .map(|t| history.names.show_key(t.ops[0].clone().key()).to_string())
        .collect();
    assert_eq!(
        shown,
        [
            "1",
            "\"k\"",
            ":k",
            "2.5",
            "true",
            "123456789012345678901234567890N",
            "\\c"
        ]
    );
    // The same with a read of a value never written to the string key: garbage.
    lines.push("{:type :invoke, :value [[:r \"k\" nil]], :process 9}".into());
    lines.push("{:type :ok, :value [[:r \"k\" \"eight\"]], :process 9}".into());
    let garbage = check(&read(&lines.join("\n"), "h.edn"));
    assert_eq!(
        garbage.kinds().iter().map(|k| k.name()).collect::<Vec<_>>(),
        ["garbage-read"]
    );
    // JSON scalars: strings, integers, floats, booleans, as keys and list elements.
    let json = r#"[{"type":"invoke","value":[["append","k",1.5],["append",2,true],["append",false,"a"]]},
 {"type":"ok","value":[["append","k",1.5],["append",2,true],["append",false,"a"]]},
 {"type":"invoke","value":[["r","k",null],["r",2,null],["r",false,null]]},
 {"type":"ok","value":[["r","k",[1.5]],["r",2,[true]],["r",false,["a"]]]}]"#;
    let history = read(json, "h.json");
    assert!(check(&history).anomalies.is_empty());
    let out = elle(&history);
    assert_eq!(out, serde_json::json!({"valid?": true}));
}

#[test]
fn optional_fields_may_be_missing() {
    let full = EDN_OPS.join("\n");
    let strip = |fields: &[&str]| -> String {
        EDN_OPS
            .iter()
            .map(|line| {
                let mut line = line.to_string();
                for field in fields {
                    // ", :time 10" and friends
                    if let Some(at) = line.find(&format!(", :{field} ")) {
                        let rest = &line[at + 2..];
                        let end = rest.find([',', '}']).map_or(line.len(), |e| at + 2 + e);
                        line.replace_range(at..end, "");
                    }
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let reference = read(&full, "h.edn");
    let expected = elle(&reference);
    for fields in [&["f"][..], &["index"], &["time"], &["f", "index", "time"]] {
        let text = strip(fields);
        for field in fields {
            assert!(!text.contains(&format!(":{field} ")), "{text}");
        }
        let history = read(&text, "h.edn");
        let got = elle(&history);
        for field in ["valid?", "anomaly-types", "not", "also-not"] {
            assert_eq!(got[field], expected[field], "without {fields:?}: {field}");
        }
        assert_eq!(history.txns.len(), reference.txns.len());
    }
    // Without :process, operations are one process's, one at a time, as in Elle's examples.
    let serial = "{:type :invoke, :value [[:append :x 1]]}\n{:type :ok, :value [[:append :x 1]]}\n{:type :invoke, :value [[:r :x nil]]}\n{:type :ok, :value [[:r :x [1]]]}";
    let history = read(serial, "h.edn");
    assert_eq!(history.txns.len(), 2);
    assert_eq!(history.txns[0].process, history.txns[1].process);
    assert_eq!(elle(&history), serde_json::json!({"valid?": true}));
}

#[test]
fn info_operations_are_indeterminate() {
    // An :info append may have committed: a read of it is fine, and it can be part of a cycle.
    let seen = read(
        "{:type :invoke, :value [[:append :x 1]], :process 0}\n{:type :info, :value [[:append :x 1]], :process 0}\n{:type :invoke, :value [[:r :x nil]], :process 1}\n{:type :ok, :value [[:r :x [1]]], :process 1}",
        "h.edn",
    );
    assert_eq!(seen.txns[0].outcome, Outcome::Info);
    assert_eq!(
        seen.txns[0].complete_time, None,
        "it may take effect any time later"
    );
    assert_eq!(elle(&seen), serde_json::json!({"valid?": true}));
    // ...and so may one left without completion.
    let open = read(
        "{:type :invoke, :value [[:append :x 1]], :process 0}\n{:type :invoke, :value [[:r :x nil]], :process 1}\n{:type :ok, :value [[:r :x [1]]], :process 1}",
        "h.edn",
    );
    assert_eq!(open.txns[0].outcome, Outcome::Info);
    assert_eq!(elle(&open), serde_json::json!({"valid?": true}));
    // An :info transaction's reads are unknown: they are never checked.
    let reads = read(
        "{:type :invoke, :value [[:r :x nil]], :process 0}\n{:type :info, :value [[:r :x [9]]], :process 0}\n{:type :invoke, :value [[:append :x 1]], :process 1}\n{:type :ok, :value [[:append :x 1]], :process 1}",
        "h.edn",
    );
    assert!(check(&reads).anomalies.is_empty());
    // A :fail append is certainly not visible: reading it is G1a.
    let failed = read(
        "{:type :invoke, :value [[:append :x 1]], :process 0}\n{:type :fail, :value [[:append :x 1]], :process 0}\n{:type :invoke, :value [[:r :x nil]], :process 1}\n{:type :ok, :value [[:r :x [1]]], :process 1}",
        "h.edn",
    );
    assert!(
        strings(&elle(&failed)["anomaly-types"]).contains(&"G1a".to_string()),
        "{}",
        elle(&failed)
    );
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
