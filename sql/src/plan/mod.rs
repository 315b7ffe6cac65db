//! The planner: SQL statements (sqlparser's AST) in, executable plans out.
//!
//! - [`expr`]: bound expressions (columns by position, known functions).
//! - [`binder`]: scopes and name resolution, expression binding and typing.
//! - [`select`]: SELECT — FROM and joins, WHERE, grouping, ORDER BY, LIMIT.
//! - [`access`]: the access path of one table from its WHERE conjuncts.
//! - [`dml`]: INSERT, UPDATE, DELETE; [`ddl`]: CREATE/DROP TABLE and INDEX.
//! - [`explain`]: the text EXPLAIN prints.
//! - [`system_function`]: `version()`, `current_setting()`, the catalog
//!   functions tools call, and the operators isodb runs as functions.
//!
//! A query plan is a tree of [`Node`]s; each produces rows (vectors of
//! values) from the rows of its inputs:
//!
//! ```text
//!   SELECT b, count(*) FROM t WHERE a > 5 GROUP BY b ORDER BY b
//!
//!   Sort [#0 ASC]
//!     Project [#0, #1]
//!       Aggregate group by [#1] computing [count(*)]
//!         Primary key range scan on t (a > 5)   -- t has PRIMARY KEY (a)
//! ```

pub mod access;
pub mod binder;
pub mod covering;
pub mod ddl;
pub mod dml;
pub mod explain;
pub mod expr;
pub mod join;
pub mod locking;
mod operators;
pub mod select;
pub mod system_function;

use std::ops::Bound;

use sqlparser::ast;

use crate::catalog::system::SystemTable;
use crate::catalog::{IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::types::DataType;

pub use binder::Binder;
pub use expr::{AggregateCall, AggregateFunction, BinaryOp, Expr, ScalarFunction, Subquery};
pub use locking::{LockWait, RowLocking};

/// A column of a statement's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name: the alias, the column name, or `?column?` as in PostgreSQL.
    pub name: String,
    /// Its type, when the planner knows it (an untyped NULL or parameter
    /// has none).
    pub data_type: Option<DataType>,
}

/// How a scan reaches the rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row, in primary-key order.
    FullScan,
    /// One row by its whole primary key; the expressions give the key
    /// values in key-column order.
    KeyLookup(Vec<Expr>),
    /// Rows whose primary key starts with `prefix` and whose next key
    /// column lies in `range`.
    KeyRange(KeyRange),
    /// Rows found through a secondary index.
    IndexScan {
        /// The index.
        index: IndexDef,
        /// Which index entries to read.
        range: KeyRange,
        /// The query reads only columns the entries hold: the rows are not
        /// fetched ([`covering`]).
        covering: bool,
    },
}

/// A range of keys: equal values for a leading run of key columns, then
/// optional bounds on the next column.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    /// Values of the leading key columns, in order.
    pub prefix: Vec<Expr>,
    /// Lower bound of the column after the prefix.
    pub lower: Bound<Expr>,
    /// Upper bound of the column after the prefix.
    pub upper: Bound<Expr>,
}

/// How a join treats left rows without a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Inner join: unmatched rows disappear.
    Inner,
    /// Left outer join: unmatched left rows appear with NULLs on the right.
    Left,
}

/// One ORDER BY key: a column of the input, a direction, where NULLs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// The input column.
    pub column: usize,
    /// True for DESC.
    pub descending: bool,
    /// True when NULLs come first (PostgreSQL: by default with DESC).
    pub nulls_first: bool,
}

/// A node of a query plan.
// Plans are built once per statement and walked, not copied in bulk: the
// size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Reads rows of a table: all its columns in table order, followed by
    /// the hidden row id when `with_row_id` (DML uses it to find the row).
    Scan {
        /// The table.
        table: TableDef,
        /// How to reach the rows.
        access: Access,
        /// Rows that fail this predicate are skipped.
        filter: Option<Expr>,
        /// Append the hidden row id (tables without a primary key).
        with_row_id: bool,
    },
    /// Reads a system relation (`pg_catalog.pg_class`, ...), computed
    /// from the catalog the transaction sees.
    SystemScan {
        /// The relation.
        table: SystemTable,
        /// Rows that fail this predicate are skipped.
        filter: Option<Expr>,
    },
    /// Literal rows (VALUES, or one empty row for SELECT without FROM).
    Values {
        /// The rows' expressions.
        rows: Vec<Vec<Expr>>,
    },
    /// Keeps rows for which the predicate is true.
    Filter {
        /// The input.
        input: Box<Node>,
        /// The predicate.
        predicate: Expr,
    },
    /// Computes new columns.
    Project {
        /// The input.
        input: Box<Node>,
        /// One expression per output column.
        exprs: Vec<Expr>,
    },
    /// Equi-join: builds a hash table of the right input on `right_keys`,
    /// probes it with `left_keys`; `residual` must also hold.
    HashJoin {
        /// The probe side.
        left: Box<Node>,
        /// The build side.
        right: Box<Node>,
        /// Key expressions over left rows.
        left_keys: Vec<Expr>,
        /// Key expressions over right rows.
        right_keys: Vec<Expr>,
        /// Extra condition over the joined row.
        residual: Option<Expr>,
        /// Inner or left.
        kind: JoinKind,
        /// Number of columns of the right input (for NULL padding).
        right_width: usize,
    },
    /// Tries every pair of rows.
    NestedLoopJoin {
        /// The outer side.
        left: Box<Node>,
        /// The inner side.
        right: Box<Node>,
        /// The join condition over the joined row; `None` is a cross join.
        condition: Option<Expr>,
        /// Inner or left.
        kind: JoinKind,
        /// Number of columns of the right input (for NULL padding).
        right_width: usize,
    },
    /// Groups rows and computes aggregates: outputs the group-by values
    /// followed by the aggregate results.
    Aggregate {
        /// The input.
        input: Box<Node>,
        /// Grouping expressions.
        group_by: Vec<Expr>,
        /// Aggregate calls (their arguments are over input rows).
        aggregates: Vec<AggregateCall>,
    },
    /// Sorts rows (stable).
    Sort {
        /// The input.
        input: Box<Node>,
        /// The keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// Drops duplicate rows.
    Distinct {
        /// The input.
        input: Box<Node>,
    },
    /// OFFSET and LIMIT.
    Limit {
        /// The input.
        input: Box<Node>,
        /// Rows to skip.
        offset: Option<Expr>,
        /// Rows to keep.
        limit: Option<Expr>,
    },
    /// Keeps the first `width` columns (drops sort-only columns).
    Truncate {
        /// The input.
        input: Box<Node>,
        /// Columns kept.
        width: usize,
    },
    /// `SELECT ... FOR UPDATE / FOR SHARE`: locks the table row behind each
    /// input row, in order, until it has `offset + limit` rows (see
    /// [`locking`]). Input and output rows are `outputs ++ table row`.
    LockRows {
        /// The input (a Sort, or the Project).
        input: Box<Node>,
        /// The locked table.
        table: TableDef,
        /// Where the table row starts in each input row.
        row_start: usize,
        /// The table row carries the hidden row id as its last column.
        with_row_id: bool,
        /// The whole WHERE clause over the table row, re-checked on a row
        /// that changed before it could be locked (READ COMMITTED).
        filter: Option<Expr>,
        /// The output expressions over the table row, recomputed for such
        /// a row.
        outputs: Vec<Expr>,
        /// Lock strength and what to do about rows locked by others.
        locking: RowLocking,
        /// OFFSET, as the Limit above has it.
        offset: Option<Expr>,
        /// LIMIT, as the Limit above has it.
        limit: Option<Expr>,
    },
    /// Concatenates the rows of its inputs (UNION ALL); `distinct` removes
    /// duplicates (UNION).
    Union {
        /// The inputs, all of the same width.
        inputs: Vec<Node>,
        /// True for UNION.
        distinct: bool,
    },
}

impl Node {
    /// True when the node (or one below it, outside subqueries) locks rows.
    pub fn locks_rows(&self) -> bool {
        match self {
            Node::LockRows { .. } => true,
            Node::Filter { input, .. }
            | Node::Project { input, .. }
            | Node::Aggregate { input, .. }
            | Node::Sort { input, .. }
            | Node::Distinct { input }
            | Node::Limit { input, .. }
            | Node::Truncate { input, .. } => input.locks_rows(),
            Node::HashJoin { left, right, .. } | Node::NestedLoopJoin { left, right, .. } => {
                left.locks_rows() || right.locks_rows()
            }
            Node::Union { inputs, .. } => inputs.iter().any(Node::locks_rows),
            Node::Scan { .. } | Node::SystemScan { .. } | Node::Values { .. } => false,
        }
    }
}

/// A planned query: the tree and its output columns.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    /// The root node.
    pub root: Node,
    /// Names and types of the output columns.
    pub columns: Vec<Column>,
}

/// Expressions of a RETURNING clause, over the table's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Returning {
    /// One expression per output column.
    pub exprs: Vec<Expr>,
    /// The output columns.
    pub columns: Vec<Column>,
}

/// A planned statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// SELECT (and VALUES).
    Query(QueryPlan),
    /// INSERT.
    Insert(dml::InsertPlan),
    /// UPDATE.
    Update(dml::UpdatePlan),
    /// DELETE.
    Delete(dml::DeletePlan),
    /// CREATE TABLE.
    CreateTable(ddl::CreateTablePlan),
    /// DROP TABLE.
    DropTable {
        /// Tables to drop.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// CREATE INDEX.
    CreateIndex(ddl::CreateIndexPlan),
    /// DROP INDEX.
    DropIndex {
        /// Indexes to drop.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// EXPLAIN of a statement: its plan as text, without running it.
    Explain(Box<Plan>),
}

impl Plan {
    /// True when the statement only reads (it may run in a read-only
    /// transaction).
    pub fn is_read_only(&self) -> bool {
        match self {
            Plan::Query(query) => !query.root.locks_rows(),
            Plan::Explain(_) => true,
            _ => false,
        }
    }
}

impl Plan {
    /// The columns of the rows the statement returns (none for most
    /// writes and DDL; RETURNING's for a write with one).
    pub fn columns(&self) -> Vec<Column> {
        match self {
            Plan::Query(query) => query.columns.clone(),
            Plan::Insert(dml::InsertPlan { returning, .. })
            | Plan::Update(dml::UpdatePlan { returning, .. })
            | Plan::Delete(dml::DeletePlan { returning, .. }) => returning
                .as_ref()
                .map(|r| r.columns.clone())
                .unwrap_or_default(),
            Plan::Explain(_) => vec![Column {
                name: "QUERY PLAN".into(),
                data_type: Some(DataType::Text),
            }],
            _ => Vec::new(),
        }
    }
}

/// Plans one statement (transaction control is handled by the session).
pub fn plan_statement(b: &mut Binder, statement: &ast::Statement) -> Result<Plan> {
    match statement {
        ast::Statement::Query(query) => Ok(Plan::Query(select::plan_top_query(b, query)?)),
        ast::Statement::Insert(insert) => Ok(Plan::Insert(dml::plan_insert(b, insert)?)),
        ast::Statement::Update(update) => Ok(Plan::Update(dml::plan_update(b, update)?)),
        ast::Statement::Delete(delete) => Ok(Plan::Delete(dml::plan_delete(b, delete)?)),
        ast::Statement::CreateTable(create) => ddl::plan_create_table(b, create),
        ast::Statement::CreateIndex(create) => ddl::plan_create_index(b, create),
        ast::Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => ddl::plan_drop(object_type, *if_exists, names),
        ast::Statement::Explain {
            statement,
            analyze: false,
            ..
        } => {
            b.enter()?;
            let inner = plan_statement(b, statement);
            b.leave();
            Ok(Plan::Explain(Box::new(inner?)))
        }
        other => Err(Error::FeatureNotSupported(format!("statement {other}"))),
    }
}
