//! `OverlayScan`: a store scan with a transaction's own writes (and, at READ
//! UNCOMMITTED, other transactions' uncommitted writes) laid over it.
//!
//! The overlay is a sorted list of `(stored key, Some(value) | None)`; an
//! overlay entry replaces the stored row with the same key, and `None` hides
//! it. Both ends can be used; equal keys always meet at one end, because an
//! end only takes the other end's peeked row once the store scan is used up.

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::Result;
use crate::storage::Scan;

type Row = (Vec<u8>, Vec<u8>);

/// A double-ended merge of a store scan and an overlay of pending writes.
pub struct OverlayScan {
    base: Scan,
    overlay: VecDeque<(Vec<u8>, Option<Vec<u8>>)>,
    base_front: Option<Row>,
    base_back: Option<Row>,
    failed: bool,
}

impl OverlayScan {
    /// Lays `overlay` (sorted by key, unique keys) over `base`.
    pub fn new(base: Scan, overlay: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Self {
        OverlayScan {
            base,
            overlay: overlay.into(),
            base_front: None,
            base_back: None,
            failed: false,
        }
    }

    fn step(&mut self, from_front: bool) -> Option<Result<Row>> {
        if self.failed {
            return None;
        }
        loop {
            let (peek, other) = if from_front {
                (&mut self.base_front, &mut self.base_back)
            } else {
                (&mut self.base_back, &mut self.base_front)
            };
            if peek.is_none() {
                let pulled = if from_front {
                    self.base.next()
                } else {
                    self.base.next_back()
                };
                match pulled {
                    Some(Ok(row)) => *peek = Some(row),
                    Some(Err(e)) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                    None => *peek = other.take(),
                }
            }
            let over = if from_front {
                self.overlay.front()
            } else {
                self.overlay.back()
            };
            let order = match (peek.as_ref(), over) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(row), Some((key, _))) => {
                    let order = row.0.cmp(key);
                    if from_front { order } else { order.reverse() }
                }
            };
            match order {
                Ordering::Less => return peek.take().map(Ok),
                Ordering::Equal | Ordering::Greater => {
                    if order == Ordering::Equal {
                        *peek = None;
                    }
                    let entry = if from_front {
                        self.overlay.pop_front()
                    } else {
                        self.overlay.pop_back()
                    };
                    if let Some((key, Some(value))) = entry {
                        return Some(Ok((key, value)));
                    }
                }
            }
        }
    }
}

impl Iterator for OverlayScan {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

impl DoubleEndedIterator for OverlayScan {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}
