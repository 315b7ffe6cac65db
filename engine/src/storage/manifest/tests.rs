//! Tests of the manifest on disk: create, append, reopen through `CURRENT`,
//! torn and corrupt records.

use std::path::Path;

use super::*;
use crate::error::Error;
use crate::storage::files::{current_path, manifest_path};
use crate::storage::key::{ValueKind, encode_internal_key};
use crate::storage::log::{HEADER_LEN, LogWriter, truncate_at};

fn table(number: u64) -> FileMeta {
    FileMeta {
        number,
        file_size: 1000 + number,
        entries: 10 * number,
        smallest: encode_internal_key(format!("k{number:03}a").as_bytes(), number, ValueKind::Put),
        largest: encode_internal_key(
            format!("k{number:03}z").as_bytes(),
            number,
            ValueKind::Delete,
        ),
    }
}

fn snapshot() -> VersionEdit {
    VersionEdit {
        log_number: Some(2),
        next_file_number: Some(4),
        last_seq: Some(10),
        new_files: vec![(1, table(1))],
        ..VersionEdit::new()
    }
}

fn later_edits() -> Vec<VersionEdit> {
    vec![
        VersionEdit {
            log_number: Some(5),
            next_file_number: Some(7),
            last_seq: Some(30),
            new_files: vec![(0, table(4))],
            ..VersionEdit::new()
        },
        VersionEdit {
            new_files: vec![(0, table(6))],
            log_number: Some(8),
            ..VersionEdit::new()
        },
        VersionEdit {
            next_file_number: Some(12),
            last_seq: Some(55),
            deleted_files: vec![(0, 4), (0, 6), (1, 1)],
            new_files: vec![(1, table(9)), (1, table(10))],
            compact_pointers: vec![(0, table(6).largest)],
            ..VersionEdit::new()
        },
    ]
}

/// Writes manifest 3 holding the snapshot and the later edits; returns each
/// record's offset.
fn write_manifest(dir: &Path) -> Vec<u64> {
    let mut writer = ManifestWriter::create(dir, 3, &snapshot()).unwrap();
    assert_eq!(writer.number(), 3);
    assert_eq!(writer.dir(), dir);
    assert_eq!(writer.path(), manifest_path(dir, 3));
    let mut offsets = vec![0];
    for edit in later_edits() {
        offsets.push(writer.file_size());
        writer.log_edit(&edit).unwrap();
    }
    assert_eq!(
        writer.file_size(),
        std::fs::metadata(manifest_path(dir, 3)).unwrap().len()
    );
    offsets
}

fn expect_corruption(result: Result<impl std::fmt::Debug, Error>, file: &Path, at: u64) {
    match result {
        Err(Error::Corruption { path, offset, .. }) => {
            assert_eq!(path, file);
            assert_eq!(offset, at);
        }
        other => panic!(
            "expected corruption of {} at {at}, got {other:?}",
            file.display()
        ),
    }
}

#[test]
fn reopening_through_current_replays_to_the_expected_state() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_current(dir.path()).unwrap(), None);
    write_manifest(dir.path());
    assert_eq!(
        std::fs::read(current_path(dir.path())).unwrap(),
        b"MANIFEST-000003\n"
    );

    let number = read_current(dir.path()).unwrap().unwrap();
    assert_eq!(number, 3);
    let mut expected_edits = vec![snapshot()];
    expected_edits.extend(later_edits());
    assert_eq!(read_manifest(dir.path(), number).unwrap(), expected_edits);

    let state = load_manifest(dir.path(), number).unwrap();
    let mut expected = ManifestState::new();
    expected.log_number = 8;
    expected.next_file_number = 12;
    expected.last_seq = 55;
    expected.files[1] = vec![table(9), table(10)];
    expected.compact_pointers[0] = Some(table(6).largest);
    assert_eq!(state, expected);
}

#[test]
fn rolling_to_a_new_manifest_moves_current_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path());
    let state = load_manifest(dir.path(), 3).unwrap();
    let mut writer = ManifestWriter::create(dir.path(), 13, &state.to_snapshot_edit()).unwrap();
    let extra = VersionEdit {
        new_files: vec![(0, table(14))],
        ..VersionEdit::new()
    };
    writer.log_edit(&extra).unwrap();
    drop(writer);

    assert_eq!(read_current(dir.path()).unwrap(), Some(13));
    let live_len = std::fs::metadata(manifest_path(dir.path(), 13))
        .unwrap()
        .len();
    assert!(matches!(
        ManifestWriter::create(dir.path(), 13, &VersionEdit::new()),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        std::fs::metadata(manifest_path(dir.path(), 13))
            .unwrap()
            .len(),
        live_len
    );
    assert!(manifest_path(dir.path(), 3).exists());
    let mut expected = state;
    expected.apply(&extra).unwrap();
    assert_eq!(load_manifest(dir.path(), 13).unwrap(), expected);
}

#[test]
fn a_torn_last_edit_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_manifest(dir.path());
    let path = manifest_path(dir.path(), 3);
    let len = std::fs::metadata(&path).unwrap().len();
    let last = offsets[3];
    let clean = std::fs::read(&path).unwrap();
    for cut in [last + 1, last + HEADER_LEN as u64, len - 1] {
        std::fs::write(&path, &clean).unwrap();
        truncate_at(&path, cut).unwrap();
        let edits = read_manifest(dir.path(), 3).unwrap();
        assert_eq!(edits.len(), 3, "cut at {cut}");
        assert_eq!(edits[2], later_edits()[1]);
        let state = load_manifest(dir.path(), 3).unwrap();
        assert_eq!(state.log_number, 8);
        assert_eq!(state.files[0].len(), 2);
    }
}

#[test]
fn a_flipped_byte_in_an_earlier_edit_is_corruption_naming_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let offsets = write_manifest(dir.path());
    let path = manifest_path(dir.path(), 3);
    assert!(path.ends_with("MANIFEST-000003"));
    let clean = std::fs::read(&path).unwrap();
    for (record, &offset) in offsets.iter().enumerate().take(3) {
        for within in [1, HEADER_LEN as u64 + 2] {
            let mut damaged = clean.clone();
            damaged[(offset + within) as usize] ^= 0x10;
            std::fs::write(&path, &damaged).unwrap();
            expect_corruption(read_manifest(dir.path(), 3), &path, offset);
            expect_corruption(load_manifest(dir.path(), 3), &path, offsets[record]);
        }
    }
}

#[test]
fn an_undecodable_or_inconsistent_edit_is_corruption_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest_path(dir.path(), 4);
    let mut log = LogWriter::create(&path).unwrap();
    log.add_record(&snapshot().encode()).unwrap();
    let bad = log.add_record(&[0x63, 0x01]).unwrap(); // unknown tag 99
    log.sync().unwrap();
    drop(log);
    expect_corruption(read_manifest(dir.path(), 4), &path, bad);

    let mut log = LogWriter::create(&path).unwrap();
    log.add_record(&snapshot().encode()).unwrap();
    let deletes_missing = VersionEdit {
        deleted_files: vec![(2, 1)],
        ..VersionEdit::new()
    };
    let bad = log.add_record(&deletes_missing.encode()).unwrap();
    log.sync().unwrap();
    drop(log);
    assert_eq!(read_manifest(dir.path(), 4).unwrap().len(), 2);
    expect_corruption(load_manifest(dir.path(), 4), &path, bad);
}

#[test]
fn an_empty_or_missing_manifest_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest_path(dir.path(), 5);
    expect_corruption(read_manifest(dir.path(), 5), &path, 0);
    std::fs::write(&path, b"").unwrap();
    expect_corruption(read_manifest(dir.path(), 5), &path, 0);
    std::fs::write(&path, [0u8; 100]).unwrap(); // only an unwritten tail
    expect_corruption(load_manifest(dir.path(), 5), &path, 0);
}

#[test]
fn bad_current_content_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let current = current_path(dir.path());
    let bad: [&[u8]; 9] = [
        b"",
        b"MANIFEST-000003",
        b"MANIFEST-3\n",
        b"MANIFEST-000003\n\n",
        b" MANIFEST-000003\n",
        b"000003.log\n",
        b"garbage\n",
        b"MANIFEST-00000\xff\n",
        &[0u8; 16],
    ];
    for content in bad {
        std::fs::write(&current, content).unwrap();
        expect_corruption(read_current(dir.path()), &current, 0);
    }
    std::fs::write(&current, b"MANIFEST-1234567\n").unwrap();
    assert_eq!(read_current(dir.path()).unwrap(), Some(1_234_567));
}
