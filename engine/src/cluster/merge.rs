//! [`MergedScan`]: one ordered scan over the same keyspace on several
//! shards — a k-way merge by key, usable from both ends.
//!
//! The shards hold disjoint keys (a row lives on one shard), so the merge
//! never has to choose between equal keys. Each source keeps a front and a
//! back slot; `next` takes the smallest front, `next_back` the largest back.
//! When a source is down to one row, that row sits in one slot only, and
//! the other end looks there too, so no row is returned twice or lost.

use crate::Result;
use crate::txn::TxnScan;

type Row = (Vec<u8>, Vec<u8>);

struct Source {
    rows: TxnScan,
    front: Option<Row>,
    back: Option<Row>,
    done: bool,
}

impl Source {
    /// The row the front end would take next, filling its slot.
    fn peek_front(&mut self) -> Result<Option<&Row>> {
        if self.front.is_none() && !self.done {
            match self.rows.next() {
                Some(row) => self.front = Some(row?),
                None => self.done = true,
            }
        }
        Ok(self.front.as_ref().or(self.back.as_ref()))
    }

    fn peek_back(&mut self) -> Result<Option<&Row>> {
        if self.back.is_none() && !self.done {
            match self.rows.next_back() {
                Some(row) => self.back = Some(row?),
                None => self.done = true,
            }
        }
        Ok(self.back.as_ref().or(self.front.as_ref()))
    }

    fn take_front(&mut self) -> Option<Row> {
        self.front.take().or_else(|| self.back.take())
    }

    fn take_back(&mut self) -> Option<Row> {
        self.back.take().or_else(|| self.front.take())
    }
}

/// Rows of several shards' scans in one key order. See the module docs.
pub struct MergedScan {
    sources: Vec<Source>,
    failed: bool,
}

impl MergedScan {
    /// Merges `scans` (each in key order, with keys disjoint between them).
    pub fn new(scans: Vec<TxnScan>) -> MergedScan {
        MergedScan {
            sources: scans
                .into_iter()
                .map(|rows| Source {
                    rows,
                    front: None,
                    back: None,
                    done: false,
                })
                .collect(),
            failed: false,
        }
    }

    fn pick(&mut self, front: bool) -> Option<Result<Row>> {
        if self.failed {
            return None;
        }
        let mut best: Option<(usize, Vec<u8>)> = None;
        for (i, source) in self.sources.iter_mut().enumerate() {
            let peeked = if front {
                source.peek_front()
            } else {
                source.peek_back()
            };
            match peeked {
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Ok(None) => {}
                Ok(Some((key, _))) => {
                    let better = best
                        .as_ref()
                        .is_none_or(|(_, b)| if front { key < b } else { key > b });
                    if better {
                        best = Some((i, key.clone()));
                    }
                }
            }
        }
        let (i, _) = best?;
        let source = &mut self.sources[i];
        let row = if front {
            source.take_front()
        } else {
            source.take_back()
        };
        row.map(Ok)
    }
}

impl Iterator for MergedScan {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.pick(true)
    }
}

impl DoubleEndedIterator for MergedScan {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.pick(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(keys: &[u8]) -> TxnScan {
        let rows: Vec<Result<Row>> = keys.iter().map(|&k| Ok((vec![k], vec![k]))).collect();
        Box::new(rows.into_iter())
    }

    fn keys(rows: impl Iterator<Item = Result<Row>>) -> Vec<u8> {
        rows.map(|r| r.expect("row").0[0]).collect()
    }

    #[test]
    fn merges_in_order_from_either_end() {
        let make = || {
            MergedScan::new(vec![
                scan(&[1, 4, 7]),
                scan(&[2, 5]),
                scan(&[]),
                scan(&[3, 6, 8]),
            ])
        };
        assert_eq!(keys(make()), vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(keys(make().rev()), vec![8, 7, 6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn both_ends_at_once_meet_without_duplicates_or_losses() {
        for pattern in 0u32..64 {
            let mut merged = MergedScan::new(vec![scan(&[1, 3, 5]), scan(&[2]), scan(&[4, 6])]);
            let mut seen = Vec::new();
            for step in 0..8 {
                let row = if pattern & (1 << (step % 6)) != 0 {
                    merged.next()
                } else {
                    merged.next_back()
                };
                if let Some(row) = row {
                    seen.push(row.expect("row").0[0]);
                }
            }
            seen.sort_unstable();
            assert_eq!(seen, vec![1, 2, 3, 4, 5, 6], "pattern {pattern:b}");
        }
    }
}
