//! The system catalogs: read-only `pg_catalog` and `information_schema`
//! relations computed from isodb's catalog, so PostgreSQL tools (psql's
//! `\dt`, `\d t`, `\di`, `\l`, drivers' introspection) and embedded users
//! can ask SQL what exists:
//!
//! ```text
//!   CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE INDEX t_v ON t (v);
//!
//!   pg_class       oid        relname  relkind relnamespace
//!                  1048576    t        r       2200 (public)
//!                  1048577    t_v      i       2200
//!                  2148532224 t_pkey   i       2200   (the primary key, as PostgreSQL shows it)
//!   pg_index       indexrelid indrelid  indisprimary indkey
//!                  2148532224 1048576   true         1
//!                  1048577    1048576   false        2
//! ```
//!
//! Rows are computed when a statement scans a relation, from the table
//! definitions its own transaction sees (so a block sees its own
//! uncommitted DDL), once per statement ([`CatalogSnapshot`]). OIDs: a
//! table's or index's is its keyspace id; a primary key, which has no
//! keyspace of its own, gets [`PRIMARY_KEY_OID_BASE`] plus its table's.
//! Relations of PostgreSQL features isodb lacks (policies, publications,
//! inheritance, triggers, ...) exist and are empty, so the queries tools
//! send about them answer "none".

pub mod information_schema;
pub mod pg_catalog;

use crate::catalog::{IndexDef, TableDef};
use crate::types::{DataType, Value};

/// `pg_catalog`'s namespace OID.
pub const PG_CATALOG_OID: i64 = 11;
/// `public`'s namespace OID.
pub const PUBLIC_OID: i64 = 2200;
/// `information_schema`'s namespace OID.
pub const INFORMATION_SCHEMA_OID: i64 = 13_000;
/// The one role's OID (the connected user).
pub const ROLE_OID: i64 = 10;
/// The database's OID.
pub const DATABASE_OID: i64 = 1;
/// Added to a table's OID to name its primary-key index.
pub const PRIMARY_KEY_OID_BASE: i64 = 2 << 30;
/// Added to a table's OID to name its primary-key constraint.
pub const CONSTRAINT_OID_BASE: i64 = 3 << 30;
/// The first OID of the system relations themselves.
const SYSTEM_RELATION_OID_BASE: i64 = 12_000;
/// The `default` collation.
pub const DEFAULT_COLLATION_OID: i64 = 100;
/// The btree access method.
pub const BTREE_OID: i64 = 403;
/// The heap access method.
pub const HEAP_OID: i64 = 2;
/// PostgreSQL's encoding number of UTF8.
pub const UTF8_ENCODING: i64 = 6;

/// Which schema a system relation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// `pg_catalog` (searched first for unqualified names, as in PostgreSQL).
    PgCatalog,
    /// `information_schema` (only by qualified name).
    InformationSchema,
}

impl Schema {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Schema::PgCatalog => "pg_catalog",
            Schema::InformationSchema => "information_schema",
        }
    }

    /// Its namespace OID.
    pub fn oid(self) -> i64 {
        match self {
            Schema::PgCatalog => PG_CATALOG_OID,
            Schema::InformationSchema => INFORMATION_SCHEMA_OID,
        }
    }
}

/// The definition of one system relation.
pub struct Relation {
    /// Its schema.
    pub schema: Schema,
    /// Its name.
    pub name: &'static str,
    /// Its columns.
    pub columns: &'static [(&'static str, DataType)],
    /// Its rows, in column order.
    pub rows: fn(&CatalogSnapshot) -> Vec<Vec<Value>>,
}

/// A system relation, by its position in [`relations`]: small, `Copy`,
/// comparable, what plans hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemTable(u16);

/// Every system relation.
pub fn relations() -> impl Iterator<Item = &'static Relation> {
    pg_catalog::RELATIONS
        .iter()
        .chain(information_schema::RELATIONS.iter())
}

impl SystemTable {
    /// The relation called `name` in `schema` (`None`: unqualified, which
    /// finds only `pg_catalog` relations).
    pub fn find(schema: Option<&str>, name: &str) -> Option<SystemTable> {
        let wanted = match schema {
            None | Some("pg_catalog") => Schema::PgCatalog,
            Some("information_schema") => Schema::InformationSchema,
            Some(_) => return None,
        };
        relations()
            .position(|r| r.schema == wanted && r.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(SystemTable)
    }

    /// Its definition.
    pub fn relation(self) -> &'static Relation {
        // `find` hands out positions of `relations()` only.
        relations()
            .nth(usize::from(self.0))
            .unwrap_or(&pg_catalog::RELATIONS[0])
    }

    /// Its OID in `pg_class`.
    pub fn oid(self) -> i64 {
        SYSTEM_RELATION_OID_BASE + i64::from(self.0)
    }

    /// Every system relation with its handle.
    pub fn all() -> impl Iterator<Item = (SystemTable, &'static Relation)> {
        relations()
            .enumerate()
            .filter_map(|(i, r)| u16::try_from(i).ok().map(|i| (SystemTable(i), r)))
    }
}

/// What the system relations are computed from, for one statement.
#[derive(Debug, Clone)]
pub struct CatalogSnapshot {
    /// The tables the statement's transaction sees, by name.
    pub tables: Vec<TableDef>,
    /// The connected user.
    pub user: String,
    /// The database's name.
    pub database: String,
    /// Every setting: name, value, description (for `pg_settings`).
    pub settings: Vec<(String, String, String)>,
    /// Transactions prepared by `PREPARE TRANSACTION` (for `pg_prepared_xacts`).
    pub prepared: Vec<PreparedXact>,
}

/// A transaction prepared by `PREPARE TRANSACTION`, as `pg_prepared_xacts`
/// lists it.
#[derive(Debug, Clone)]
pub struct PreparedXact {
    /// Its transaction id.
    pub transaction: u64,
    /// Its global id.
    pub gid: String,
    /// When it was prepared, in milliseconds since the Unix epoch.
    pub prepared_at_ms: u64,
}

/// An index as `pg_index` lists it: a secondary index, or a table's
/// primary key.
#[derive(Debug, Clone, Copy)]
pub enum IndexRef<'a> {
    /// The primary key of the table.
    Primary(&'a TableDef),
    /// A secondary index of the table.
    Secondary(&'a TableDef, &'a IndexDef),
}

impl IndexRef<'_> {
    /// Its OID.
    pub fn oid(&self) -> i64 {
        match self {
            IndexRef::Primary(table) => PRIMARY_KEY_OID_BASE + i64::from(table.id),
            IndexRef::Secondary(_, index) => i64::from(index.id),
        }
    }

    /// Its name.
    pub fn name(&self) -> String {
        match self {
            IndexRef::Primary(table) => table.primary_key_name(),
            IndexRef::Secondary(_, index) => index.name.clone(),
        }
    }

    /// The table it indexes.
    pub fn table(&self) -> &TableDef {
        match self {
            IndexRef::Primary(table) | IndexRef::Secondary(table, _) => table,
        }
    }

    /// The indexed columns, as positions in the table.
    pub fn columns(&self) -> &[usize] {
        match self {
            IndexRef::Primary(table) => &table.primary_key,
            IndexRef::Secondary(_, index) => &index.columns,
        }
    }

    /// True for unique indexes (a primary key is one).
    pub fn unique(&self) -> bool {
        match self {
            IndexRef::Primary(_) => true,
            IndexRef::Secondary(_, index) => index.unique,
        }
    }

    /// True for the primary key.
    pub fn primary(&self) -> bool {
        matches!(self, IndexRef::Primary(_))
    }

    /// `CREATE [UNIQUE] INDEX name ON public.t USING btree (a, b)`, as
    /// `pg_get_indexdef` prints it.
    pub fn definition(&self) -> String {
        let unique = if self.unique() { "UNIQUE " } else { "" };
        format!(
            "CREATE {unique}INDEX {} ON public.{} USING btree ({})",
            self.name(),
            self.table().name,
            self.table().column_names(self.columns())
        )
    }
}

impl CatalogSnapshot {
    /// Every index of every table, primary keys included.
    pub fn indexes(&self) -> Vec<IndexRef<'_>> {
        let mut out = Vec::new();
        for table in &self.tables {
            if !table.has_row_id() {
                out.push(IndexRef::Primary(table));
            }
            out.extend(table.indexes.iter().map(|i| IndexRef::Secondary(table, i)));
        }
        out
    }

    /// The table with this OID.
    pub fn table_by_oid(&self, oid: i64) -> Option<&TableDef> {
        self.tables.iter().find(|t| i64::from(t.id) == oid)
    }

    /// The index with this OID.
    pub fn index_by_oid(&self, oid: i64) -> Option<IndexRef<'_>> {
        self.indexes().into_iter().find(|i| i.oid() == oid)
    }

    /// The schema and name of the relation with this OID.
    pub fn relation_name(&self, oid: i64) -> Option<(&'static str, String)> {
        if let Some(table) = self.table_by_oid(oid) {
            return Some(("public", table.name.clone()));
        }
        if let Some(index) = self.index_by_oid(oid) {
            return Some(("public", index.name()));
        }
        SystemTable::all()
            .find(|(t, _)| t.oid() == oid)
            .map(|(_, r)| (r.schema.name(), r.name.to_string()))
    }

    /// The OID of the relation called `name` (`t`, `public.t`,
    /// `pg_catalog.pg_class`).
    pub fn relation_oid(&self, name: &str) -> Option<i64> {
        let (schema, name) = match name.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, name),
        };
        let name = name.trim_matches('"');
        if matches!(schema, None | Some("public")) {
            if let Some(table) = self.tables.iter().find(|t| t.name == name) {
                return Some(i64::from(table.id));
            }
            if let Some(index) = self.indexes().into_iter().find(|i| i.name() == name) {
                return Some(index.oid());
            }
        }
        SystemTable::find(schema, name).map(SystemTable::oid)
    }

    /// True when the relation is found by its unqualified name (`public`
    /// and `pg_catalog` are on the search path).
    pub fn is_visible(&self, oid: i64) -> bool {
        self.relation_name(oid)
            .is_some_and(|(schema, _)| schema != "information_schema")
    }
}

/// The name of a namespace OID.
pub fn namespace_name(oid: i64) -> Option<&'static str> {
    match oid {
        PG_CATALOG_OID => Some("pg_catalog"),
        PUBLIC_OID => Some("public"),
        INFORMATION_SCHEMA_OID => Some("information_schema"),
        _ => None,
    }
}

/// PostgreSQL's text of a one-dimensional array (`{a,b}`), quoting
/// elements that need it.
pub fn array_text<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| {
            let item = item.as_ref();
            let plain = !item.is_empty()
                && !item.eq_ignore_ascii_case("null")
                && !item.contains(|c: char| {
                    matches!(c, ',' | '{' | '}' | '"' | '\\') || c.is_whitespace()
                });
            if plain {
                item.to_string()
            } else {
                format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\""))
            }
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// The elements of PostgreSQL array text (`{a,"b c",NULL}`); `None` for an
/// unquoted NULL element, `Err` for text that is not an array.
pub fn parse_array_text(text: &str) -> Result<Vec<Option<String>>, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("malformed array literal: \"{text}\""))?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => item.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => item.push(c),
                    None => return Err(format!("malformed array literal: \"{text}\"")),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            chars.next();
            if !quoted {
                item.push(c);
            }
        }
        let item = if quoted {
            item
        } else {
            item.trim().to_string()
        };
        items.push((quoted || !item.eq_ignore_ascii_case("null")).then_some(item));
        if chars.next().is_none() {
            break;
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_text_round_trips() {
        let text = array_text(&["a", "b c", "", "x\"y"]);
        assert_eq!(text, r#"{a,"b c","","x\"y"}"#);
        let parsed = parse_array_text(&text).expect("parses");
        assert_eq!(
            parsed,
            vec![
                Some("a".into()),
                Some("b c".into()),
                Some(String::new()),
                Some("x\"y".into())
            ]
        );
        assert_eq!(
            parse_array_text("{1, NULL}").expect("parses"),
            vec![Some("1".into()), None]
        );
        assert_eq!(
            parse_array_text("{}").expect("parses"),
            Vec::<Option<String>>::new()
        );
        assert!(parse_array_text("1,2").is_err());
    }

    #[test]
    fn every_relation_has_rows_of_its_width_and_a_unique_name() {
        let snapshot = CatalogSnapshot {
            tables: vec![crate::catalog::TableDef {
                id: 1 << 20,
                name: "t".into(),
                columns: vec![
                    crate::catalog::ColumnDef {
                        name: "id".into(),
                        data_type: DataType::Integer,
                        nullable: false,
                        default: None,
                    },
                    crate::catalog::ColumnDef {
                        name: "v".into(),
                        data_type: DataType::Text,
                        nullable: true,
                        default: Some("'x'".into()),
                    },
                ],
                primary_key: vec![0],
                indexes: vec![crate::catalog::IndexDef {
                    id: (1 << 20) + 1,
                    name: "t_v".into(),
                    columns: vec![1],
                    unique: true,
                }],
                distribution: Default::default(),
            }],
            user: "ada".into(),
            database: "db".into(),
            settings: vec![("a".into(), "b".into(), "c".into())],
            prepared: vec![PreparedXact {
                transaction: 7,
                gid: "g".into(),
                prepared_at_ms: 1_700_000_000_000,
            }],
        };
        let mut names = std::collections::HashSet::new();
        for (table, relation) in SystemTable::all() {
            assert!(
                names.insert((relation.schema, relation.name)),
                "{}",
                relation.name
            );
            assert_eq!(
                SystemTable::find(Some(relation.schema.name()), relation.name),
                Some(table)
            );
            for row in (relation.rows)(&snapshot) {
                assert_eq!(row.len(), relation.columns.len(), "{}", relation.name);
            }
        }
        assert_eq!(snapshot.relation_oid("t"), Some(1 << 20));
        assert_eq!(
            snapshot.relation_oid("t_pkey"),
            Some(PRIMARY_KEY_OID_BASE + (1 << 20))
        );
        let pg_class = SystemTable::find(None, "pg_class").expect("pg_class");
        assert_eq!(
            snapshot.relation_name(pg_class.oid()),
            Some(("pg_catalog", "pg_class".into()))
        );
        assert!(
            SystemTable::find(None, "tables").is_none(),
            "information_schema is not searched"
        );
        assert_eq!(
            snapshot
                .index_by_oid(PRIMARY_KEY_OID_BASE + (1 << 20))
                .map(|i| i.definition()),
            Some("CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)".into())
        );
    }
}
