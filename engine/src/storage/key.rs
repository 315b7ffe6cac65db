//! Internal keys: how a user key and its version are laid out and ordered.
//!
//! Every entry the LSM stores is a *version* of a user key. Its internal key
//! is the user key followed by an 8-byte big-endian trailer holding the
//! sequence number and the kind of the write:
//!
//! ```text
//! +-----------------+---------------------------------------+
//! | user key bytes  | (seq << 8 | kind) as u64, big-endian   |
//! +-----------------+---------------------------------------+
//! ```
//!
//! Internal keys order by user key ascending, then by trailer *descending*,
//! so the newest version of a key comes first. Reading key `k` as of sequence
//! number `s` is one seek to [`seek_key`]`(k, s)`: the first entry at or after
//! it with user key `k` is the newest version with `seq <= s`.
//!
//! Plain bytewise comparison of encoded keys would be wrong (`"a"+trailer`
//! against `"ab"`), so every sorted structure compares with
//! [`compare_internal_keys`].

use std::cmp::Ordering;

/// A sequence number: the position of a write in the store's total order.
pub type SeqNo = u64;

/// The largest sequence number the 56 bits of the trailer can hold.
pub const MAX_SEQ: SeqNo = (1 << 56) - 1;

/// Length of the trailer appended to every user key.
pub const TRAILER_LEN: usize = 8;

/// What a version records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone: the key was deleted at this sequence number.
    Delete = 0,
    /// A value was written.
    Put = 1,
}

impl ValueKind {
    /// Decodes a kind byte; `None` for a byte isodb never writes.
    pub fn from_u8(byte: u8) -> Option<ValueKind> {
        match byte {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Packs a sequence number and kind into the trailer value.
pub fn pack_trailer(seq: SeqNo, kind: ValueKind) -> u64 {
    debug_assert!(seq <= MAX_SEQ);
    (seq << 8) | kind as u64
}

/// Appends the internal key of (`user_key`, `seq`, `kind`) to `buf`.
pub fn append_internal_key(buf: &mut Vec<u8>, user_key: &[u8], seq: SeqNo, kind: ValueKind) {
    buf.extend_from_slice(user_key);
    buf.extend_from_slice(&pack_trailer(seq, kind).to_be_bytes());
}

/// The internal key of (`user_key`, `seq`, `kind`).
pub fn encode_internal_key(user_key: &[u8], seq: SeqNo, kind: ValueKind) -> Vec<u8> {
    let mut buf = Vec::with_capacity(user_key.len() + TRAILER_LEN);
    append_internal_key(&mut buf, user_key, seq, kind);
    buf
}

/// The key to seek to when reading `user_key` as of snapshot `seq`: it sorts
/// before every version of `user_key` with a sequence number `<= seq` and after
/// every newer one.
pub fn seek_key(user_key: &[u8], seq: SeqNo) -> Vec<u8> {
    encode_internal_key(user_key, seq, ValueKind::Put)
}

/// True when `ikey` is long enough to hold a trailer and its kind byte is valid.
pub fn is_valid_internal_key(ikey: &[u8]) -> bool {
    ikey.len() >= TRAILER_LEN && ValueKind::from_u8(ikey[ikey.len() - 1]).is_some()
}

/// The user-key part of an internal key.
pub fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len() - TRAILER_LEN]
}

/// The trailer of an internal key as a number.
pub fn trailer(ikey: &[u8]) -> u64 {
    let mut bytes = [0u8; TRAILER_LEN];
    bytes.copy_from_slice(&ikey[ikey.len() - TRAILER_LEN..]);
    u64::from_be_bytes(bytes)
}

/// The sequence number of an internal key.
pub fn seq_of(ikey: &[u8]) -> SeqNo {
    trailer(ikey) >> 8
}

/// The kind of an internal key. Keys are validated when blocks are decoded, so
/// an unknown kind byte here is a bug; it is read as a tombstone.
pub fn kind_of(ikey: &[u8]) -> ValueKind {
    ValueKind::from_u8(ikey[ikey.len() - 1]).unwrap_or(ValueKind::Delete)
}

/// Splits an internal key into user key, sequence number and kind.
pub fn split_internal_key(ikey: &[u8]) -> (&[u8], SeqNo, ValueKind) {
    (user_key(ikey), seq_of(ikey), kind_of(ikey))
}

/// Orders internal keys: user key ascending, then newest version first.
pub fn compare_internal_keys(a: &[u8], b: &[u8]) -> Ordering {
    compare_bytes(user_key(a), user_key(b)).then_with(|| trailer(b).cmp(&trailer(a)))
}

/// Bytewise (lexicographic) order of `a` and `b`, the same as `a.cmp(b)`,
/// compared eight bytes at a time. Keys are short and share long prefixes
/// (keyspace, table, leading columns), so the sorted structures spend most
/// of their time here; inline word compares beat a `memcmp` call for them.
#[inline]
pub fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    let mut at = 0;
    while at + 8 <= common {
        let (x, y) = (word_at(a, at), word_at(b, at));
        if x != y {
            return x.cmp(&y);
        }
        at += 8;
    }
    if at < common {
        if common >= 8 {
            // The last eight common bytes: they overlap bytes already found
            // equal, so the first difference among them decides.
            let (x, y) = (word_at(a, common - 8), word_at(b, common - 8));
            if x != y {
                return x.cmp(&y);
            }
        } else {
            let order = a[at..common].cmp(&b[at..common]);
            if order.is_ne() {
                return order;
            }
        }
    }
    a.len().cmp(&b.len())
}

/// The eight bytes of `bytes` at `at` as a big-endian word (`at + 8` must
/// not pass the end).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn compare_bytes_is_bytewise_order(
            prefix in proptest::collection::vec(any::<u8>(), 0..20),
            a in proptest::collection::vec(0u8..4, 0..20),
            b in proptest::collection::vec(0u8..4, 0..20),
        ) {
            // Shared prefixes and a small alphabet make ties and
            // prefix-of cases common.
            let a = [prefix.clone(), a].concat();
            let b = [prefix, b].concat();
            prop_assert_eq!(compare_bytes(&a, &b), a.cmp(&b));
            prop_assert_eq!(compare_bytes(&b, &a), b.cmp(&a));
            prop_assert_eq!(compare_bytes(&a, &a), Ordering::Equal);
        }
    }

    #[test]
    fn compare_bytes_handles_zero_bytes_and_prefixes() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"", b""),
            (b"", b"\0"),
            (b"abc", b"abc\0"),
            (b"abcdefgh", b"abcdefgh\0"),
            (b"abcdefgh\x01", b"abcdefgh\0\xff"),
            (
                b"\xff\xff\xff\xff\xff\xff\xff\xff\x00",
                b"\xff\xff\xff\xff\xff\xff\xff\xff",
            ),
        ];
        for (a, b) in cases {
            assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} vs {b:?}");
            assert_eq!(compare_bytes(b, a), b.cmp(a), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn newer_versions_sort_first_and_prefixes_sort_by_user_key() {
        let a_old = encode_internal_key(b"a", 1, ValueKind::Put);
        let a_new = encode_internal_key(b"a", 9, ValueKind::Delete);
        let ab = encode_internal_key(b"ab", 1, ValueKind::Put);
        assert_eq!(compare_internal_keys(&a_new, &a_old), Ordering::Less);
        assert_eq!(compare_internal_keys(&a_old, &ab), Ordering::Less);
        assert_eq!(compare_internal_keys(&a_new, &ab), Ordering::Less);
        // Bytewise order would put "a"+0xff.. after "ab"; ours must not.
        let a_max = encode_internal_key(b"a", MAX_SEQ, ValueKind::Put);
        assert_eq!(compare_internal_keys(&a_max, &ab), Ordering::Less);
    }

    #[test]
    fn seek_key_lands_on_newest_visible_version() {
        let v5 = encode_internal_key(b"k", 5, ValueKind::Put);
        let v7 = encode_internal_key(b"k", 7, ValueKind::Put);
        let seek = seek_key(b"k", 6);
        assert_eq!(compare_internal_keys(&v7, &seek), Ordering::Less);
        assert_eq!(compare_internal_keys(&seek, &v5), Ordering::Less);
        assert_eq!(
            compare_internal_keys(&seek_key(b"k", 5), &v5),
            Ordering::Equal
        );
    }

    #[test]
    fn split_round_trips() {
        let k = encode_internal_key(b"user", 42, ValueKind::Delete);
        assert_eq!(
            split_internal_key(&k),
            (&b"user"[..], 42, ValueKind::Delete)
        );
        assert!(is_valid_internal_key(&k));
        assert!(!is_valid_internal_key(b"short"));
    }
}
