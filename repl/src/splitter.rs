//! Splitting shell input into statements and meta-commands.
//!
//! SQL statements end at a `;` that is outside every string literal
//! (`'...'`, `E'...'` with backslash escapes), quoted identifier and
//! comment; a line whose first non-blank character is `\` while no
//! statement is open is a meta-command. Input can arrive a line at a time
//! (the interactive shell) or as a whole script:
//!
//! ```text
//!   input                                   pieces
//!   select 'a;b';  select 2                 Sql("select 'a;b'"), and "select 2" stays open
//!   ;                                       Sql("select 2")
//!   \dt                                     Meta("\dt")
//!   insert into t -- no; end here           (open: the ; is in a comment)
//!   /* note  (and the script ends)          Unterminated { "/* comment", line 5 }
//! ```
//!
//! A script that ends inside a `/*` comment, a string literal or a quoted
//! identifier is an error (42601, as in PostgreSQL), reported with the line
//! where the unclosed construct began, never silently dropped.

/// One complete piece of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A SQL statement without its terminating `;`.
    Sql(String),
    /// A meta-command line such as `\d accounts`.
    Meta(String),
    /// The input ended inside a comment, literal or quoted identifier.
    Unterminated(Unterminated),
}

/// Input that ended inside a construct that was never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unterminated {
    /// What was left open, in PostgreSQL's words: `/* comment`, `quoted
    /// string` or `quoted identifier`.
    pub what: &'static str,
    /// The 1-based line of the input where the construct began.
    pub line: usize,
}

impl Unterminated {
    /// The shell's error line for it (SQLSTATE 42601, syntax_error).
    pub fn message(&self) -> String {
        format!(
            "ERROR 42601: unterminated {} at line {} (the rest of the input was not run)",
            self.what, self.line
        )
    }
}

/// Lexical state at the end of scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    Code,
    SingleQuoted,
    /// Inside `E'...'`: a backslash escapes the next character.
    EscapeQuoted,
    /// Just after a backslash inside `E'...'`.
    EscapeQuotedBackslash,
    DoubleQuoted,
    LineComment,
    BlockComment(u32),
}

impl Lexical {
    /// The name of the construct, when this state is inside one that must
    /// be closed before the input ends.
    fn unclosed(self) -> Option<&'static str> {
        match self {
            Lexical::Code | Lexical::LineComment => None,
            Lexical::SingleQuoted | Lexical::EscapeQuoted | Lexical::EscapeQuotedBackslash => {
                Some("quoted string")
            }
            Lexical::DoubleQuoted => Some("quoted identifier"),
            Lexical::BlockComment(_) => Some("/* comment"),
        }
    }
}

/// Accumulates input and hands out complete pieces.
#[derive(Debug, Default)]
pub struct StatementSplitter {
    buffer: String,
    /// Lines pushed so far.
    lines: usize,
    /// The 1-based input line on which `buffer` begins.
    buffer_line: usize,
}

impl StatementSplitter {
    /// An empty splitter.
    pub fn new() -> StatementSplitter {
        StatementSplitter::default()
    }

    /// True when part of a statement has been typed and not yet ended
    /// (an open comment or literal counts).
    pub fn is_open(&self) -> bool {
        !self.buffer.trim().is_empty()
    }

    /// Adds one line (without its newline) and returns what it completed.
    pub fn push_line(&mut self, line: &str) -> Vec<Piece> {
        self.lines += 1;
        if !self.is_open() {
            self.buffer.clear();
            self.buffer_line = self.lines;
            if line.trim_start().starts_with('\\') {
                return vec![Piece::Meta(line.trim().to_string())];
            }
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        let (statements, rest_at) = split_complete(&self.buffer);
        self.buffer_line += self.buffer[..rest_at].matches('\n').count();
        self.buffer.drain(..rest_at);
        statements.into_iter().map(Piece::Sql).collect()
    }

    /// Takes whatever is left: a statement without a final `;`, or the
    /// error for a comment, literal or identifier the input never closed.
    pub fn finish(&mut self) -> Option<Piece> {
        let rest = std::mem::take(&mut self.buffer);
        if let Some((what, at)) = unclosed_construct(&rest) {
            let line = self.buffer_line + rest[..at].matches('\n').count();
            return Some(Piece::Unterminated(Unterminated { what, line }));
        }
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
    let mut previous = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let (new_state, keep, skip_next) = step(state, previous, c, next);
        if keep && !matches!(state, Lexical::LineComment | Lexical::BlockComment(_)) {
            out.push(c);
        }
        previous = Some(c);
        if skip_next {
            previous = chars.next();
        }
        state = new_state;
    }
    out
}

/// The construct `text` ends inside of, with the byte offset where it
/// began (the outermost `/*` of nested comments).
fn unclosed_construct(text: &str) -> Option<(&'static str, usize)> {
    let mut state = Lexical::Code;
    let mut began = 0;
    let mut previous = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let (new_state, _, skip_next) = step(state, previous, c, next);
        if state == Lexical::Code && new_state != Lexical::Code {
            began = i;
        }
        previous = Some(c);
        if skip_next {
            previous = chars.next().map(|(_, n)| n);
        }
        state = new_state;
    }
    state.unclosed().map(|what| (what, began))
}

/// True when `c` can be part of an identifier (so an `E` after it is not
/// the prefix of an escape string: `name'` is not `E'`).
fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// One lexical step: the new state, whether `c` is code text (not the start
/// of a comment), and whether the following character was consumed too.
/// `previous` is the character before `c`, if any.
fn step(
    state: Lexical,
    previous: Option<char>,
    c: char,
    next: Option<char>,
) -> (Lexical, bool, bool) {
    match state {
        Lexical::Code => match (c, next) {
            ('\'', _) => (Lexical::SingleQuoted, true, false),
            ('e' | 'E', Some('\'')) if !previous.is_some_and(is_identifier_char) => {
                (Lexical::EscapeQuoted, true, true)
            }
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
        Lexical::EscapeQuoted => (
            match c {
                '\'' => Lexical::Code,
                '\\' => Lexical::EscapeQuotedBackslash,
                _ => Lexical::EscapeQuoted,
            },
            true,
            false,
        ),
        Lexical::EscapeQuotedBackslash => (Lexical::EscapeQuoted, true, false),
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
/// blank ones dropped) and the byte offset where the unfinished rest begins.
fn split_complete(text: &str) -> (Vec<String>, usize) {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut state = Lexical::Code;
    let mut previous = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if state == Lexical::Code && c == ';' {
            let statement = text[start..i].trim();
            if !is_blank_sql(statement) {
                statements.push(statement.to_string());
            }
            start = i + 1;
            previous = Some(c);
            continue;
        }
        let (new_state, _, skip_next) = step(state, previous, c, next);
        previous = Some(c);
        if skip_next {
            previous = chars.next().map(|(_, n)| n);
        }
        state = new_state;
    }
    (statements, start)
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

    #[test]
    fn input_ending_inside_a_comment_literal_or_identifier_is_reported_with_its_line() {
        let unterminated = |what, line| Piece::Unterminated(Unterminated { what, line });
        assert_eq!(
            split_script("/* note\nINSERT INTO t VALUES (6,'f',60);\nSELECT count(*) FROM t;\n"),
            [unterminated("/* comment", 1)]
        );
        assert_eq!(
            split_script("select 1;\nselect 2; /* a /* b */ still open\n\nselect 3;"),
            [
                sql("select 1"),
                sql("select 2"),
                unterminated("/* comment", 2)
            ]
        );
        assert_eq!(
            split_script("select 1;\n\nselect 'abc;\nselect 2;"),
            [sql("select 1"), unterminated("quoted string", 3)]
        );
        assert_eq!(
            split_script("select 1;\n\\dt\nselect \"odd;\n"),
            [
                sql("select 1"),
                Piece::Meta("\\dt".into()),
                unterminated("quoted identifier", 3)
            ]
        );
        assert_eq!(
            split_script("select E'it\\'s;'; select 2"),
            [sql("select E'it\\'s;'"), sql("select 2")]
        );
        assert_eq!(
            split_script("select E'open\\'"),
            [unterminated("quoted string", 1)]
        );
        assert_eq!(
            split_script("select name'x'; select 1 -- '\n"),
            [sql("select name'x'"), sql("select 1 -- '")]
        );
    }
}
