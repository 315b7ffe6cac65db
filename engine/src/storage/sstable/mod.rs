//! Sorted string tables: the immutable files the LSM tree flushes memtables
//! into and compacts.
//!
//! A table holds internal keys (see [`crate::storage::key`]) in
//! [`compare_internal_keys`](crate::storage::key::compare_internal_keys)
//! order, each with an opaque value (empty for tombstones). The file is laid
//! out as
//!
//! ```text
//! +--------------+-----+--------------+--------------+------------------+-------------+--------------+
//! | data block 0 | ... | data block n | filter block | properties block | index block | footer (72B) |
//! +--------------+-----+--------------+--------------+------------------+-------------+--------------+
//! ```
//!
//! - **data blocks** (about [`TableOptions::block_size`] bytes each) hold the
//!   entries, prefix-compressed with restart points ([`block`]);
//! - the **filter block** is a bloom filter over the user keys ([`bloom`]);
//! - the **properties block** holds the smallest and largest key
//!   ([`properties`]);
//! - the **index block** is a block whose keys separate the data blocks (each
//!   is `>=` every key of its block and `<` every key of the next) and whose
//!   values are the blocks' handles ([`framing::BlockHandle`]);
//! - the **footer** points at the filter, properties and index blocks and
//!   ends with a magic number ([`footer`]).
//!
//! Every block is framed with a compression byte and a crc32c ([`framing`]),
//! verified on every read from disk. A point read checks the bloom filter,
//! binary-searches the in-memory index and reads one data block, through the
//! shared [`BlockCache`]. Files are written by [`TableBuilder`], read by
//! [`Table`] and scanned by [`TableIterator`].
//!
//! Example: three versions of `apple` and a tombstone for `cherry`, block
//! size small enough for two blocks (`#s` is the trailer of sequence `s`):
//!
//! ```text
//! data block 0:  apple#9 -> "red"   apple#4 -> "green"   apple#2 -> "raw"
//! data block 1:  banana#7 -> "yellow"   cherry#8 -> ""  (Delete)
//! index block:   apple#2 -> (0, size0)   cherry#8 -> (size0 + 5, size1)
//! get("apple", snapshot 5)  = bloom ok, index -> block 0, seek apple#5 -> apple#4 "green"
//! get("cherry", snapshot 9) = tombstone at seq 8
//! ```

pub mod block;
pub mod bloom;
pub mod builder;
pub mod cache;
pub mod footer;
pub mod framing;
pub mod iterator;
pub mod properties;
pub mod reader;

#[cfg(test)]
mod corruption_tests;
#[cfg(test)]
mod test_support;

pub use builder::{TableBuilder, TableMeta};
pub use cache::BlockCache;
pub use iterator::TableIterator;
pub use reader::Table;

/// How a table is laid out; the defaults suit most workloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// Target size of a data block's payload in bytes; a block is closed as
    /// soon as it reaches this size (so one block holds at most this plus one
    /// entry; keep it far below 4 GiB).
    pub block_size: usize,
    /// Entries between two restart points in a block.
    pub restart_interval: usize,
    /// Bits of bloom filter per distinct user key; 0 disables the filter.
    pub bloom_bits_per_key: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            restart_interval: 16,
            bloom_bits_per_key: 10,
        }
    }
}
