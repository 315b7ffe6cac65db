//! The binder: resolves names against scopes and turns sqlparser
//! expressions into bound [`Expr`]s, with light static typing.
//!
//! Scopes nest like the queries do. Each SELECT pushes a level holding the
//! columns of its FROM clause; a name is looked up from the innermost level
//! outwards. Found in the innermost level it becomes `Column(i)`; found
//! `d` levels out it becomes `Outer { depth: d, index: i }` and makes every
//! subquery between the two correlated:
//!
//! ```text
//!   SELECT a, (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b) FROM t1
//!   levels while binding the subquery's WHERE:
//!     0: t1.a, t1.b          <- t1.b is Outer { depth: 1, index: 1 }
//!     1: x.a, x.b            <- x.b  is Column(1)
//! ```
//!
//! Typing is static where the types are known: a comparison of TEXT with
//! INTEGER fails here with 42883, and a string literal compared with or
//! added to a typed expression is cast to that type first (`id = '5'`), as
//! PostgreSQL does with its untyped literals.

use isodb_engine::cluster::ClusterTransaction as Transaction;
use sqlparser::ast;

use crate::catalog::TableDef;
use crate::catalog::store::Catalog;
use crate::catalog::system::SystemTable;
use crate::error::{Error, Result};
use crate::plan::expr::{
    AggregateCall, AggregateFunction, BinaryOp, Expr, ScalarFunction, Subquery,
};
use crate::plan::system_function::SystemFunction;
use crate::plan::{QueryPlan, select};
use crate::types::{DataType, Value, cast};

/// How deeply expressions and subqueries may nest.
const MAX_DEPTH: usize = 96;

/// A column visible by name in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeColumn {
    /// The table (or alias) it belongs to, for `t.c` references.
    pub table: Option<String>,
    /// Its name.
    pub name: String,
    /// Its type, when known.
    pub data_type: Option<DataType>,
}

/// Resolves names and binds expressions for one statement.
pub struct Binder<'a> {
    /// The statement's transaction (the catalog is read through it).
    pub txn: &'a mut Transaction,
    /// The database's catalog.
    pub catalog: Catalog,
    /// The scope levels, outermost first.
    levels: Vec<Vec<ScopeColumn>>,
    /// The absolute level of every outer reference made so far.
    outer_references: Vec<usize>,
    /// How many parameters the statement uses (the highest `$n`).
    pub param_count: usize,
    /// The type each parameter was inferred to have from where it is used
    /// (`id = $1` with an INTEGER `id`), as PostgreSQL infers them; `None`
    /// where nothing says (such a parameter is TEXT to a client).
    pub param_types: Vec<Option<DataType>>,
    /// Every table definition the plan depends on.
    pub tables: Vec<TableDef>,
    /// Current nesting depth.
    depth: usize,
}

/// The name of an identifier: lower case unless it was quoted.
pub fn ident_name(ident: &ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// The single-part name of an object (`t`, or `public.t`).
pub fn object_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::Ident> = name
        .0
        .iter()
        .filter_map(|part| match part {
            ast::ObjectNamePart::Identifier(ident) => Some(ident),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        [ident] => Ok(ident_name(ident)),
        [schema, ident] if ident_name(schema) == "public" => Ok(ident_name(ident)),
        _ => Err(Error::FeatureNotSupported(format!("qualified name {name}"))),
    }
}

/// A relation named in FROM: a user table, or a system relation.
#[derive(Debug, Clone)]
pub enum RelationRef {
    /// A table of the database.
    Table(TableDef),
    /// A `pg_catalog` or `information_schema` relation.
    System(SystemTable),
}

/// A possibly schema-qualified name, split: `(schema, name)`.
fn qualified(name: &ast::ObjectName) -> Result<(Option<String>, String)> {
    let parts: Vec<&ast::Ident> = name
        .0
        .iter()
        .filter_map(|part| match part {
            ast::ObjectNamePart::Identifier(ident) => Some(ident),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        [ident] => Ok((None, ident_name(ident))),
        [schema, ident] => Ok((Some(ident_name(schema)), ident_name(ident))),
        _ => Err(Error::FeatureNotSupported(format!("qualified name {name}"))),
    }
}

/// A function's name without a `pg_catalog.` qualifier.
pub fn function_name(name: &ast::ObjectName) -> Result<String> {
    match qualified(name)? {
        (None, name) => Ok(name),
        (Some(schema), name) if schema == "pg_catalog" => Ok(name),
        _ => Err(Error::UndefinedFunction(format!("{name}(...)"))),
    }
}

/// A type's name without a `pg_catalog.` qualifier, in lower case.
fn type_name(sql_type: &ast::DataType) -> String {
    let text = sql_type.to_string().to_lowercase();
    let base = text.split('(').next().unwrap_or_default().trim();
    base.strip_prefix("pg_catalog.").unwrap_or(base).to_string()
}

/// Maps a SQL type to a storage type (42704 for unknown names).
pub fn data_type(sql_type: &ast::DataType) -> Result<DataType> {
    let text = sql_type.to_string();
    let lower = type_name(sql_type);
    let base = lower.as_str();
    // PostgreSQL's other names for isodb's types (pg_type.rs lists them).
    if let Some(pg) = crate::types::pg_type::PG_TYPES
        .iter()
        .find(|t| t.name == base.trim_matches('"'))
    {
        return Ok(pg.data_type);
    }
    DataType::from_sql_name(base).ok_or_else(|| Error::UndefinedObject {
        kind: "type",
        name: text.to_lowercase(),
    })
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::FeatureNotSupported(what.to_string())
}

impl<'a> Binder<'a> {
    /// A binder reading the catalog through `txn`.
    pub fn new(txn: &'a mut Transaction, catalog: Catalog) -> Binder<'a> {
        Binder {
            txn,
            catalog,
            levels: Vec::new(),
            outer_references: Vec::new(),
            param_count: 0,
            param_types: Vec::new(),
            tables: Vec::new(),
            depth: 0,
        }
    }

    /// Resolves a relation named in FROM: `pg_catalog` first for an
    /// unqualified name (as PostgreSQL searches it), then the user's tables.
    pub fn relation(&mut self, name: &ast::ObjectName) -> Result<RelationRef> {
        let (schema, relation) = qualified(name)?;
        match schema.as_deref() {
            None => match SystemTable::find(None, &relation) {
                Some(system) => Ok(RelationRef::System(system)),
                None => self.table(&relation).map(RelationRef::Table),
            },
            Some("public") => self.table(&relation).map(RelationRef::Table),
            Some(schema @ ("pg_catalog" | "information_schema")) => {
                SystemTable::find(Some(schema), &relation)
                    .map(RelationRef::System)
                    .ok_or_else(|| Error::UndefinedTable(format!("{schema}.{relation}")))
            }
            Some(schema) => Err(Error::UndefinedObject {
                kind: "schema",
                name: schema.to_string(),
            }),
        }
    }

    /// Looks up a table (42P01 when missing) and records the dependency.
    pub fn table(&mut self, name: &str) -> Result<TableDef> {
        let table = self.catalog.require_table(self.txn, name)?;
        if !self.tables.contains(&table) {
            self.tables.push(table.clone());
        }
        Ok(table)
    }

    /// Records that parameter `expr` (when it is one) has type `data_type`,
    /// unless a type was inferred for it already.
    pub fn note_param_type(&mut self, expr: &Expr, data_type: Option<DataType>) {
        if let (Expr::Param(i), Some(t)) = (expr, data_type) {
            if self.param_types.len() <= *i {
                self.param_types.resize(*i + 1, None);
            }
            if let Some(slot @ None) = self.param_types.get_mut(*i) {
                *slot = Some(t);
            }
        }
    }

    /// Opens a scope level with `columns`.
    pub fn push_scope(&mut self, columns: Vec<ScopeColumn>) {
        self.levels.push(columns);
    }

    /// Closes the innermost scope level.
    pub fn pop_scope(&mut self) {
        self.levels.pop();
    }

    /// The columns of the innermost scope level.
    pub fn scope(&self) -> &[ScopeColumn] {
        self.levels.last().map(Vec::as_slice).unwrap_or_default()
    }

    /// Enters one more level of nesting, failing when too deep.
    pub fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::StatementTooComplex(format!(
                "expressions and subqueries nest more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    /// Leaves a level entered with [`Binder::enter`].
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Plans a subquery in the current scope.
    pub fn subquery(&mut self, query: &ast::Query) -> Result<(Subquery, QueryPlan)> {
        self.enter()?;
        let base = self.levels.len();
        let mark = self.outer_references.len();
        let planned = select::plan_query(self, query);
        self.leave();
        let plan = planned?;
        let correlated = self.outer_references[mark..]
            .iter()
            .any(|&level| level < base);
        let subquery = Subquery {
            plan: std::sync::Arc::new(plan.root.clone()),
            correlated,
            data_type: plan.columns.first().and_then(|c| c.data_type),
        };
        Ok((subquery, plan))
    }

    /// Resolves a column reference.
    fn resolve(&mut self, idents: &[ast::Ident]) -> Result<Expr> {
        let (table, column) = match idents {
            [column] => (None, ident_name(column)),
            [table, column] => (Some(ident_name(table)), ident_name(column)),
            _ => {
                let names: Vec<String> = idents.iter().map(ident_name).collect();
                return Err(unsupported(format!("column reference {}", names.join("."))));
            }
        };
        let display = match &table {
            Some(t) => format!("{t}.{column}"),
            None => column.clone(),
        };
        let mut table_seen = table.is_none();
        let innermost = self.levels.len().saturating_sub(1);
        for (level_index, level) in self.levels.iter().enumerate().rev() {
            let mut found = None;
            for (i, candidate) in level.iter().enumerate() {
                if let Some(t) = &table {
                    if candidate.table.as_deref() != Some(t.as_str()) {
                        continue;
                    }
                    table_seen = true;
                }
                if candidate.name == column {
                    if found.is_some() {
                        return Err(Error::AmbiguousColumn(display));
                    }
                    found = Some(i);
                }
            }
            if let Some(index) = found {
                if level_index == innermost {
                    return Ok(Expr::Column(index));
                }
                self.outer_references.push(level_index);
                return Ok(Expr::Outer {
                    depth: innermost - level_index,
                    index,
                });
            }
        }
        match table {
            Some(t) if !table_seen => Err(Error::UndefinedTable(t)),
            _ => Err(Error::UndefinedColumn(display)),
        }
    }

    /// The static type of a bound expression in the current scope.
    pub fn type_of(&self, expr: &Expr) -> Option<DataType> {
        match expr {
            Expr::Constant(v) => v.data_type(),
            Expr::Column(i) => self.scope().get(*i).and_then(|c| c.data_type),
            Expr::Outer { depth, index } => self
                .levels
                .len()
                .checked_sub(1 + depth)
                .and_then(|level| self.levels.get(level))
                .and_then(|level| level.get(*index))
                .and_then(|c| c.data_type),
            Expr::Param(i) => self.param_types.get(*i).copied().flatten(),
            Expr::Negate(e) => self.type_of(e),
            Expr::Not(_)
            | Expr::IsNull { .. }
            | Expr::IsDistinctFrom { .. }
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::Exists { .. }
            | Expr::InSubquery { .. } => Some(DataType::Boolean),
            Expr::Binary { op, left, right } => {
                op.result_type(self.type_of(left), self.type_of(right))
            }
            Expr::Chain { first, links } => {
                links.iter().fold(self.type_of(first), |left, (op, right)| {
                    op.result_type(left, self.type_of(right))
                })
            }
            Expr::Case {
                branches,
                otherwise,
                ..
            } => branches
                .iter()
                .map(|(_, then)| then)
                .chain(otherwise.as_deref())
                .find_map(|e| self.type_of(e)),
            Expr::Cast { to, .. } => Some(*to),
            Expr::Function { function, args } => match function {
                ScalarFunction::Abs => args.first().and_then(|a| self.type_of(a)),
                ScalarFunction::Lower | ScalarFunction::Upper => Some(DataType::Text),
                ScalarFunction::Length => Some(DataType::Integer),
                ScalarFunction::Coalesce | ScalarFunction::NullIf => {
                    args.iter().find_map(|a| self.type_of(a))
                }
                ScalarFunction::System(system) => {
                    system.result_type(args.first().and_then(|a| self.type_of(a)))
                }
            },
            Expr::Aggregate(call) => match call.function {
                AggregateFunction::Count => Some(DataType::Integer),
                AggregateFunction::Avg => Some(DataType::Double),
                _ => call.arg.as_ref().and_then(|a| self.type_of(a)),
            },
            Expr::Subquery(s) => s.data_type,
        }
    }

    /// Binds an expression in the current scope.
    pub fn bind(&mut self, expr: &ast::Expr) -> Result<Expr> {
        self.enter()?;
        let bound = self.bind_inner(expr);
        self.leave();
        bound
    }

    fn bind_box(&mut self, expr: &ast::Expr) -> Result<Box<Expr>> {
        self.bind(expr).map(Box::new)
    }

    /// Binds an expression used as text (a LIKE operand): a parameter there is TEXT.
    fn bind_text(&mut self, expr: &ast::Expr) -> Result<Box<Expr>> {
        let bound = self.bind(expr)?;
        self.note_param_type(&bound, Some(DataType::Text));
        Ok(Box::new(bound))
    }

    fn bind_inner(&mut self, node: &ast::Expr) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match node {
            E::Identifier(ident) => self.resolve(std::slice::from_ref(ident))?,
            E::CompoundIdentifier(idents) => self.resolve(idents)?,
            E::Value(value) => self.bind_value(&value.value)?,
            E::Nested(inner) => self.bind(inner)?,
            E::UnaryOp { op, expr } => self.bind_unary(*op, expr)?,
            E::BinaryOp { left, op, right } if regex_op(op).is_some() => {
                let (negated, case_insensitive) = regex_op(op).unwrap_or_default();
                Expr::Function {
                    function: ScalarFunction::System(SystemFunction::RegexMatch {
                        negated,
                        case_insensitive,
                    }),
                    args: vec![self.bind(left)?, self.bind(right)?],
                }
            }
            E::BinaryOp { .. } => self.bind_operator_run(node)?,
            E::IsNull(e) => Expr::IsNull {
                expr: self.bind_box(e)?,
                negated: false,
            },
            E::IsNotNull(e) => Expr::IsNull {
                expr: self.bind_box(e)?,
                negated: true,
            },
            E::IsTrue(e) | E::IsNotTrue(e) | E::IsFalse(e) | E::IsNotFalse(e) => {
                let truth = matches!(node, E::IsTrue(_) | E::IsNotTrue(_));
                let negated = matches!(node, E::IsTrue(_) | E::IsFalse(_));
                Expr::IsDistinctFrom {
                    left: self.bind_box(e)?,
                    right: Box::new(Expr::Constant(Value::Boolean(truth))),
                    negated,
                }
            }
            E::IsUnknown(e) | E::IsNotUnknown(e) => Expr::IsNull {
                expr: self.bind_box(e)?,
                negated: matches!(node, E::IsNotUnknown(_)),
            },
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let left = self.bind(a)?;
                let right = self.bind(b)?;
                let (left, right) = self.coerce_pair(left, right, BinaryOp::Eq)?;
                Expr::IsDistinctFrom {
                    left: Box::new(left),
                    right: Box::new(right),
                    negated: matches!(node, E::IsNotDistinctFrom(..)),
                }
            }
            E::InList {
                expr,
                list,
                negated,
            } => {
                let tested = self.bind(expr)?;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let item = self.bind(item)?;
                    let (_, item) = self.coerce_pair(tested.clone(), item, BinaryOp::Eq)?;
                    items.push(item);
                }
                Expr::InList {
                    expr: Box::new(tested),
                    list: items,
                    negated: *negated,
                }
            }
            E::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let tested = self.bind_box(expr)?;
                let (subquery, plan) = self.subquery(subquery)?;
                expect_one_column(&plan)?;
                Expr::InSubquery {
                    expr: tested,
                    subquery,
                    negated: *negated,
                }
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let tested = self.bind(expr)?;
                let low = self.bind(low)?;
                let high = self.bind(high)?;
                let (tested, low) = self.coerce_pair(tested, low, BinaryOp::GtEq)?;
                let (tested, high) = self.coerce_pair(tested, high, BinaryOp::LtEq)?;
                Expr::Between {
                    expr: Box::new(tested),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated: *negated,
                }
            }
            E::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            }
            | E::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => Expr::Like {
                expr: self.bind_text(expr)?,
                pattern: self.bind_text(pattern)?,
                escape: match escape_char {
                    Some(e) => Some(self.bind_box(e)?),
                    None => None,
                },
                negated: *negated,
                case_insensitive: matches!(node, E::ILike { .. }),
            },
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(e) => Some(self.bind_box(e)?),
                    None => None,
                };
                let mut branches = Vec::with_capacity(conditions.len());
                for when in conditions {
                    branches.push((self.bind(&when.condition)?, self.bind(&when.result)?));
                }
                let otherwise = match else_result {
                    Some(e) => Some(self.bind_box(e)?),
                    None => None,
                };
                Expr::Case {
                    operand,
                    branches,
                    otherwise,
                }
            }
            E::Cast {
                expr, data_type: t, ..
            } => {
                if let Some(function) = SystemFunction::from_cast(&type_name(t)) {
                    return Ok(Expr::Function {
                        function: ScalarFunction::System(function),
                        args: vec![self.bind(expr)?],
                    });
                }
                let to = data_type(t)?;
                let inner = self.bind(expr)?;
                self.note_param_type(&inner, Some(to));
                match inner {
                    Expr::Constant(value) => Expr::Constant(cast(&value, to)?),
                    other => Expr::Cast {
                        expr: Box::new(other),
                        to,
                    },
                }
            }
            E::Function(function) => self.bind_function(function)?,
            E::Collate { expr, .. } => self.bind(expr)?,
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | E::AllOp {
                left,
                compare_op,
                right,
            } => {
                let all = matches!(node, E::AllOp { .. });
                let op = binary_op(compare_op)?;
                if !op.is_comparison() {
                    return Err(Error::UndefinedOperator(format!("{op:?} ANY")));
                }
                if let (false, BinaryOp::Eq, E::Subquery(query)) = (all, op, right.as_ref()) {
                    let tested = self.bind_box(left)?;
                    let (subquery, plan) = self.subquery(query)?;
                    expect_one_column(&plan)?;
                    return Ok(Expr::InSubquery {
                        expr: tested,
                        subquery,
                        negated: false,
                    });
                }
                Expr::Function {
                    function: ScalarFunction::System(SystemFunction::AnyOf { op, all }),
                    args: vec![self.bind(left)?, self.bind(right)?],
                }
            }
            E::Exists { subquery, negated } => Expr::Exists {
                subquery: self.subquery(subquery)?.0,
                negated: *negated,
            },
            E::Subquery(query) => {
                let (subquery, plan) = self.subquery(query)?;
                expect_one_column(&plan)?;
                Expr::Subquery(subquery)
            }
            other => return Err(unsupported(format!("expression {other}"))),
        })
    }

    fn bind_value(&mut self, value: &ast::Value) -> Result<Expr> {
        use ast::Value as V;
        Ok(Expr::Constant(match value {
            V::Number(text, _) => number(text)?,
            V::SingleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::UnicodeStringLiteral(s)
            | V::NationalStringLiteral(s)
            | V::TripleSingleQuotedString(s)
            | V::TripleDoubleQuotedString(s) => Value::Text(s.clone()),
            V::DollarQuotedString(s) => Value::Text(s.value.clone()),
            V::Boolean(b) => Value::Boolean(*b),
            V::Null => Value::Null,
            V::Placeholder(name) => {
                let number = name
                    .strip_prefix('$')
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n >= 1)
                    .ok_or_else(
                        || match name.strip_prefix('$').and_then(|n| n.parse().ok()) {
                            Some(n) => Error::UndefinedParameter(n),
                            None => unsupported(format!("parameter {name}")),
                        },
                    )?;
                self.param_count = self.param_count.max(number);
                return Ok(Expr::Param(number - 1));
            }
            other => return Err(unsupported(format!("literal {other}"))),
        }))
    }

    fn bind_unary(&mut self, op: ast::UnaryOperator, operand: &ast::Expr) -> Result<Expr> {
        match op {
            ast::UnaryOperator::Minus => {
                if let ast::Expr::Value(v) = operand
                    && let ast::Value::Number(text, _) = &v.value
                {
                    return Ok(Expr::Constant(number(&format!("-{text}"))?));
                }
                let inner = self.bind(operand)?;
                self.check_numeric(&inner, "-")?;
                Ok(match inner {
                    Expr::Constant(value) => Expr::Constant(value.checked_neg()?),
                    other => Expr::Negate(Box::new(other)),
                })
            }
            ast::UnaryOperator::Plus => {
                let inner = self.bind(operand)?;
                self.check_numeric(&inner, "+")?;
                Ok(inner)
            }
            ast::UnaryOperator::Not => Ok(Expr::Not(self.bind_box(operand)?)),
            other => Err(Error::UndefinedOperator(format!("{other}"))),
        }
    }

    fn check_numeric(&self, expr: &Expr, op: &str) -> Result<()> {
        match self.type_of(expr) {
            Some(t) if !t.is_numeric() => Err(Error::UndefinedOperator(format!("{op} {t}"))),
            _ => Ok(()),
        }
    }

    /// Casts a string literal on one side to the other side's known type
    /// (and infers an untyped parameter's type from the other side).
    fn coerce_pair(
        &mut self,
        mut left: Expr,
        mut right: Expr,
        op: BinaryOp,
    ) -> Result<(Expr, Expr)> {
        let left_type = self.type_of(&left);
        self.coerce_operands(Some(&mut left), left_type, &mut right, op)?;
        Ok((left, right))
    }

    /// Coerces the operands of `left op right` in place (a string literal
    /// on one side is cast to the other side's known type) and checks that
    /// their types fit `op`; returns the types after coercion. `left` is
    /// `None` when the left operand is the run of a chain bound so far
    /// (never a literal), whose type is `left_type`.
    pub(crate) fn coerce_operands(
        &mut self,
        left: Option<&mut Expr>,
        mut left_type: Option<DataType>,
        right: &mut Expr,
        op: BinaryOp,
    ) -> Result<(Option<DataType>, Option<DataType>)> {
        let mut right_type = self.type_of(right);
        if let Some(left) = left.as_deref() {
            self.note_param_type(left, right_type);
        }
        self.note_param_type(right, left_type);
        let is_text_literal = |e: &Expr| matches!(e, Expr::Constant(Value::Text(_)));
        match (left_type, right_type) {
            (Some(t), Some(DataType::Text)) if t != DataType::Text && is_text_literal(right) => {
                *right = cast_constant(std::mem::replace(right, Expr::Constant(Value::Null)), t)?;
                right_type = self.type_of(right);
            }
            (Some(DataType::Text), Some(t)) if t != DataType::Text => {
                if let Some(left) = left.filter(|left| is_text_literal(left)) {
                    *left = cast_constant(std::mem::replace(left, Expr::Constant(Value::Null)), t)?;
                    left_type = self.type_of(left);
                }
            }
            _ => {}
        }
        let (Some(a), Some(b)) = (left_type, right_type) else {
            return Ok((left_type, right_type));
        };
        let compatible = if op.is_arithmetic() {
            a.is_numeric() && b.is_numeric()
        } else {
            a == b || (a.is_numeric() && b.is_numeric())
        };
        if compatible {
            Ok((left_type, right_type))
        } else {
            Err(Error::UndefinedOperator(format!("{a} {} {b}", op.symbol())))
        }
    }

    /// Coerces and type-checks the operands of `left op right` (see
    /// [`Binder::coerce_operands`]) and returns the type of the result.
    pub(crate) fn type_operator(
        &mut self,
        op: BinaryOp,
        left: Option<&mut Expr>,
        left_type: Option<DataType>,
        right: &mut Expr,
    ) -> Result<Option<DataType>> {
        let (left_type, right_type) = if op.is_comparison() || op.is_arithmetic() {
            self.coerce_operands(left, left_type, right, op)?
        } else {
            (left_type, self.type_of(right))
        };
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            for t in [left_type, right_type].into_iter().flatten() {
                if t != DataType::Boolean {
                    return Err(Error::DatatypeMismatch(format!(
                        "argument of {} must be type BOOLEAN, not type {t}",
                        op.symbol()
                    )));
                }
            }
        }
        Ok(op.result_type(left_type, right_type))
    }

    fn bind_function(&mut self, function: &ast::Function) -> Result<Expr> {
        let name = function_name(&function.name)?;
        if let (ast::FunctionArguments::Subquery(query), "array") = (&function.args, name.as_str())
        {
            let (subquery, plan) = self.subquery(query)?;
            expect_one_column(&plan)?;
            return Ok(Expr::Function {
                function: ScalarFunction::System(SystemFunction::ArrayOf),
                args: vec![Expr::Subquery(subquery)],
            });
        }
        if function.over.is_some() || function.filter.is_some() || !function.within_group.is_empty()
        {
            return Err(unsupported(format!("function call {function}")));
        }
        let (args, distinct, star) = match &function.args {
            ast::FunctionArguments::None => (Vec::new(), false, false),
            ast::FunctionArguments::Subquery(_) => {
                return Err(unsupported(format!("function call {function}")));
            }
            ast::FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(unsupported(format!("function call {function}")));
                }
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                let mut args = Vec::new();
                let mut star = false;
                for arg in &list.args {
                    match arg {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(e),
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        _ => return Err(unsupported(format!("function argument {arg}"))),
                    }
                }
                (args, distinct, star)
            }
        };
        if let Some(aggregate) = AggregateFunction::from_name(&name) {
            let arg = match (star, args.as_slice()) {
                (true, []) if aggregate == AggregateFunction::Count && !distinct => None,
                (false, [arg]) => {
                    let bound = self.bind(arg)?;
                    if bound.has_aggregate() {
                        return Err(Error::GroupingError(
                            "aggregate function calls cannot be nested".into(),
                        ));
                    }
                    if matches!(aggregate, AggregateFunction::Sum | AggregateFunction::Avg) {
                        self.check_numeric(&bound, aggregate.name())?;
                    }
                    Some(bound)
                }
                _ => {
                    return Err(Error::UndefinedFunction(format!(
                        "{name} with these arguments"
                    )));
                }
            };
            return Ok(Expr::Aggregate(Box::new(AggregateCall {
                function: aggregate,
                arg,
                distinct,
            })));
        }
        let Some(scalar) = ScalarFunction::from_name(&name) else {
            return Err(Error::UndefinedFunction(format!("{name}(...)")));
        };
        if star || distinct {
            return Err(Error::UndefinedFunction(format!("{name}(*)")));
        }
        let bound: Vec<Expr> = args.iter().map(|a| self.bind(a)).collect::<Result<_>>()?;
        let arity_ok = match scalar {
            ScalarFunction::Coalesce => !bound.is_empty(),
            ScalarFunction::NullIf => bound.len() == 2,
            ScalarFunction::System(system) => {
                let (least, most) = system.arity();
                (least..=most).contains(&bound.len())
            }
            _ => bound.len() == 1,
        };
        let types: Vec<String> = bound
            .iter()
            .map(|a| {
                self.type_of(a)
                    .map_or("unknown".to_string(), |t| t.to_string())
            })
            .collect();
        let signature = format!("{name}({})", types.join(", "));
        if !arity_ok {
            return Err(Error::UndefinedFunction(signature));
        }
        let first = bound.first().and_then(|a| self.type_of(a));
        let type_ok = match scalar {
            ScalarFunction::Abs => first.is_none_or(DataType::is_numeric),
            ScalarFunction::Lower | ScalarFunction::Upper | ScalarFunction::Length => {
                first.is_none_or(|t| t == DataType::Text)
            }
            _ => true,
        };
        if !type_ok {
            return Err(Error::UndefinedFunction(signature));
        }
        Ok(Expr::Function {
            function: scalar,
            args: bound,
        })
    }
}

/// Casts a constant expression now, so a bad literal fails at plan time.
fn cast_constant(expr: Expr, to: DataType) -> Result<Expr> {
    match expr {
        Expr::Constant(value) => Ok(Expr::Constant(cast(&value, to)?)),
        other => Ok(other),
    }
}

/// A numeric literal: an integer, or a double when it has a fraction or an
/// exponent. An integer literal beyond 64 bits is an error (22003): in
/// PostgreSQL it would be an exact NUMERIC, which isodb does not have yet,
/// and turning it into a double would silently change its value.
fn number(text: &str) -> Result<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Value::Integer(i));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::NumericOverflow(format!(
            "value \"{text}\" is out of range for type bigint (integer literals beyond 64 bits \
             would need NUMERIC, which isodb does not have yet)"
        )));
    }
    match text.parse::<f64>() {
        Ok(d) if d.is_finite() => Ok(Value::Double(d)),
        _ => Err(Error::NumericOverflow(format!(
            "value \"{text}\" is out of range"
        ))),
    }
}

/// `~`, `!~`, `~*`, `!~*` (and `OPERATOR(pg_catalog.~)`): (negated, case-insensitive).
pub(crate) fn regex_op(op: &ast::BinaryOperator) -> Option<(bool, bool)> {
    use ast::BinaryOperator as B;
    match op {
        B::PGRegexMatch => Some((false, false)),
        B::PGRegexIMatch => Some((false, true)),
        B::PGRegexNotMatch => Some((true, false)),
        B::PGRegexNotIMatch => Some((true, true)),
        B::PGCustomBinaryOperator(parts) => match parts.as_slice() {
            [schema, op] if schema == "pg_catalog" => regex_op(&custom_op(op)?),
            _ => None,
        },
        _ => None,
    }
}

/// The operator `symbol` names in `OPERATOR(pg_catalog.symbol)`.
fn custom_op(symbol: &str) -> Option<ast::BinaryOperator> {
    use ast::BinaryOperator as B;
    Some(match symbol {
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "=" => B::Eq,
        "<>" | "!=" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "+" => B::Plus,
        "-" => B::Minus,
        "*" => B::Multiply,
        "/" => B::Divide,
        "%" => B::Modulo,
        "||" => B::StringConcat,
        _ => return None,
    })
}

/// The bound operator for a sqlparser operator (42883 for ones we lack).
pub(crate) fn binary_op(op: &ast::BinaryOperator) -> Result<BinaryOp> {
    use ast::BinaryOperator as B;
    if let B::PGCustomBinaryOperator(parts) = op
        && let [schema, symbol] = parts.as_slice()
        && schema == "pg_catalog"
        && let Some(standard) = custom_op(symbol)
    {
        return binary_op(&standard);
    }
    Ok(match op {
        B::Plus => BinaryOp::Add,
        B::Minus => BinaryOp::Sub,
        B::Multiply => BinaryOp::Mul,
        B::Divide => BinaryOp::Div,
        B::Modulo => BinaryOp::Rem,
        B::StringConcat => BinaryOp::Concat,
        B::Eq => BinaryOp::Eq,
        B::NotEq => BinaryOp::NotEq,
        B::Lt => BinaryOp::Lt,
        B::LtEq => BinaryOp::LtEq,
        B::Gt => BinaryOp::Gt,
        B::GtEq => BinaryOp::GtEq,
        B::And => BinaryOp::And,
        B::Or => BinaryOp::Or,
        other => return Err(Error::UndefinedOperator(other.to_string())),
    })
}

/// A subquery used as a value must have exactly one column (42601).
fn expect_one_column(plan: &QueryPlan) -> Result<()> {
    if plan.columns.len() == 1 {
        Ok(())
    } else {
        Err(Error::SyntaxError {
            message: "subquery must return only one column".into(),
            position: None,
        })
    }
}
