//! `ManifestState`: what replaying a manifest's edits in order yields: the
//! live tables per level and the counters recovery starts from.
//!
//! An edit applies its deletions before its additions, so one edit can move
//! a table between levels (delete `(0, 8)`, add `(1, 8)`) or replace a
//! compaction's inputs by its outputs. Deleting a table that is not live, or
//! adding one that already is, means the edits do not describe one history:
//! [`ManifestState::apply`] rejects the edit and changes nothing.
//!
//! Level 0 is kept in file-number order (oldest first; its tables overlap);
//! deeper levels are kept in order of their smallest internal key.
//!
//! Write-ahead logs (format 2): a log is *tracked* from the edit that adds it
//! until an edit's `log_number` passes it. A synced mark only raises what
//! is known durable; a sealed mark fixes the log's final extent. A mark for a
//! log that is not tracked, a mark that would shrink what an earlier one
//! recorded, or a change to a sealed log is rejected: such edits do not
//! describe one history.

use std::collections::{BTreeMap, HashSet};

use crate::storage::key::{SeqNo, compare_internal_keys, is_valid_internal_key};

use super::{FileMeta, NUM_LEVELS, VersionEdit};

/// Why an edit cannot be applied to a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The edit deletes a table that is not live on that level.
    #[error("edit deletes table {number} from level {level}, where it is not live")]
    DeletedFileNotLive {
        /// The level named by the edit.
        level: u32,
        /// The table's file number.
        number: u64,
    },
    /// The edit adds a table whose number is already live.
    #[error("edit adds table {number} to level {level}, but that number is already live")]
    FileAlreadyLive {
        /// The level named by the edit.
        level: u32,
        /// The table's file number.
        number: u64,
    },
    /// The edit names a level the tree does not have.
    #[error("edit names level {0}, but the tree has {NUM_LEVELS} levels")]
    LevelOutOfRange(u32),
    /// A table bound or compact pointer is not an internal key.
    #[error("edit holds a key of table or pointer on level {0} that is not an internal key")]
    InvalidKey(u32),
    /// The edit adds a log that is already tracked.
    #[error("edit adds log {0}, which is already tracked")]
    LogAlreadyTracked(u64),
    /// The edit marks a log that is not tracked.
    #[error("edit records how much of log {0} is durable, but that log is not tracked")]
    LogNotTracked(u64),
    /// The edit marks less of a log durable than an earlier edit did, or
    /// changes a sealed log.
    #[error(
        "edit records log {0} as durable to less than an earlier edit, or changes it after it was sealed"
    )]
    LogMarkGoesBack(u64),
}

/// What the manifest knows of one write-ahead log recovery needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackedLog {
    /// Bytes known to have been made durable (exact once sealed).
    pub durable_bytes: u64,
    /// Records known to have been made durable (exact once sealed).
    pub durable_records: u64,
    /// The log stopped growing at exactly `durable_bytes`.
    pub sealed: bool,
}

impl TrackedLog {
    /// The manifest mark recording this log's durable extent.
    pub fn mark(&self, number: u64) -> super::LogMark {
        super::LogMark {
            number,
            bytes: self.durable_bytes,
            records: self.durable_records,
        }
    }
}

/// The state described by a sequence of version edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestState {
    /// Logs numbered below this are no longer needed for recovery.
    pub log_number: u64,
    /// The next unused file number.
    pub next_file_number: u64,
    /// The largest sequence number recorded.
    pub last_seq: SeqNo,
    /// Live tables, one list per level ([`NUM_LEVELS`] lists).
    pub files: Vec<Vec<FileMeta>>,
    /// Where the next compaction of each level starts ([`NUM_LEVELS`] entries).
    pub compact_pointers: Vec<Option<Vec<u8>>>,
    /// The tracked write-ahead logs at or after `log_number` (empty for a
    /// format-1 manifest).
    pub logs: BTreeMap<u64, TrackedLog>,
}

impl Default for ManifestState {
    fn default() -> Self {
        ManifestState::new()
    }
}

impl ManifestState {
    /// The state of an empty database: no tables, all counters zero.
    pub fn new() -> Self {
        ManifestState {
            log_number: 0,
            next_file_number: 0,
            last_seq: 0,
            files: vec![Vec::new(); NUM_LEVELS],
            compact_pointers: vec![None; NUM_LEVELS],
            logs: BTreeMap::new(),
        }
    }

    /// Applies `edits` in order to an empty state.
    pub fn replay<'a>(
        edits: impl IntoIterator<Item = &'a VersionEdit>,
    ) -> Result<ManifestState, ReplayError> {
        let mut state = ManifestState::new();
        for edit in edits {
            state.apply(edit)?;
        }
        Ok(state)
    }

    /// Applies one edit: deletions, then additions, then the counters and
    /// pointers it sets. On error the state is left unchanged.
    pub fn apply(&mut self, edit: &VersionEdit) -> Result<(), ReplayError> {
        self.check(edit)?;
        // `check` verified every level named below exists.
        for &(level, number) in &edit.deleted_files {
            if let Some(files) = self.files.get_mut(level as usize) {
                files.retain(|file| file.number != number);
            }
        }
        for (level, file) in &edit.new_files {
            if let Some(files) = self.files.get_mut(*level as usize) {
                files.push(file.clone());
            }
        }
        for (level, files) in self.files.iter_mut().enumerate() {
            if level == 0 {
                files.sort_by_key(|file| file.number);
            } else {
                files.sort_by(|a, b| compare_internal_keys(&a.smallest, &b.smallest));
            }
        }
        for (level, key) in &edit.compact_pointers {
            if let Some(pointer) = self.compact_pointers.get_mut(*level as usize) {
                *pointer = Some(key.clone());
            }
        }
        for &number in &edit.new_logs {
            self.logs.insert(number, TrackedLog::default());
        }
        for (marks, sealed) in [(&edit.synced_logs, false), (&edit.sealed_logs, true)] {
            for mark in marks {
                if let Some(log) = self.logs.get_mut(&mark.number) {
                    log.durable_bytes = log.durable_bytes.max(mark.bytes);
                    log.durable_records = log.durable_records.max(mark.records);
                    log.sealed |= sealed;
                }
            }
        }
        if let Some(number) = edit.log_number {
            self.log_number = number;
            self.logs.retain(|&log, _| log >= number);
        }
        if let Some(number) = edit.next_file_number {
            self.next_file_number = number;
        }
        if let Some(seq) = edit.last_seq {
            self.last_seq = seq;
        }
        Ok(())
    }

    /// Validates `edit` against the current state without changing it.
    fn check(&self, edit: &VersionEdit) -> Result<(), ReplayError> {
        // The fields are public, so do not trust their lengths either.
        let levels = NUM_LEVELS
            .min(self.files.len())
            .min(self.compact_pointers.len());
        let level_index = |level: u32| {
            let index = level as usize;
            if index < levels {
                Ok(index)
            } else {
                Err(ReplayError::LevelOutOfRange(level))
            }
        };
        let mut live: HashSet<u64> = self.live_files().map(|(_, f)| f.number).collect();
        for &(level, number) in &edit.deleted_files {
            let index = level_index(level)?;
            let on_level = self
                .files
                .get(index)
                .is_some_and(|files| files.iter().any(|f| f.number == number));
            if !on_level || !live.remove(&number) {
                return Err(ReplayError::DeletedFileNotLive { level, number });
            }
        }
        for (level, file) in &edit.new_files {
            level_index(*level)?;
            if !is_valid_internal_key(&file.smallest) || !is_valid_internal_key(&file.largest) {
                return Err(ReplayError::InvalidKey(*level));
            }
            if !live.insert(file.number) {
                return Err(ReplayError::FileAlreadyLive {
                    level: *level,
                    number: file.number,
                });
            }
        }
        for (level, key) in &edit.compact_pointers {
            level_index(*level)?;
            if !is_valid_internal_key(key) {
                return Err(ReplayError::InvalidKey(*level));
            }
        }
        self.check_logs(edit)
    }

    /// Validates the log fields of `edit` (see the module docs).
    fn check_logs(&self, edit: &VersionEdit) -> Result<(), ReplayError> {
        let mut logs = self.logs.clone();
        for &number in &edit.new_logs {
            if logs.insert(number, TrackedLog::default()).is_some() {
                return Err(ReplayError::LogAlreadyTracked(number));
            }
        }
        for (marks, sealing) in [(&edit.synced_logs, false), (&edit.sealed_logs, true)] {
            for mark in marks {
                let log = logs
                    .get_mut(&mark.number)
                    .ok_or(ReplayError::LogNotTracked(mark.number))?;
                let shrinks = mark.bytes < log.durable_bytes || mark.records < log.durable_records;
                let changes_sealed = log.sealed
                    && (mark.bytes, mark.records) != (log.durable_bytes, log.durable_records);
                if shrinks || changes_sealed {
                    return Err(ReplayError::LogMarkGoesBack(mark.number));
                }
                log.durable_bytes = mark.bytes;
                log.durable_records = mark.records;
                log.sealed |= sealing;
            }
        }
        Ok(())
    }

    /// Every live table with its level, level by level.
    pub fn live_files(&self) -> impl Iterator<Item = (u32, &FileMeta)> {
        self.files
            .iter()
            .zip(0u32..)
            .flat_map(|(files, level)| files.iter().map(move |file| (level, file)))
    }

    /// One edit that recreates this state from nothing: the first record of a
    /// new manifest.
    pub fn to_snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            last_seq: Some(self.last_seq),
            new_files: self
                .live_files()
                .map(|(level, file)| (level, file.clone()))
                .collect(),
            deleted_files: Vec::new(),
            compact_pointers: self
                .compact_pointers
                .iter()
                .zip(0u32..)
                .filter_map(|(key, level)| Some((level, key.clone()?)))
                .collect(),
            new_logs: self.logs.keys().copied().collect(),
            synced_logs: self
                .logs
                .iter()
                .filter(|(_, log)| !log.sealed && log.durable_records > 0)
                .map(|(&number, log)| log.mark(number))
                .collect(),
            sealed_logs: self
                .logs
                .iter()
                .filter(|(_, log)| log.sealed)
                .map(|(&number, log)| log.mark(number))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key};

    fn table(number: u64, smallest: &[u8], largest: &[u8]) -> FileMeta {
        FileMeta {
            number,
            file_size: number * 100,
            entries: number,
            smallest: encode_internal_key(smallest, number, ValueKind::Put),
            largest: encode_internal_key(largest, number, ValueKind::Put),
        }
    }

    fn numbers(state: &ManifestState, level: usize) -> Vec<u64> {
        state.files[level].iter().map(|f| f.number).collect()
    }

    #[test]
    fn edits_apply_in_order_and_deletions_come_first() {
        let flush = |n: u64| VersionEdit {
            log_number: Some(n + 1),
            new_files: vec![(0, table(n, b"a", b"z"))],
            ..VersionEdit::new()
        };
        let compaction = VersionEdit {
            next_file_number: Some(20),
            last_seq: Some(99),
            deleted_files: vec![(0, 5), (0, 6)],
            new_files: vec![(1, table(11, b"n", b"z")), (1, table(10, b"a", b"m"))],
            compact_pointers: vec![(0, encode_internal_key(b"m", 3, ValueKind::Delete))],
            ..VersionEdit::new()
        };
        let trivial_move = VersionEdit {
            deleted_files: vec![(0, 7)],
            new_files: vec![(2, table(7, b"a", b"z"))],
            ..VersionEdit::new()
        };
        let edits = [flush(6), flush(5), flush(7), compaction, trivial_move];
        let state = ManifestState::replay(&edits).unwrap();
        assert_eq!(state.log_number, 8);
        assert_eq!(state.next_file_number, 20);
        assert_eq!(state.last_seq, 99);
        assert_eq!(numbers(&state, 0), Vec::<u64>::new());
        assert_eq!(numbers(&state, 1), vec![10, 11]); // by smallest key
        assert_eq!(numbers(&state, 2), vec![7]);
        assert!(state.compact_pointers[0].is_some());
        assert!(state.compact_pointers[1].is_none());

        let partial = ManifestState::replay(&edits[..3]).unwrap();
        assert_eq!(numbers(&partial, 0), vec![5, 6, 7]); // by number
    }

    #[test]
    fn snapshot_edit_recreates_the_state() {
        let mut state = ManifestState::new();
        state
            .apply(&VersionEdit {
                log_number: Some(3),
                next_file_number: Some(9),
                last_seq: Some(40),
                new_files: vec![(0, table(4, b"a", b"c")), (3, table(8, b"d", b"f"))],
                compact_pointers: vec![(3, encode_internal_key(b"e", 1, ValueKind::Put))],
                ..VersionEdit::new()
            })
            .unwrap();
        let snapshot = state.to_snapshot_edit();
        assert_eq!(ManifestState::replay([&snapshot]).unwrap(), state);
        assert_eq!(VersionEdit::decode(&snapshot.encode()), Some(snapshot));
    }

    #[test]
    fn inconsistent_edits_are_rejected_and_change_nothing() {
        let mut state = ManifestState::new();
        state
            .apply(&VersionEdit {
                new_files: vec![(1, table(4, b"a", b"c"))],
                ..VersionEdit::new()
            })
            .unwrap();
        let before = state.clone();
        let cases = [
            (
                VersionEdit {
                    deleted_files: vec![(0, 4)],
                    ..VersionEdit::new()
                },
                ReplayError::DeletedFileNotLive {
                    level: 0,
                    number: 4,
                },
            ),
            (
                VersionEdit {
                    deleted_files: vec![(1, 4), (1, 4)],
                    ..VersionEdit::new()
                },
                ReplayError::DeletedFileNotLive {
                    level: 1,
                    number: 4,
                },
            ),
            (
                VersionEdit {
                    log_number: Some(50),
                    new_files: vec![(2, table(4, b"x", b"y"))],
                    ..VersionEdit::new()
                },
                ReplayError::FileAlreadyLive {
                    level: 2,
                    number: 4,
                },
            ),
            (
                VersionEdit {
                    new_files: vec![(7, table(5, b"x", b"y"))],
                    ..VersionEdit::new()
                },
                ReplayError::LevelOutOfRange(7),
            ),
            (
                VersionEdit {
                    compact_pointers: vec![(1, b"short".to_vec())],
                    ..VersionEdit::new()
                },
                ReplayError::InvalidKey(1),
            ),
        ];
        for (edit, expected) in cases {
            assert_eq!(state.apply(&edit), Err(expected));
            assert_eq!(state, before);
        }
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;
    use crate::storage::manifest::LogMark;

    fn mark(number: u64, bytes: u64, records: u64) -> LogMark {
        LogMark {
            number,
            bytes,
            records,
        }
    }

    #[test]
    fn logs_are_tracked_from_their_addition_until_log_number_passes_them() {
        let edits = [
            VersionEdit {
                log_number: Some(5),
                new_logs: vec![5],
                ..VersionEdit::new()
            },
            VersionEdit {
                synced_logs: vec![mark(5, 100, 3)],
                ..VersionEdit::new()
            },
            VersionEdit {
                new_logs: vec![8],
                sealed_logs: vec![mark(5, 250, 7)],
                ..VersionEdit::new()
            },
            VersionEdit {
                synced_logs: vec![mark(8, 40, 1)],
                ..VersionEdit::new()
            },
        ];
        let state = ManifestState::replay(&edits).unwrap();
        let five = TrackedLog {
            durable_bytes: 250,
            durable_records: 7,
            sealed: true,
        };
        let eight = TrackedLog {
            durable_bytes: 40,
            durable_records: 1,
            sealed: false,
        };
        assert_eq!(state.logs.get(&5), Some(&five));
        assert_eq!(state.logs.get(&8), Some(&eight));
        let snapshot = state.to_snapshot_edit();
        assert_eq!(ManifestState::replay([&snapshot]).unwrap(), state);

        let mut flushed = state.clone();
        flushed
            .apply(&VersionEdit {
                log_number: Some(8),
                ..VersionEdit::new()
            })
            .unwrap();
        assert_eq!(flushed.logs.keys().copied().collect::<Vec<_>>(), vec![8]);
    }

    #[test]
    fn log_marks_that_contradict_the_history_are_rejected() {
        let mut state = ManifestState::new();
        state
            .apply(&VersionEdit {
                new_logs: vec![3],
                sealed_logs: vec![mark(3, 90, 2)],
                ..VersionEdit::new()
            })
            .unwrap();
        let before = state.clone();
        let cases = [
            (
                VersionEdit {
                    new_logs: vec![3],
                    ..VersionEdit::new()
                },
                ReplayError::LogAlreadyTracked(3),
            ),
            (
                VersionEdit {
                    synced_logs: vec![mark(4, 1, 1)],
                    ..VersionEdit::new()
                },
                ReplayError::LogNotTracked(4),
            ),
            (
                VersionEdit {
                    synced_logs: vec![mark(3, 80, 1)],
                    ..VersionEdit::new()
                },
                ReplayError::LogMarkGoesBack(3),
            ),
            (
                VersionEdit {
                    sealed_logs: vec![mark(3, 95, 3)],
                    ..VersionEdit::new()
                },
                ReplayError::LogMarkGoesBack(3),
            ),
        ];
        for (edit, expected) in cases {
            assert_eq!(state.apply(&edit), Err(expected));
            assert_eq!(state, before);
        }
    }
}
