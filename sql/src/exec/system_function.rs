//! Evaluating system functions ([`SystemFunction`]) and scanning system
//! relations ([`crate::catalog::system`]).
//!
//! Both read the statement's [`CatalogSnapshot`]: the table definitions
//! its transaction sees, read once per statement (the first system
//! function or relation that needs them reads them) and shared by the rest.

use std::sync::Arc;

use regex::RegexBuilder;

use crate::catalog::system::{
    CONSTRAINT_OID_BASE, CatalogSnapshot, PreparedXact, ROLE_OID, SystemTable, UTF8_ENCODING,
    namespace_name, parse_array_text,
};
use crate::error::{Error, Result};
use crate::exec::eval::{compare, holds};
use crate::exec::{ExecContext, Row};
use crate::plan::expr::{BinaryOp, Expr};
use crate::plan::system_function::SystemFunction;
use crate::session::settings::version_string;
use crate::types::pg_type::PgType;
use crate::types::{DataType, Value, cast};

/// The statement's catalog snapshot, read on first use.
pub fn snapshot(ctx: &mut ExecContext) -> Result<Arc<CatalogSnapshot>> {
    if let Some(snapshot) = &ctx.system_catalog {
        return Ok(Arc::clone(snapshot));
    }
    let tables = ctx.catalog.tables(ctx.txn)?;
    let snapshot = Arc::new(CatalogSnapshot {
        tables,
        user: ctx.session.user(),
        database: ctx.session.database.to_string(),
        settings: ctx.session.show_all(),
        prepared: ctx
            .db
            .cluster()
            .prepared_transactions()
            .into_iter()
            .filter_map(|p| {
                Some(PreparedXact {
                    transaction: p.id,
                    gid: p.coordination.gid?,
                    prepared_at_ms: p.coordination.prepared_at_ms,
                })
            })
            .collect(),
    });
    ctx.system_catalog = Some(Arc::clone(&snapshot));
    Ok(snapshot)
}

/// Runs a SystemScan node.
pub fn scan_system(
    table: SystemTable,
    filter: Option<&Expr>,
    ctx: &mut ExecContext,
) -> Result<Vec<Row>> {
    let snapshot = snapshot(ctx)?;
    let mut rows = Vec::new();
    for row in (table.relation().rows)(&snapshot) {
        ctx.interrupt.check()?;
        if holds(filter, &row, ctx)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

fn oid_of(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => Some(*i),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn boolean_of(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Boolean(true)))
}

/// `quote_ident`: double quotes unless the name is a plain lower-case identifier.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Evaluates `function` on its argument values.
pub fn evaluate(
    function: SystemFunction,
    args: Vec<Value>,
    ctx: &mut ExecContext,
) -> Result<Value> {
    let first = args.first().cloned().unwrap_or(Value::Null);
    let takes_null = matches!(
        function,
        SystemFunction::Version
            | SystemFunction::CurrentDatabase
            | SystemFunction::CurrentUser
            | SystemFunction::CurrentSchema
            | SystemFunction::BackendPid
            | SystemFunction::Description
            | SystemFunction::StatisticsColumns
            | SystemFunction::AnyOf { .. }
    );
    if !takes_null && first.is_null() {
        return Ok(Value::Null);
    }
    Ok(match function {
        SystemFunction::Version => Value::Text(version_string()),
        SystemFunction::CurrentDatabase => Value::Text(ctx.session.database.to_string()),
        SystemFunction::CurrentUser => Value::Text(ctx.session.user()),
        SystemFunction::CurrentSchema => Value::Text("public".into()),
        SystemFunction::BackendPid => Value::Integer(i64::from(ctx.session.backend_pid)),
        SystemFunction::BlockingPids => match oid_of(&first).and_then(|p| i32::try_from(p).ok()) {
            Some(pid) => {
                let pids: Vec<String> = ctx
                    .db
                    .blocking_pids(pid)
                    .iter()
                    .map(i32::to_string)
                    .collect();
                Value::Text(format!("{{{}}}", pids.join(",")))
            }
            None => Value::Text("{}".into()),
        },
        SystemFunction::CurrentSetting => {
            let name = first.to_string();
            match ctx.session.show(&name) {
                Ok((_, value)) => Value::Text(value),
                Err(_) if boolean_of(args.get(1)) => Value::Null,
                Err(error) => return Err(error),
            }
        }
        SystemFunction::UserById => match oid_of(&first) {
            Some(ROLE_OID) => Value::Text(ctx.session.user()),
            Some(oid) => Value::Text(format!("unknown (OID={oid})")),
            None => Value::Null,
        },
        SystemFunction::TableIsVisible => {
            let snapshot = snapshot(ctx)?;
            Value::Boolean(oid_of(&first).is_some_and(|oid| snapshot.is_visible(oid)))
        }
        SystemFunction::FormatType => match oid_of(&first).and_then(|o| u32::try_from(o).ok()) {
            Some(oid) => Value::Text(
                PgType::by_oid(oid).map_or("???".to_string(), |t| t.sql_name.to_string()),
            ),
            None => Value::Null,
        },
        SystemFunction::GetExpr => first,
        SystemFunction::GetIndexDef => {
            let snapshot = snapshot(ctx)?;
            let column = args.get(1).and_then(oid_of).unwrap_or(0);
            match oid_of(&first).and_then(|oid| snapshot.index_by_oid(oid)) {
                Some(index) if column > 0 => {
                    let position = usize::try_from(column - 1).ok();
                    position
                        .and_then(|p| index.columns().get(p))
                        .and_then(|&c| index.table().columns.get(c))
                        .map_or(Value::Null, |c| Value::Text(c.name.clone()))
                }
                Some(index) => Value::Text(index.definition()),
                None => Value::Null,
            }
        }
        SystemFunction::GetConstraintDef => {
            let snapshot = snapshot(ctx)?;
            let table = oid_of(&first)
                .map(|oid| oid - CONSTRAINT_OID_BASE)
                .and_then(|oid| snapshot.table_by_oid(oid));
            match table {
                Some(table) => Value::Text(format!(
                    "PRIMARY KEY ({})",
                    table.column_names(&table.primary_key)
                )),
                None => Value::Null,
            }
        }
        SystemFunction::ArrayToString => {
            let separator = args.get(1).and_then(text_of).unwrap_or_default();
            let null_text = args.get(2).and_then(text_of);
            let items = parse_array_text(&first.to_string()).map_err(|reason| {
                Error::InvalidTextRepresentation {
                    type_name: "array".into(),
                    input: reason,
                }
            })?;
            let kept: Vec<String> = items
                .into_iter()
                .filter_map(|item| item.or_else(|| null_text.clone()))
                .collect();
            Value::Text(kept.join(&separator))
        }
        SystemFunction::EncodingToChar => Value::Text(
            if oid_of(&first) == Some(UTF8_ENCODING) {
                "UTF8"
            } else {
                ""
            }
            .into(),
        ),
        SystemFunction::QuoteIdent => Value::Text(quote_ident(&first.to_string())),
        SystemFunction::Description | SystemFunction::StatisticsColumns => Value::Null,
        SystemFunction::RelationIsPublishable => {
            let snapshot = snapshot(ctx)?;
            Value::Boolean(oid_of(&first).is_some_and(|oid| snapshot.table_by_oid(oid).is_some()))
        }
        SystemFunction::RegClass => {
            let snapshot = snapshot(ctx)?;
            match &first {
                Value::Text(name) => Value::Integer(
                    snapshot
                        .relation_oid(name)
                        .ok_or_else(|| Error::UndefinedTable(name.clone()))?,
                ),
                other => match oid_of(other).and_then(|oid| snapshot.relation_name(oid)) {
                    Some(("information_schema", name)) => {
                        Value::Text(format!("information_schema.{name}"))
                    }
                    Some((_, name)) => Value::Text(name),
                    None => Value::Text(other.to_string()),
                },
            }
        }
        SystemFunction::RegType => match &first {
            Value::Text(name) => {
                let wanted = name.trim().to_lowercase();
                let found = crate::types::pg_type::PG_TYPES
                    .iter()
                    .find(|t| t.name == wanted || t.sql_name == wanted)
                    .ok_or_else(|| Error::UndefinedObject {
                        kind: "type",
                        name: name.clone(),
                    })?;
                Value::Integer(i64::from(found.oid))
            }
            other => match oid_of(other)
                .and_then(|o| u32::try_from(o).ok())
                .and_then(PgType::by_oid)
            {
                Some(pg) => Value::Text(pg.sql_name.to_string()),
                None => Value::Text(other.to_string()),
            },
        },
        SystemFunction::RegNamespace => match &first {
            Value::Text(name) => Value::Integer(
                [11, 2200, 13_000]
                    .into_iter()
                    .find(|oid| namespace_name(*oid) == Some(name.as_str()))
                    .ok_or_else(|| Error::UndefinedObject {
                        kind: "schema",
                        name: name.clone(),
                    })?,
            ),
            other => Value::Text(
                oid_of(other)
                    .and_then(namespace_name)
                    .map_or_else(|| other.to_string(), str::to_string),
            ),
        },
        SystemFunction::RegexMatch {
            negated,
            case_insensitive,
        } => {
            let pattern = match args.get(1) {
                None | Some(Value::Null) => return Ok(Value::Null),
                Some(p) => p.to_string(),
            };
            let regex = RegexBuilder::new(&pattern)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|e| Error::InvalidRegularExpression(e.to_string()))?;
            Value::Boolean(regex.is_match(&first.to_string()) != negated)
        }
        SystemFunction::AnyOf { op, all } => {
            let array = args.get(1).cloned().unwrap_or(Value::Null);
            any_of(op, all, &first, &array)?
        }
        SystemFunction::ArrayOf => {
            return Err(Error::Internal(
                "ARRAY() is evaluated with its subquery".into(),
            ));
        }
    })
}

/// `value op ANY (array)` / `ALL`, over PostgreSQL array text.
fn any_of(op: BinaryOp, all: bool, value: &Value, array: &Value) -> Result<Value> {
    if array.is_null() {
        return Ok(Value::Null);
    }
    let items = parse_array_text(&array.to_string()).map_err(|reason| {
        Error::InvalidTextRepresentation {
            type_name: "array".into(),
            input: reason,
        }
    })?;
    let element_type = value.data_type().unwrap_or(DataType::Text);
    let mut unknown = false;
    for item in items {
        let truth = match item {
            None => None,
            Some(text) => compare(op, value, &cast(&Value::Text(text), element_type)?)?,
        };
        match (truth, all) {
            (Some(true), false) => return Ok(Value::Boolean(true)),
            (Some(false), true) => return Ok(Value::Boolean(false)),
            (None, _) => unknown = true,
            _ => {}
        }
    }
    Ok(if unknown {
        Value::Null
    } else {
        Value::Boolean(all)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_and_all_follow_three_valued_logic() {
        let one = Value::Integer(1);
        let array = |t: &str| Value::Text(t.into());
        assert_eq!(
            any_of(BinaryOp::Eq, false, &one, &array("{3,1}")).ok(),
            Some(Value::Boolean(true))
        );
        assert_eq!(
            any_of(BinaryOp::Eq, false, &one, &array("{3,2}")).ok(),
            Some(Value::Boolean(false))
        );
        assert!(any_of(BinaryOp::Eq, false, &one, &array("{3,NULL}")).is_ok_and(|v| v.is_null()));
        assert_eq!(
            any_of(BinaryOp::Lt, true, &one, &array("{2,3}")).ok(),
            Some(Value::Boolean(true))
        );
        assert_eq!(
            any_of(BinaryOp::Eq, false, &one, &array("{}")).ok(),
            Some(Value::Boolean(false))
        );
        assert_eq!(
            any_of(
                BinaryOp::Eq,
                false,
                &Value::Text("d".into()),
                &array("{d,f}")
            )
            .ok(),
            Some(Value::Boolean(true))
        );
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(quote_ident("abc_1"), "abc_1");
        assert_eq!(quote_ident("Abc"), "\"Abc\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("1a"), "\"1a\"");
    }
}
