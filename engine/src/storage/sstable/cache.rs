//! The block cache shared by every open table: decoded data blocks keyed by
//! (table file number, block offset), bounded by their size in bytes.
//!
//! Blocks enter the cache only after their checksum and structure were
//! verified, so a hit never needs checking again. Concurrent misses on the
//! same block wait for one loader instead of reading the block twice. A
//! capacity of 0 disables caching: every lookup calls the loader.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::block::Block;
use crate::error::Result;

/// Cache key: (table file number, block offset).
type BlockKey = (u64, u64);

/// Weighs a cached block by the bytes it occupies.
#[derive(Clone, Debug)]
struct BlockWeighter;

impl Weighter<BlockKey, Arc<Block>> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Arc<Block>) -> u64 {
        block.size_bytes().max(1) as u64
    }
}

/// A byte-bounded cache of decoded data blocks.
pub struct BlockCache {
    /// `None` when the capacity is 0.
    blocks: Option<Cache<BlockKey, Arc<Block>, BlockWeighter>>,
}

/// Typical block weight, used only to size the cache's hash tables.
const TYPICAL_BLOCK_BYTES: usize = 4096;

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of blocks (each shard
    /// of the cache rounds its share up, so by at most a few bytes more).
    pub fn new(capacity_bytes: usize) -> BlockCache {
        let blocks = (capacity_bytes > 0).then(|| {
            let estimated_items = (capacity_bytes / TYPICAL_BLOCK_BYTES).max(1);
            Cache::with_weighter(estimated_items, capacity_bytes as u64, BlockWeighter)
        });
        BlockCache { blocks }
    }

    /// The block at `offset` of table `file_number`, from the cache or, on a
    /// miss, from `loader` (whose block is then cached). A loader error is
    /// returned and nothing is cached.
    pub fn get_or_load(
        &self,
        file_number: u64,
        offset: u64,
        loader: impl FnOnce() -> Result<Arc<Block>>,
    ) -> Result<Arc<Block>> {
        match &self.blocks {
            Some(blocks) => blocks.get_or_insert_with(&(file_number, offset), loader),
            None => loader(),
        }
    }

    /// Drops every cached block of `file_number`, for when the table file is
    /// deleted. Walks the whole cache, so call it once per deleted file.
    pub fn evict_file(&self, file_number: u64) {
        if let Some(blocks) = &self.blocks {
            blocks.retain(|&(file, _), _| file != file_number);
        }
    }

    /// Bytes of blocks currently cached.
    pub fn weight(&self) -> usize {
        self.blocks.as_ref().map_or(0, |blocks| {
            usize::try_from(blocks.weight()).unwrap_or(usize::MAX)
        })
    }

    /// Number of blocks currently cached.
    pub fn len(&self) -> usize {
        self.blocks.as_ref().map_or(0, |blocks| blocks.len())
    }

    /// True when no block is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.blocks.as_ref().map_or(0, |blocks| {
            usize::try_from(blocks.capacity()).unwrap_or(usize::MAX)
        })
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity", &self.capacity())
            .field("weight", &self.weight())
            .field("blocks", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::storage::key::{ValueKind, encode_internal_key};
    use crate::storage::sstable::block::BlockBuilder;
    use std::cell::Cell;

    /// A block of roughly `bytes` bytes.
    fn block_of(bytes: usize) -> Arc<Block> {
        let mut builder = BlockBuilder::new(16);
        builder.add(
            &encode_internal_key(b"k", 1, ValueKind::Put),
            &vec![7u8; bytes],
        );
        let payload = builder.finish();
        let mut exact = Vec::with_capacity(payload.len());
        exact.extend_from_slice(&payload);
        Arc::new(Block::decode(exact).unwrap())
    }

    #[test]
    fn hits_do_not_call_the_loader() {
        let cache = BlockCache::new(1 << 20);
        let loads = Cell::new(0);
        for _ in 0..3 {
            let block = cache
                .get_or_load(1, 0, || {
                    loads.set(loads.get() + 1);
                    Ok(block_of(100))
                })
                .unwrap();
            assert!(!block.is_empty());
        }
        assert_eq!(loads.get(), 1);
        assert_eq!(cache.len(), 1);
        cache.evict_file(2);
        assert_eq!(cache.len(), 1);
        cache.evict_file(1);
        assert!(cache.is_empty());
    }

    #[test]
    fn weighted_capacity_is_respected() {
        let capacity = 64 * 1024;
        let cache = BlockCache::new(capacity);
        let block_bytes = block_of(4000).size_bytes();
        for offset in 0..100u64 {
            cache
                .get_or_load(3, offset * 5000, || Ok(block_of(4000)))
                .unwrap();
            assert!(cache.weight() <= capacity, "weight {}", cache.weight());
        }
        // It holds about capacity / block size blocks, not 100.
        assert!(cache.len() <= capacity / block_bytes);
        assert!(cache.len() >= 4, "only {} blocks cached", cache.len());
    }

    #[test]
    fn zero_capacity_always_loads() {
        let cache = BlockCache::new(0);
        let loads = Cell::new(0);
        for _ in 0..3 {
            cache
                .get_or_load(1, 0, || {
                    loads.set(loads.get() + 1);
                    Ok(block_of(10))
                })
                .unwrap();
        }
        assert_eq!(loads.get(), 3);
        assert_eq!(cache.weight(), 0);
        assert!(cache.is_empty());
    }

    #[test]
    fn loader_errors_are_returned_and_not_cached() {
        let cache = BlockCache::new(1 << 20);
        let err = cache
            .get_or_load(1, 0, || Err(Error::corruption("t.sst", 0, "bad")))
            .unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }));
        let block = cache.get_or_load(1, 0, || Ok(block_of(10))).unwrap();
        assert!(!block.is_empty());
    }
}
