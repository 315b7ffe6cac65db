//! System functions: what clients and tools call to learn about the server
//! and its catalog (`version()`, `current_setting()`, psql's
//! `pg_catalog.pg_get_indexdef()`, ...), plus the PostgreSQL operators
//! isodb implements as functions (regular-expression matches, `= ANY`
//! over an array).
//!
//! Each has a name (callable with or without `pg_catalog.`), an arity and
//! a result type; [`crate::exec::system_function`] evaluates them.
//!
//! Arrays: isodb has no array type. The catalog's array columns
//! (`pg_class.relacl`, `pg_policy.polroles`, ...) hold PostgreSQL's array
//! text (`{a,b}`) or NULL, and the functions and operators that take
//! arrays here (`array_to_string`, `x = ANY (array)`, `ARRAY(subquery)`)
//! read and write that text.

use crate::plan::expr::BinaryOp;
use crate::types::DataType;

/// A system function or function-like operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFunction {
    /// `version()`: the server's version string.
    Version,
    /// `current_setting(name [, missing_ok])`.
    CurrentSetting,
    /// `current_database()`.
    CurrentDatabase,
    /// `current_user`, `session_user`, `user`.
    CurrentUser,
    /// `current_schema()`: `public`.
    CurrentSchema,
    /// `pg_get_userbyid(role oid)`: the role's name.
    UserById,
    /// `pg_table_is_visible(relation oid)`: on the search path.
    TableIsVisible,
    /// `format_type(type oid, typmod)`: the type's SQL name.
    FormatType,
    /// `pg_get_expr(expression text, relation oid [, pretty])`.
    GetExpr,
    /// `pg_get_indexdef(index oid [, column, pretty])`: its CREATE INDEX.
    GetIndexDef,
    /// `pg_get_constraintdef(constraint oid [, pretty])`.
    GetConstraintDef,
    /// `array_to_string(array, separator [, null text])`.
    ArrayToString,
    /// `pg_encoding_to_char(encoding number)`.
    EncodingToChar,
    /// `quote_ident(text)`.
    QuoteIdent,
    /// `obj_description(oid [, catalog])`, `col_description(oid, n)`,
    /// `shobj_description(oid, catalog)`: NULL (isodb keeps no comments).
    Description,
    /// `pg_relation_is_publishable(relation oid)`.
    RelationIsPublishable,
    /// `pg_get_statisticsobjdef_columns(oid)`: NULL (no extended statistics).
    StatisticsColumns,
    /// `x::regclass`: a relation's oid to its name, or a name to its oid.
    RegClass,
    /// `x::regtype`: a type's oid to its name.
    RegType,
    /// `x::regnamespace`: a schema's oid to its name.
    RegNamespace,
    /// `text ~ pattern` and its negated and case-insensitive forms.
    RegexMatch {
        /// `!~`
        negated: bool,
        /// `~*`
        case_insensitive: bool,
    },
    /// `ARRAY(subquery)`: the subquery's first column as array text.
    ArrayOf,
    /// `pg_backend_pid()`: the session's backend process id.
    BackendPid,
    /// `pg_blocking_pids(pid)`: the pids of the sessions that session
    /// `pid` waits for, as array text (`{7}`, `{}`).
    BlockingPids,
    /// `x op ANY (array)` (`ALL` when `all`).
    AnyOf {
        /// The comparison.
        op: BinaryOp,
        /// ALL instead of ANY.
        all: bool,
    },
}

impl SystemFunction {
    /// Looks a function up by its lower-case name (without `pg_catalog.`).
    pub fn from_name(name: &str) -> Option<SystemFunction> {
        Some(match name {
            "version" => SystemFunction::Version,
            "current_setting" => SystemFunction::CurrentSetting,
            "current_database" | "current_catalog" => SystemFunction::CurrentDatabase,
            "current_user" | "session_user" | "user" | "current_role" => {
                SystemFunction::CurrentUser
            }
            "current_schema" => SystemFunction::CurrentSchema,
            "pg_get_userbyid" => SystemFunction::UserById,
            "pg_table_is_visible" => SystemFunction::TableIsVisible,
            "format_type" => SystemFunction::FormatType,
            "pg_get_expr" => SystemFunction::GetExpr,
            "pg_get_indexdef" => SystemFunction::GetIndexDef,
            "pg_get_constraintdef" => SystemFunction::GetConstraintDef,
            "array_to_string" => SystemFunction::ArrayToString,
            "pg_encoding_to_char" => SystemFunction::EncodingToChar,
            "quote_ident" => SystemFunction::QuoteIdent,
            "obj_description" | "col_description" | "shobj_description" => {
                SystemFunction::Description
            }
            "pg_relation_is_publishable" => SystemFunction::RelationIsPublishable,
            "pg_get_statisticsobjdef_columns" => SystemFunction::StatisticsColumns,
            "pg_backend_pid" => SystemFunction::BackendPid,
            "pg_blocking_pids" => SystemFunction::BlockingPids,
            _ => return None,
        })
    }

    /// The cast to a PostgreSQL OID-alias type, by the type's name.
    pub fn from_cast(type_name: &str) -> Option<SystemFunction> {
        Some(match type_name {
            "regclass" => SystemFunction::RegClass,
            "regtype" => SystemFunction::RegType,
            "regnamespace" => SystemFunction::RegNamespace,
            _ => return None,
        })
    }

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            SystemFunction::Version => "version",
            SystemFunction::CurrentSetting => "current_setting",
            SystemFunction::CurrentDatabase => "current_database",
            SystemFunction::CurrentUser => "current_user",
            SystemFunction::CurrentSchema => "current_schema",
            SystemFunction::UserById => "pg_get_userbyid",
            SystemFunction::TableIsVisible => "pg_table_is_visible",
            SystemFunction::FormatType => "format_type",
            SystemFunction::GetExpr => "pg_get_expr",
            SystemFunction::GetIndexDef => "pg_get_indexdef",
            SystemFunction::GetConstraintDef => "pg_get_constraintdef",
            SystemFunction::ArrayToString => "array_to_string",
            SystemFunction::EncodingToChar => "pg_encoding_to_char",
            SystemFunction::QuoteIdent => "quote_ident",
            SystemFunction::Description => "obj_description",
            SystemFunction::RelationIsPublishable => "pg_relation_is_publishable",
            SystemFunction::StatisticsColumns => "pg_get_statisticsobjdef_columns",
            SystemFunction::RegClass => "regclass",
            SystemFunction::RegType => "regtype",
            SystemFunction::RegNamespace => "regnamespace",
            SystemFunction::RegexMatch { .. } => "regex match",
            SystemFunction::ArrayOf => "array",
            SystemFunction::BackendPid => "pg_backend_pid",
            SystemFunction::BlockingPids => "pg_blocking_pids",
            SystemFunction::AnyOf { all: false, .. } => "ANY",
            SystemFunction::AnyOf { all: true, .. } => "ALL",
        }
    }

    /// How many arguments it takes: (at least, at most).
    pub fn arity(self) -> (usize, usize) {
        match self {
            SystemFunction::Version
            | SystemFunction::CurrentDatabase
            | SystemFunction::CurrentUser
            | SystemFunction::CurrentSchema
            | SystemFunction::BackendPid => (0, 0),
            SystemFunction::CurrentSetting => (1, 2),
            SystemFunction::UserById
            | SystemFunction::TableIsVisible
            | SystemFunction::EncodingToChar
            | SystemFunction::QuoteIdent
            | SystemFunction::RelationIsPublishable
            | SystemFunction::StatisticsColumns
            | SystemFunction::RegClass
            | SystemFunction::RegType
            | SystemFunction::RegNamespace
            | SystemFunction::ArrayOf
            | SystemFunction::BlockingPids => (1, 1),
            SystemFunction::FormatType
            | SystemFunction::RegexMatch { .. }
            | SystemFunction::AnyOf { .. } => (2, 2),
            SystemFunction::GetExpr => (2, 3),
            SystemFunction::GetIndexDef => (1, 3),
            SystemFunction::GetConstraintDef | SystemFunction::Description => (1, 2),
            SystemFunction::ArrayToString => (2, 3),
        }
    }

    /// The type of its result, given its first argument's type.
    pub fn result_type(self, first: Option<DataType>) -> Option<DataType> {
        Some(match self {
            SystemFunction::TableIsVisible
            | SystemFunction::RelationIsPublishable
            | SystemFunction::RegexMatch { .. }
            | SystemFunction::AnyOf { .. } => DataType::Boolean,
            SystemFunction::BackendPid => DataType::Integer,
            SystemFunction::RegClass | SystemFunction::RegType | SystemFunction::RegNamespace => {
                return match first {
                    Some(DataType::Text) => Some(DataType::Integer),
                    _ => Some(DataType::Text),
                };
            }
            _ => DataType::Text,
        })
    }
}
