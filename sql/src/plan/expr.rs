//! Bound expressions: SQL expressions after name resolution, where every
//! column is a position in the input row and every function is known.
//!
//! ```text
//!   SELECT a + 1 FROM t WHERE b = $1        (t has columns a, b)
//!     a + 1   -> Binary { Add, Column(0), Constant(1) }
//!     b = $1  -> Binary { Eq, Column(1), Param(0) }
//! ```
//!
//! A left-deep run of operators of one precedence group (`a + b + c`,
//! `x = 1 OR x = 2 OR ...`, `s || t || u`) is kept flat as an
//! [`Expr::Chain`] instead of a tree as deep as the run is long, so an
//! ORM's 10,000-term `OR` list is bound, planned, evaluated, cloned and
//! dropped without recursion per term:
//!
//! ```text
//!   1 + 2 - 3 + 4   -> Chain { first: 1, links: [(Add, 2), (Sub, 3), (Add, 4)] }
//!                      means ((1 + 2) - 3) + 4
//!   a + 1 = b       -> Binary { Eq, Binary { Add, a, 1 }, b }   (two groups)
//! ```
//!
//! A correlated subquery refers to rows of the queries around it with
//! [`Expr::Outer`]: `depth` 1 is the row of the query immediately around
//! the subquery, 2 the one around that, and so on. The executor keeps those
//! rows on a stack while it runs the subquery.

use std::fmt;
use std::sync::Arc;

use crate::plan::Node;
use crate::plan::system_function::SystemFunction;
use crate::types::{DataType, Value};

/// A bound expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Constant(Value),
    /// A column of the input row, by position.
    Column(usize),
    /// A column of an enclosing query's row (correlated subqueries).
    Outer {
        /// 1 for the query immediately around, 2 for the one around that...
        depth: usize,
        /// The column's position in that query's row.
        index: usize,
    },
    /// The statement parameter `$n`, stored as `n - 1`.
    Param(usize),
    /// Unary minus.
    Negate(Box<Expr>),
    /// Three-valued NOT.
    Not(Box<Expr>),
    /// A left-deep run of two or more operators of one precedence group:
    /// `first op1 r1 op2 r2 ...` is `((first op1 r1) op2 r2) ...`.
    Chain {
        /// The leftmost operand.
        first: Box<Expr>,
        /// Each operator with its right operand, left to right.
        links: Vec<(BinaryOp, Expr)>,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The tested expression.
        expr: Box<Expr>,
        /// True for IS NOT NULL.
        negated: bool,
    },
    /// `left IS [NOT] DISTINCT FROM right`.
    IsDistinctFrom {
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// True for IS NOT DISTINCT FROM.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// The tested expression.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// True for NOT IN.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The tested expression.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
        /// True for NOT BETWEEN.
        negated: bool,
    },
    /// `expr [NOT] [I]LIKE pattern [ESCAPE escape]`.
    Like {
        /// The text matched.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character, when given.
        escape: Option<Box<Expr>>,
        /// True for NOT LIKE.
        negated: bool,
        /// True for ILIKE.
        case_insensitive: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// WHEN/THEN pairs in order.
        branches: Vec<(Expr, Expr)>,
        /// ELSE; NULL when absent.
        otherwise: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`.
    Cast {
        /// The converted expression.
        expr: Box<Expr>,
        /// The target type.
        to: DataType,
    },
    /// A scalar function call.
    Function {
        /// Which function.
        function: ScalarFunction,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// An aggregate call; only before the planner rewrites it into a column
    /// of the aggregation's output.
    Aggregate(Box<AggregateCall>),
    /// A scalar subquery: its single value, or NULL without rows.
    Subquery(Subquery),
    /// `[NOT] EXISTS (subquery)`.
    Exists {
        /// The subquery.
        subquery: Subquery,
        /// True for NOT EXISTS.
        negated: bool,
    },
    /// `expr [NOT] IN (subquery)`.
    InSubquery {
        /// The tested expression.
        expr: Box<Expr>,
        /// The one-column subquery.
        subquery: Subquery,
        /// True for NOT IN.
        negated: bool,
    },
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
}

/// Operators of one group bind equally tightly, so a left-deep run of them
/// is evaluated strictly left to right ([`Expr::Chain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecedenceGroup {
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `= <> < <= > >=`
    Comparison,
    /// `||`
    Concat,
    /// `+ -`
    Additive,
    /// `* / %`
    Multiplicative,
}

impl BinaryOp {
    /// The operator's precedence group.
    pub fn group(self) -> PrecedenceGroup {
        match self {
            BinaryOp::Or => PrecedenceGroup::Or,
            BinaryOp::And => PrecedenceGroup::And,
            BinaryOp::Add | BinaryOp::Sub => PrecedenceGroup::Additive,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => PrecedenceGroup::Multiplicative,
            BinaryOp::Concat => PrecedenceGroup::Concat,
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => PrecedenceGroup::Comparison,
        }
    }

    /// The static type of `left op right` from its operands' types.
    pub fn result_type(self, left: Option<DataType>, right: Option<DataType>) -> Option<DataType> {
        if self.is_arithmetic() {
            match (left, right) {
                (Some(DataType::Integer), Some(DataType::Integer)) => Some(DataType::Integer),
                (Some(DataType::Double), _) | (_, Some(DataType::Double)) => Some(DataType::Double),
                _ => None,
            }
        } else if self == BinaryOp::Concat {
            Some(DataType::Text)
        } else {
            Some(DataType::Boolean)
        }
    }

    /// True for the six comparison operators.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    /// True for `+ - * / %`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem
        )
    }

    /// The comparison with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => other,
        }
    }

    /// The SQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarFunction {
    /// `abs(number)`
    Abs,
    /// `lower(text)`
    Lower,
    /// `upper(text)`
    Upper,
    /// `length(text)`, in characters.
    Length,
    /// `coalesce(a, b, ...)`: the first non-NULL argument.
    Coalesce,
    /// `nullif(a, b)`: NULL when `a = b`, else `a`.
    NullIf,
    /// A system function ([`crate::plan::system_function`]).
    System(SystemFunction),
}

impl ScalarFunction {
    /// Looks a function up by its lower-case name.
    pub fn from_name(name: &str) -> Option<ScalarFunction> {
        Some(match name {
            "abs" => ScalarFunction::Abs,
            "lower" => ScalarFunction::Lower,
            "upper" => ScalarFunction::Upper,
            "length" | "char_length" | "character_length" => ScalarFunction::Length,
            "coalesce" => ScalarFunction::Coalesce,
            "nullif" => ScalarFunction::NullIf,
            other => ScalarFunction::System(SystemFunction::from_name(other)?),
        })
    }

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            ScalarFunction::Abs => "abs",
            ScalarFunction::Lower => "lower",
            ScalarFunction::Upper => "upper",
            ScalarFunction::Length => "length",
            ScalarFunction::Coalesce => "coalesce",
            ScalarFunction::NullIf => "nullif",
            ScalarFunction::System(function) => function.name(),
        }
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    /// `count(*)` or `count(expr)`
    Count,
    /// `sum(expr)`
    Sum,
    /// `avg(expr)`
    Avg,
    /// `min(expr)`
    Min,
    /// `max(expr)`
    Max,
}

impl AggregateFunction {
    /// Looks an aggregate up by its lower-case name.
    pub fn from_name(name: &str) -> Option<AggregateFunction> {
        Some(match name {
            "count" => AggregateFunction::Count,
            "sum" => AggregateFunction::Sum,
            "avg" => AggregateFunction::Avg,
            "min" => AggregateFunction::Min,
            "max" => AggregateFunction::Max,
            _ => return None,
        })
    }

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFunction::Count => "count",
            AggregateFunction::Sum => "sum",
            AggregateFunction::Avg => "avg",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
        }
    }
}

/// One aggregate call, e.g. `count(DISTINCT x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateCall {
    /// The function.
    pub function: AggregateFunction,
    /// Its argument; `None` for `count(*)`.
    pub arg: Option<Expr>,
    /// True for `DISTINCT`.
    pub distinct: bool,
}

/// A planned subquery inside an expression.
#[derive(Debug, Clone)]
pub struct Subquery {
    /// Its plan; its output is the subquery's columns.
    pub plan: Arc<Node>,
    /// True when it refers to the rows of enclosing queries, so it must run
    /// again for each row; otherwise the executor runs it once per statement.
    pub correlated: bool,
    /// The type of its first column, when known.
    pub data_type: Option<DataType>,
}

/// Two subqueries are equal only when they are the same planned subquery.
impl PartialEq for Subquery {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.plan, &other.plan)
    }
}

impl Expr {
    /// A boxed binary expression.
    pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    /// `first op1 r1 op2 r2 ...`: the first operand alone for no links, a
    /// [`Expr::Binary`] for one, an [`Expr::Chain`] for more.
    pub fn chain(first: Expr, mut links: Vec<(BinaryOp, Expr)>) -> Expr {
        match links.len() {
            0 => first,
            1 => {
                let (op, right) = links.pop().expect("one link");
                Expr::binary(op, first, right)
            }
            _ => Expr::Chain {
                first: Box::new(first),
                links,
            },
        }
    }

    /// Calls `visit` on this expression and every sub-expression (not
    /// descending into subquery plans).
    pub fn walk(&self, visit: &mut dyn FnMut(&Expr)) {
        visit(self);
        match self {
            Expr::Constant(_)
            | Expr::Column(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Subquery(_)
            | Expr::Exists { .. } => {}
            Expr::Negate(e) | Expr::Not(e) | Expr::IsNull { expr: e, .. } => e.walk(visit),
            Expr::Cast { expr, .. } => expr.walk(visit),
            Expr::InSubquery { expr, .. } => expr.walk(visit),
            Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
                left.walk(visit);
                right.walk(visit);
            }
            Expr::Chain { first, links } => {
                first.walk(visit);
                links.iter().for_each(|(_, e)| e.walk(visit));
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(visit);
                list.iter().for_each(|e| e.walk(visit));
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(visit);
                low.walk(visit);
                high.walk(visit);
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                expr.walk(visit);
                pattern.walk(visit);
                if let Some(e) = escape {
                    e.walk(visit);
                }
            }
            Expr::Case {
                operand,
                branches,
                otherwise,
            } => {
                if let Some(e) = operand {
                    e.walk(visit);
                }
                for (when, then) in branches {
                    when.walk(visit);
                    then.walk(visit);
                }
                if let Some(e) = otherwise {
                    e.walk(visit);
                }
            }
            Expr::Function { args, .. } => args.iter().for_each(|e| e.walk(visit)),
            Expr::Aggregate(call) => {
                if let Some(arg) = &call.arg {
                    arg.walk(visit);
                }
            }
        }
    }

    /// Rebuilds the expression bottom-up, letting `rewrite` replace any node
    /// first: when it returns `Some`, that replaces the node and its children
    /// are not visited.
    pub fn transform(
        &self,
        rewrite: &mut dyn FnMut(&Expr) -> crate::Result<Option<Expr>>,
    ) -> crate::Result<Expr> {
        if let Some(replaced) = rewrite(self)? {
            return Ok(replaced);
        }
        fn sub(
            e: &Expr,
            rewrite: &mut dyn FnMut(&Expr) -> crate::Result<Option<Expr>>,
        ) -> crate::Result<Box<Expr>> {
            e.transform(rewrite).map(Box::new)
        }
        Ok(match self {
            Expr::Constant(_)
            | Expr::Column(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Subquery(_)
            | Expr::Exists { .. } => self.clone(),
            Expr::Negate(e) => Expr::Negate(sub(e, rewrite)?),
            Expr::Not(e) => Expr::Not(sub(e, rewrite)?),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: sub(expr, rewrite)?,
                negated: *negated,
            },
            Expr::Cast { expr, to } => Expr::Cast {
                expr: sub(expr, rewrite)?,
                to: *to,
            },
            Expr::InSubquery {
                expr,
                subquery,
                negated,
            } => Expr::InSubquery {
                expr: sub(expr, rewrite)?,
                subquery: subquery.clone(),
                negated: *negated,
            },
            Expr::Binary { op, left, right } => Expr::Binary {
                op: *op,
                left: sub(left, rewrite)?,
                right: sub(right, rewrite)?,
            },
            Expr::Chain { first, links } => Expr::Chain {
                first: sub(first, rewrite)?,
                links: links
                    .iter()
                    .map(|(op, e)| Ok((*op, e.transform(rewrite)?)))
                    .collect::<crate::Result<_>>()?,
            },
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => Expr::IsDistinctFrom {
                left: sub(left, rewrite)?,
                right: sub(right, rewrite)?,
                negated: *negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: sub(expr, rewrite)?,
                list: list
                    .iter()
                    .map(|e| e.transform(rewrite))
                    .collect::<crate::Result<_>>()?,
                negated: *negated,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: sub(expr, rewrite)?,
                low: sub(low, rewrite)?,
                high: sub(high, rewrite)?,
                negated: *negated,
            },
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: sub(expr, rewrite)?,
                pattern: sub(pattern, rewrite)?,
                escape: match escape {
                    Some(e) => Some(sub(e, rewrite)?),
                    None => None,
                },
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Case {
                operand,
                branches,
                otherwise,
            } => Expr::Case {
                operand: match operand {
                    Some(e) => Some(sub(e, rewrite)?),
                    None => None,
                },
                branches: branches
                    .iter()
                    .map(|(w, t)| Ok((w.transform(rewrite)?, t.transform(rewrite)?)))
                    .collect::<crate::Result<_>>()?,
                otherwise: match otherwise {
                    Some(e) => Some(sub(e, rewrite)?),
                    None => None,
                },
            },
            Expr::Function { function, args } => Expr::Function {
                function: *function,
                args: args
                    .iter()
                    .map(|e| e.transform(rewrite))
                    .collect::<crate::Result<_>>()?,
            },
            Expr::Aggregate(call) => Expr::Aggregate(Box::new(AggregateCall {
                function: call.function,
                arg: match &call.arg {
                    Some(arg) => Some(arg.transform(rewrite)?),
                    None => None,
                },
                distinct: call.distinct,
            })),
        })
    }

    /// The input columns this expression reads (not counting outer rows).
    pub fn columns(&self) -> Vec<usize> {
        let mut columns = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(i) = e {
                columns.push(*i);
            }
        });
        columns
    }

    /// True when the expression reads no column of its input row: it has
    /// one value per execution (it may still read parameters, outer rows
    /// and run uncorrelated subqueries).
    pub fn is_row_independent(&self) -> bool {
        let mut independent = true;
        self.walk(&mut |e| match e {
            Expr::Column(_) | Expr::Aggregate(_) => independent = false,
            Expr::Subquery(s)
            | Expr::Exists { subquery: s, .. }
            | Expr::InSubquery { subquery: s, .. }
                if s.correlated =>
            {
                independent = false
            }
            _ => {}
        });
        independent
    }

    /// True when the expression contains a subquery.
    pub fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(
                e,
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
            ) {
                found = true;
            }
        });
        found
    }

    /// True when the expression contains an aggregate call.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::Aggregate(_)) {
                found = true;
            }
        });
        found
    }

    /// The expression with every `Column(i)` replaced by `Column(i - by)`
    /// (for expressions moved onto one input of a join).
    pub fn shift_columns_down(&self, by: usize) -> Expr {
        let shifted = self.transform(&mut |e| {
            Ok(match e {
                Expr::Column(i) => Some(Expr::Column(i.saturating_sub(by))),
                _ => None,
            })
        });
        shifted.unwrap_or_else(|_| self.clone())
    }

    /// Splits a conjunction into its terms: `a AND (b AND c)` -> `[a, b, c]`.
    pub fn into_conjuncts(self) -> Vec<Expr> {
        let mut terms = Vec::new();
        self.collect_conjuncts(&mut terms);
        terms
    }

    fn collect_conjuncts(self, terms: &mut Vec<Expr>) {
        match self {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => {
                left.collect_conjuncts(terms);
                right.collect_conjuncts(terms);
            }
            Expr::Chain { first, links } if links.iter().all(|(op, _)| *op == BinaryOp::And) => {
                first.collect_conjuncts(terms);
                for (_, term) in links {
                    term.collect_conjuncts(terms);
                }
            }
            other => terms.push(other),
        }
    }

    /// Joins terms with AND (flat, however many); `None` for no terms.
    pub fn conjunction(terms: Vec<Expr>) -> Option<Expr> {
        let mut terms = terms.into_iter();
        let first = terms.next()?;
        Some(Expr::chain(
            first,
            terms.map(|term| (BinaryOp::And, term)).collect(),
        ))
    }
}

/// EXPLAIN's rendering: columns as `#i`, outer columns as `outer(d).#i`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Constant(Value::Text(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Constant(v) => write!(f, "{v}"),
            Expr::Column(i) => write!(f, "#{i}"),
            Expr::Outer { depth, index } => write!(f, "outer({depth}).#{index}"),
            Expr::Param(i) => write!(f, "${}", i + 1),
            Expr::Negate(e) => write!(f, "-({e})"),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::Binary { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Chain { first, links } => {
                // As the nested binary operators it stands for would print.
                write!(f, "{}{first}", "(".repeat(links.len()))?;
                for (op, right) in links {
                    write!(f, " {} {right})", op.symbol())?;
                }
                Ok(())
            }
            Expr::IsNull { expr, negated } => {
                write!(f, "{expr} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => write!(
                f,
                "{left} IS {}DISTINCT FROM {right}",
                if *negated { "NOT " } else { "" }
            ),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(ToString::to_string).collect();
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}IN ({})", items.join(", "))
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}BETWEEN {low} AND {high}")
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
                ..
            } => {
                let not = if *negated { "NOT " } else { "" };
                let op = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(f, "{expr} {not}{op} {pattern}")
            }
            Expr::Case { .. } => f.write_str("CASE ... END"),
            Expr::Cast { expr, to } => write!(f, "CAST({expr} AS {to})"),
            Expr::Function { function, args } => {
                let items: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{}({})", function.name(), items.join(", "))
            }
            Expr::Aggregate(call) => match &call.arg {
                None => write!(f, "{}(*)", call.function.name()),
                Some(arg) => {
                    let distinct = if call.distinct { "DISTINCT " } else { "" };
                    write!(f, "{}({distinct}{arg})", call.function.name())
                }
            },
            Expr::Subquery(_) => f.write_str("(subquery)"),
            Expr::Exists { negated, .. } => {
                write!(f, "{}EXISTS (subquery)", if *negated { "NOT " } else { "" })
            }
            Expr::InSubquery { expr, negated, .. } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}IN (subquery)")
            }
        }
    }
}
