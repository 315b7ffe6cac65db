//! Property tests with a serial-execution oracle.
//!
//! * A random serial execution (lists or registers) is always valid: no anomaly, every model
//!   satisfied, the strongest being strict serializability.
//! * The same execution with its real-time order reversed (each transaction on its own process,
//!   so session guarantees are untouched) is still serializable, and violates only the models
//!   that forbid real-time cycles (strict serializability and Elle's strong-* models).

use jepsen_lite::anomaly::{AnomalyKind, Via};
use jepsen_lite::checker::check;
use jepsen_lite::history::{MicroOp, Outcome, Transaction};
use jepsen_lite::models::Model;
use jepsen_lite::synth::{SerialWorkload, Workload, serial_history};
use jepsen_lite::{json, load};
use proptest::prelude::*;

fn workload(register: bool, txns: usize, seed: u64, processes: u64) -> SerialWorkload {
    let mut spec = if register {
        SerialWorkload::register(txns, seed)
    } else {
        SerialWorkload::list_append(txns, seed)
    };
    spec.processes = processes;
    spec
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn serial_executions_are_valid_and_strictly_serializable(
        seed in any::<u64>(), txns in 1usize..120, processes in 1u64..6, register in any::<bool>(), keys in 1usize..6,
    ) {
        let mut spec = workload(register, txns, seed, processes);
        spec.active_keys = keys;
        let builder = serial_history(&spec);
        let report = check(&builder.build().expect("pairs"));
        prop_assert!(report.anomalies.is_empty(), "{:#?}", report.anomalies);
        prop_assert!(report.models.iter().all(|v| v.satisfied));
        prop_assert_eq!(report.strongest.clone(), vec![Model::StrictSerializable]);
        // The JSON lines form round-trips to the same verdict.
        let text = json::write_events(builder.events());
        let parsed = load::history_from_text(&text, "t", load::Format::Json, jepsen_lite::op::Workload::Auto).expect("parses");
        prop_assert!(check(&parsed).anomalies.is_empty());
    }

    #[test]
    fn reversed_real_time_is_flagged_only_by_strict_serializability(seed in any::<u64>(), txns in 1usize..80) {
        let spec = SerialWorkload { workload: Workload::ListAppend, ..workload(false, txns, seed, 1) };
        let mut history = serial_history(&spec).build().expect("pairs");
        // Guarantee one dependency: the first transaction writes what the last one reads.
        const K: i64 = 9_999_999;
        let n = history.txns.len();
        history.txns[0].ops.push(MicroOp::append(K, 1));
        let last = n as u32;
        history.txns.push(Transaction { id: last, process: 0, outcome: Outcome::Ok, ops: vec![MicroOp::read_list(K, &[1])], invoke_time: 0, complete_time: Some(0), end_time: Some(0), index: u64::from(last) });
        let total = history.txns.len() as i64;
        for (k, txn) in history.txns.iter_mut().enumerate() {
            let slot = total - k as i64; // serial order k runs at real time slot (reversed)
            txn.process = k as u64;
            txn.invoke_time = 2 * slot;
            txn.complete_time = Some(2 * slot + 1);
        }
        let report = check(&history);
        prop_assert!(!report.satisfies(Model::StrictSerializable));
        // Only real-time cycles are found, so only the models that forbid one (strict
        // serializability and Elle's strong-* models below it) can fail.
        for verdict in &report.models {
            prop_assert!(
                verdict.violated_by.iter().all(|k| k.cycle().is_some_and(|(_, via)| via == Via::Realtime)),
                "{} violated by {:?}", verdict.model, verdict.violated_by
            );
            let forbids_realtime = AnomalyKind::all().into_iter().any(|k| {
                k.cycle().is_some_and(|(_, via)| via == Via::Realtime) && verdict.model.forbids(k)
            });
            if !forbids_realtime {
                prop_assert!(verdict.satisfied, "{} violated by {:?}", verdict.model, verdict.violated_by);
            }
        }
        prop_assert_eq!(report.strongest.clone(), vec![Model::Serializable]);
    }
}
