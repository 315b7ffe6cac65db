//! Evaluating bound expressions over a row.
//!
//! NULL handling follows SQL: operators on NULL give NULL, comparisons
//! give UNKNOWN (`None`), AND/OR/NOT use three-valued logic, and a WHERE
//! keeps a row only when its condition is TRUE. IN follows from `=` and OR:
//!
//! ```text
//!   2 IN (1, 2)     -> true       2 IN (1, NULL)  -> NULL (unknown)
//!   3 IN (1, 2)     -> false      NULL IN ()      -> false
//! ```
//!
//! A subquery runs with the current row pushed on the context's stack of
//! outer rows (that is what `Expr::Outer` reads); an uncorrelated one runs
//! once per statement and its rows are cached.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::system_function;
use crate::exec::{ExecContext, SubqueryRows, node};
use crate::plan::expr::{BinaryOp, Expr, ScalarFunction, Subquery};
use crate::plan::system_function::SystemFunction;
use crate::types::logic::{and, not, or};
use crate::types::{Value, cast, like};

/// Evaluates `expr` over `row`.
pub fn eval(expr: &Expr, row: &[Value], ctx: &mut ExecContext) -> Result<Value> {
    match expr {
        Expr::Constant(value) => Ok(value.clone()),
        Expr::Column(i) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("column #{i} is outside the row"))),
        Expr::Outer { depth, index } => ctx
            .outer
            .len()
            .checked_sub(*depth)
            .and_then(|level| ctx.outer.get(level))
            .and_then(|outer| outer.get(*index))
            .cloned()
            .ok_or_else(|| Error::Internal(format!("outer column {depth}.#{index} is missing"))),
        Expr::Param(i) => ctx
            .params
            .get(*i)
            .cloned()
            .ok_or(Error::UndefinedParameter(i + 1)),
        Expr::Negate(e) => eval(e, row, ctx)?.checked_neg(),
        Expr::Not(e) => Ok(Value::from_condition(not(condition(e, row, ctx)?))),
        Expr::Binary { op, left, right } => {
            let left = eval(left, row, ctx)?;
            binary(*op, left, right, row, ctx)
        }
        Expr::Chain { first, links } => {
            let mut value = eval(first, row, ctx)?;
            for (op, right) in links {
                value = binary(*op, value, right, row, ctx)?;
            }
            Ok(value)
        }
        Expr::IsNull { expr, negated } => {
            let null = eval(expr, row, ctx)?.is_null();
            Ok(Value::Boolean(null != *negated))
        }
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => {
            let (a, b) = (eval(left, row, ctx)?, eval(right, row, ctx)?);
            let distinct = match (a.is_null(), b.is_null()) {
                (true, true) => false,
                (true, false) | (false, true) => true,
                (false, false) => a.sql_eq(&b)? != Some(true),
            };
            Ok(Value::Boolean(distinct != *negated))
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let value = eval(expr, row, ctx)?;
            if list.is_empty() {
                return Ok(Value::Boolean(*negated));
            }
            let mut truth = Some(false);
            for item in list {
                let candidate = eval(item, row, ctx)?;
                truth = or(truth, value.sql_eq(&candidate)?);
                if truth == Some(true) {
                    break;
                }
            }
            Ok(Value::from_condition(if *negated {
                not(truth)
            } else {
                truth
            }))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let value = eval(expr, row, ctx)?;
            let low = eval(low, row, ctx)?;
            let high = eval(high, row, ctx)?;
            let above = value.sql_cmp(&low)?.map(|o| o != Ordering::Less);
            let below = value.sql_cmp(&high)?.map(|o| o != Ordering::Greater);
            let truth = and(above, below);
            Ok(Value::from_condition(if *negated {
                not(truth)
            } else {
                truth
            }))
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
            case_insensitive,
        } => {
            let text = eval(expr, row, ctx)?;
            let pattern = eval(pattern, row, ctx)?;
            let escape = match escape {
                Some(e) => eval(e, row, ctx)?,
                None => Value::Text("\\".into()),
            };
            let (text, pattern, escape) = match (text, pattern, escape) {
                (Value::Null, _, _) | (_, Value::Null, _) | (_, _, Value::Null) => {
                    return Ok(Value::Null);
                }
                (Value::Text(t), Value::Text(p), Value::Text(e)) => (t, p, e),
                (t, p, _) => {
                    return Err(Error::UndefinedOperator(format!(
                        "{} LIKE {}",
                        t.type_name(),
                        p.type_name()
                    )));
                }
            };
            let mut escape_chars = escape.chars();
            let escape = match (escape_chars.next(), escape_chars.next()) {
                (None, _) => None,
                (Some(c), None) => Some(c),
                _ => {
                    return Err(Error::InvalidTextRepresentation {
                        type_name: "escape character".into(),
                        input: escape,
                    });
                }
            };
            let matched = if *case_insensitive {
                like(&text.to_lowercase(), &pattern.to_lowercase(), escape)
            } else {
                like(&text, &pattern, escape)
            };
            Ok(Value::Boolean(matched != *negated))
        }
        Expr::Case {
            operand,
            branches,
            otherwise,
        } => {
            let operand = match operand {
                Some(e) => Some(eval(e, row, ctx)?),
                None => None,
            };
            for (when, then) in branches {
                let hit = match &operand {
                    Some(value) => value.sql_eq(&eval(when, row, ctx)?)? == Some(true),
                    None => condition(when, row, ctx)? == Some(true),
                };
                if hit {
                    return eval(then, row, ctx);
                }
            }
            match otherwise {
                Some(e) => eval(e, row, ctx),
                None => Ok(Value::Null),
            }
        }
        Expr::Cast { expr, to } => cast(&eval(expr, row, ctx)?, *to),
        Expr::Function { function, args } => scalar_function(*function, args, row, ctx),
        Expr::Aggregate(_) => Err(Error::GroupingError(
            "aggregate functions are not allowed here".into(),
        )),
        Expr::Subquery(subquery) => {
            let result = subquery_rows(subquery, row, ctx, false)?;
            if result.rows.len() > 1 {
                return Err(Error::CardinalityViolation);
            }
            Ok(result
                .rows
                .first()
                .and_then(|r| r.first())
                .cloned()
                .unwrap_or(Value::Null))
        }
        Expr::Exists { subquery, negated } => {
            let result = subquery_rows(subquery, row, ctx, false)?;
            Ok(Value::Boolean(result.rows.is_empty() == *negated))
        }
        Expr::InSubquery {
            expr,
            subquery,
            negated,
        } => {
            let value = eval(expr, row, ctx)?;
            let result = subquery_rows(subquery, row, ctx, true)?;
            let truth = if result.rows.is_empty() {
                Some(false)
            } else if value.is_null() {
                None
            } else if result.values.contains(&value) {
                Some(true)
            } else if result.has_null {
                None
            } else {
                Some(false)
            };
            Ok(Value::from_condition(if *negated {
                not(truth)
            } else {
                truth
            }))
        }
    }
}

/// Evaluates a condition: TRUE, FALSE or UNKNOWN (`None`); other types
/// are 42804.
pub fn condition(expr: &Expr, row: &[Value], ctx: &mut ExecContext) -> Result<Option<bool>> {
    eval(expr, row, ctx)?.as_condition()
}

/// True when `predicate` is TRUE for `row` (what WHERE keeps).
pub fn holds(predicate: Option<&Expr>, row: &[Value], ctx: &mut ExecContext) -> Result<bool> {
    match predicate {
        None => Ok(true),
        Some(p) => Ok(condition(p, row, ctx)? == Some(true)),
    }
}

/// `left op right`, the left operand already evaluated (the right one is
/// evaluated only when AND or OR needs it).
fn binary(
    op: BinaryOp,
    left: Value,
    right: &Expr,
    row: &[Value],
    ctx: &mut ExecContext,
) -> Result<Value> {
    match op {
        BinaryOp::And => {
            let a = left.as_condition()?;
            if a == Some(false) {
                return Ok(Value::Boolean(false));
            }
            Ok(Value::from_condition(and(a, condition(right, row, ctx)?)))
        }
        BinaryOp::Or => {
            let a = left.as_condition()?;
            if a == Some(true) {
                return Ok(Value::Boolean(true));
            }
            Ok(Value::from_condition(or(a, condition(right, row, ctx)?)))
        }
        _ => {
            let a = left;
            let b = eval(right, row, ctx)?;
            match op {
                BinaryOp::Add => a.checked_add(&b),
                BinaryOp::Sub => a.checked_sub(&b),
                BinaryOp::Mul => a.checked_mul(&b),
                BinaryOp::Div => a.checked_div(&b),
                BinaryOp::Rem => a.checked_rem(&b),
                BinaryOp::Concat => a.concat(&b),
                _ => Ok(Value::from_condition(compare(op, &a, &b)?)),
            }
        }
    }
}

/// A comparison (`=`, `<>`, `<`, `<=`, `>`, `>=`) in three-valued logic.
pub(crate) fn compare(op: BinaryOp, a: &Value, b: &Value) -> Result<Option<bool>> {
    Ok(match op {
        BinaryOp::Eq => a.sql_eq(b)?,
        BinaryOp::NotEq => not(a.sql_eq(b)?),
        _ => a.sql_cmp(b)?.map(|o| match op {
            BinaryOp::Lt => o == Ordering::Less,
            BinaryOp::LtEq => o != Ordering::Greater,
            BinaryOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }),
    })
}

fn scalar_function(
    function: ScalarFunction,
    args: &[Expr],
    row: &[Value],
    ctx: &mut ExecContext,
) -> Result<Value> {
    let mismatch =
        |v: &Value| Error::UndefinedFunction(format!("{}({})", function.name(), v.type_name()));
    match function {
        ScalarFunction::Coalesce => {
            for arg in args {
                let value = eval(arg, row, ctx)?;
                if !value.is_null() {
                    return Ok(value);
                }
            }
            Ok(Value::Null)
        }
        ScalarFunction::System(SystemFunction::ArrayOf) => {
            let Some(Expr::Subquery(subquery)) = args.first() else {
                return Err(Error::Internal("ARRAY() without its subquery".into()));
            };
            let result = subquery_rows(subquery, row, ctx, false)?;
            let items: Vec<String> = result
                .rows
                .iter()
                .map(|r| match r.first() {
                    None | Some(Value::Null) => "NULL".to_string(),
                    Some(value) => value.to_string(),
                })
                .collect();
            Ok(Value::Text(crate::catalog::system::array_text(&items)))
        }
        ScalarFunction::System(system) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(eval(arg, row, ctx)?);
            }
            system_function::evaluate(system, values, ctx)
        }
        ScalarFunction::NullIf => {
            let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
                return Err(Error::UndefinedFunction("nullif".into()));
            };
            let a = eval(a, row, ctx)?;
            let b = eval(b, row, ctx)?;
            if a.sql_eq(&b)? == Some(true) {
                Ok(Value::Null)
            } else {
                Ok(a)
            }
        }
        _ => {
            let Some(arg) = args.first() else {
                return Err(Error::UndefinedFunction(format!("{}()", function.name())));
            };
            let value = eval(arg, row, ctx)?;
            match (function, &value) {
                (_, Value::Null) => Ok(Value::Null),
                (ScalarFunction::Abs, Value::Integer(i)) => i
                    .checked_abs()
                    .map(Value::Integer)
                    .ok_or_else(|| Error::NumericOverflow("bigint out of range".into())),
                (ScalarFunction::Abs, Value::Double(d)) => Ok(Value::Double(d.abs())),
                (ScalarFunction::Lower, Value::Text(s)) => Ok(Value::Text(s.to_lowercase())),
                (ScalarFunction::Upper, Value::Text(s)) => Ok(Value::Text(s.to_uppercase())),
                (ScalarFunction::Length, Value::Text(s)) => {
                    Ok(Value::Integer(s.chars().count() as i64))
                }
                _ => Err(mismatch(&value)),
            }
        }
    }
}

/// Runs a subquery for `row` (or returns its cached rows when it is
/// uncorrelated); `with_values` also fills the IN lookup set.
fn subquery_rows(
    subquery: &Subquery,
    row: &[Value],
    ctx: &mut ExecContext,
    with_values: bool,
) -> Result<Arc<SubqueryRows>> {
    let key = Arc::as_ptr(&subquery.plan) as usize;
    if !subquery.correlated
        && let Some(cached) = ctx.subquery_cache.get(&key)
    {
        return Ok(Arc::clone(cached));
    }
    ctx.outer.push(row.to_vec());
    let result = node::execute(&subquery.plan, ctx);
    ctx.outer.pop();
    let rows = result?;
    let mut values = std::collections::HashSet::new();
    let mut has_null = false;
    if with_values {
        for r in &rows {
            match r.first() {
                Some(Value::Null) | None => has_null = true,
                Some(v) => {
                    values.insert(v.clone());
                }
            }
        }
    }
    let result = Arc::new(SubqueryRows {
        rows,
        values,
        has_null,
    });
    if !subquery.correlated {
        ctx.subquery_cache.insert(key, Arc::clone(&result));
    }
    Ok(result)
}
