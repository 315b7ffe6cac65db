//! An open table file: its footer, filter, key range and index held in
//! memory, its data blocks read on demand through the block cache.
//!
//! Opening checks the footer, then reads and verifies the filter, properties
//! and index blocks, and checks that every index entry points at a block
//! inside the data area, in file order. After that only data blocks are read,
//! with positional reads on the shared file handle (no lock), and each is
//! verified when it comes from disk.
//!
//! A point read `get(k, s)` is: bloom filter on `k`; binary search of the
//! index for the first separator `>= seek_key(k, s)`; one block seek. The
//! block found is the only one that can hold the answer: a separator lies
//! below every key of the next block, so if the seek runs off the end of the
//! block, no version of `k` at or below `s` is in the table.

use std::cell::Cell;
use std::cmp::Ordering;
use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::block::{Block, BlockIterator};
use super::bloom::BloomFilter;
use super::cache::BlockCache;
use super::footer::Footer;
use super::framing::{BlockHandle, read_block_payload};
use super::iterator::TableIterator;
use super::properties::TableProperties;
use crate::error::{Error, Result};
use crate::storage::damage::damaged_block_reason;
use crate::storage::key::{self, MAX_SEQ, SeqNo, ValueKind, compare_internal_keys, pack_trailer};

thread_local! {
    /// Scratch space in which [`Table::get`] reassembles block keys.
    static GET_KEY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// One entry of the in-memory index.
#[derive(Debug)]
struct IndexEntry {
    /// An internal key `>=` every key of the block and `<` every key of the next.
    separator: Vec<u8>,
    /// Where the block lies.
    handle: BlockHandle,
}

/// An open, verified table file.
pub struct Table {
    /// The table's number in the store (names the file, keys the cache).
    file_number: u64,
    /// The file's path, for error messages.
    path: PathBuf,
    /// The open file, read with positional reads.
    file: File,
    /// Length of the file.
    file_size: u64,
    /// Number of entries.
    entries: u64,
    /// Smallest and largest key.
    properties: TableProperties,
    /// The data blocks in order.
    index: Vec<IndexEntry>,
    /// The bloom filter over user keys.
    filter: BloomFilter,
    /// Shared cache of decoded data blocks.
    cache: Arc<BlockCache>,
}

impl Table {
    /// Opens the table at `path`, whose number is `file_number`, checking its
    /// footer, filter, properties and index.
    pub fn open(file_number: u64, path: PathBuf, cache: Arc<BlockCache>) -> Result<Table> {
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let file_size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let footer = Footer::read(&file, &path, file_size)?;
        let footer_offset = file_size - super::footer::FOOTER_LEN;
        if footer.entries == 0 {
            return Err(Error::corruption(
                &path,
                footer_offset,
                "table has no entries",
            ));
        }
        let path_ref = &path;
        let corrupt_at =
            |offset: u64| move |reason: String| Error::corruption(path_ref, offset, reason);

        let filter_bytes = read_block_payload(&file, &path, footer.filter)?;
        let filter = BloomFilter::decode(filter_bytes).map_err(corrupt_at(footer.filter.offset))?;
        let properties_bytes = read_block_payload(&file, &path, footer.properties)?;
        let properties = TableProperties::decode(&properties_bytes)
            .map_err(corrupt_at(footer.properties.offset))?;
        let index_bytes = read_block_payload(&file, &path, footer.index)?;
        let index_block = Block::decode(index_bytes).map_err(corrupt_at(footer.index.offset))?;
        let index = read_index(index_block, &footer, &properties)
            .map_err(corrupt_at(footer.index.offset))?;

        Ok(Table {
            file_number,
            path,
            file,
            file_size,
            entries: footer.entries,
            properties,
            index,
            filter,
            cache,
        })
    }

    /// The table's number.
    pub fn file_number(&self) -> u64 {
        self.file_number
    }

    /// The table's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Number of entries.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The first internal key.
    pub fn smallest(&self) -> &[u8] {
        &self.properties.smallest
    }

    /// The last internal key.
    pub fn largest(&self) -> &[u8] {
        &self.properties.largest
    }

    /// False only when no version of `user_key` is in the table.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter.may_contain(user_key)
    }

    /// The newest version of `user_key` with sequence number `<= seq`, as
    /// (sequence number, kind, value); a tombstone comes back with kind
    /// [`ValueKind::Delete`] and an empty value. `None` when the table holds
    /// no such version.
    pub fn get(&self, user_key: &[u8], seq: SeqNo) -> Result<Option<(SeqNo, ValueKind, Vec<u8>)>> {
        if !self.filter.may_contain(user_key) {
            return Ok(None);
        }
        // Position of an entry relative to seek_key(user_key, seq), without
        // building that key.
        let target_trailer = pack_trailer(seq.min(MAX_SEQ), ValueKind::Put);
        let position_of = |ikey: &[u8]| {
            key::user_key(ikey)
                .cmp(user_key)
                .then_with(|| target_trailer.cmp(&key::trailer(ikey)))
        };
        let block_index = self.block_index_by(position_of);
        if block_index >= self.index.len() {
            return Ok(None);
        }
        let block = self.read_data_block(block_index)?;
        // Reuse this thread's key buffer: the value is the only allocation.
        let mut entries = BlockIterator::with_key_buffer(block, GET_KEY_BUFFER.take());
        entries.seek_by(position_of);
        let found = (entries.is_valid() && key::user_key(entries.key()) == user_key).then(|| {
            let (_, found_seq, kind) = key::split_internal_key(entries.key());
            (found_seq, kind, entries.value().to_vec())
        });
        GET_KEY_BUFFER.set(entries.into_key_buffer());
        Ok(found)
    }

    /// Iterates the versions of user keys within (`lower`, `upper`), in
    /// internal-key order from the front and in reverse from the back.
    pub fn iter(self: &Arc<Self>, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> TableIterator {
        TableIterator::new(Arc::clone(self), lower, upper)
    }

    /// Number of data blocks.
    pub fn num_blocks(&self) -> usize {
        self.index.len()
    }

    /// Index of the first data block that may hold an entry for which
    /// `position_of` is not `Less` (`num_blocks()` when none can).
    /// `position_of` must be monotonic in internal-key order.
    pub(crate) fn block_index_by(&self, position_of: impl Fn(&[u8]) -> Ordering) -> usize {
        self.index
            .partition_point(|entry| position_of(&entry.separator) == Ordering::Less)
    }

    /// The data block `block_index` (`< num_blocks()`), from the cache or
    /// read and verified from disk. A damaged block is corruption naming the
    /// block and its key range, and saying what to do.
    pub(crate) fn read_data_block(&self, block_index: usize) -> Result<Arc<Block>> {
        self.load_data_block(block_index)
            .map_err(|error| self.name_damaged_block(block_index, error, true))
    }

    fn load_data_block(&self, block_index: usize) -> Result<Arc<Block>> {
        let Some(entry) = self.index.get(block_index) else {
            return Err(Error::InvalidArgument(format!(
                "block {block_index} of a table with {} blocks",
                self.index.len()
            )));
        };
        let handle = entry.handle;
        self.cache.get_or_load(self.file_number, handle.offset, || {
            let payload = read_block_payload(&self.file, &self.path, handle)?;
            let block = Block::decode(payload)
                .map_err(|reason| Error::corruption(&self.path, handle.offset, reason))?;
            Ok(Arc::new(block))
        })
    }

    /// A corruption error of block `block_index` with the block and its user
    /// keys named (and, with `advice`, what to do).
    fn name_damaged_block(&self, block_index: usize, error: Error, advice: bool) -> Error {
        match error {
            Error::Corruption {
                path,
                offset,
                reason,
            } => {
                let (lower, upper) = self.block_bounds(block_index);
                let reason = damaged_block_reason(
                    block_index,
                    self.index.len(),
                    key::user_key(lower),
                    key::user_key(upper),
                    &reason,
                    advice,
                );
                Error::Corruption {
                    path,
                    offset,
                    reason,
                }
            }
            other => other,
        }
    }

    /// Internal keys bounding data block `block_index` (`< num_blocks()`):
    /// every key of the block lies in `[lower, upper]` (the previous block's
    /// separator, or the table's smallest key, up to its own separator).
    pub fn block_bounds(&self, block_index: usize) -> (&[u8], &[u8]) {
        let lower = match block_index.checked_sub(1).and_then(|i| self.index.get(i)) {
            Some(previous) => previous.separator.as_slice(),
            None => self.properties.smallest.as_slice(),
        };
        let upper = self
            .index
            .get(block_index)
            .map_or(self.properties.largest.as_slice(), |e| {
                e.separator.as_slice()
            });
        (lower, upper)
    }

    /// The offset of data block `block_index` in the file.
    pub fn block_offset(&self, block_index: usize) -> u64 {
        self.index.get(block_index).map_or(0, |e| e.handle.offset)
    }

    /// Every data block in order, each read and verified (a damaged block is
    /// its [`Error::Corruption`] naming the block and its user keys, without
    /// advice, and the walk goes on with the next one).
    pub(crate) fn blocks(&self) -> impl Iterator<Item = (usize, Result<Arc<Block>>)> + '_ {
        (0..self.index.len()).map(|i| {
            let block = self
                .load_data_block(i)
                .map_err(|error| self.name_damaged_block(i, error, false));
            (i, block)
        })
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("file_number", &self.file_number)
            .field("path", &self.path)
            .field("file_size", &self.file_size)
            .field("entries", &self.entries)
            .field("blocks", &self.index.len())
            .finish()
    }
}

/// Decodes the index block into entries and checks that the handles tile
/// the data area in order and that the last separator covers the largest key.
fn read_index(
    index_block: Block,
    footer: &Footer,
    properties: &TableProperties,
) -> Result<Vec<IndexEntry>, String> {
    let mut entries = BlockIterator::new(Arc::new(index_block));
    entries.seek_to_first();
    let mut index: Vec<IndexEntry> = Vec::new();
    let mut data_offset = 0u64;
    while entries.is_valid() {
        let handle = BlockHandle::decode(entries.value())
            .ok_or_else(|| format!("malformed block handle in index entry {}", index.len()))?;
        let in_order = handle.offset >= data_offset;
        let end = handle.end().filter(|&end| end <= footer.data_end());
        let Some(end) = end.filter(|_| in_order) else {
            return Err(format!(
                "index entry {} points at {handle:?}, outside the data area",
                index.len()
            ));
        };
        data_offset = end;
        index.push(IndexEntry {
            separator: entries.key().to_vec(),
            handle,
        });
        entries.next();
    }
    let Some(last) = index.last() else {
        return Err("index block is empty".to_string());
    };
    if compare_internal_keys(&properties.largest, &last.separator) == Ordering::Greater {
        return Err("the largest key lies beyond the last index entry".to_string());
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sstable::test_support::{Oracle, build_table, visible_version};

    #[test]
    fn get_matches_the_oracle_at_every_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let oracle = Oracle::generate(17, 16_000, 4);
        let table = build_table(dir.path(), 1, &oracle, Default::default());
        assert_eq!(table.entries(), oracle.len() as u64);
        assert!(table.num_blocks() > 100, "{} blocks", table.num_blocks());
        assert_eq!(table.smallest(), oracle.first_key());
        assert_eq!(table.largest(), oracle.last_key());

        let max_seq = oracle.max_seq();
        let snapshots = [
            0,
            1,
            max_seq / 3,
            max_seq / 2,
            max_seq - 1,
            max_seq,
            MAX_SEQ,
        ];
        for user_key in oracle.user_keys().step_by(7) {
            for &snapshot in &snapshots {
                let expected = visible_version(&oracle, user_key, snapshot);
                let actual = table.get(user_key, snapshot).unwrap();
                assert_eq!(actual, expected, "key {user_key:?} at {snapshot}");
            }
        }
        // Absent keys, including ones between and around the present ones.
        for probe in [&b""[..], b"\x00", b"key", b"zzzz", b"key-00001000x"] {
            if oracle.user_keys().all(|k| k != probe) {
                assert_eq!(table.get(probe, MAX_SEQ).unwrap(), None, "{probe:?}");
            }
        }
    }

    #[test]
    fn tombstones_are_returned_as_deletes() {
        use crate::storage::key::encode_internal_key;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("7.sst");
        let mut builder =
            crate::storage::sstable::TableBuilder::create(path.clone(), Default::default())
                .unwrap();
        builder
            .add(&encode_internal_key(b"k", 9, ValueKind::Delete), b"")
            .unwrap();
        builder
            .add(&encode_internal_key(b"k", 3, ValueKind::Put), b"old")
            .unwrap();
        builder.finish().unwrap();
        let table = Table::open(7, path, Arc::new(BlockCache::new(0))).unwrap();
        assert_eq!(
            table.get(b"k", 10).unwrap(),
            Some((9, ValueKind::Delete, vec![]))
        );
        assert_eq!(
            table.get(b"k", 9).unwrap(),
            Some((9, ValueKind::Delete, vec![]))
        );
        assert_eq!(
            table.get(b"k", 8).unwrap(),
            Some((3, ValueKind::Put, b"old".to_vec()))
        );
        assert_eq!(table.get(b"k", 2).unwrap(), None);
        assert!(table.may_contain(b"k"));
        assert_eq!(table.file_number(), 7);
    }

    #[test]
    fn bloom_filter_skips_absent_keys_without_reading_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let oracle = Oracle::generate(3, 2_000, 1);
        let cache = Arc::new(BlockCache::new(1 << 20));
        let path = dir.path().join("2.sst");
        oracle.write_table(&path, Default::default());
        let table = Table::open(2, path, Arc::clone(&cache)).unwrap();
        let mut rejected = 0;
        for i in 0..1000 {
            let absent = format!("absent-{i}");
            if !table.may_contain(absent.as_bytes()) {
                rejected += 1;
                assert_eq!(table.get(absent.as_bytes(), MAX_SEQ).unwrap(), None);
            }
        }
        assert!(rejected > 950, "filter rejected only {rejected} of 1000");
        assert!(cache.len() < 50, "{} blocks loaded", cache.len());
    }
}
