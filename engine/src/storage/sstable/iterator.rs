//! A double-ended scan over the entries of one table whose user keys lie
//! within a range.
//!
//! The front and the back are independent cursors, each a (data block,
//! entry) position, positioned lazily on their first step and loading blocks
//! through the cache as they cross block boundaries. A cursor stays on the
//! entry it yielded last and moves on at the start of the next call, so a
//! block is never read before an entry of it is needed.
//!
//! The ends must never yield the same entry or cross. Positions order as
//! `(block index, entry offset in block)`; each end remembers the position it
//! yielded last, and an end that reaches the other's last position stops
//! the whole iterator:
//!
//! ```text
//! entries:   e0  e1  e2  e3  e4  e5
//! front ->   e0  e1  e2
//!                        <- back: e5  e4  e3
//! next():       front steps to e3, which back already yielded -> None
//! next_back():  back would step to e2 <= front's e2            -> None
//! ```
//!
//! An I/O or checksum error is yielded once as `Some(Err(..))`; after it, and
//! after the ends meet, both ends return `None`.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use super::block::BlockIterator;
use super::reader::Table;
use crate::error::Result;
use crate::storage::key::user_key;

/// A position in the table: (data block index, entry offset in the block).
type Position = (usize, usize);

/// One end's cursor: a block and the position inside it.
struct Cursor {
    /// Index of the data block the cursor is in.
    block_index: usize,
    /// The position inside that block.
    entries: BlockIterator,
}

impl Cursor {
    /// The cursor's position in the table.
    fn position(&self) -> Position {
        (self.block_index, self.entries.position())
    }
}

/// The state of one end.
enum End {
    /// Not yet positioned.
    Unstarted,
    /// On the entry it yielded last.
    At(Cursor),
}

/// A double-ended iterator over (internal key, value) pairs of a table whose
/// user keys lie within bounds; see the module documentation.
pub struct TableIterator {
    /// The table being scanned.
    table: Arc<Table>,
    /// Lower bound on user keys.
    lower: Bound<Vec<u8>>,
    /// Upper bound on user keys.
    upper: Bound<Vec<u8>>,
    /// The front cursor.
    front: End,
    /// The back cursor.
    back: End,
    /// Set when the ends met, a bound was passed or an error was yielded.
    done: bool,
}

impl TableIterator {
    /// A scan of the entries of `table` whose user keys lie within the bounds.
    pub fn new(table: Arc<Table>, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> TableIterator {
        TableIterator {
            table,
            lower,
            upper,
            front: End::Unstarted,
            back: End::Unstarted,
            done: false,
        }
    }

    /// Moves the front cursor to the next entry to yield; `None` when there
    /// is no entry after it in the table.
    fn step_front(&mut self) -> Result<Option<Position>> {
        let cursor = match std::mem::replace(&mut self.front, End::Unstarted) {
            End::Unstarted => self.seek_front()?,
            End::At(mut cursor) => {
                cursor.entries.next();
                self.settle_forward(cursor)?
            }
        };
        Ok(cursor.map(|cursor| {
            let position = cursor.position();
            self.front = End::At(cursor);
            position
        }))
    }

    /// Moves the back cursor to the next entry to yield, going backwards.
    fn step_back(&mut self) -> Result<Option<Position>> {
        let cursor = match std::mem::replace(&mut self.back, End::Unstarted) {
            End::Unstarted => self.seek_back()?,
            End::At(mut cursor) => {
                cursor.entries.prev();
                self.settle_backward(cursor)?
            }
        };
        Ok(cursor.map(|cursor| {
            let position = cursor.position();
            self.back = End::At(cursor);
            position
        }))
    }

    /// The first entry whose user key is within the lower bound.
    fn seek_front(&self) -> Result<Option<Cursor>> {
        let lower = &self.lower;
        let position_of = |ikey: &[u8]| {
            let below = match lower {
                Bound::Included(k) => user_key(ikey) < k.as_slice(),
                Bound::Excluded(k) => user_key(ikey) <= k.as_slice(),
                Bound::Unbounded => false,
            };
            if below {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        };
        let block_index = self.table.block_index_by(position_of);
        if block_index >= self.table.num_blocks() {
            return Ok(None);
        }
        let mut cursor = self.cursor_at(block_index)?;
        cursor.entries.seek_by(position_of);
        self.settle_forward(cursor)
    }

    /// The last entry whose user key is within the upper bound: the entry
    /// before the first one beyond it.
    fn seek_back(&self) -> Result<Option<Cursor>> {
        let upper = &self.upper;
        let position_of = |ikey: &[u8]| {
            let within = match upper {
                Bound::Included(k) => user_key(ikey) <= k.as_slice(),
                Bound::Excluded(k) => user_key(ikey) < k.as_slice(),
                Bound::Unbounded => true,
            };
            if within {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        };
        let blocks = self.table.num_blocks();
        let block_index = self.table.block_index_by(position_of);
        if block_index >= blocks {
            let Some(last) = blocks.checked_sub(1) else {
                return Ok(None);
            };
            let mut cursor = self.cursor_at(last)?;
            cursor.entries.seek_to_last();
            return self.settle_backward(cursor);
        }
        let mut cursor = self.cursor_at(block_index)?;
        cursor.entries.seek_by(position_of);
        if cursor.entries.is_valid() {
            cursor.entries.prev();
        } else {
            cursor.entries.seek_to_last();
        }
        self.settle_backward(cursor)
    }

    /// A cursor (not yet positioned) over data block `block_index`.
    fn cursor_at(&self, block_index: usize) -> Result<Cursor> {
        Ok(Cursor {
            block_index,
            entries: BlockIterator::new(self.table.read_data_block(block_index)?),
        })
    }

    /// Moves an exhausted cursor to the first entry of the following blocks.
    fn settle_forward(&self, mut cursor: Cursor) -> Result<Option<Cursor>> {
        while !cursor.entries.is_valid() {
            let next = cursor.block_index + 1;
            if next >= self.table.num_blocks() {
                return Ok(None);
            }
            cursor = self.cursor_at(next)?;
            cursor.entries.seek_to_first();
        }
        Ok(Some(cursor))
    }

    /// Moves an exhausted cursor to the last entry of the preceding blocks.
    fn settle_backward(&self, mut cursor: Cursor) -> Result<Option<Cursor>> {
        while !cursor.entries.is_valid() {
            let Some(previous) = cursor.block_index.checked_sub(1) else {
                return Ok(None);
            };
            cursor = self.cursor_at(previous)?;
            cursor.entries.seek_to_last();
        }
        Ok(Some(cursor))
    }

    /// The last position the back end yielded, if it has started.
    fn back_position(&self) -> Option<Position> {
        match &self.back {
            End::At(cursor) => Some(cursor.position()),
            End::Unstarted => None,
        }
    }

    /// The last position the front end yielded, if it has started.
    fn front_position(&self) -> Option<Position> {
        match &self.front {
            End::At(cursor) => Some(cursor.position()),
            End::Unstarted => None,
        }
    }

    /// The entry under `end`'s cursor, copied out.
    fn current(end: &End) -> Option<(Vec<u8>, Vec<u8>)> {
        match end {
            End::At(cursor) => Some((
                cursor.entries.key().to_vec(),
                cursor.entries.value().to_vec(),
            )),
            End::Unstarted => None,
        }
    }

    /// True when `ikey`'s user key is within the upper bound.
    fn within_upper(&self, ikey: &[u8]) -> bool {
        match &self.upper {
            Bound::Included(k) => user_key(ikey) <= k.as_slice(),
            Bound::Excluded(k) => user_key(ikey) < k.as_slice(),
            Bound::Unbounded => true,
        }
    }

    /// True when `ikey`'s user key is within the lower bound.
    fn within_lower(&self, ikey: &[u8]) -> bool {
        match &self.lower {
            Bound::Included(k) => user_key(ikey) >= k.as_slice(),
            Bound::Excluded(k) => user_key(ikey) > k.as_slice(),
            Bound::Unbounded => true,
        }
    }
}

impl Iterator for TableIterator {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let back_yielded = self.back_position();
        let position = match self.step_front() {
            Ok(Some(position)) => position,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(error) => {
                self.done = true;
                return Some(Err(error));
            }
        };
        let entry = Self::current(&self.front).filter(|(ikey, _)| self.within_upper(ikey));
        if entry.is_none() || back_yielded.is_some_and(|back| position >= back) {
            self.done = true;
            return None;
        }
        entry.map(Ok)
    }
}

impl DoubleEndedIterator for TableIterator {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let front_yielded = self.front_position();
        let position = match self.step_back() {
            Ok(Some(position)) => position,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(error) => {
                self.done = true;
                return Some(Err(error));
            }
        };
        let entry = Self::current(&self.back).filter(|(ikey, _)| self.within_lower(ikey));
        if entry.is_none() || front_yielded.is_some_and(|front| position <= front) {
            self.done = true;
            return None;
        }
        entry.map(Ok)
    }
}

impl std::fmt::Debug for TableIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableIterator")
            .field("table", &self.table.file_number())
            .field("front", &self.front_position())
            .field("back", &self.back_position())
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(test)]
#[path = "iterator_tests.rs"]
mod tests;
