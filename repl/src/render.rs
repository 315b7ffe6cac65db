//! Turning results and errors into text: aligned tables with a row count,
//! CSV, JSON lines, command tags and error reports with a caret.
//!
//! ```text
//!    id | name                       ERROR 42601: syntax error at line 1, column 8: ...
//!   ----+------                      LINE 1: select * form t
//!     1 | Ada                                         ^
//!   (1 row)
//! ```

use comfy_table::{CellAlignment, ContentArrangement, Table, TableComponent};
use isodb::Value;

use crate::args::OutputFormat;
use crate::reply::{Failure, Reply};

/// An aligned table (psql's look) of already formatted cells; columns
/// flagged in `right_aligned` are numbers.
pub fn table(header: &[String], rows: &[Vec<String>], right_aligned: &[bool]) -> String {
    let mut table = Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '-')
        .set_style(TableComponent::MiddleHeaderIntersections, '+')
        .set_style(TableComponent::VerticalLines, '|')
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(String::as_str));
    for row in rows {
        table.add_row(row.iter().map(String::as_str));
    }
    for (i, right) in right_aligned.iter().enumerate() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(if *right {
                CellAlignment::Right
            } else {
                CellAlignment::Left
            });
        }
    }
    let mut text: String = table
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

/// "(1 row)" / "(3 rows)".
pub fn row_count(n: usize) -> String {
    if n == 1 {
        "(1 row)".to_string()
    } else {
        format!("({n} rows)")
    }
}

/// The text of one value in a table or CSV (NULL is empty, as in psql).
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A query result in `format`; statements without columns give their
/// command tag (the server's, or one derived from the statement) in table
/// format and nothing in CSV or JSON.
pub fn result(sql: &str, reply: &Reply, format: OutputFormat) -> String {
    if reply.columns.is_empty() {
        return match format {
            OutputFormat::Table => match &reply.tag {
                Some(tag) if tag.is_empty() => String::new(),
                Some(tag) => format!("{tag}\n"),
                None => format!("{}\n", command_tag(sql, reply.affected)),
            },
            OutputFormat::Csv | OutputFormat::Json => String::new(),
        };
    }
    let header: Vec<String> = reply.columns.iter().map(|c| c.name.clone()).collect();
    let values = &reply.rows;
    match format {
        OutputFormat::Table => {
            let right: Vec<bool> = reply.columns.iter().map(|c| c.numeric).collect();
            let cells: Vec<Vec<String>> = values
                .iter()
                .map(|row| row.iter().map(cell).collect())
                .collect();
            format!(
                "{}{}\n",
                table(&header, &cells, &right),
                row_count(values.len())
            )
        }
        OutputFormat::Csv => csv_text(&header, values),
        OutputFormat::Json => json_text(&header, values),
    }
}

fn csv_text(header: &[String], values: &[Vec<Value>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut records: Vec<Vec<String>> = vec![header.to_vec()];
    records.extend(values.iter().map(|row| row.iter().map(cell).collect()));
    for record in records {
        if let Err(error) = writer.write_record(&record) {
            return format!("could not write CSV: {error}\n");
        }
    }
    match writer.into_inner() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => format!("could not write CSV: {error}\n"),
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Double(d) => serde_json::Number::from_f64(*d)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::String(value.to_string())),
        Value::Text(s) => serde_json::Value::String(s.clone()),
    }
}

fn json_text(header: &[String], values: &[Vec<Value>]) -> String {
    let rows: Vec<serde_json::Value> = values
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .cloned()
                .zip(row.iter().map(json_value))
                .collect();
            serde_json::Value::Object(object)
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(rows))
}

/// psql's command tag for a statement without result columns, from its
/// leading keywords: `INSERT 0 2`, `UPDATE 1`, `CREATE TABLE`, `BEGIN`.
pub fn command_tag(sql: &str, affected: u64) -> String {
    let words: Vec<String> = sql
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    let second = words.get(1).map(String::as_str).unwrap_or("");
    match first {
        "INSERT" => format!("INSERT 0 {affected}"),
        "UPDATE" | "DELETE" | "SELECT" => format!("{first} {affected}"),
        "CREATE" | "DROP" => {
            let object = if second == "UNIQUE" {
                words.get(2).map(String::as_str).unwrap_or("")
            } else {
                second
            };
            format!("{first} {object}")
        }
        "START" | "BEGIN" => "BEGIN".to_string(),
        "PREPARE" if second == "TRANSACTION" => "PREPARE TRANSACTION".to_string(),
        "COMMIT" | "ROLLBACK" if second == "PREPARED" => format!("{first} PREPARED"),
        "END" | "COMMIT" => "COMMIT".to_string(),
        "ABORT" | "ROLLBACK" => "ROLLBACK".to_string(),
        "SET" => "SET".to_string(),
        "" => "OK".to_string(),
        other => other.to_string(),
    }
}

/// `ERROR 42P01: relation "x" does not exist`, and for a syntax error with
/// a position, the statement's line with a caret under the column.
pub fn error(sql: Option<&str>, failure: &Failure) -> String {
    let mut text = format!("ERROR {}: {}\n", failure.sqlstate, failure.message);
    if let (Some(sql), Some((line, column))) = (sql, failure.position) {
        let line_number = usize::try_from(line).unwrap_or(usize::MAX);
        if let Some(source) = sql.lines().nth(line_number.saturating_sub(1)) {
            let prefix = format!("LINE {line}: ");
            let offset = usize::try_from(column).unwrap_or(0).saturating_sub(1);
            let pad: String = source
                .chars()
                .take(offset)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            text.push_str(&format!(
                "{prefix}{source}\n{}{pad}^\n",
                " ".repeat(prefix.len())
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right_and_text_left() {
        let text = table(
            &["id".into(), "name".into()],
            &[
                vec!["1".into(), "Ada".into()],
                vec!["10".into(), "Brian".into()],
            ],
            &[true, false],
        );
        assert_eq!(text, " id | name\n----+-------\n  1 | Ada\n 10 | Brian\n");
    }

    #[test]
    fn command_tags_follow_psql() {
        assert_eq!(command_tag("insert into t values (1)", 1), "INSERT 0 1");
        assert_eq!(
            command_tag("prepare transaction 'g'", 0),
            "PREPARE TRANSACTION"
        );
        assert_eq!(command_tag("COMMIT PREPARED 'g'", 0), "COMMIT PREPARED");
        assert_eq!(command_tag("rollback prepared 'g'", 0), "ROLLBACK PREPARED");
        assert_eq!(command_tag("commit", 0), "COMMIT");
        assert_eq!(command_tag("  update t set a = 1", 3), "UPDATE 3");
        assert_eq!(
            command_tag("create unique index i on t (a)", 0),
            "CREATE INDEX"
        );
        assert_eq!(command_tag("start transaction", 0), "BEGIN");
        assert_eq!(command_tag("rollback", 0), "ROLLBACK");
    }

    #[test]
    fn syntax_errors_get_a_caret_under_the_position() {
        let failure = isodb::Error::SyntaxError {
            message: "Expected: end of statement, found: form".into(),
            position: Some((2, 10)),
        };
        let text = error(Some("select *\n  from t form"), &Failure::from(&failure));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ERROR 42601: syntax error"));
        assert_eq!(lines[1], "LINE 2:   from t form");
        assert_eq!(lines[2].find('^'), Some("LINE 2: ".len() + 9));
    }

    #[test]
    fn other_errors_print_their_sqlstate_and_message() {
        let failure = Failure::from(&isodb::Error::UndefinedTable("x".into()));
        let text = error(Some("select * from x"), &failure);
        assert_eq!(text, "ERROR 42P01: relation \"x\" does not exist\n");
    }
}
