//! What a PostgreSQL server needs of a session beyond the embedded API:
//! statements run one by one with their command tags (`INSERT 0 1`,
//! `UPDATE 3`, `SELECT 5`), statement descriptions (parameter types and
//! result columns) for the extended protocol's Describe, and *implicit
//! transaction blocks*.
//!
//! An implicit block is how PostgreSQL runs several statements that arrive
//! together — a multi-statement Query message, or the Executes of one
//! extended-protocol batch before its Sync — without BEGIN: as one
//! transaction, committed at the end, rolled back entirely when one of
//! them fails:
//!
//! ```text
//!   Query "INSERT 1; INSERT 1 (duplicate); INSERT 3"
//!     begin_implicit          Idle -> InBlock (implicit)
//!     INSERT 1                ok
//!     INSERT 1                23505 -> Failed; the rest is skipped
//!     end_implicit            rolled back: neither row is there
//! ```
//!
//! A BEGIN inside an implicit block turns it into an ordinary one (which
//! then outlives the message); a COMMIT or ROLLBACK inside it ends it.

use sqlparser::ast;

use crate::error::Result;
use crate::plan::Column;
use crate::row::Rows;
use crate::session::control::{Control, control};
use crate::session::{BlockState, Session};
use crate::statement::Prepared;
use crate::types::{DataType, Value};

/// A statement's result as a server reports it.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Its rows (and columns; empty for most writes).
    pub rows: Rows,
    /// Its command tag: `SELECT 5`, `INSERT 0 1`, `BEGIN`, ...
    pub tag: String,
}

/// What a statement takes and returns, known before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The parameters' types as inferred (`None`: nothing says; TEXT to a client).
    pub param_types: Vec<Option<DataType>>,
    /// The result columns (empty: no rows).
    pub columns: Vec<Column>,
}

fn text_column(name: &str) -> Column {
    Column {
        name: name.to_string(),
        data_type: Some(DataType::Text),
    }
}

/// The command tag of `statement`, which returned `rows` rows or affected
/// `affected`; `rolled_back` for a COMMIT that ended a failed block.
fn command_tag(
    statement: &ast::Statement,
    affected: u64,
    rows: usize,
    rolled_back: bool,
) -> String {
    use crate::parse::two_phase::{TwoPhase, recognize};
    use ast::Statement as S;
    match recognize(statement) {
        Some(TwoPhase::Prepare(_)) => return "PREPARE TRANSACTION".into(),
        Some(TwoPhase::CommitPrepared(_)) => return "COMMIT PREPARED".into(),
        Some(TwoPhase::RollbackPrepared(_)) => return "ROLLBACK PREPARED".into(),
        None => {}
    }
    match statement {
        S::Query(_) => format!("SELECT {rows}"),
        S::Insert(_) => format!("INSERT 0 {affected}"),
        S::Update(_) => format!("UPDATE {affected}"),
        S::Delete(_) => format!("DELETE {affected}"),
        S::CreateTable(_) => "CREATE TABLE".into(),
        S::CreateIndex(_) => "CREATE INDEX".into(),
        S::Drop { object_type, .. } => format!("DROP {object_type}"),
        S::StartTransaction { begin: true, .. } => "BEGIN".into(),
        S::StartTransaction { .. } => "START TRANSACTION".into(),
        S::Commit { .. } if rolled_back => "ROLLBACK".into(),
        S::Commit { .. } => "COMMIT".into(),
        S::Rollback { .. } => "ROLLBACK".into(),
        S::Savepoint { .. } => "SAVEPOINT".into(),
        S::ReleaseSavepoint { .. } => "RELEASE".into(),
        S::Set(_) => "SET".into(),
        S::Reset(_) => "RESET".into(),
        S::ShowVariable { .. } => "SHOW".into(),
        S::Explain { .. } => "EXPLAIN".into(),
        other => other
            .to_string()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_uppercase(),
    }
}

impl Session {
    /// Parses `sql` into its statements, unplanned (each is planned when it
    /// runs, so a script can create a table and then use it).
    pub fn parse_statements(&self, sql: &str) -> Result<Vec<Prepared>> {
        Ok(crate::parse::parse_statements(sql)?
            .into_iter()
            .map(|statement| Prepared::new(&statement.to_string(), statement))
            .collect())
    }

    /// Runs one statement with its parameters and reports it as a server
    /// does: rows and command tag.
    pub fn run_prepared(&mut self, prepared: &Prepared, params: &[Value]) -> Result<Completion> {
        let rolled_back =
            self.is_failed() && matches!(control(prepared.statement()), Ok(Some(Control::Commit)));
        let result = self.run(prepared.statement(), params, Some(prepared))?;
        let tag = command_tag(
            prepared.statement(),
            result.affected,
            result.rows.len(),
            rolled_back,
        );
        Ok(Completion {
            rows: Rows::new(result.columns, result.rows, result.affected),
            tag,
        })
    }

    /// Plans `prepared` if it is not planned yet (in the open block, or in a
    /// read-only transaction of its own) and tells its parameter types and
    /// result columns.
    pub fn describe(&mut self, prepared: &Prepared) -> Result<Description> {
        match control(prepared.statement())? {
            Some(Control::Show(name)) => {
                let (name, _) = self.view().show(&name)?;
                return Ok(Description {
                    param_types: Vec::new(),
                    columns: vec![text_column(&name)],
                });
            }
            Some(Control::ShowAll) => {
                return Ok(Description {
                    param_types: Vec::new(),
                    columns: ["name", "setting", "description"].map(text_column).to_vec(),
                });
            }
            Some(_) => {
                return Ok(Description {
                    param_types: Vec::new(),
                    columns: Vec::new(),
                });
            }
            None => {}
        }
        if prepared.columns().is_none() {
            self.plan_prepared(prepared)?;
        }
        Ok(Description {
            param_types: prepared.param_types().unwrap_or_default(),
            columns: prepared.columns().unwrap_or_default(),
        })
    }

    /// Starts an implicit transaction block (see the module docs); does
    /// nothing inside a block.
    pub fn begin_implicit(&mut self) -> Result<()> {
        if matches!(self.state, BlockState::Idle) {
            self.begin_block(None, None)?;
            if let BlockState::InBlock(block) = &mut self.state {
                block.implicit = true;
            }
        }
        Ok(())
    }

    /// Ends an implicit block: commits it, or rolls it back when one of its
    /// statements failed. Does nothing when no implicit block is open.
    pub fn end_implicit(&mut self) -> Result<()> {
        let implicit = match &self.state {
            BlockState::InBlock(block) => block.implicit,
            BlockState::Failed { implicit, .. } => *implicit,
            BlockState::Idle => false,
        };
        if !implicit {
            return Ok(());
        }
        let result = if self.is_failed() {
            self.rollback_block()
        } else {
            self.commit_block(true)
        };
        self.idle_since = None;
        result
    }
}
