//! The `pg_catalog` relations: their columns (PostgreSQL 14's, in its
//! order; OIDs and small integers are INTEGER, `name` and `"char"` TEXT,
//! arrays their array text) and how each row is computed from a
//! [`CatalogSnapshot`].

use super::{
    BTREE_OID, CONSTRAINT_OID_BASE, CatalogSnapshot, DATABASE_OID, DEFAULT_COLLATION_OID, HEAP_OID,
    PG_CATALOG_OID, PUBLIC_OID, ROLE_OID, Relation, Schema, SystemTable, UTF8_ENCODING, array_text,
};
use crate::catalog::TableDef;
use crate::types::pg_type::{PG_TYPES, PgType};
use crate::types::{DataType, Value};

const B: DataType = DataType::Boolean;
const I: DataType = DataType::Integer;
const D: DataType = DataType::Double;
const T: DataType = DataType::Text;

fn int(n: i64) -> Value {
    Value::Integer(n)
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn boolean(b: bool) -> Value {
    Value::Boolean(b)
}

const NULL: Value = Value::Null;

const fn relation(
    name: &'static str,
    columns: &'static [(&'static str, DataType)],
    rows: fn(&CatalogSnapshot) -> Vec<Vec<Value>>,
) -> Relation {
    Relation {
        schema: Schema::PgCatalog,
        name,
        columns,
        rows,
    }
}

fn none(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    Vec::new()
}

/// Every `pg_catalog` relation.
pub static RELATIONS: &[Relation] = &[
    relation(
        "pg_namespace",
        &[("oid", I), ("nspname", T), ("nspowner", I), ("nspacl", T)],
        namespaces,
    ),
    relation(
        "pg_class",
        &[
            ("oid", I),
            ("relname", T),
            ("relnamespace", I),
            ("reltype", I),
            ("reloftype", I),
            ("relowner", I),
            ("relam", I),
            ("relfilenode", I),
            ("reltablespace", I),
            ("relpages", I),
            ("reltuples", D),
            ("relallvisible", I),
            ("reltoastrelid", I),
            ("relhasindex", B),
            ("relisshared", B),
            ("relpersistence", T),
            ("relkind", T),
            ("relnatts", I),
            ("relchecks", I),
            ("relhasrules", B),
            ("relhastriggers", B),
            ("relhassubclass", B),
            ("relrowsecurity", B),
            ("relforcerowsecurity", B),
            ("relispopulated", B),
            ("relreplident", T),
            ("relispartition", B),
            ("relrewrite", I),
            ("relfrozenxid", I),
            ("relminmxid", I),
            ("relacl", T),
            ("reloptions", T),
            ("relpartbound", T),
        ],
        classes,
    ),
    relation(
        "pg_attribute",
        &[
            ("attrelid", I),
            ("attname", T),
            ("atttypid", I),
            ("attstattarget", I),
            ("attlen", I),
            ("attnum", I),
            ("attndims", I),
            ("attcacheoff", I),
            ("atttypmod", I),
            ("attbyval", B),
            ("attalign", T),
            ("attstorage", T),
            ("attcompression", T),
            ("attnotnull", B),
            ("atthasdef", B),
            ("atthasmissing", B),
            ("attidentity", T),
            ("attgenerated", T),
            ("attisdropped", B),
            ("attislocal", B),
            ("attinhcount", I),
            ("attcollation", I),
            ("attacl", T),
            ("attoptions", T),
            ("attfdwoptions", T),
            ("attmissingval", T),
        ],
        attributes,
    ),
    relation(
        "pg_attrdef",
        &[("oid", I), ("adrelid", I), ("adnum", I), ("adbin", T)],
        defaults,
    ),
    relation(
        "pg_index",
        &[
            ("indexrelid", I),
            ("indrelid", I),
            ("indnatts", I),
            ("indnkeyatts", I),
            ("indisunique", B),
            ("indisprimary", B),
            ("indisexclusion", B),
            ("indimmediate", B),
            ("indisclustered", B),
            ("indisvalid", B),
            ("indcheckxmin", B),
            ("indisready", B),
            ("indislive", B),
            ("indisreplident", B),
            ("indkey", T),
            ("indcollation", T),
            ("indclass", T),
            ("indoption", T),
            ("indexprs", T),
            ("indpred", T),
        ],
        indexes,
    ),
    relation(
        "pg_constraint",
        &[
            ("oid", I),
            ("conname", T),
            ("connamespace", I),
            ("contype", T),
            ("condeferrable", B),
            ("condeferred", B),
            ("convalidated", B),
            ("conrelid", I),
            ("contypid", I),
            ("conindid", I),
            ("conparentid", I),
            ("confrelid", I),
            ("confupdtype", T),
            ("confdeltype", T),
            ("confmatchtype", T),
            ("conislocal", B),
            ("coninhcount", I),
            ("connoinherit", B),
            ("conkey", T),
            ("confkey", T),
            ("conpfeqop", T),
            ("conppeqop", T),
            ("conffeqop", T),
            ("conexclop", T),
            ("conbin", T),
        ],
        constraints,
    ),
    relation(
        "pg_type",
        &[
            ("oid", I),
            ("typname", T),
            ("typnamespace", I),
            ("typowner", I),
            ("typlen", I),
            ("typbyval", B),
            ("typtype", T),
            ("typcategory", T),
            ("typispreferred", B),
            ("typisdefined", B),
            ("typdelim", T),
            ("typrelid", I),
            ("typelem", I),
            ("typarray", I),
            ("typnotnull", B),
            ("typbasetype", I),
            ("typtypmod", I),
            ("typndims", I),
            ("typcollation", I),
            ("typdefault", T),
        ],
        types,
    ),
    relation(
        "pg_am",
        &[("oid", I), ("amname", T), ("amhandler", T), ("amtype", T)],
        access_methods,
    ),
    relation(
        "pg_collation",
        &[
            ("oid", I),
            ("collname", T),
            ("collnamespace", I),
            ("collowner", I),
            ("collprovider", T),
            ("collisdeterministic", B),
            ("collencoding", I),
            ("collcollate", T),
            ("collctype", T),
        ],
        collations,
    ),
    relation(
        "pg_database",
        &[
            ("oid", I),
            ("datname", T),
            ("datdba", I),
            ("encoding", I),
            ("datcollate", T),
            ("datctype", T),
            ("datistemplate", B),
            ("datallowconn", B),
            ("datconnlimit", I),
            ("datlastsysoid", I),
            ("datfrozenxid", I),
            ("datminmxid", I),
            ("dattablespace", I),
            ("datacl", T),
        ],
        databases,
    ),
    relation(
        "pg_roles",
        &[
            ("rolname", T),
            ("rolsuper", B),
            ("rolinherit", B),
            ("rolcreaterole", B),
            ("rolcreatedb", B),
            ("rolcanlogin", B),
            ("rolreplication", B),
            ("rolconnlimit", I),
            ("rolpassword", T),
            ("rolvaliduntil", T),
            ("rolbypassrls", B),
            ("rolconfig", T),
            ("oid", I),
        ],
        roles,
    ),
    relation(
        "pg_user",
        &[
            ("usename", T),
            ("usesysid", I),
            ("usecreatedb", B),
            ("usesuper", B),
            ("userepl", B),
            ("usebypassrls", B),
            ("passwd", T),
            ("valuntil", T),
            ("useconfig", T),
        ],
        users,
    ),
    relation(
        "pg_tablespace",
        &[
            ("oid", I),
            ("spcname", T),
            ("spcowner", I),
            ("spcacl", T),
            ("spcoptions", T),
        ],
        tablespaces,
    ),
    relation(
        "pg_settings",
        &[
            ("name", T),
            ("setting", T),
            ("unit", T),
            ("category", T),
            ("short_desc", T),
            ("extra_desc", T),
            ("context", T),
            ("vartype", T),
            ("source", T),
            ("boot_val", T),
            ("reset_val", T),
        ],
        settings,
    ),
    relation(
        "pg_prepared_xacts",
        &[
            ("transaction", I),
            ("gid", T),
            ("prepared", T),
            ("owner", T),
            ("database", T),
        ],
        prepared_xacts,
    ),
    relation(
        "pg_inherits",
        &[
            ("inhrelid", I),
            ("inhparent", I),
            ("inhseqno", I),
            ("inhdetachpending", B),
        ],
        none,
    ),
    relation(
        "pg_policy",
        &[
            ("oid", I),
            ("polname", T),
            ("polrelid", I),
            ("polcmd", T),
            ("polpermissive", B),
            ("polroles", T),
            ("polqual", T),
            ("polwithcheck", T),
        ],
        none,
    ),
    relation(
        "pg_statistic_ext",
        &[
            ("oid", I),
            ("stxrelid", I),
            ("stxname", T),
            ("stxnamespace", I),
            ("stxowner", I),
            ("stxstattarget", I),
            ("stxkeys", T),
            ("stxkind", T),
            ("stxexprs", T),
        ],
        none,
    ),
    relation(
        "pg_publication",
        &[
            ("oid", I),
            ("pubname", T),
            ("pubowner", I),
            ("puballtables", B),
            ("pubinsert", B),
            ("pubupdate", B),
            ("pubdelete", B),
            ("pubtruncate", B),
            ("pubviaroot", B),
        ],
        none,
    ),
    relation(
        "pg_publication_rel",
        &[("oid", I), ("prpubid", I), ("prrelid", I)],
        none,
    ),
    relation(
        "pg_trigger",
        &[
            ("oid", I),
            ("tgrelid", I),
            ("tgparentid", I),
            ("tgname", T),
            ("tgfoid", I),
            ("tgtype", I),
            ("tgenabled", T),
            ("tgisinternal", B),
            ("tgconstrrelid", I),
            ("tgconstrindid", I),
            ("tgconstraint", I),
            ("tgdeferrable", B),
            ("tginitdeferred", B),
            ("tgnargs", I),
        ],
        none,
    ),
    relation(
        "pg_rewrite",
        &[
            ("oid", I),
            ("rulename", T),
            ("ev_class", I),
            ("ev_type", T),
            ("ev_enabled", T),
            ("is_instead", B),
        ],
        none,
    ),
    relation(
        "pg_description",
        &[
            ("objoid", I),
            ("classoid", I),
            ("objsubid", I),
            ("description", T),
        ],
        none,
    ),
    relation(
        "pg_extension",
        &[
            ("oid", I),
            ("extname", T),
            ("extowner", I),
            ("extnamespace", I),
            ("extrelocatable", B),
            ("extversion", T),
            ("extconfig", T),
            ("extcondition", T),
        ],
        none,
    ),
    relation(
        "pg_foreign_table",
        &[("ftrelid", I), ("ftserver", I), ("ftoptions", T)],
        none,
    ),
    relation(
        "pg_sequence",
        &[
            ("seqrelid", I),
            ("seqtypid", I),
            ("seqstart", I),
            ("seqincrement", I),
            ("seqmax", I),
            ("seqmin", I),
            ("seqcache", I),
            ("seqcycle", B),
        ],
        none,
    ),
];

fn namespaces(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    [
        (PG_CATALOG_OID, "pg_catalog"),
        (PUBLIC_OID, "public"),
        (Schema::InformationSchema.oid(), "information_schema"),
    ]
    .into_iter()
    .map(|(oid, name)| vec![int(oid), text(name), int(ROLE_OID), NULL])
    .collect()
}

/// One `pg_class` row.
#[allow(clippy::too_many_arguments)]
fn class_row(
    oid: i64,
    name: String,
    namespace: i64,
    kind: &str,
    access_method: i64,
    columns: usize,
    has_index: bool,
) -> Vec<Value> {
    vec![
        int(oid),
        text(name),
        int(namespace),
        int(0),
        int(0),
        int(ROLE_OID),
        int(access_method),
        int(oid),
        int(0),
        int(0),
        Value::Double(-1.0),
        int(0),
        int(0),
        boolean(has_index),
        boolean(false),
        text("p"),
        text(kind),
        int(columns as i64),
        int(0),
        boolean(false),
        boolean(false),
        boolean(false),
        boolean(false),
        boolean(false),
        boolean(true),
        text("d"),
        boolean(false),
        int(0),
        int(0),
        int(0),
        NULL,
        NULL,
        NULL,
    ]
}

fn classes(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for table in &snapshot.tables {
        let has_index = !table.has_row_id() || !table.indexes.is_empty();
        rows.push(class_row(
            i64::from(table.id),
            table.name.clone(),
            PUBLIC_OID,
            "r",
            HEAP_OID,
            table.columns.len(),
            has_index,
        ));
    }
    for index in snapshot.indexes() {
        rows.push(class_row(
            index.oid(),
            index.name(),
            PUBLIC_OID,
            "i",
            BTREE_OID,
            index.columns().len(),
            false,
        ));
    }
    for (table, relation) in SystemTable::all() {
        let kind = match relation.schema {
            Schema::PgCatalog => "r",
            Schema::InformationSchema => "v",
        };
        rows.push(class_row(
            table.oid(),
            relation.name.to_string(),
            relation.schema.oid(),
            kind,
            HEAP_OID,
            relation.columns.len(),
            false,
        ));
    }
    rows
}

/// One `pg_attribute` row.
fn attribute_row(
    relation: i64,
    name: &str,
    number: usize,
    data_type: DataType,
    not_null: bool,
    has_default: bool,
) -> Vec<Value> {
    let pg = PgType::of(data_type);
    let collation = if data_type == DataType::Text {
        DEFAULT_COLLATION_OID
    } else {
        0
    };
    vec![
        int(relation),
        text(name),
        int(i64::from(pg.oid)),
        int(-1),
        int(i64::from(pg.len)),
        int(number as i64),
        int(0),
        int(-1),
        int(-1),
        boolean(pg.len > 0 && pg.len <= 8),
        text(if pg.len == 8 { "d" } else { "i" }),
        text(if pg.len > 0 { "p" } else { "x" }),
        text(""),
        boolean(not_null),
        boolean(has_default),
        boolean(false),
        text(""),
        text(""),
        boolean(false),
        boolean(true),
        int(0),
        int(collation),
        NULL,
        NULL,
        NULL,
        NULL,
    ]
}

fn table_attributes(table: &TableDef, rows: &mut Vec<Vec<Value>>) {
    for (i, column) in table.columns.iter().enumerate() {
        rows.push(attribute_row(
            i64::from(table.id),
            &column.name,
            i + 1,
            column.data_type,
            !column.nullable,
            column.default.is_some(),
        ));
    }
}

fn attributes(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for table in &snapshot.tables {
        table_attributes(table, &mut rows);
    }
    for index in snapshot.indexes() {
        for (i, &position) in index.columns().iter().enumerate() {
            if let Some(column) = index.table().columns.get(position) {
                rows.push(attribute_row(
                    index.oid(),
                    &column.name,
                    i + 1,
                    column.data_type,
                    false,
                    false,
                ));
            }
        }
    }
    for (table, relation) in SystemTable::all() {
        for (i, (name, data_type)) in relation.columns.iter().enumerate() {
            rows.push(attribute_row(
                table.oid(),
                name,
                i + 1,
                *data_type,
                false,
                false,
            ));
        }
    }
    rows
}

fn defaults(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for table in &snapshot.tables {
        for (i, column) in table.columns.iter().enumerate() {
            if let Some(default) = &column.default {
                let number = i as i64 + 1;
                rows.push(vec![
                    int((i64::from(table.id) << 12) | number),
                    int(i64::from(table.id)),
                    int(number),
                    text(default.clone()),
                ]);
            }
        }
    }
    rows
}

/// Column positions as PostgreSQL's `int2vector` text (`1 3`).
fn column_numbers(columns: &[usize]) -> String {
    columns
        .iter()
        .map(|c| (c + 1).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn indexes(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    snapshot
        .indexes()
        .into_iter()
        .map(|index| {
            let n = index.columns().len() as i64;
            vec![
                int(index.oid()),
                int(i64::from(index.table().id)),
                int(n),
                int(n),
                boolean(index.unique()),
                boolean(index.primary()),
                boolean(false),
                boolean(true),
                boolean(false),
                boolean(true),
                boolean(false),
                boolean(true),
                boolean(true),
                boolean(false),
                text(column_numbers(index.columns())),
                text(""),
                text(""),
                text(""),
                NULL,
                NULL,
            ]
        })
        .collect()
}

fn constraints(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    snapshot
        .tables
        .iter()
        .filter(|table| !table.has_row_id())
        .map(|table| {
            let key: Vec<String> = table
                .primary_key
                .iter()
                .map(|c| (c + 1).to_string())
                .collect();
            vec![
                int(CONSTRAINT_OID_BASE + i64::from(table.id)),
                text(table.primary_key_name()),
                int(PUBLIC_OID),
                text("p"),
                boolean(false),
                boolean(false),
                boolean(true),
                int(i64::from(table.id)),
                int(0),
                int(super::PRIMARY_KEY_OID_BASE + i64::from(table.id)),
                int(0),
                int(0),
                text(" "),
                text(" "),
                text(" "),
                boolean(true),
                int(0),
                boolean(true),
                text(array_text(&key)),
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
            ]
        })
        .collect()
}

fn types(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    PG_TYPES
        .iter()
        .map(|t| {
            let collation = if t.data_type == DataType::Text && t.oid != 705 {
                DEFAULT_COLLATION_OID
            } else {
                0
            };
            vec![
                int(i64::from(t.oid)),
                text(t.name),
                int(PG_CATALOG_OID),
                int(ROLE_OID),
                int(i64::from(t.len)),
                boolean(t.len > 0 && t.len <= 8),
                text(if t.oid == 705 { "p" } else { "b" }),
                text(t.category.to_string()),
                boolean(t.canonical),
                boolean(true),
                text(","),
                int(0),
                int(0),
                int(0),
                boolean(false),
                int(0),
                int(-1),
                int(0),
                int(collation),
                NULL,
            ]
        })
        .collect()
}

fn access_methods(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![
        vec![
            int(HEAP_OID),
            text("heap"),
            text("heap_tableam_handler"),
            text("t"),
        ],
        vec![int(BTREE_OID), text("btree"), text("bthandler"), text("i")],
    ]
}

fn collations(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![vec![
        int(DEFAULT_COLLATION_OID),
        text("default"),
        int(PG_CATALOG_OID),
        int(ROLE_OID),
        text("d"),
        boolean(true),
        int(-1),
        text("C"),
        text("C"),
    ]]
}

fn databases(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![vec![
        int(DATABASE_OID),
        text(snapshot.database.clone()),
        int(ROLE_OID),
        int(UTF8_ENCODING),
        text("C"),
        text("C"),
        boolean(false),
        boolean(true),
        int(-1),
        int(0),
        int(0),
        int(0),
        int(1663),
        NULL,
    ]]
}

fn roles(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![vec![
        text(snapshot.user.clone()),
        boolean(true),
        boolean(true),
        boolean(true),
        boolean(true),
        boolean(true),
        boolean(false),
        int(-1),
        text("********"),
        NULL,
        boolean(true),
        NULL,
        int(ROLE_OID),
    ]]
}

fn users(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![vec![
        text(snapshot.user.clone()),
        int(ROLE_OID),
        boolean(true),
        boolean(true),
        boolean(false),
        boolean(true),
        text("********"),
        NULL,
        NULL,
    ]]
}

fn tablespaces(_: &CatalogSnapshot) -> Vec<Vec<Value>> {
    vec![
        vec![int(1663), text("pg_default"), int(ROLE_OID), NULL, NULL],
        vec![int(1664), text("pg_global"), int(ROLE_OID), NULL, NULL],
    ]
}

/// `pg_prepared_xacts`: what `PREPARE TRANSACTION` left for `COMMIT
/// PREPARED` (not the transactions isodb's own two-phase commit has in
/// doubt, which it settles by itself; `SHOW prepared_transactions` lists
/// both). `prepared` is text in PostgreSQL's timestamptz output format (UTC).
fn prepared_xacts(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    snapshot
        .prepared
        .iter()
        .map(|p| {
            let prepared = i64::try_from(p.prepared_at_ms)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map_or(NULL, |t| {
                    text(t.format("%Y-%m-%d %H:%M:%S%.3f+00").to_string())
                });
            vec![
                int(p.transaction as i64),
                text(p.gid.clone()),
                prepared,
                text(snapshot.user.clone()),
                text(snapshot.database.clone()),
            ]
        })
        .collect()
}

fn settings(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    snapshot
        .settings
        .iter()
        .map(|(name, value, description)| {
            vec![
                text(name.clone()),
                text(value.clone()),
                NULL,
                text("isodb"),
                text(description.clone()),
                NULL,
                text("user"),
                text("string"),
                text("session"),
                NULL,
                NULL,
            ]
        })
        .collect()
}
