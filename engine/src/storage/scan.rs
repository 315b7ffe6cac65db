//! `Scan`: the user-visible range iterator, one consistent point in time.
//!
//! Underneath is a [`MergeIterator`] of internal entries (every version of
//! every key in range). A scan at snapshot `s` turns that into user keys and
//! values: for each user key it keeps the newest version with `seq <= s`, and
//! yields nothing for the key if that version is a tombstone.
//!
//! Going forward the newest version of a key arrives first, so the first
//! visible one decides. Going backward versions arrive oldest first, so the
//! back end holds a *pending* key and keeps the last visible version it saw
//! until the user key changes. The two ends share one merge, so they can
//! split the versions of a key between them; each end remembers the last key
//! it decided, and a key decided by one end is never yielded by the other.
//! When the front end finds the merge used up, it finishes the key the back
//! end was still collecting.
//!
//! The scan holds the memtables and tables it reads (a [`SuperVersion`]), so
//! writers, flushes and compactions may run while it is open.

use std::sync::Arc;

use crate::Result;
use crate::storage::key::{SeqNo, ValueKind, split_internal_key};
use crate::storage::merge::MergeIterator;
use crate::storage::store::SuperVersion;

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The kind and value of a version visible to the scan.
type VisibleVersion = (ValueKind, Vec<u8>);

/// An ordered, double-ended iterator over the live keys of a range as of one
/// sequence number. Yields `Result`s: a corrupt or unreadable table ends the
/// scan with an error.
pub struct Scan {
    merged: MergeIterator,
    seq: SeqNo,
    /// Last user key the front end decided.
    front_last: Option<Vec<u8>>,
    /// Last user key the back end decided.
    back_last: Option<Vec<u8>>,
    /// Back end: the key being collected and its newest visible version so far.
    pending: Option<(Vec<u8>, Option<VisibleVersion>)>,
    done: bool,
    _pin: Arc<SuperVersion>,
}

impl Scan {
    pub(crate) fn new(merged: MergeIterator, seq: SeqNo, pin: Arc<SuperVersion>) -> Self {
        Scan {
            merged,
            seq,
            front_last: None,
            back_last: None,
            pending: None,
            done: false,
            _pin: pin,
        }
    }

    /// The sequence number this scan reads at.
    pub fn seq(&self) -> SeqNo {
        self.seq
    }

    /// Finishes the back end's pending key: yields it when visible and not
    /// already decided by the front end.
    fn finish_pending(&mut self, key: Vec<u8>, newest: Option<VisibleVersion>) -> Option<KeyValue> {
        if self.front_last.as_ref().is_some_and(|f| f >= &key) {
            self.done = true;
            return None;
        }
        let (kind, value) = newest?;
        self.back_last = Some(key.clone());
        (kind == ValueKind::Put).then_some((key, value))
    }
}

impl Iterator for Scan {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let Some(item) = self.merged.next() else {
                // The merge is used up, but the back end may still hold the
                // key it was collecting: the front end finishes it.
                self.done = true;
                let (key, newest) = self.pending.take()?;
                if self.front_last.as_ref() == Some(&key) {
                    return None;
                }
                return match newest {
                    Some((ValueKind::Put, value)) => Some(Ok((key, value))),
                    _ => None,
                };
            };
            let (ikey, value) = match item {
                Ok(entry) => entry,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let (key, seq, kind) = split_internal_key(&ikey);
            if self.back_last.as_deref().is_some_and(|b| key >= b) {
                self.done = true;
                return None;
            }
            if seq > self.seq || self.front_last.as_deref() == Some(key) {
                continue;
            }
            self.front_last = Some(key.to_vec());
            if kind == ValueKind::Put {
                return Some(Ok((key.to_vec(), value)));
            }
        }
        None
    }
}

impl DoubleEndedIterator for Scan {
    fn next_back(&mut self) -> Option<Self::Item> {
        while !self.done {
            let Some(item) = self.merged.next_back() else {
                let (key, newest) = self.pending.take()?;
                let found = self.finish_pending(key, newest);
                self.done = true;
                return found.map(Ok);
            };
            let (ikey, value) = match item {
                Ok(entry) => entry,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let (key, seq, kind) = split_internal_key(&ikey);
            let visible = (seq <= self.seq).then_some((kind, value));
            match &mut self.pending {
                Some((pending_key, newest)) if pending_key.as_slice() == key => {
                    // Versions arrive oldest first: a later visible one is newer.
                    if visible.is_some() {
                        *newest = visible;
                    }
                }
                _ => {
                    let previous = self.pending.replace((key.to_vec(), visible));
                    if let Some((pkey, pnewest)) = previous
                        && let Some(found) = self.finish_pending(pkey, pnewest)
                    {
                        return Some(Ok(found));
                    }
                }
            }
        }
        None
    }
}
