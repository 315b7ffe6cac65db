//! PostgreSQL's names and OIDs for isodb's types: what `pg_catalog.pg_type`
//! lists, what `format_type()` prints, and which type OIDs a PostgreSQL
//! client may use for a value of each [`DataType`].
//!
//! Each storage type has one *canonical* PostgreSQL type (the one result
//! columns are described with) and may have aliases a client can send
//! parameters as:
//!
//! ```text
//!   DataType   canonical            aliases (parameters)
//!   Boolean    bool (16)
//!   Integer    int8 (20)            int2 (21), int4 (23), oid (26)
//!   Double     float8 (701)         float4 (700), numeric (1700)
//!   Text       text (25)            varchar (1043), bpchar (1042), name (19),
//!                                   char (18), unknown (705)
//! ```
//!
//! One row per PostgreSQL type: adding a type (issue 15) adds rows here.

use crate::types::DataType;

/// A PostgreSQL type isodb maps onto one of its storage types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    /// Its OID.
    pub oid: u32,
    /// Its name in `pg_type` (`int8`).
    pub name: &'static str,
    /// Its SQL name, as `format_type` prints it (`bigint`).
    pub sql_name: &'static str,
    /// Its size in bytes, -1 for variable length, -2 for C strings.
    pub len: i16,
    /// Its `typcategory` letter (B, N, S, U).
    pub category: char,
    /// The storage type its values become.
    pub data_type: DataType,
    /// True for the type result columns of `data_type` are described with.
    pub canonical: bool,
}

const fn pg(
    oid: u32,
    name: &'static str,
    sql_name: &'static str,
    len: i16,
    category: char,
    data_type: DataType,
    canonical: bool,
) -> PgType {
    PgType {
        oid,
        name,
        sql_name,
        len,
        category,
        data_type,
        canonical,
    }
}

/// Every PostgreSQL type isodb knows.
pub const PG_TYPES: &[PgType] = &[
    pg(16, "bool", "boolean", 1, 'B', DataType::Boolean, true),
    pg(20, "int8", "bigint", 8, 'N', DataType::Integer, true),
    pg(21, "int2", "smallint", 2, 'N', DataType::Integer, false),
    pg(23, "int4", "integer", 4, 'N', DataType::Integer, false),
    pg(26, "oid", "oid", 4, 'N', DataType::Integer, false),
    pg(
        701,
        "float8",
        "double precision",
        8,
        'N',
        DataType::Double,
        true,
    ),
    pg(700, "float4", "real", 4, 'N', DataType::Double, false),
    pg(1700, "numeric", "numeric", -1, 'N', DataType::Double, false),
    pg(25, "text", "text", -1, 'S', DataType::Text, true),
    pg(
        1043,
        "varchar",
        "character varying",
        -1,
        'S',
        DataType::Text,
        false,
    ),
    pg(1042, "bpchar", "character", -1, 'S', DataType::Text, false),
    pg(19, "name", "name", 64, 'S', DataType::Text, false),
    pg(18, "char", "\"char\"", 1, 'S', DataType::Text, false),
    pg(705, "unknown", "unknown", -2, 'X', DataType::Text, false),
];

impl PgType {
    /// The type with this OID.
    pub fn by_oid(oid: u32) -> Option<PgType> {
        PG_TYPES.iter().copied().find(|t| t.oid == oid)
    }

    /// The canonical PostgreSQL type of a storage type.
    pub fn of(data_type: DataType) -> PgType {
        PG_TYPES
            .iter()
            .copied()
            .find(|t| t.canonical && t.data_type == data_type)
            .unwrap_or(PG_TYPES[0])
    }
}

/// The OID of the `unknown` type (an untyped parameter or NULL column).
pub const UNKNOWN_OID: u32 = 705;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_type_has_exactly_one_canonical_type() {
        for data_type in [
            DataType::Boolean,
            DataType::Integer,
            DataType::Double,
            DataType::Text,
        ] {
            let canonical: Vec<_> = PG_TYPES
                .iter()
                .filter(|t| t.canonical && t.data_type == data_type)
                .collect();
            assert_eq!(canonical.len(), 1, "{data_type}");
            assert_eq!(PgType::of(data_type).data_type, data_type);
        }
        assert_eq!(PgType::of(DataType::Integer).oid, 20);
        assert_eq!(
            PgType::by_oid(1043).map(|t| t.data_type),
            Some(DataType::Text)
        );
        let mut oids: Vec<u32> = PG_TYPES.iter().map(|t| t.oid).collect();
        oids.sort_unstable();
        oids.dedup();
        assert_eq!(oids.len(), PG_TYPES.len(), "OIDs are unique");
    }
}
