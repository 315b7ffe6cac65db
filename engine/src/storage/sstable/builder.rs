//! Writes a table file from entries in increasing internal-key order.
//!
//! The file is written through a buffer under a temporary name beside its
//! final path (`000123.sst.tmp`). [`TableBuilder::finish`] makes it durable
//! and visible in this order:
//!
//! 1. write the last data block, the filter, properties and index blocks and
//!    the footer, and flush the buffer;
//! 2. fsync the file;
//! 3. rename it to its final name;
//! 4. fsync the parent directory, so the rename survives a crash.
//!
//! A crash before step 3 leaves only a `.tmp` file, which the store deletes
//! on recovery; after step 4 the table is complete. A builder that is
//! abandoned, dropped or fails removes its temporary file.
//!
//! Index entries use a short separator where possible: between blocks ending
//! in `apple#…` and starting with `apricot#…` the index key is `apq#MAX`
//! (user key `apq` at the highest version), which is greater than every key of
//! the first block and smaller than every key of the second.

use std::cmp::Ordering;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::TableOptions;
use super::block::BlockBuilder;
use super::bloom::{BloomFilter, hash_user_key};
use super::footer::Footer;
use super::framing::{BLOCK_TRAILER_LEN, BlockHandle, block_trailer};
use super::properties::TableProperties;
use crate::error::{Error, Result};
use crate::storage::key::{
    MAX_SEQ, ValueKind, append_internal_key, compare_internal_keys, is_valid_internal_key, user_key,
};

/// Size of the write buffer in front of the file.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// What a finished table holds, for the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    /// Length of the file in bytes.
    pub file_size: u64,
    /// Number of entries.
    pub entries: u64,
    /// The first internal key.
    pub smallest: Vec<u8>,
    /// The last internal key.
    pub largest: Vec<u8>,
}

/// Builds one table file; see the module documentation.
pub struct TableBuilder {
    /// Where the finished table goes.
    final_path: PathBuf,
    /// Where it is written until finished.
    temp_path: PathBuf,
    /// Buffered writer over the temporary file.
    writer: BufWriter<File>,
    /// Layout options.
    options: TableOptions,
    /// Bytes handed to the writer so far.
    offset: u64,
    /// The data block being filled.
    data_block: BlockBuilder,
    /// Separators and handles of the finished data blocks.
    index_block: BlockBuilder,
    /// Handle of the last finished data block, whose index entry waits for
    /// the next key so a short separator can be chosen.
    pending_handle: Option<BlockHandle>,
    /// The first key added.
    smallest: Vec<u8>,
    /// The last key added.
    last_key: Vec<u8>,
    /// Hashes of the distinct user keys, for the filter.
    key_hashes: Vec<u64>,
    /// Entries added.
    entries: u64,
    /// Set once the file has been renamed into place.
    finished: bool,
}

impl TableBuilder {
    /// Starts a table that [`TableBuilder::finish`] will place at `final_path`.
    pub fn create(final_path: PathBuf, options: TableOptions) -> Result<TableBuilder> {
        let temp_path = temp_path_for(&final_path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp_path)
            .map_err(|error| Error::io(&temp_path, error))?;
        Ok(TableBuilder {
            final_path,
            temp_path,
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            data_block: BlockBuilder::new(options.restart_interval),
            index_block: BlockBuilder::new(options.restart_interval),
            options,
            offset: 0,
            pending_handle: None,
            smallest: Vec::new(),
            last_key: Vec::new(),
            key_hashes: Vec::new(),
            entries: 0,
            finished: false,
        })
    }

    /// Appends an entry. `ikey` must be a valid internal key greater than
    /// every key added before; otherwise [`Error::InvalidArgument`].
    pub fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        if !is_valid_internal_key(ikey) {
            return Err(Error::InvalidArgument(
                "table keys must be internal keys".to_string(),
            ));
        }
        let first = self.entries == 0;
        if !first && compare_internal_keys(&self.last_key, ikey) != Ordering::Less {
            return Err(Error::InvalidArgument(
                "table keys must be added in increasing internal-key order".to_string(),
            ));
        }
        if let Some(handle) = self.pending_handle.take() {
            let separator = short_separator(&self.last_key, ikey);
            self.add_index_entry(&separator, handle);
        }
        if first {
            self.smallest = ikey.to_vec();
        }
        if first || user_key(&self.last_key) != user_key(ikey) {
            self.key_hashes.push(hash_user_key(user_key(ikey)));
        }
        self.data_block.add(ikey, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(ikey);
        self.entries += 1;
        if self.data_block.estimated_size() >= self.options.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Bytes the file would have if the data added so far were flushed.
    pub fn estimated_file_size(&self) -> u64 {
        self.offset + self.data_block.estimated_size() as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Completes the table, makes it durable and moves it to its final path.
    /// A table needs at least one entry; finishing an empty builder is
    /// [`Error::InvalidArgument`] (abandon it instead). On any error the
    /// temporary file is removed.
    pub fn finish(mut self) -> Result<TableMeta> {
        if self.entries == 0 {
            return Err(Error::InvalidArgument(
                "cannot finish a table without entries".to_string(),
            ));
        }
        self.flush_data_block()?;
        if let Some(handle) = self.pending_handle.take() {
            let last = std::mem::take(&mut self.last_key);
            self.add_index_entry(&last, handle);
            self.last_key = last;
        }
        let filter = BloomFilter::build(&self.key_hashes, self.options.bloom_bits_per_key);
        let filter = self.write_block(&filter)?;
        let properties = TableProperties {
            smallest: std::mem::take(&mut self.smallest),
            largest: self.last_key.clone(),
        };
        let properties_handle = self.write_block(&properties.encode())?;
        let index = self.index_block.finish();
        let index = self.write_block(&index)?;
        let footer = Footer {
            filter,
            properties: properties_handle,
            index,
            entries: self.entries,
        };
        self.write_raw(&footer.encode())?;

        let temp = self.temp_path.clone();
        self.writer.flush().map_err(|e| Error::io(&temp, e))?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io(&temp, e))?;
        std::fs::rename(&temp, &self.final_path).map_err(|e| Error::io(&self.final_path, e))?;
        self.finished = true;
        sync_parent_directory(&self.final_path)?;
        Ok(TableMeta {
            file_size: self.offset,
            entries: self.entries,
            smallest: properties.smallest,
            largest: properties.largest,
        })
    }

    /// Gives up on the table and removes its temporary file.
    pub fn abandon(self) {
        // Dropping an unfinished builder removes the temporary file.
    }

    /// Writes the current data block, if any, and leaves its index entry
    /// pending until the next key is known.
    fn flush_data_block(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let payload = self.data_block.finish();
        let handle = self.write_block(&payload)?;
        self.pending_handle = Some(handle);
        Ok(())
    }

    /// Adds an index entry mapping `separator` to `handle`.
    fn add_index_entry(&mut self, separator: &[u8], handle: BlockHandle) {
        let mut encoded = Vec::with_capacity(20);
        handle.encode_to(&mut encoded);
        self.index_block.add(separator, &encoded);
    }

    /// Writes a payload with its trailer and returns its handle.
    fn write_block(&mut self, payload: &[u8]) -> Result<BlockHandle> {
        let handle = BlockHandle {
            offset: self.offset,
            size: payload.len() as u64,
        };
        self.write_raw(payload)?;
        self.write_raw(&block_trailer(payload))?;
        debug_assert_eq!(Some(self.offset), handle.end());
        debug_assert_eq!(self.offset, handle.offset + handle.size + BLOCK_TRAILER_LEN);
        Ok(handle)
    }

    /// Writes bytes to the buffered file.
    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer
            .write_all(bytes)
            .map_err(|e| Error::io(&self.temp_path, e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

impl Drop for TableBuilder {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: a leftover .tmp file is also removed on recovery.
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

impl std::fmt::Debug for TableBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableBuilder")
            .field("final_path", &self.final_path)
            .field("entries", &self.entries)
            .field("offset", &self.offset)
            .finish()
    }
}

/// The temporary name of the table at `final_path`: the same name plus `.tmp`.
pub fn temp_path_for(final_path: &Path) -> PathBuf {
    let mut name = final_path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// fsyncs the directory holding `path`, making a rename into it durable.
fn sync_parent_directory(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io(parent, e))
}

/// A short internal key `s` with `last <= s < next`, where `last` ends one
/// data block and `next` starts the following one. Falls back to `last`.
pub fn short_separator(last: &[u8], next: &[u8]) -> Vec<u8> {
    let (last_user, next_user) = (user_key(last), user_key(next));
    let common = last_user
        .iter()
        .zip(next_user)
        .take_while(|(a, b)| a == b)
        .count();
    if let (Some(&byte), Some(&limit)) = (last_user.get(common), next_user.get(common))
        && byte < 0xff
        && byte + 1 < limit
    {
        // User key `prefix ++ (byte + 1)` is strictly between the two user
        // keys; at the highest version it is the smallest key with that user
        // key, and greater than `last` because its user key is.
        let mut separator = Vec::with_capacity(common + 1 + 8);
        let shortened = [&last_user[..common], &[byte + 1]].concat();
        append_internal_key(&mut separator, &shortened, MAX_SEQ, ValueKind::Put);
        if separator.len() < last.len() {
            return separator;
        }
    }
    last.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::encode_internal_key;

    fn ikey(user: &[u8], seq: u64) -> Vec<u8> {
        encode_internal_key(user, seq, ValueKind::Put)
    }

    #[test]
    fn separators_are_between_and_short() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"apple", b"apricot"),
            (b"abc", b"abd"),
            (b"abc", b"abcd"),
            (b"a\xff\xff", b"b"),
            (b"same", b"same"),
            (b"helloworld", b"hellz"),
        ];
        for (a, b) in cases {
            let last = ikey(a, 5);
            let next = if a == b { ikey(b, 4) } else { ikey(b, 9) };
            let sep = short_separator(&last, &next);
            assert_ne!(compare_internal_keys(&sep, &last), Ordering::Less);
            assert_eq!(compare_internal_keys(&sep, &next), Ordering::Less);
            assert!(sep.len() <= last.len());
        }
        assert_eq!(
            user_key(&short_separator(&ikey(b"apple", 1), &ikey(b"apricot", 1))),
            b"apq"
        );
        assert_eq!(
            short_separator(&ikey(b"abc", 1), &ikey(b"abd", 1)),
            ikey(b"abc", 1)
        );
    }

    #[test]
    fn rejects_out_of_order_and_malformed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder =
            TableBuilder::create(dir.path().join("1.sst"), TableOptions::default()).unwrap();
        builder.add(&ikey(b"b", 5), b"x").unwrap();
        let err = builder.add(&ikey(b"a", 5), b"x").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        let err = builder.add(&ikey(b"b", 5), b"x").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert!(builder.add(b"short", b"x").is_err());
        builder.add(&ikey(b"b", 4), b"older").unwrap();
        assert_eq!(builder.entries(), 2);
    }

    #[test]
    fn finish_renames_and_abandon_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000123.sst");
        let mut builder = TableBuilder::create(path.clone(), TableOptions::default()).unwrap();
        assert!(dir.path().join("000123.sst.tmp").exists());
        for i in 0..1000u32 {
            builder
                .add(&ikey(format!("key{i:05}").as_bytes(), 1), b"value")
                .unwrap();
        }
        let estimate = builder.estimated_file_size();
        let meta = builder.finish().unwrap();
        assert!(!dir.path().join("000123.sst.tmp").exists());
        assert_eq!(meta.file_size, std::fs::metadata(&path).unwrap().len());
        assert!(meta.file_size >= estimate);
        assert_eq!(meta.entries, 1000);
        assert_eq!(meta.smallest, ikey(b"key00000", 1));
        assert_eq!(meta.largest, ikey(b"key00999", 1));

        let other = dir.path().join("000124.sst");
        let mut builder = TableBuilder::create(other.clone(), TableOptions::default()).unwrap();
        builder.add(&ikey(b"a", 1), b"").unwrap();
        builder.abandon();
        assert!(!other.exists());
        assert!(!temp_path_for(&other).exists());

        let empty = TableBuilder::create(other.clone(), TableOptions::default()).unwrap();
        assert!(matches!(empty.finish(), Err(Error::InvalidArgument(_))));
        assert!(!temp_path_for(&other).exists());
    }
}
