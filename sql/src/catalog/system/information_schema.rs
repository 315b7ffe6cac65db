//! The `information_schema` relations (the SQL standard's catalog views):
//! schemata, tables, columns, table_constraints and key_column_usage, over
//! the user's tables in `public`.

use super::{CatalogSnapshot, Relation, Schema};
use crate::types::pg_type::PgType;
use crate::types::{DataType, Value};

const I: DataType = DataType::Integer;
const T: DataType = DataType::Text;

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

const fn relation(
    name: &'static str,
    columns: &'static [(&'static str, DataType)],
    rows: fn(&CatalogSnapshot) -> Vec<Vec<Value>>,
) -> Relation {
    Relation {
        schema: Schema::InformationSchema,
        name,
        columns,
        rows,
    }
}

/// Every `information_schema` relation.
pub static RELATIONS: &[Relation] = &[
    relation(
        "schemata",
        &[("catalog_name", T), ("schema_name", T), ("schema_owner", T)],
        schemata,
    ),
    relation(
        "tables",
        &[
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("table_type", T),
            ("is_insertable_into", T),
            ("is_typed", T),
        ],
        tables,
    ),
    relation(
        "columns",
        &[
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("column_name", T),
            ("ordinal_position", I),
            ("column_default", T),
            ("is_nullable", T),
            ("data_type", T),
            ("udt_name", T),
        ],
        columns,
    ),
    relation(
        "table_constraints",
        &[
            ("constraint_catalog", T),
            ("constraint_schema", T),
            ("constraint_name", T),
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("constraint_type", T),
        ],
        table_constraints,
    ),
    relation(
        "key_column_usage",
        &[
            ("constraint_catalog", T),
            ("constraint_schema", T),
            ("constraint_name", T),
            ("table_catalog", T),
            ("table_schema", T),
            ("table_name", T),
            ("column_name", T),
            ("ordinal_position", I),
        ],
        key_column_usage,
    ),
];

fn schemata(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    ["pg_catalog", "public", "information_schema"]
        .into_iter()
        .map(|schema| {
            vec![
                text(snapshot.database.clone()),
                text(schema),
                text(snapshot.user.clone()),
            ]
        })
        .collect()
}

fn tables(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    snapshot
        .tables
        .iter()
        .map(|table| {
            vec![
                text(snapshot.database.clone()),
                text("public"),
                text(table.name.clone()),
                text("BASE TABLE"),
                text("YES"),
                text("NO"),
            ]
        })
        .collect()
}

fn columns(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for table in &snapshot.tables {
        for (i, column) in table.columns.iter().enumerate() {
            let pg = PgType::of(column.data_type);
            rows.push(vec![
                text(snapshot.database.clone()),
                text("public"),
                text(table.name.clone()),
                text(column.name.clone()),
                Value::Integer(i as i64 + 1),
                Value::from(column.default.clone()),
                text(if column.nullable { "YES" } else { "NO" }),
                text(pg.sql_name),
                text(pg.name),
            ]);
        }
    }
    rows
}

/// Each primary key and unique index as a constraint: (name, table, type, columns).
fn keys(snapshot: &CatalogSnapshot) -> Vec<(String, String, &'static str, Vec<String>)> {
    snapshot
        .indexes()
        .into_iter()
        .filter(|index| index.unique())
        .map(|index| {
            let table = index.table();
            let columns = index
                .columns()
                .iter()
                .filter_map(|&c| table.columns.get(c).map(|c| c.name.clone()))
                .collect();
            let kind = if index.primary() {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            (index.name(), table.name.clone(), kind, columns)
        })
        .collect()
}

fn table_constraints(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    keys(snapshot)
        .into_iter()
        .map(|(name, table, kind, _)| {
            vec![
                text(snapshot.database.clone()),
                text("public"),
                text(name),
                text(snapshot.database.clone()),
                text("public"),
                text(table),
                text(kind),
            ]
        })
        .collect()
}

fn key_column_usage(snapshot: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for (name, table, _, columns) in keys(snapshot) {
        for (i, column) in columns.into_iter().enumerate() {
            rows.push(vec![
                text(snapshot.database.clone()),
                text("public"),
                text(name.clone()),
                text(snapshot.database.clone()),
                text("public"),
                text(table.clone()),
                text(column),
                Value::Integer(i as i64 + 1),
            ]);
        }
    }
    rows
}
