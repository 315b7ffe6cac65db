//! Splitting shell input into statements and meta-commands.
//!
//! SQL statements end at a `;` that is outside every string literal,
//! quoted identifier and comment; a line whose first non-blank character
//! is `\` while no statement is open is a meta-command. Input can arrive a
//! line at a time (the interactive shell) or as a whole script:
//!
//! ```text
//!   input                                   pieces
//!   select 'a;b';  select 2                 Sql("select 'a;b'"), and "select 2" stays open
//!   ;                                       Sql("select 2")
//!   \dt                                     Meta("\dt")
//!   insert into t -- no; end here           (open: the ; is in a comment)
//! ```

/// One complete piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A SQL statement without its terminating `;`.
    Sql(String),
    /// A meta-command line such as `\d accounts`.
    Meta(String),
}

/// Lexical state at the end of scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    Code,
    SingleQuoted,
    DoubleQuoted,
    LineComment,
    BlockComment(u32),
}

/// Accumulates input and hands out complete pieces.
#[derive(Debug, Default)]
pub struct StatementSplitter {
    buffer: String,
}

impl StatementSplitter {
    /// An empty splitter.
    pub fn new() -> StatementSplitter {
        StatementSplitter::default()
    }

    /// True when part of a statement has been typed and not yet ended.
    pub fn is_open(&self) -> bool {
        !self.buffer.trim().is_empty()
    }

    /// Adds one line (without its newline) and returns what it completed.
    pub fn push_line(&mut self, line: &str) -> Vec<Piece> {
        if !self.is_open() && line.trim_start().starts_with('\\') {
            self.buffer.clear();
            return vec![Piece::Meta(line.trim().to_string())];
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        let (statements, rest) = split_complete(&self.buffer);
        self.buffer = rest;
        statements.into_iter().map(Piece::Sql).collect()
    }

    /// Takes whatever is left (a statement without a final `;`).
    pub fn finish(&mut self) -> Option<Piece> {
        let rest = std::mem::take(&mut self.buffer);
        let trimmed = rest.trim();
        (!is_blank_sql(trimmed)).then(|| Piece::Sql(trimmed.to_string()))
    }

    /// Drops the open statement (Ctrl-C).
    pub fn clear(&mut self) {
        self.buffer.clear();
    }
}

/// Splits a whole script into pieces; a final statement without `;` counts.
pub fn split_script(script: &str) -> Vec<Piece> {
    let mut splitter = StatementSplitter::new();
    let mut pieces = Vec::new();
    for line in script.lines() {
        pieces.extend(splitter.push_line(line));
    }
    pieces.extend(splitter.finish());
    pieces
}

/// True when `sql` holds nothing but blanks and comments.
fn is_blank_sql(sql: &str) -> bool {
    strip_comments(sql).trim().is_empty()
}

/// The text with comments removed (string literals kept).
fn strip_comments(sql: &str) -> String {
    let mut out = String::new();
    let mut state = Lexical::Code;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let (new_state, keep, skip_next) = step(state, c, next);
        if keep && !matches!(state, Lexical::LineComment | Lexical::BlockComment(_)) {
            out.push(c);
        }
        if skip_next {
            chars.next();
        }
        state = new_state;
    }
    out
}

/// One lexical step: the new state, whether `c` is code text (not the start
/// of a comment), and whether the following character was consumed too.
fn step(state: Lexical, c: char, next: Option<char>) -> (Lexical, bool, bool) {
    match state {
        Lexical::Code => match (c, next) {
            ('\'', _) => (Lexical::SingleQuoted, true, false),
            ('"', _) => (Lexical::DoubleQuoted, true, false),
            ('-', Some('-')) => (Lexical::LineComment, false, true),
            ('/', Some('*')) => (Lexical::BlockComment(1), false, true),
            _ => (Lexical::Code, true, false),
        },
        // A doubled quote inside a literal is an escaped quote: leaving and
        // re-entering the literal gives the same result.
        Lexical::SingleQuoted => (
            if c == '\'' {
                Lexical::Code
            } else {
                Lexical::SingleQuoted
            },
            true,
            false,
        ),
        Lexical::DoubleQuoted => (
            if c == '"' {
                Lexical::Code
            } else {
                Lexical::DoubleQuoted
            },
            true,
            false,
        ),
        Lexical::LineComment => (
            if c == '\n' {
                Lexical::Code
            } else {
                Lexical::LineComment
            },
            false,
            false,
        ),
        Lexical::BlockComment(depth) => match (c, next) {
            ('*', Some('/')) if depth == 1 => (Lexical::Code, false, true),
            ('*', Some('/')) => (Lexical::BlockComment(depth - 1), false, true),
            ('/', Some('*')) => (Lexical::BlockComment(depth + 1), false, true),
            _ => (Lexical::BlockComment(depth), false, false),
        },
    }
}

/// Splits `text` at top-level semicolons: the complete statements (trimmed,
/// blank ones dropped) and the unfinished rest.
fn split_complete(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut state = Lexical::Code;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if state == Lexical::Code && c == ';' {
            let statement = text[start..i].trim();
            if !is_blank_sql(statement) {
                statements.push(statement.to_string());
            }
            start = i + 1;
            continue;
        }
        let (new_state, _, skip_next) = step(state, c, next);
        if skip_next {
            chars.next();
        }
        state = new_state;
    }
    (statements, text[start..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> Piece {
        Piece::Sql(s.to_string())
    }

    #[test]
    fn semicolons_inside_literals_identifiers_and_comments_do_not_split() {
        let pieces = split_script(
            "insert into t values ('a;b', 'it''s;');\nselect \"odd;name\" from t -- x; y\n;\n/* a; /* b; */ c; */ select 1;",
        );
        assert_eq!(
            pieces,
            [
                sql("insert into t values ('a;b', 'it''s;')"),
                sql("select \"odd;name\" from t -- x; y"),
                sql("/* a; /* b; */ c; */ select 1"),
            ]
        );
    }

    #[test]
    fn lines_accumulate_until_the_semicolon_and_meta_lines_stand_alone() {
        let mut splitter = StatementSplitter::new();
        assert_eq!(splitter.push_line("\\dt"), [Piece::Meta("\\dt".into())]);
        assert!(splitter.push_line("select").is_empty());
        assert!(splitter.is_open());
        assert!(splitter.push_line("'x;").is_empty());
        assert_eq!(
            splitter.push_line("y'; select 2; sel"),
            [sql("select\n'x;\ny'"), sql("select 2")]
        );
        assert_eq!(splitter.finish(), Some(sql("sel")));
        assert!(!splitter.is_open());
    }

    #[test]
    fn a_backslash_inside_an_open_statement_is_sql_text() {
        let mut splitter = StatementSplitter::new();
        assert!(splitter.push_line("select").is_empty());
        assert_eq!(splitter.push_line("\\x;"), [sql("select\n\\x")]);
    }

    #[test]
    fn empty_statements_and_comment_only_input_produce_nothing() {
        assert!(split_script(";;  ;\n-- only a comment\n").is_empty());
        assert_eq!(split_script("select 1"), [sql("select 1")]);
        let mut splitter = StatementSplitter::new();
        splitter.push_line("select 1");
        splitter.clear();
        assert_eq!(splitter.finish(), None);
    }
}
