//! `Keyspace`: a numbered prefix that keeps tables, indexes and the engine's
//! own records apart in the one ordered key space of the store.
//!
//! A key `k` in keyspace `n` is stored as `n as u32 big-endian ++ k`, so a
//! keyspace is one contiguous range and its keys keep their order. Ids below
//! [`FIRST_USER_KEYSPACE`] are reserved: 0 names keyspaces, 1 holds prepared
//! two-phase-commit transactions, 2 names the lock keys of whole keyspaces
//! (see [`Keyspace::lock_key`]; nothing is ever stored there), 3 holds the
//! status records (decisions) of cross-shard transactions.
//!
//! In a database of several shards the top byte of an id is the shard
//! number ([`Keyspace::on_shard`], [`Keyspace::shard`]): a table has one
//! keyspace per shard, and a key says which shard holds it. Shard 0's ids
//! are the plain ones, so a database of one shard is laid out as before
//! shards existed.

use std::ops::Bound;

use crate::txn::write_set::WriteKey;

/// Keyspace of the name → id catalog.
pub(crate) const CATALOG_KEYSPACE: u32 = 0;
/// Keyspace of durable prepared-transaction records.
pub(crate) const PREPARED_KEYSPACE: u32 = 1;
/// Keyspace of the lock keys of whole keyspaces (never stored).
pub(crate) const KEYSPACE_LOCK_KEYSPACE: u32 = 2;
/// Keyspace of the status records of cross-shard transactions (decisions).
pub(crate) const STATUS_KEYSPACE: u32 = 3;
/// The first id available to callers.
pub const FIRST_USER_KEYSPACE: u32 = 16;
/// The bits of an id below its shard number.
pub const SHARD_MASK: u32 = (1 << 24) - 1;

/// A numbered key prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Keyspace {
    id: u32,
}

impl Keyspace {
    /// The keyspace with number `id`.
    pub fn new(id: u32) -> Keyspace {
        Keyspace { id }
    }

    /// Its number.
    pub fn id(self) -> u32 {
        self.id
    }

    /// The same keyspace on shard `shard` (the top byte of the id).
    pub fn on_shard(self, shard: u16) -> Keyspace {
        Keyspace::new((self.id & SHARD_MASK) | (u32::from(shard) << 24))
    }

    /// The shard this keyspace belongs to.
    pub fn shard(self) -> u16 {
        (self.id >> 24) as u16
    }

    /// The keyspace's number without its shard (the same on every shard).
    pub fn local_id(self) -> u32 {
        self.id & SHARD_MASK
    }

    /// The stored form of `key` in this keyspace.
    pub fn key(self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(4 + key.len());
        full.extend_from_slice(&self.id.to_be_bytes());
        full.extend_from_slice(key);
        full
    }

    /// [`Keyspace::key`] as a write-set key (inline when short).
    pub(crate) fn write_key(self, key: &[u8]) -> WriteKey {
        WriteKey::from_parts(&self.id.to_be_bytes(), key)
    }

    /// The keyspace a stored key belongs to (`None` for a key shorter than
    /// a prefix).
    pub fn of(full: &[u8]) -> Option<Keyspace> {
        let prefix = full.get(..4)?;
        let mut id = [0u8; 4];
        id.copy_from_slice(prefix);
        Some(Keyspace::new(u32::from_be_bytes(id)))
    }

    /// The key the lock manager locks to lock the whole keyspace: every
    /// row lock of a transaction in this keyspace is preceded by a Shared
    /// lock on it, and a transaction that escalates holds it Exclusive
    /// (see [`crate::txn::escalation`]).
    pub fn lock_key(self) -> Vec<u8> {
        Keyspace::new(KEYSPACE_LOCK_KEYSPACE).key(&self.id.to_be_bytes())
    }

    /// The keyspace whose lock key `key` is, if it is one.
    pub fn locked_by(key: &[u8]) -> Option<Keyspace> {
        let id = Keyspace::new(KEYSPACE_LOCK_KEYSPACE).strip(key)?;
        let id = <[u8; 4]>::try_from(id).ok()?;
        Some(Keyspace::new(u32::from_be_bytes(id)))
    }

    /// The key without its keyspace prefix, if it belongs to this keyspace.
    pub fn strip(self, full: &[u8]) -> Option<&[u8]> {
        full.strip_prefix(&self.id.to_be_bytes()[..])
    }

    /// Stored-key bounds for a range of keys of this keyspace.
    pub fn bounds(
        self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let lower = match lower {
            Bound::Included(k) => Bound::Included(self.key(k)),
            Bound::Excluded(k) => Bound::Excluded(self.key(k)),
            Bound::Unbounded => Bound::Included(self.key(&[])),
        };
        let upper = match upper {
            Bound::Included(k) => Bound::Included(self.key(k)),
            Bound::Excluded(k) => Bound::Excluded(self.key(k)),
            Bound::Unbounded => match self.id.checked_add(1) {
                Some(next) => Bound::Excluded(next.to_be_bytes().to_vec()),
                None => Bound::Unbounded,
            },
        };
        (lower, upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_ranges_stay_inside_the_keyspace() {
        let ks = Keyspace::new(20);
        let full = ks.key(b"abc");
        assert_eq!(ks.strip(&full), Some(&b"abc"[..]));
        assert_eq!(Keyspace::new(21).strip(&full), None);
        let (lo, hi) = ks.bounds(Bound::Unbounded, Bound::Unbounded);
        let inside = |k: &Vec<u8>| {
            (match &lo {
                Bound::Included(l) => k >= l,
                _ => false,
            }) && (match &hi {
                Bound::Excluded(h) => k < h,
                _ => false,
            })
        };
        assert!(inside(&ks.key(b"")));
        assert!(inside(&ks.key(&[0xff; 8])));
        assert!(!inside(&Keyspace::new(21).key(b"")));
        assert!(!inside(&Keyspace::new(19).key(&[0xff])));
    }

    #[test]
    fn a_key_knows_its_keyspace_and_lock_keys_name_theirs() {
        let ks = Keyspace::new(300);
        assert_eq!(Keyspace::of(&ks.key(b"row")), Some(ks));
        assert_eq!(Keyspace::of(&[0, 1]), None);
        assert_eq!(Keyspace::locked_by(&ks.lock_key()), Some(ks));
        assert_eq!(Keyspace::locked_by(&ks.key(b"row")), None);
        assert_ne!(Keyspace::of(&ks.lock_key()), Some(ks));
    }
}
