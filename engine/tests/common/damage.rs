//! Damaging a database directory the way a hostile tester would: flipped
//! bytes, cut or zeroed tails, swapped files; and a listing to prove that an
//! open changed nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use isodb_engine::storage::log::LogReader;
use isodb_engine::storage::manifest::read_current;

/// Flips the bits of one byte.
pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).expect("write");
}

/// Cuts the file to `len` bytes.
pub fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open")
        .set_len(len)
        .expect("truncate");
}

/// Zeroes the file from `offset` to its end.
pub fn zero_from(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    for byte in &mut bytes[offset as usize..] {
        *byte = 0;
    }
    std::fs::write(path, bytes).expect("write");
}

/// Swaps the contents of two files.
pub fn swap(a: &Path, b: &Path) {
    let temp = a.with_extension("swap");
    std::fs::rename(a, &temp).expect("rename");
    std::fs::rename(b, a).expect("rename");
    std::fs::rename(&temp, b).expect("rename");
}

/// Every file of `dir` with its size, `LOCK` aside.
pub fn listing(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| {
            let size = e.metadata().map_or(0, |m| m.len());
            (e.file_name().to_string_lossy().into_owned(), size)
        })
        .filter(|(name, _)| name != "LOCK")
        .collect()
}

/// Every file of `dir` with its contents.
pub fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .filter(|(name, _)| name != "LOCK")
        .collect()
}

/// The live manifest's path and the offset of each of its records.
pub fn manifest_records(dir: &Path) -> (PathBuf, Vec<u64>) {
    let number = read_current(dir).expect("CURRENT").expect("a manifest");
    let path = dir.join(format!("MANIFEST-{number:06}"));
    let mut reader = LogReader::open(&path).expect("read manifest");
    let mut offsets = Vec::new();
    while let Some((offset, _)) = reader.next_record().expect("record") {
        offsets.push(offset);
    }
    (path, offsets)
}
