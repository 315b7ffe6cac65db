//! The properties block: facts about a table that readers want without
//! touching its data blocks. Today that is the key range.
//!
//! ```text
//! +-------------------------+-----------------+-------------------------+----------------+
//! | smallest len: varint    | smallest ikey   | largest len: varint     | largest ikey   |
//! +-------------------------+-----------------+-------------------------+----------------+
//! ```
//!
//! The payload is framed and checksummed like every other block.

use std::cmp::Ordering;

use crate::storage::coding::{Decoder, put_bytes};
use crate::storage::key::{compare_internal_keys, is_valid_internal_key};

/// The key range of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableProperties {
    /// The first internal key of the table.
    pub smallest: Vec<u8>,
    /// The last internal key of the table.
    pub largest: Vec<u8>,
}

impl TableProperties {
    /// The properties block payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.smallest.len() + self.largest.len() + 8);
        put_bytes(&mut out, &self.smallest);
        put_bytes(&mut out, &self.largest);
        out
    }

    /// Decodes and checks a properties payload; returns the reason when it
    /// is malformed.
    pub fn decode(payload: &[u8]) -> Result<TableProperties, String> {
        let mut decoder = Decoder::new(payload);
        let smallest = decoder.bytes().ok_or("truncated smallest key")?;
        let largest = decoder.bytes().ok_or("truncated largest key")?;
        if !decoder.is_empty() {
            return Err("trailing bytes after the key range".to_string());
        }
        if !is_valid_internal_key(smallest) || !is_valid_internal_key(largest) {
            return Err("malformed key in the key range".to_string());
        }
        if compare_internal_keys(smallest, largest) == Ordering::Greater {
            return Err("smallest key is greater than the largest".to_string());
        }
        Ok(TableProperties {
            smallest: smallest.to_vec(),
            largest: largest.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::key::{ValueKind, encode_internal_key};

    #[test]
    fn round_trips_and_rejects_nonsense() {
        let props = TableProperties {
            smallest: encode_internal_key(b"a", 3, ValueKind::Put),
            largest: encode_internal_key(b"z", 1, ValueKind::Delete),
        };
        let encoded = props.encode();
        assert_eq!(TableProperties::decode(&encoded), Ok(props.clone()));
        assert!(TableProperties::decode(&encoded[..encoded.len() - 1]).is_err());
        let swapped = TableProperties {
            smallest: props.largest.clone(),
            largest: props.smallest.clone(),
        };
        assert!(TableProperties::decode(&swapped.encode()).is_err());
        let mut trailing = encoded;
        trailing.push(0);
        assert!(TableProperties::decode(&trailing).is_err());
    }
}
