//! Savepoints: marks in a transaction's write set that it can roll back to
//! without ending (SQL's `SAVEPOINT`, `ROLLBACK TO SAVEPOINT`, `RELEASE`).
//!
//! While at least one savepoint is open, every write first records what the
//! write set held for its key before (an **undo entry**). A savepoint is the
//! length of the undo log when it was taken; rolling back to it pops the
//! entries after the mark, newest first, restoring each key's earlier state:
//!
//! ```text
//!   write set {}            undo []
//!   put a=1                 (no savepoint open: nothing recorded)
//!   savepoint S1            marks [S1@0]
//!   put a=2                 undo [(a, Some(Some 1))]
//!   put b=5                 undo [(a, Some(Some 1)), (b, None)]
//!   savepoint S2            marks [S1@0, S2@2]
//!   delete a                undo [.., (a, Some(Some 2))]
//!   rollback to S1          pop 3 entries: a=2 → a=1, b removed
//!                           write set {a=1}; marks [S1@0] (S2 is gone, S1 stays)
//! ```
//!
//! What a rollback to a savepoint does **not** undo, on purpose:
//! - **row locks** taken since the mark stay held until the transaction
//!   ends (never releasing early can only make others wait longer, it can
//!   never let two writers of one row interleave);
//! - **SSI bookkeeping**: reads and writes registered with the tracker since
//!   the mark stay registered. A rolled-back write may therefore still count
//!   as a conflict (a possible false abort, never a missed one).
//!
//! Releasing a savepoint forgets it and every savepoint taken after it; the
//! writes stay. When no savepoint is left open the undo log is dropped.

/// Identifies an open savepoint of one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SavepointId(u64);

/// What the write set held for a key before a write: `None` when the key
/// was not in it, `Some(value)` for an earlier write (`Some(None)`: delete).
pub(crate) type Previous = Option<Option<Vec<u8>>>;

/// The undo log and the stack of open savepoints of one transaction.
#[derive(Debug, Default)]
pub(crate) struct UndoLog {
    entries: Vec<(Vec<u8>, Previous)>,
    /// Open savepoints, oldest first: id and undo-log length at the mark.
    marks: Vec<(SavepointId, usize)>,
    next_id: u64,
}

impl UndoLog {
    /// True while some savepoint is open (writes must be recorded).
    pub(crate) fn is_recording(&self) -> bool {
        !self.marks.is_empty()
    }

    /// Records `key`'s state before a write, if a savepoint is open.
    pub(crate) fn record(&mut self, key: Vec<u8>, previous: Previous) {
        if self.is_recording() {
            self.entries.push((key, previous));
        }
    }

    /// Opens a savepoint at the current end of the log.
    pub(crate) fn mark(&mut self) -> SavepointId {
        let id = SavepointId(self.next_id);
        self.next_id += 1;
        self.marks.push((id, self.entries.len()));
        id
    }

    fn position(&self, id: SavepointId) -> Option<usize> {
        self.marks.iter().position(|(m, _)| *m == id)
    }

    /// Keeps savepoint `id` open, closes every later one, and returns the
    /// undo entries after its mark, newest first (the caller restores them).
    /// `None` when `id` is not open.
    pub(crate) fn rollback_to(&mut self, id: SavepointId) -> Option<Vec<(Vec<u8>, Previous)>> {
        let position = self.position(id)?;
        self.marks.truncate(position + 1);
        let (_, mark) = *self.marks.get(position)?;
        let mut undone = self.entries.split_off(mark.min(self.entries.len()));
        undone.reverse();
        Some(undone)
    }

    /// Closes savepoint `id` and every later one; false when `id` is not open.
    pub(crate) fn release(&mut self, id: SavepointId) -> bool {
        let Some(position) = self.position(id) else {
            return false;
        };
        self.marks.truncate(position);
        if self.marks.is_empty() {
            self.entries.clear();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_before_the_first_savepoint_are_not_recorded() {
        let mut log = UndoLog::default();
        log.record(b"a".to_vec(), None);
        assert!(!log.is_recording());
        let s = log.mark();
        assert_eq!(log.rollback_to(s), Some(Vec::new()));
    }

    #[test]
    fn rollback_returns_later_entries_newest_first_and_keeps_the_mark() {
        let mut log = UndoLog::default();
        let s1 = log.mark();
        log.record(b"a".to_vec(), Some(Some(b"1".to_vec())));
        log.record(b"b".to_vec(), None);
        let s2 = log.mark();
        log.record(b"a".to_vec(), Some(Some(b"2".to_vec())));
        let undone = log.rollback_to(s1).expect("s1 is open");
        assert_eq!(
            undone,
            vec![
                (b"a".to_vec(), Some(Some(b"2".to_vec()))),
                (b"b".to_vec(), None),
                (b"a".to_vec(), Some(Some(b"1".to_vec()))),
            ]
        );
        // s2 was taken after s1: gone. s1 stays open and can be used again.
        assert_eq!(log.rollback_to(s2), None);
        log.record(b"c".to_vec(), None);
        assert_eq!(log.rollback_to(s1), Some(vec![(b"c".to_vec(), None)]));
    }

    #[test]
    fn release_closes_the_savepoint_and_later_ones() {
        let mut log = UndoLog::default();
        let s1 = log.mark();
        let s2 = log.mark();
        log.record(b"a".to_vec(), None);
        assert!(log.release(s1));
        assert!(!log.release(s2));
        assert_eq!(log.rollback_to(s1), None);
        assert!(!log.is_recording());
        // The log was dropped with the last savepoint.
        let s3 = log.mark();
        assert_eq!(log.rollback_to(s3), Some(Vec::new()));
    }

    #[test]
    fn releasing_an_inner_savepoint_keeps_the_outer_one_recording() {
        let mut log = UndoLog::default();
        let outer = log.mark();
        log.record(b"a".to_vec(), None);
        let inner = log.mark();
        log.record(b"b".to_vec(), None);
        assert!(log.release(inner));
        assert!(log.is_recording());
        let undone = log.rollback_to(outer).expect("outer is open");
        assert_eq!(undone.len(), 2);
    }

    mod through_a_transaction {
        use crate::txn::{Engine, EngineOptions, IsolationLevel, Keyspace, LockMode, TxnId};

        fn engine() -> (tempfile::TempDir, Engine, Keyspace) {
            let dir = tempfile::tempdir().expect("temp dir");
            let engine = Engine::open(dir.path(), EngineOptions::default()).expect("open");
            let ks = engine.keyspace("t").expect("keyspace");
            (dir, engine, ks)
        }

        fn holds(engine: &Engine, txn: TxnId, key: &[u8], ks: Keyspace) -> bool {
            let full = ks.key(key);
            engine
                .locks()
                .iter()
                .any(|l| l.key == full && l.holders.iter().any(|h| h.txn == txn))
        }

        #[test]
        fn rollback_to_restores_the_write_set_and_commit_keeps_the_rest() {
            let (_dir, engine, ks) = engine();
            let mut setup = engine.begin(IsolationLevel::Serializable);
            setup.put(ks, b"x", b"10").expect("put");
            setup.commit().expect("commit");

            let mut txn = engine.begin(IsolationLevel::RepeatableRead);
            txn.put(ks, b"a", b"1").expect("put");
            let sp = txn.savepoint().expect("savepoint");
            txn.put(ks, b"a", b"2").expect("put");
            txn.put(ks, b"b", b"5").expect("put");
            txn.delete(ks, b"x").expect("delete");
            assert_eq!(txn.get(ks, b"x").expect("get"), None);
            txn.rollback_to_savepoint(sp).expect("rollback to");
            assert_eq!(txn.get(ks, b"a").expect("get"), Some(b"1".to_vec()));
            assert_eq!(txn.get(ks, b"b").expect("get"), None);
            assert_eq!(txn.get(ks, b"x").expect("get"), Some(b"10".to_vec()));
            let keys: Vec<Vec<u8>> = txn
                .scan(ks, ..)
                .expect("scan")
                .map(|r| r.expect("row").0)
                .collect();
            assert_eq!(keys, vec![b"a".to_vec(), b"x".to_vec()]);
            // The savepoint stays open: it can be rolled back to again.
            txn.put(ks, b"c", b"7").expect("put");
            txn.rollback_to_savepoint(sp).expect("again");
            assert_eq!(txn.get(ks, b"c").expect("get"), None);
            txn.commit().expect("commit");

            let mut reader = engine.begin(IsolationLevel::RepeatableRead);
            let rows: Vec<(Vec<u8>, Vec<u8>)> = reader
                .scan(ks, ..)
                .expect("scan")
                .map(|r| r.expect("row"))
                .collect();
            assert_eq!(
                rows,
                vec![
                    (b"a".to_vec(), b"1".to_vec()),
                    (b"x".to_vec(), b"10".to_vec())
                ]
            );
        }

        #[test]
        fn dirty_readers_see_the_intents_as_of_the_mark() {
            let (_dir, engine, ks) = engine();
            let mut writer = engine.begin(IsolationLevel::ReadCommitted);
            writer.put(ks, b"a", b"1").expect("put");
            let sp = writer.savepoint().expect("savepoint");
            writer.put(ks, b"a", b"2").expect("put");
            writer.put(ks, b"b", b"3").expect("put");
            let mut dirty = engine.begin(IsolationLevel::ReadUncommitted);
            assert_eq!(dirty.get(ks, b"a").expect("get"), Some(b"2".to_vec()));
            writer.rollback_to_savepoint(sp).expect("rollback to");
            assert_eq!(dirty.get(ks, b"a").expect("get"), Some(b"1".to_vec()));
            assert_eq!(dirty.get(ks, b"b").expect("get"), None);
            assert_eq!(engine.transactions()[0].writes, 1);
        }

        #[test]
        fn locks_taken_after_the_mark_stay_held() {
            let (_dir, engine, ks) = engine();
            let mut txn = engine.begin(IsolationLevel::ReadCommitted);
            let sp = txn.savepoint().expect("savepoint");
            txn.put(ks, b"k", b"1").expect("put");
            txn.rollback_to_savepoint(sp).expect("rollback to");
            assert!(holds(&engine, txn.id(), b"k", ks));
            let mut other = engine.begin(IsolationLevel::ReadCommitted);
            assert!(!other.try_lock(ks, b"k", LockMode::Exclusive).expect("try"));
            txn.rollback().expect("rollback");
            assert!(other.try_lock(ks, b"k", LockMode::Exclusive).expect("try"));
        }

        #[test]
        fn release_keeps_writes_and_unknown_savepoints_are_refused() {
            let (_dir, engine, ks) = engine();
            let mut txn = engine.begin(IsolationLevel::Serializable);
            let outer = txn.savepoint().expect("savepoint");
            txn.put(ks, b"a", b"1").expect("put");
            let inner = txn.savepoint().expect("savepoint");
            txn.put(ks, b"b", b"2").expect("put");
            txn.release_savepoint(inner).expect("release");
            assert!(txn.rollback_to_savepoint(inner).is_err());
            assert_eq!(txn.get(ks, b"b").expect("get"), Some(b"2".to_vec()));
            txn.rollback_to_savepoint(outer).expect("outer");
            assert_eq!(txn.get(ks, b"a").expect("get"), None);
            assert_eq!(txn.get(ks, b"b").expect("get"), None);
            txn.release_savepoint(outer).expect("release");
            assert!(txn.release_savepoint(outer).is_err());
            txn.commit().expect("commit");
        }
    }
}
