//! `\dt`, `\d TABLE` and `\di` on a server (`--connect`): catalog queries
//! that `isodb serve` and PostgreSQL both answer (`information_schema`,
//! `pg_class`, `pg_index`, `pg_get_indexdef`), run on the shell's monitor
//! connection and printed as tables.
//!
//! ```text
//!   \d item   ->  Table "item"
//!                  column | type    | nullable | default
//!                 --------+---------+----------+---------
//!                  id     | bigint  | not null |
//!                 Indexes:
//!                     item_pkey: CREATE UNIQUE INDEX item_pkey ON public.item USING btree (id)
//! ```

use crate::args::OutputFormat;
use crate::backend::{Backend, literal};
use crate::render;

fn run(backend: &Backend, sql: &str) -> Result<crate::reply::Reply, String> {
    backend
        .query(sql)
        .map_err(|f| format!("ERROR {}: {}", f.sqlstate, f.message))
}

/// `\dt`: the tables of schema `public`.
pub fn list_tables(backend: &Backend) -> Result<String, String> {
    let reply = run(
        backend,
        "SELECT table_name AS \"table\" FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )?;
    Ok(render::result("", &reply, OutputFormat::Table))
}

/// `\di`: every index of schema `public`, with its definition.
pub fn list_indexes(backend: &Backend) -> Result<String, String> {
    let reply = run(
        backend,
        "SELECT i.relname AS \"index\", t.relname AS \"table\", pg_get_indexdef(i.oid) AS \"definition\" \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' ORDER BY 2, 1",
    )?;
    Ok(render::result("", &reply, OutputFormat::Table))
}

/// `\d TABLE`: its columns, then its indexes.
pub fn describe_table(backend: &Backend, name: &str) -> Result<String, String> {
    let columns = run(
        backend,
        &format!(
            "SELECT column_name AS \"column\", data_type AS \"type\", \
             CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE '' END AS \"nullable\", \
             coalesce(column_default, '') AS \"default\" FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = {} ORDER BY ordinal_position",
            literal(name)
        ),
    )?;
    if columns.rows.is_empty() {
        return Err(format!("ERROR 42P01: relation \"{name}\" does not exist"));
    }
    let indexes = run(
        backend,
        &format!(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = 'public' AND t.relname = {} ORDER BY 1",
            literal(name)
        ),
    )?;
    let rendered = render::result("", &columns, OutputFormat::Table);
    // The table without its row count, as `\d` shows it locally.
    let body: Vec<&str> = rendered.lines().collect();
    let mut text = format!("Table \"{name}\"\n");
    for line in &body[..body.len().saturating_sub(1)] {
        text.push_str(line);
        text.push('\n');
    }
    if !indexes.rows.is_empty() {
        text.push_str("Indexes:\n");
        for row in &indexes.rows {
            let cell = |i: usize| row.get(i).map(ToString::to_string).unwrap_or_default();
            text.push_str(&format!("    {}: {}\n", cell(0), cell(1)));
        }
    }
    Ok(text)
}
