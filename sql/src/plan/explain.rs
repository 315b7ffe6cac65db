//! EXPLAIN: a plan as indented lines, one per node, children indented by
//! two spaces. Columns print as `#i` (their position in the node's input).
//!
//! ```text
//!   EXPLAIN SELECT v FROM t WHERE id = 5
//!
//!   Project [#1]
//!     Primary key lookup on t (id = 5)
//!       filter: (#0 = 5)
//! ```
//!
//! The access-path lines are stable and meant to be asserted on:
//! `Primary key lookup on T`, `Primary key range scan on T`,
//! `Index scan on T using I` (`, index only` when the rows are not
//! fetched), `Full scan on T`; joins print as
//! `Hash join (inner|left)` or `Nested loop join (inner|left|cross)`.

use std::ops::Bound;

use crate::catalog::TableDef;
use crate::plan::{Access, Expr, JoinKind, KeyRange, Node, Plan};

/// The lines EXPLAIN prints for a statement's plan, in a database of
/// `shards` shards (with more than one, each scan says which it reads).
pub fn explain(plan: &Plan, shards: u16) -> Vec<String> {
    let mut lines = Vec::new();
    match plan {
        Plan::Query(query) => node_lines(&query.root, 0, &mut lines, shards),
        Plan::Insert(insert) => {
            lines.push(format!("Insert into {}", insert.table.name));
            node_lines(&insert.source, 1, &mut lines, shards);
        }
        Plan::Update(update) => {
            lines.push(format!("Update {}", update.table.name));
            node_lines(&update.source, 1, &mut lines, shards);
        }
        Plan::Delete(delete) => {
            lines.push(format!("Delete from {}", delete.table.name));
            node_lines(&delete.source, 1, &mut lines, shards);
        }
        Plan::CreateTable(create) => lines.push(format!("Create table {}", create.name)),
        Plan::DropTable { names, .. } => lines.push(format!("Drop table {}", names.join(", "))),
        Plan::CreateIndex(create) => {
            lines.push(format!("Create index {} on {}", create.name, create.table))
        }
        Plan::DropIndex { names, .. } => lines.push(format!("Drop index {}", names.join(", "))),
        Plan::Explain(inner) => lines.extend(explain(inner, shards)),
    }
    lines
}

fn list(exprs: &[Expr]) -> String {
    exprs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_kind(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "inner",
        JoinKind::Left => "left",
    }
}

/// `(a = 1, b > 5)` for a key range over `columns`.
fn range_text(table: &TableDef, columns: &[usize], range: &KeyRange) -> String {
    let name = |i: usize| {
        columns
            .get(i)
            .and_then(|&c| table.columns.get(c))
            .map_or("?", |c| c.name.as_str())
    };
    let mut parts: Vec<String> = range
        .prefix
        .iter()
        .enumerate()
        .map(|(i, value)| format!("{} = {value}", name(i)))
        .collect();
    let next = name(range.prefix.len());
    match &range.lower {
        Bound::Included(v) => parts.push(format!("{next} >= {v}")),
        Bound::Excluded(v) => parts.push(format!("{next} > {v}")),
        Bound::Unbounded => {}
    }
    match &range.upper {
        Bound::Included(v) => parts.push(format!("{next} <= {v}")),
        Bound::Excluded(v) => parts.push(format!("{next} < {v}")),
        Bound::Unbounded => {}
    }
    parts.join(", ")
}

/// ` [shard 2 of 4]`, ` [one of 4 shards]` or ` [all 4 shards]` for a scan
/// of a database of several shards; nothing with one.
fn shard_text(table: &TableDef, access: &Access, filter: Option<&Expr>, shards: u16) -> String {
    if shards <= 1 {
        return String::new();
    }
    let fixed = match access {
        Access::KeyLookup(values) => Some(values.clone()),
        _ => crate::placement::pruning(table, filter),
    };
    let Some(values) = fixed else {
        return format!(" [all {shards} shards]");
    };
    let constants: Option<Vec<crate::types::Value>> = values
        .iter()
        .map(|v| match v {
            Expr::Constant(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let columns = match access {
        Access::KeyLookup(_) => table.primary_key.clone(),
        _ => crate::placement::shard_key_columns(table),
    };
    let typed: Option<Vec<crate::types::Value>> = constants.and_then(|values| {
        values
            .iter()
            .zip(&columns)
            .map(|(v, &c)| {
                let column = table.columns.get(c)?;
                let cast = crate::types::cast(v, column.data_type).ok()?;
                // Only an exact conversion places a row (else every shard is read).
                (&cast == v || cast.data_type() == v.data_type()).then_some(cast)
            })
            .collect()
    });
    match typed {
        Some(values) => {
            let shard = match access {
                Access::KeyLookup(_) => crate::placement::key_shard(table, &values, shards),
                _ => crate::placement::shard_of(table, &values, shards),
            };
            format!(" [shard {shard} of {shards}]")
        }
        None => format!(" [one of {shards} shards]"),
    }
}

fn node_lines(node: &Node, depth: usize, lines: &mut Vec<String>, shards: u16) {
    let indent = "  ".repeat(depth);
    match node {
        Node::Scan {
            table,
            access,
            filter,
            ..
        } => {
            let line = match access {
                Access::FullScan => format!("Full scan on {}", table.name),
                Access::KeyLookup(values) => {
                    let range = KeyRange {
                        prefix: values.clone(),
                        lower: Bound::Unbounded,
                        upper: Bound::Unbounded,
                    };
                    format!(
                        "Primary key lookup on {} ({})",
                        table.name,
                        range_text(table, &table.primary_key, &range)
                    )
                }
                Access::KeyRange(range) => format!(
                    "Primary key range scan on {} ({})",
                    table.name,
                    range_text(table, &table.primary_key, range)
                ),
                Access::IndexScan {
                    index,
                    range,
                    covering,
                } => format!(
                    "Index scan on {} using {} ({}){}",
                    table.name,
                    index.name,
                    range_text(table, &index.columns, range),
                    if *covering { ", index only" } else { "" }
                ),
            };
            let line = format!(
                "{line}{}",
                shard_text(table, access, filter.as_ref(), shards)
            );
            lines.push(format!("{indent}{line}"));
            if let Some(filter) = filter {
                lines.push(format!("{indent}  filter: {filter}"));
            }
        }
        Node::SystemScan { table, filter } => {
            let relation = table.relation();
            lines.push(format!(
                "{indent}System relation scan on {}.{}",
                relation.schema.name(),
                relation.name
            ));
            if let Some(filter) = filter {
                lines.push(format!("{indent}  filter: {filter}"));
            }
        }
        Node::Values { rows } => lines.push(format!("{indent}Values ({} rows)", rows.len())),
        Node::Filter { input, predicate } => {
            lines.push(format!("{indent}Filter {predicate}"));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Project { input, exprs } => {
            lines.push(format!("{indent}Project [{}]", list(exprs)));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::HashJoin {
            left,
            right,
            left_keys,
            right_keys,
            residual,
            kind,
            ..
        } => {
            let mut line = format!(
                "{indent}Hash join ({}) on [{}] = [{}]",
                join_kind(*kind),
                list(left_keys),
                list(right_keys)
            );
            if let Some(residual) = residual {
                line.push_str(&format!(" and {residual}"));
            }
            lines.push(line);
            node_lines(left, depth + 1, lines, shards);
            node_lines(right, depth + 1, lines, shards);
        }
        Node::NestedLoopJoin {
            left,
            right,
            condition,
            kind,
            ..
        } => {
            let line = match condition {
                Some(c) => format!("{indent}Nested loop join ({}) on {c}", join_kind(*kind)),
                None if *kind == JoinKind::Inner => format!("{indent}Nested loop join (cross)"),
                None => format!("{indent}Nested loop join ({})", join_kind(*kind)),
            };
            lines.push(line);
            node_lines(left, depth + 1, lines, shards);
            node_lines(right, depth + 1, lines, shards);
        }
        Node::Aggregate {
            input,
            group_by,
            aggregates,
        } => {
            let calls: Vec<Expr> = aggregates
                .iter()
                .map(|a| Expr::Aggregate(Box::new(a.clone())))
                .collect();
            lines.push(format!(
                "{indent}Aggregate group by [{}] computing [{}]",
                list(group_by),
                list(&calls)
            ));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Sort { input, keys } => {
            let keys: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "#{} {} NULLS {}",
                        k.column,
                        if k.descending { "DESC" } else { "ASC" },
                        if k.nulls_first { "FIRST" } else { "LAST" }
                    )
                })
                .collect();
            lines.push(format!("{indent}Sort [{}]", keys.join(", ")));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Distinct { input } => {
            lines.push(format!("{indent}Distinct"));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Limit {
            input,
            offset,
            limit,
        } => {
            let show =
                |e: &Option<Expr>| e.as_ref().map_or("none".to_string(), ToString::to_string);
            lines.push(format!(
                "{indent}Limit {} offset {}",
                show(limit),
                show(offset)
            ));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Truncate { input, .. } => node_lines(input, depth, lines, shards),
        Node::LockRows {
            input,
            table,
            locking,
            ..
        } => {
            lines.push(format!(
                "{indent}Lock rows of {} ({})",
                table.name,
                locking.as_sql()
            ));
            node_lines(input, depth + 1, lines, shards);
        }
        Node::Union { inputs, distinct } => {
            lines.push(format!(
                "{indent}Union{}",
                if *distinct { "" } else { " all" }
            ));
            for input in inputs {
                node_lines(input, depth + 1, lines, shards);
            }
        }
    }
}
