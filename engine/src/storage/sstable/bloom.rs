//! The per-table bloom filter over user keys, so a point read can skip a
//! table that certainly does not hold its key.
//!
//! Each user key is hashed once with xxh3 into 64 bits; the low and high
//! halves `h1`, `h2` give the `k` probe positions by double hashing:
//!
//! ```text
//! bit_i = (h1 + i * h2) mod m        for i in 0..k
//! ```
//!
//! With `b` bits per key, `k = round(b * ln 2)` minimises the false-positive
//! rate (about 0.8% at 10 bits per key). The encoded filter is the bit array
//! followed by one byte holding `k`:
//!
//! ```text
//! +--------------------------+--------+
//! | bit array (m / 8 bytes)  | k: u8  |
//! +--------------------------+--------+
//! ```
//!
//! `k = 0` marks a disabled filter (bloom bits per key set to 0) that answers
//! "may contain" for every key.

use xxhash_rust::xxh3::xxh3_64;

/// Most probes a filter may use; more is never useful and bounds the work a
/// corrupt `k` byte could cause.
const MAX_PROBES: u8 = 30;

/// The hash of a user key that the filter is built from and probed with.
pub fn hash_user_key(user_key: &[u8]) -> u64 {
    xxh3_64(user_key)
}

/// A decoded bloom filter.
pub struct BloomFilter {
    /// The bit array.
    bits: Vec<u8>,
    /// Number of probes; 0 means the filter is disabled.
    probes: u8,
}

impl BloomFilter {
    /// Encodes a filter for the keys whose [`hash_user_key`] values are
    /// `key_hashes`, with about `bits_per_key` bits each.
    pub fn build(key_hashes: &[u64], bits_per_key: usize) -> Vec<u8> {
        if bits_per_key == 0 {
            return vec![0];
        }
        let probes = ((bits_per_key as f64) * std::f64::consts::LN_2).round() as u64;
        let probes = probes.clamp(1, u64::from(MAX_PROBES)) as u8;
        // At least 64 bits so that tiny tables do not see a high FP rate.
        let num_bits = key_hashes.len().saturating_mul(bits_per_key).max(64);
        let num_bytes = num_bits.div_ceil(8);
        let mut encoded = vec![0u8; num_bytes + 1];
        let bit_count = (num_bytes * 8) as u64;
        for &hash in key_hashes {
            for bit in probe_positions(hash, probes, bit_count) {
                encoded[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        encoded[num_bytes] = probes;
        encoded
    }

    /// Validates an encoded filter; returns the reason when it is malformed.
    pub fn decode(mut encoded: Vec<u8>) -> Result<BloomFilter, String> {
        let probes = encoded
            .pop()
            .ok_or_else(|| "filter block is empty".to_string())?;
        if probes > MAX_PROBES {
            return Err(format!(
                "filter uses {probes} probes, more than {MAX_PROBES}"
            ));
        }
        if probes > 0 && encoded.is_empty() {
            return Err("filter has probes but no bits".to_string());
        }
        Ok(BloomFilter {
            bits: encoded,
            probes,
        })
    }

    /// False only when `user_key` was certainly not among the built keys.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.may_contain_hash(hash_user_key(user_key))
    }

    /// [`BloomFilter::may_contain`] for a key already hashed with
    /// [`hash_user_key`].
    pub fn may_contain_hash(&self, hash: u64) -> bool {
        if self.probes == 0 {
            return true;
        }
        let bit_count = (self.bits.len() * 8) as u64;
        probe_positions(hash, self.probes, bit_count)
            .all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// Bytes of memory the filter's bit array occupies.
    pub fn size_bytes(&self) -> usize {
        self.bits.len()
    }
}

impl std::fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BloomFilter")
            .field("bits", &(self.bits.len() * 8))
            .field("probes", &self.probes)
            .finish()
    }
}

/// The `probes` bit positions of `hash` in an array of `bit_count` bits.
fn probe_positions(hash: u64, probes: u8, bit_count: u64) -> impl Iterator<Item = u64> {
    let h1 = hash & 0xffff_ffff;
    let h2 = hash >> 32;
    (0..u64::from(probes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bit_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_for(keys: &[Vec<u8>], bits_per_key: usize) -> BloomFilter {
        let hashes: Vec<u64> = keys.iter().map(|k| hash_user_key(k)).collect();
        BloomFilter::decode(BloomFilter::build(&hashes, bits_per_key)).expect("valid filter")
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let present: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| format!("user-{i:08}").into_bytes())
            .collect();
        let filter = filter_for(&present, 10);
        assert_eq!(filter.probes, 7);
        assert!(present.iter().all(|k| filter.may_contain(k)));
        let false_positives = (0..10_000u32)
            .filter(|i| filter.may_contain(format!("absent-{i:08}").as_bytes()))
            .count();
        assert!(
            false_positives < 200,
            "{false_positives} false positives in 10,000"
        );
    }

    #[test]
    fn tiny_filters_still_filter() {
        let filter = filter_for(&[b"only".to_vec()], 10);
        assert!(filter.may_contain(b"only"));
        let hits = (0..1000u32)
            .filter(|i| filter.may_contain(format!("other{i}").as_bytes()))
            .count();
        assert!(hits < 50, "{hits} false positives in 1,000");
    }

    #[test]
    fn disabled_filter_admits_everything() {
        let filter = filter_for(&[b"a".to_vec()], 0);
        assert!(filter.may_contain(b"anything"));
    }

    #[test]
    fn malformed_filters_are_rejected() {
        assert!(BloomFilter::decode(Vec::new()).is_err());
        assert!(BloomFilter::decode(vec![0xff, 0xff, 31]).is_err());
        assert!(BloomFilter::decode(vec![7]).is_err());
    }
}
