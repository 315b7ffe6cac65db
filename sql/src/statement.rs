//! Prepared statements and statement parameters.
//!
//! A [`Prepared`] statement is parsed once and planned once; each run
//! re-reads the catalog rows of the tables its plan uses (one point read
//! each, through the running transaction) and plans again only if one of
//! them changed — after an ALTER-like DROP and CREATE, say — so a cached
//! plan never outlives the schema it was made for.
//!
//! Parameters are `$1, $2, ...`, passed as `&[&dyn ToValue]` like the
//! postgres crate's `&[&dyn ToSql]`:
//!
//! ```
//! # fn main() -> isodb::Result<()> {
//! let db = isodb::Database::open_temporary()?;
//! let mut session = db.session();
//! session.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT)")?;
//! let insert = session.prepare("INSERT INTO t VALUES ($1, $2)")?;
//! for (id, name) in [(1, "a"), (2, "b")] {
//!     session.execute_with(&insert, &[&id, &name])?;
//! }
//! let rows = session.query("SELECT name FROM t WHERE id = $1", &[&2])?;
//! assert_eq!(rows[0].get::<String>(0)?, "b");
//! # Ok(())
//! # }
//! ```

use std::sync::{Arc, Mutex};

use isodb_engine::cluster::ClusterTransaction as EngineTransaction;
use isodb_engine::storage::SeqNo;
use isodb_engine::txn::{IsolationLevel, TxnId};
use sqlparser::ast;

use crate::catalog::TableDef;
use crate::catalog::codec::encode_table;
use crate::catalog::store::Catalog;
use crate::error::Result;
use crate::plan::Column;
use crate::plan::{Binder, Plan, plan_statement};
use crate::types::{DataType, Value};

/// A Rust value usable as a statement parameter.
pub trait ToValue {
    /// The SQL value.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Integer(*self)
    }
}

impl ToValue for i32 {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Double(*self)
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Boolean(*self)
    }
}

impl ToValue for &str {
    fn to_value(&self) -> Value {
        Value::Text((*self).to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// A plan cached by a prepared statement, with what it depends on.
#[derive(Debug, Clone)]
struct CachedPlan {
    plan: Arc<Plan>,
    /// Each table the plan read: its name and its definition as stored.
    tables: Vec<(String, Vec<u8>)>,
    param_count: usize,
    /// The parameters' inferred types.
    param_types: Vec<Option<DataType>>,
    /// The transaction and snapshot whose view of the catalog last matched
    /// `tables`: until one of them changes (or the transaction writes the
    /// catalog itself), the catalog it sees cannot have changed either.
    validated: Option<(TxnId, SeqNo)>,
}

#[derive(Debug)]
struct PreparedInner {
    sql: String,
    statement: ast::Statement,
    cache: Mutex<Option<CachedPlan>>,
}

/// A parsed statement that can run many times, in any session of the same
/// database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Prepared {
    inner: Arc<PreparedInner>,
}

impl Prepared {
    pub(crate) fn new(sql: &str, statement: ast::Statement) -> Prepared {
        Prepared {
            inner: Arc::new(PreparedInner {
                sql: sql.to_string(),
                statement,
                cache: Mutex::new(None),
            }),
        }
    }

    /// The SQL text it was prepared from.
    pub fn sql(&self) -> &str {
        &self.inner.sql
    }

    /// The parsed statement.
    pub(crate) fn statement(&self) -> &ast::Statement {
        &self.inner.statement
    }

    /// How many parameters the statement takes, once it has been planned
    /// (`None` before, or for transaction-control statements).
    pub fn param_count(&self) -> Option<usize> {
        self.lock().as_ref().map(|c| c.param_count)
    }

    /// The parameters' types as inferred from where they are used (`None`
    /// for one nothing says anything about), once the statement has been
    /// planned (`None` before, or for transaction-control statements).
    pub fn param_types(&self) -> Option<Vec<Option<DataType>>> {
        self.lock().as_ref().map(|c| {
            let mut types = c.param_types.clone();
            types.resize(c.param_count, None);
            types
        })
    }

    /// The columns of the rows the statement returns, once planned.
    pub fn columns(&self) -> Option<Vec<Column>> {
        self.lock().as_ref().map(|c| c.plan.columns())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<CachedPlan>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The plan for this run: the cached one if every table it uses is
    /// unchanged, else a fresh one (which replaces it).
    pub(crate) fn plan(
        &self,
        txn: &mut EngineTransaction,
        catalog: Catalog,
    ) -> Result<(Arc<Plan>, usize)> {
        // A view of the catalog that stays put while the transaction and
        // its snapshot do: not at READ UNCOMMITTED (it would see others'
        // uncommitted DDL), nor after the transaction's own catalog writes.
        let view = (txn.level() != IsolationLevel::ReadUncommitted
            && !txn.has_writes_in(catalog.keyspace()))
        .then(|| (txn.id(), txn.snapshot_seq()));
        if let Some(cached) = self.lock().as_ref()
            && view.is_some()
            && cached.validated == view
        {
            return Ok((Arc::clone(&cached.plan), cached.param_count));
        }
        let cached = self.lock().clone();
        if let Some(cached) = cached {
            let mut valid = true;
            for (name, stored) in &cached.tables {
                if catalog.table_bytes(txn, name)?.as_deref() != Some(stored.as_slice()) {
                    valid = false;
                    break;
                }
            }
            if valid {
                if let Some(current) = self.lock().as_mut() {
                    current.validated = view;
                }
                return Ok((cached.plan, cached.param_count));
            }
        }
        let (plan, tables, param_count, param_types) =
            plan_with_types(txn, catalog, &self.inner.statement)?;
        let plan = Arc::new(plan);
        let tables = tables
            .iter()
            .map(|table| (table.name.clone(), encode_table(table)))
            .collect();
        *self.lock() = Some(CachedPlan {
            plan: Arc::clone(&plan),
            tables,
            param_count,
            param_types,
            validated: view,
        });
        Ok((plan, param_count))
    }
}

/// Plans a statement: the plan, the tables it read, its parameter count.
pub(crate) fn plan_fresh(
    txn: &mut EngineTransaction,
    catalog: Catalog,
    statement: &ast::Statement,
) -> Result<(Plan, Vec<TableDef>, usize)> {
    let (plan, tables, count, _) = plan_with_types(txn, catalog, statement)?;
    Ok((plan, tables, count))
}

/// A planned statement with what it depends on and its parameters.
type PlannedStatement = (Plan, Vec<TableDef>, usize, Vec<Option<DataType>>);

/// Plans a statement: also the parameters' inferred types.
fn plan_with_types(
    txn: &mut EngineTransaction,
    catalog: Catalog,
    statement: &ast::Statement,
) -> Result<PlannedStatement> {
    let mut binder = Binder::new(txn, catalog);
    let plan = plan_statement(&mut binder, statement)?;
    Ok((plan, binder.tables, binder.param_count, binder.param_types))
}

/// A statement to run: SQL text or a [`Prepared`] statement.
pub trait ToStatement {
    /// Which one this is.
    fn to_statement(&self) -> StatementRef<'_>;
}

/// SQL text or a prepared statement, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum StatementRef<'a> {
    /// SQL to parse (exactly one statement).
    Sql(&'a str),
    /// A prepared statement.
    Prepared(&'a Prepared),
}

impl ToStatement for str {
    fn to_statement(&self) -> StatementRef<'_> {
        StatementRef::Sql(self)
    }
}

impl ToStatement for String {
    fn to_statement(&self) -> StatementRef<'_> {
        StatementRef::Sql(self)
    }
}

impl ToStatement for Prepared {
    fn to_statement(&self) -> StatementRef<'_> {
        StatementRef::Prepared(self)
    }
}
