//! Property test: random NoWait / zero-timeout acquires and `release_all`
//! calls checked against a map of who holds what, and against the lock
//! manager's own invariant check after every step.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use crate::txn::lock::{LockManager, LockMode, TxnId, WaitPolicy};

#[derive(Debug, Clone)]
enum Op {
    Acquire {
        txn: TxnId,
        key: u8,
        mode: LockMode,
        nowait: bool,
    },
    ReleaseAll {
        txn: TxnId,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![Just(LockMode::Shared), Just(LockMode::Exclusive)];
    prop_oneof![
        4 => (1..=4u64, 0..3u8, mode, any::<bool>())
            .prop_map(|(txn, key, mode, nowait)| Op::Acquire { txn, key, mode, nowait }),
        1 => (1..=4u64).prop_map(|txn| Op::ReleaseAll { txn }),
    ]
}

/// What the model says a request returns: Some(newly) or None (conflict).
fn expected(holders: &BTreeMap<TxnId, LockMode>, txn: TxnId, mode: LockMode) -> Option<bool> {
    match holders.get(&txn) {
        Some(held) if held.covers(mode) => Some(false),
        _ => holders
            .iter()
            .all(|(&other, &held)| other == txn || held.is_compatible_with(mode))
            .then_some(true),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn holders_match_the_model_and_never_conflict(ops in prop::collection::vec(op(), 1..60)) {
        let locks = LockManager::new();
        let mut model: BTreeMap<u8, BTreeMap<TxnId, LockMode>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Acquire { txn, key, mode, nowait } => {
                    let policy = if nowait {
                        WaitPolicy::NoWait
                    } else {
                        WaitPolicy::Wait(Some(Duration::ZERO))
                    };
                    let holders = model.entry(key).or_default();
                    let want = expected(holders, txn, mode);
                    match locks.acquire(txn, &[key], mode, policy) {
                        Ok(newly) => {
                            prop_assert_eq!(Some(newly), want);
                            if newly {
                                holders.insert(txn, mode);
                            }
                        }
                        Err(err) => {
                            prop_assert_eq!(err.sqlstate(), "55P03");
                            prop_assert_eq!(want, None);
                        }
                    }
                }
                Op::ReleaseAll { txn } => {
                    locks.release_all(txn);
                    for holders in model.values_mut() {
                        holders.remove(&txn);
                    }
                }
            }
            model.retain(|_, holders| !holders.is_empty());
            locks.check_invariants();
            for key in 0..3u8 {
                for txn in 1..=4 {
                    let held = model.get(&key).and_then(|h| h.get(&txn)).copied();
                    prop_assert_eq!(locks.holds(txn, &[key]), held);
                }
            }
            prop_assert_eq!(locks.snapshot().len(), model.len());
        }
        for txn in 1..=4 {
            locks.release_all(txn);
        }
        prop_assert!(locks.snapshot().is_empty());
    }
}
