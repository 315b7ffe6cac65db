//! Planning CREATE TABLE, CREATE INDEX and the DROPs.
//!
//! Plans hold names and column positions only; the executor allocates
//! keyspace ids and writes the catalog inside the statement's transaction.
//!
//! ```text
//!   CREATE TABLE t (id INT PRIMARY KEY, email TEXT UNIQUE NOT NULL, n INT DEFAULT 0)
//!   -> columns: id INTEGER NOT NULL, email TEXT NOT NULL, n INTEGER DEFAULT '0'
//!      primary key: [0]; unique: t_email_key on [1]
//! ```
//!
//! Placement on shards, as PostgreSQL spells partitioning (bounds of a
//! range are a table option, written before `PARTITION BY` as sqlparser
//! reads it):
//!
//! ```text
//!   CREATE TABLE t (id INT, k INT, PRIMARY KEY (id, k)) PARTITION BY HASH (k)
//!   CREATE TABLE t (id INT PRIMARY KEY) WITH (shard_bounds = '100, 200, 300') PARTITION BY RANGE (id)
//! ```

use sqlparser::ast;

use crate::catalog::{ColumnDef, Distribution};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plan::binder::{Binder, data_type, ident_name, object_name};
use crate::plan::dml::bind_default;
use crate::types::Value;

/// A planned CREATE TABLE.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTablePlan {
    /// The table's name.
    pub name: String,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
    /// The columns.
    pub columns: Vec<ColumnDef>,
    /// Primary-key positions (empty: hidden row id).
    pub primary_key: Vec<usize>,
    /// UNIQUE constraints: index name and column positions.
    pub unique: Vec<(String, Vec<usize>)>,
    /// How its rows are placed on shards.
    pub distribution: Distribution,
}

/// A planned CREATE INDEX.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndexPlan {
    /// The index's name.
    pub name: String,
    /// The table indexed.
    pub table: String,
    /// Column positions.
    pub columns: Vec<usize>,
    /// UNIQUE.
    pub unique: bool,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

/// Column positions of an index or constraint column list.
fn positions(columns: &[ColumnDef], list: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    let mut result = Vec::with_capacity(list.len());
    for item in list {
        let ast::Expr::Identifier(ident) = &item.column.expr else {
            return Err(unsupported(format!(
                "index on expression {}",
                item.column.expr
            )));
        };
        let name = ident_name(ident);
        let position = columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::UndefinedColumn(name.clone()))?;
        if result.contains(&position) {
            return Err(Error::DuplicateColumn(name));
        }
        result.push(position);
    }
    Ok(result)
}

/// Plans CREATE TABLE.
pub fn plan_create_table(b: &mut Binder, create: &ast::CreateTable) -> Result<Plan> {
    if create.query.is_some() {
        return Err(unsupported("CREATE TABLE ... AS"));
    }
    let name = object_name(&create.name)?;
    let mut columns: Vec<ColumnDef> = Vec::with_capacity(create.columns.len());
    let mut primary_key: Option<Vec<usize>> = None;
    let mut unique: Vec<Vec<usize>> = Vec::new();
    let multiple_keys = || {
        Error::InvalidTableDefinition(format!(
            "multiple primary keys for table \"{name}\" are not allowed"
        ))
    };
    for column in &create.columns {
        let column_name = ident_name(&column.name);
        if columns.iter().any(|c| c.name == column_name) {
            return Err(Error::DuplicateColumn(column_name));
        }
        let position = columns.len();
        let mut def = ColumnDef {
            name: column_name,
            data_type: data_type(&column.data_type)?,
            nullable: true,
            default: None,
        };
        for option in &column.options {
            match &option.option {
                ast::ColumnOption::Null => {}
                ast::ColumnOption::NotNull => def.nullable = false,
                ast::ColumnOption::Default(expr) => {
                    let text = expr.to_string();
                    let bound = bind_default(b, Some(&text))?;
                    if !bound.columns().is_empty() || bound.has_aggregate() {
                        return Err(unsupported("column references in DEFAULT"));
                    }
                    def.default = Some(text);
                }
                ast::ColumnOption::PrimaryKey(_) => {
                    if primary_key.is_some() {
                        return Err(multiple_keys());
                    }
                    primary_key = Some(vec![position]);
                }
                ast::ColumnOption::Unique(_) => unique.push(vec![position]),
                other => return Err(unsupported(format!("column option {other}"))),
            }
        }
        columns.push(def);
    }
    if columns.is_empty() {
        return Err(unsupported("tables without columns"));
    }
    for constraint in &create.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(pk) => {
                if primary_key.is_some() {
                    return Err(multiple_keys());
                }
                primary_key = Some(positions(&columns, &pk.columns)?);
            }
            ast::TableConstraint::Unique(u) => unique.push(positions(&columns, &u.columns)?),
            other => return Err(unsupported(format!("table constraint {other}"))),
        }
    }
    let primary_key = primary_key.unwrap_or_default();
    for &position in &primary_key {
        if let Some(column) = columns.get_mut(position) {
            column.nullable = false;
        }
    }
    let mut named_unique: Vec<(String, Vec<usize>)> = Vec::new();
    for positions in unique {
        if positions == primary_key {
            continue;
        }
        let names: Vec<&str> = positions
            .iter()
            .filter_map(|&i| columns.get(i).map(|c| c.name.as_str()))
            .collect();
        let mut index_name = format!("{name}_{}_key", names.join("_"));
        let mut suffix = 1;
        while named_unique.iter().any(|(n, _)| *n == index_name) {
            index_name = format!("{name}_{}_key{suffix}", names.join("_"));
            suffix += 1;
        }
        named_unique.push((index_name, positions));
    }
    let distribution = distribution(create, &columns)?;
    Ok(Plan::CreateTable(CreateTablePlan {
        name,
        if_not_exists: create.if_not_exists,
        columns,
        primary_key,
        unique: named_unique,
        distribution,
    }))
}

/// The table's placement: `PARTITION BY HASH (cols)`, `PARTITION BY RANGE
/// (col)` with the `shard_bounds` option, or (neither) the primary key's hash.
fn distribution(create: &ast::CreateTable, columns: &[ColumnDef]) -> Result<Distribution> {
    let mut bounds_text: Option<String> = None;
    let options: &[ast::SqlOption] = match &create.table_options {
        ast::CreateTableOptions::None => &[],
        ast::CreateTableOptions::With(options) => options,
        other => return Err(unsupported(format!("table options {other}"))),
    };
    for option in options {
        match option {
            ast::SqlOption::KeyValue { key, value } if ident_name(key) == "shard_bounds" => {
                match value {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(text) => bounds_text = Some(text.clone()),
                        _ => {
                            return Err(Error::InvalidOption(
                                "shard_bounds is a quoted, comma-separated list of values".into(),
                            ));
                        }
                    },
                    _ => {
                        return Err(Error::InvalidOption(
                            "shard_bounds is a quoted, comma-separated list of values".into(),
                        ));
                    }
                }
            }
            other => return Err(unsupported(format!("table option {other}"))),
        }
    }
    let Some(partition) = &create.partition_by else {
        if bounds_text.is_some() {
            return Err(Error::InvalidOption(
                "shard_bounds needs PARTITION BY RANGE (column)".into(),
            ));
        }
        return Ok(Distribution::PrimaryKey);
    };
    let bad = || {
        unsupported(format!(
            "PARTITION BY {partition} (only HASH (columns) and RANGE (column))"
        ))
    };
    let ast::Expr::Function(function) = partition.as_ref() else {
        return Err(bad());
    };
    let ast::FunctionArguments::List(list) = &function.args else {
        return Err(bad());
    };
    let mut positions = Vec::with_capacity(list.args.len());
    for arg in &list.args {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(ident))) =
            arg
        else {
            return Err(bad());
        };
        let name = ident_name(ident);
        let position = columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::UndefinedColumn(name.clone()))?;
        if positions.contains(&position) {
            return Err(Error::DuplicateColumn(name));
        }
        positions.push(position);
    }
    match function.name.to_string().to_ascii_lowercase().as_str() {
        "hash" if !positions.is_empty() => {
            if bounds_text.is_some() {
                return Err(Error::InvalidOption(
                    "shard_bounds applies to PARTITION BY RANGE, not HASH".into(),
                ));
            }
            Ok(Distribution::Hash(positions))
        }
        "range" if positions.len() == 1 => {
            let column = positions[0];
            let data_type = columns[column].data_type;
            let mut bounds = Vec::new();
            if let Some(text) = bounds_text {
                for item in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    bounds.push(crate::types::cast(&Value::from(item), data_type)?);
                }
            }
            Ok(Distribution::Range { column, bounds })
        }
        "range" => Err(unsupported("PARTITION BY RANGE over more than one column")),
        _ => Err(bad()),
    }
}

/// Plans CREATE INDEX (reads the table to resolve the columns).
pub fn plan_create_index(b: &mut Binder, create: &ast::CreateIndex) -> Result<Plan> {
    if create.predicate.is_some() || !create.include.is_empty() {
        return Err(unsupported("partial or covering indexes"));
    }
    let table_name = object_name(&create.table_name)?;
    let table = b.table(&table_name)?;
    let columns = positions(&table.columns, &create.columns)?;
    let name = match &create.name {
        Some(name) => object_name(name)?,
        None => {
            let names: Vec<&str> = columns
                .iter()
                .filter_map(|&i| table.columns.get(i).map(|c| c.name.as_str()))
                .collect();
            format!("{table_name}_{}_idx", names.join("_"))
        }
    };
    Ok(Plan::CreateIndex(CreateIndexPlan {
        name,
        table: table_name,
        columns,
        unique: create.unique,
        if_not_exists: create.if_not_exists,
    }))
}

/// Plans DROP TABLE and DROP INDEX.
pub fn plan_drop(
    object_type: &ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> Result<Plan> {
    let names = names
        .iter()
        .map(object_name)
        .collect::<Result<Vec<String>>>()?;
    match object_type {
        ast::ObjectType::Table => Ok(Plan::DropTable { names, if_exists }),
        ast::ObjectType::Index => Ok(Plan::DropIndex { names, if_exists }),
        other => Err(unsupported(format!("DROP {other}"))),
    }
}
