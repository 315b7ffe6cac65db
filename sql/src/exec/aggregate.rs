//! Grouping and aggregate functions.
//!
//! Rows are grouped by the values of the GROUP BY expressions (NULLs form
//! one group, `1` and `1.0` another, as [`Value`]'s equality says); groups
//! come out in the order they were first seen. Without GROUP BY there is
//! exactly one group, even over no rows:
//!
//! ```text
//!   function     over no rows / only NULLs    result type
//!   count(*)     0                            INTEGER
//!   count(x)     0 (NULLs not counted)        INTEGER
//!   sum(x)       NULL                         type of x (overflow: 22003)
//!   avg(x)       NULL                         DOUBLE
//!   min/max(x)   NULL                         type of x
//! ```

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::exec::eval::eval;
use crate::exec::{ExecContext, Row};
use crate::plan::expr::{AggregateCall, AggregateFunction, Expr};
use crate::types::Value;

/// The running state of one aggregate call in one group.
#[derive(Debug, Clone)]
struct Accumulator {
    count: i64,
    sum: Option<Value>,
    float_sum: f64,
    extreme: Option<Value>,
    seen: Option<HashSet<Value>>,
}

impl Accumulator {
    fn new(call: &AggregateCall) -> Accumulator {
        Accumulator {
            count: 0,
            sum: None,
            float_sum: 0.0,
            extreme: None,
            seen: call.distinct.then(HashSet::new),
        }
    }

    fn add(&mut self, call: &AggregateCall, value: Value) -> Result<()> {
        if call.arg.is_some() && value.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen
            && !seen.insert(value.clone())
        {
            return Ok(());
        }
        self.count += 1;
        match call.function {
            AggregateFunction::Count => {}
            AggregateFunction::Sum => {
                self.sum = Some(match self.sum.take() {
                    None => value,
                    Some(total) => total.checked_add(&value)?,
                });
            }
            AggregateFunction::Avg => {
                self.float_sum += match value {
                    Value::Integer(i) => i as f64,
                    Value::Double(d) => d,
                    _ => 0.0,
                };
            }
            AggregateFunction::Min | AggregateFunction::Max => {
                let replace = match &self.extreme {
                    None => true,
                    Some(current) => {
                        let ordering = value.total_cmp(current);
                        if call.function == AggregateFunction::Min {
                            ordering.is_lt()
                        } else {
                            ordering.is_gt()
                        }
                    }
                };
                if replace {
                    self.extreme = Some(value);
                }
            }
        }
        Ok(())
    }

    fn finish(self, call: &AggregateCall) -> Value {
        match call.function {
            AggregateFunction::Count => Value::Integer(self.count),
            AggregateFunction::Sum => self.sum.unwrap_or(Value::Null),
            AggregateFunction::Avg if self.count == 0 => Value::Null,
            AggregateFunction::Avg => Value::Double(self.float_sum / self.count as f64),
            AggregateFunction::Min | AggregateFunction::Max => self.extreme.unwrap_or(Value::Null),
        }
    }
}

/// Groups `rows` and computes `aggregates` per group: each output row is
/// the group's key values followed by the aggregate results.
pub fn aggregate(
    rows: Vec<Row>,
    group_by: &[Expr],
    aggregates: &[AggregateCall],
    ctx: &mut ExecContext,
) -> Result<Vec<Row>> {
    let fresh = || -> Vec<Accumulator> { aggregates.iter().map(Accumulator::new).collect() };
    let mut groups: Vec<(Row, Vec<Accumulator>)> = Vec::new();
    let mut positions: HashMap<Row, usize> = HashMap::new();
    if group_by.is_empty() {
        groups.push((Vec::new(), fresh()));
        positions.insert(Vec::new(), 0);
    }
    for row in rows {
        ctx.interrupt.check()?;
        let mut key = Vec::with_capacity(group_by.len());
        for e in group_by {
            key.push(eval(e, &row, ctx)?);
        }
        let index = match positions.get(&key) {
            Some(&index) => index,
            None => {
                groups.push((key.clone(), fresh()));
                positions.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let Some((_, accumulators)) = groups.get_mut(index) else {
            continue;
        };
        for (call, accumulator) in aggregates.iter().zip(accumulators.iter_mut()) {
            let value = match &call.arg {
                Some(arg) => eval(arg, &row, ctx)?,
                None => Value::Null,
            };
            accumulator.add(call, value)?;
        }
    }
    Ok(groups
        .into_iter()
        .map(|(mut key, accumulators)| {
            key.extend(
                aggregates
                    .iter()
                    .zip(accumulators)
                    .map(|(call, accumulator)| accumulator.finish(call)),
            );
            key
        })
        .collect())
}
