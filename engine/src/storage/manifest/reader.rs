//! Reading the manifest back at open: follow `CURRENT`, decode the edits,
//! replay them.

use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::files::{FileKind, current_path, manifest_path, parse_file_name};
use crate::storage::log::LogReader;

use super::{ManifestState, VersionEdit};

/// Longest `CURRENT` content quoted in an error message.
const QUOTE_LIMIT: usize = 64;

/// The number of the manifest named by `dir/CURRENT`; `None` when there is no
/// `CURRENT` (a new or never-initialised directory). Content other than
/// `MANIFEST-nnnnnn\n` is [`Error::Corruption`].
pub fn read_current(dir: &Path) -> Result<Option<u64>> {
    let path = current_path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let name = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.strip_suffix('\n'));
    match name.and_then(parse_file_name) {
        Some(FileKind::Manifest(number)) => Ok(Some(number)),
        _ => {
            let shown = String::from_utf8_lossy(bytes.get(..QUOTE_LIMIT).unwrap_or(&bytes));
            Err(Error::corruption(
                &path,
                0,
                format!("CURRENT does not name a manifest: {shown:?}"),
            ))
        }
    }
}

/// The edits of `dir/MANIFEST-{number}` in order, each with the offset of its
/// record. A torn last record is dropped (it was never acknowledged); any
/// other damage, an undecodable edit, a missing file or a manifest without a
/// single complete edit is [`Error::Corruption`] naming the manifest.
fn read_edits(dir: &Path, number: u64) -> Result<Vec<(u64, VersionEdit)>> {
    read_edits_and_tail(dir, number).map(|(edits, _)| edits)
}

/// [`read_edits`], and the offset of the torn last record when there was one.
/// Edits with their offsets, and where a torn last record begins.
type EditsAndTail = (Vec<(u64, VersionEdit)>, Option<u64>);

fn read_edits_and_tail(dir: &Path, number: u64) -> Result<EditsAndTail> {
    let path = manifest_path(dir, number);
    let mut reader = match LogReader::open(&path) {
        Ok(reader) => reader,
        Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
            return Err(Error::corruption(&path, 0, "the manifest file is missing"));
        }
        Err(e) => return Err(e),
    };
    let mut edits = Vec::new();
    while let Some((offset, payload)) = reader.next_record()? {
        let edit = VersionEdit::decode(&payload).ok_or_else(|| {
            Error::corruption(&path, offset, "manifest record is not a valid version edit")
        })?;
        edits.push((offset, edit));
    }
    if edits.is_empty() {
        // `ManifestWriter::create` syncs the snapshot before naming the file
        // in CURRENT, so a manifest in use always holds at least one edit.
        return Err(Error::corruption(
            &path,
            0,
            "the manifest holds no complete edit",
        ));
    }
    Ok((edits, reader.torn_tail()))
}

/// The version edits of `dir/MANIFEST-{number}` in order; see [`load_manifest`]
/// for the errors.
pub fn read_manifest(dir: &Path, number: u64) -> Result<Vec<VersionEdit>> {
    Ok(read_edits(dir, number)?
        .into_iter()
        .map(|(_, edit)| edit)
        .collect())
}

/// Reads and replays `dir/MANIFEST-{number}`. A torn last record is dropped;
/// damage elsewhere, an undecodable edit, or an edit inconsistent with those
/// before it (deleting a table that is not live, ...) is
/// [`Error::Corruption`] naming the manifest and the record's offset.
pub fn load_manifest(dir: &Path, number: u64) -> Result<ManifestState> {
    load_manifest_with_tail(dir, number).map(|(state, _)| state)
}

/// [`load_manifest`], and the offset where the manifest's torn last record
/// begins, when it ends in one: the edit it held was lost, whether a crash
/// cut it before it was acknowledged or damage cut a durable one.
pub fn load_manifest_with_tail(dir: &Path, number: u64) -> Result<(ManifestState, Option<u64>)> {
    let mut state = ManifestState::new();
    let (edits, torn_at) = read_edits_and_tail(dir, number)?;
    for (offset, edit) in edits {
        state
            .apply(&edit)
            .map_err(|e| Error::corruption(manifest_path(dir, number), offset, e.to_string()))?;
    }
    Ok((state, torn_at))
}
