//! Tests of [`TableIterator`](super::TableIterator): scans of large and
//! random tables against a `BTreeMap` oracle, from both ends and meeting in
//! the middle.

use super::*;
use crate::storage::key::{ValueKind, encode_internal_key};
use crate::storage::sstable::TableOptions;
use crate::storage::sstable::test_support::{Oracle, build_table};
use proptest::prelude::*;
use std::ops::Bound::{Excluded, Included, Unbounded};

fn collect(iter: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.map(|entry| entry.unwrap()).collect()
}

fn user(i: u32) -> Vec<u8> {
    format!("key-{i:08}").into_bytes()
}

#[test]
fn large_table_scans_match_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let oracle = Oracle::generate(5, 20_000, 4);
    assert!(oracle.len() > 45_000, "{} entries", oracle.len());
    let table = build_table(dir.path(), 9, &oracle, TableOptions::default());
    let all = oracle.internal_entries();

    assert_eq!(collect(table.iter(Unbounded, Unbounded)), all);
    let mut backward = collect(table.iter(Unbounded, Unbounded).rev());
    backward.reverse();
    assert_eq!(backward, all);

    let bounds = [
        (Included(user(100)), Excluded(user(2_000))),
        (Excluded(user(100)), Included(user(2_000))),
        (Included(user(5_000)), Unbounded),
        (Unbounded, Excluded(user(3))),
        (
            Included(b"key-00000777x".to_vec()),
            Included(b"key-00000777xxxxx".to_vec()),
        ),
        (Included(b"a".to_vec()), Included(b"b".to_vec())),
        (Included(user(50)), Excluded(user(50))),
        (Included(user(60)), Included(user(40))),
        (Excluded(b"zzz".to_vec()), Unbounded),
    ];
    for (lower, upper) in bounds {
        let expected = oracle.range(&lower, &upper);
        let forward = collect(table.iter(lower.clone(), upper.clone()));
        assert_eq!(forward, expected, "{lower:?}..{upper:?}");
        let mut backward = collect(table.iter(lower.clone(), upper.clone()).rev());
        backward.reverse();
        assert_eq!(backward, expected, "reverse {lower:?}..{upper:?}");
    }
}

#[test]
fn ends_meet_in_the_middle_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let oracle = Oracle::generate(11, 3_000, 3);
    let table = build_table(dir.path(), 4, &oracle, TableOptions::default());
    let all = oracle.internal_entries();
    for pattern in [1usize, 2, 3, 7] {
        let mut iter = table.iter(Unbounded, Unbounded);
        let (mut front, mut back) = (Vec::new(), Vec::new());
        let mut step = 0usize;
        loop {
            let item = if step.is_multiple_of(pattern) {
                iter.next_back().map(|e| (false, e))
            } else {
                iter.next().map(|e| (true, e))
            };
            match item {
                Some((true, entry)) => front.push(entry.unwrap()),
                Some((false, entry)) => back.push(entry.unwrap()),
                None => break,
            }
            step += 1;
        }
        assert!(iter.next().is_none() && iter.next_back().is_none());
        back.reverse();
        front.extend(back);
        assert_eq!(front, all, "pattern {pattern}");
    }
}

#[test]
fn single_entry_is_yielded_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut oracle = Oracle::default();
    oracle.insert(b"only", 3, ValueKind::Put, b"v".to_vec());
    let table = build_table(dir.path(), 1, &oracle, TableOptions::default());
    let mut iter = table.iter(Unbounded, Unbounded);
    let expected = (
        encode_internal_key(b"only", 3, ValueKind::Put),
        b"v".to_vec(),
    );
    assert_eq!(iter.next().unwrap().unwrap(), expected);
    assert!(iter.next_back().is_none());
    let mut iter = table.iter(Unbounded, Unbounded);
    assert_eq!(iter.next_back().unwrap().unwrap(), expected);
    assert!(iter.next().is_none());
}

/// A bound on user keys from the small alphabet of the generated keys.
fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Unbounded),
        proptest::collection::vec(b'a'..=b'd', 0..4).prop_map(Included),
        proptest::collection::vec(b'a'..=b'd', 0..4).prop_map(Excluded),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn scans_match_the_oracle(
        versions in proptest::collection::vec(
            (proptest::collection::vec(b'a'..=b'd', 0..5), 1u64..20, any::<bool>(),
             proptest::collection::vec(any::<u8>(), 0..40)),
            1..200,
        ),
        lower in bound_strategy(),
        upper in bound_strategy(),
        block_size in 32usize..600,
        restart_interval in 1usize..5,
        steps in proptest::collection::vec(any::<bool>(), 0..400),
    ) {
        let mut oracle = Oracle::default();
        for (key, seq, is_put, value) in versions {
            if is_put {
                oracle.insert(&key, seq, ValueKind::Put, value);
            } else {
                oracle.insert(&key, seq, ValueKind::Delete, Vec::new());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let options = TableOptions { block_size, restart_interval, bloom_bits_per_key: 10 };
        let table = build_table(dir.path(), 1, &oracle, options);
        let expected = oracle.range(&lower, &upper);

        let mut iter = table.iter(lower.clone(), upper.clone());
        let (mut front, mut back) = (Vec::new(), Vec::new());
        let mut front_done = false;
        let mut back_done = false;
        for from_front in steps.into_iter().chain(std::iter::repeat_n(true, expected.len() + 1)) {
            if from_front {
                match iter.next() {
                    Some(entry) => { prop_assert!(!front_done); front.push(entry.unwrap()) }
                    None => front_done = true,
                }
            } else {
                match iter.next_back() {
                    Some(entry) => { prop_assert!(!back_done); back.push(entry.unwrap()) }
                    None => back_done = true,
                }
            }
        }
        prop_assert!(iter.next().is_none());
        prop_assert!(iter.next_back().is_none());
        back.reverse();
        front.extend(back);
        prop_assert_eq!(front, expected);
    }
}
