//! The `isodb` binary run non-interactively: `-f`, `-c`, standard input,
//! `\i`, output formats, exit status and error reports, several sessions
//! with a real lock wait, meta-commands, and the default data directory.
//! Every run but the data-directory one uses `--temp`. (The demos are in
//! `demos.rs`.)

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn isodb() -> Command {
    let mut command = Command::cargo_bin("isodb").expect("the isodb binary is built");
    command.timeout(std::time::Duration::from_secs(60));
    command
}

const SETUP: &str = "create table accounts (id int primary key, owner text not null, balance int);
create index accounts_owner on accounts (owner);
insert into accounts values (1, 'ann', 100), (2, 'bob', 50), (3, 'it''s; tricky', 0);
";

#[test]
fn a_script_file_prints_aligned_tables_with_a_row_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        format!("{SETUP}select id, owner, balance\n  from accounts\n order by id;\n"),
    )
    .expect("write script");
    isodb()
        .args(["--temp", "-f"])
        .arg(&script)
        .assert()
        .success()
        .stdout(
            "CREATE TABLE\nCREATE INDEX\nINSERT 0 3\n\
             \x20id | owner        | balance\n\
             ----+--------------+---------\n\
             \x20 1 | ann          |     100\n\
             \x20 2 | bob          |      50\n\
             \x20 3 | it's; tricky |       0\n\
             (3 rows)\n",
        );
}

#[test]
fn standard_input_is_run_when_it_is_not_a_terminal() {
    isodb()
        .arg("--temp")
        .write_stdin(format!(
            "{SETUP}select count(*) from accounts where balance > 10;"
        ))
        .assert()
        .success()
        .stdout(contains(" count\n-------\n     2\n(1 row)\n"));
}

#[test]
fn a_failing_statement_stops_the_run_and_sets_the_exit_status() {
    isodb()
        .args([
            "--temp",
            "-c",
            "select * from nope; select 'not reached' as x",
        ])
        .assert()
        .code(1)
        .stderr("ERROR 42P01: relation \"nope\" does not exist\n")
        .stdout(contains("not reached").not());
}

#[test]
fn a_script_ending_inside_a_comment_fails_with_the_line_and_runs_nothing_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        "create table t (id int primary key);\n/* note\nINSERT INTO t VALUES (6);\nSELECT count(*) FROM t;\n",
    )
    .expect("write script");
    isodb()
        .args(["--temp", "-f"])
        .arg(&script)
        .assert()
        .code(1)
        .stdout("CREATE TABLE\n")
        .stderr(
            "ERROR 42601: unterminated /* comment at line 2 (the rest of the input was not run)\n",
        );
    for (text, what) in [
        ("select 1;\nselect 'abc;\nselect 2;", "quoted string"),
        ("select 1;\nselect \"abc;\nselect 2;", "quoted identifier"),
    ] {
        isodb()
            .arg("--temp")
            .write_stdin(text)
            .assert()
            .code(1)
            .stderr(format!(
                "ERROR 42601: unterminated {what} at line 2 (the rest of the input was not run)\n"
            ));
    }
}

#[test]
fn on_error_continue_runs_the_rest_but_still_fails() {
    isodb()
        .args(["--temp", "--on-error", "continue"])
        .args(["-c", "select * from nope; select 'reached' as x"])
        .assert()
        .code(1)
        .stderr(contains("ERROR 42P01"))
        .stdout(contains("reached"));
}

#[test]
fn a_syntax_error_shows_a_caret_under_the_position() {
    isodb()
        .args(["--temp", "-c", "select 1 form t"])
        .assert()
        .code(1)
        .stderr(
            "ERROR 42601: syntax error at line 1, column 15: Expected: end of statement, found: t\n\
             LINE 1: select 1 form t\n\
             \x20                     ^\n",
        );
    let output = isodb()
        .args(["--temp", "-c", "selec 2"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.get(1), Some(&"LINE 1: selec 2"), "{stderr}");
    assert_eq!(lines.get(2), Some(&"        ^"), "{stderr}");
}

#[test]
fn commands_and_files_run_in_command_line_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("insert.sql");
    std::fs::write(&script, "insert into t values (2);").expect("write script");
    isodb()
        .args([
            "--temp",
            "-c",
            "create table t (id int primary key); insert into t values (1)",
        ])
        .arg("-f")
        .arg(&script)
        .args(["-c", "select count(*) as n from t"])
        .assert()
        .success()
        .stdout(contains(" n\n---\n 2\n(1 row)\n"));
}

#[test]
fn csv_and_json_formats_print_only_query_results() {
    isodb()
        .args(["--temp", "--format", "csv", "-c"])
        .arg(format!(
            "{SETUP}select id, owner from accounts where id <> 2 order by id"
        ))
        .assert()
        .success()
        .stdout("id,owner\n1,ann\n3,it's; tricky\n");
    isodb()
        .args(["--temp", "--format", "json", "-c"])
        .arg("select 1 as a, null as b, 'x' as c, true as d")
        .assert()
        .success()
        .stdout("[{\"a\":1,\"b\":null,\"c\":\"x\",\"d\":true}]\n");
}

#[test]
fn meta_commands_describe_the_catalog() {
    isodb()
        .args([
            "--temp",
            "-c",
            SETUP,
            "-c",
            "\\dt",
            "-c",
            "\\d accounts",
            "-c",
            "\\di",
            "-c",
            "\\help",
        ])
        .assert()
        .success()
        .stdout(contains(
            " accounts |       3 | id          | accounts_owner\n",
        ))
        .stdout(contains(" owner   | text    | not null |\n"))
        .stdout(contains("Primary key: accounts_pkey (id)\n"))
        .stdout(contains(" accounts_owner | accounts | owner   | no\n"))
        .stdout(contains(
            "  \\locks      show locks held and awaited (a local database only)\n",
        ));
    isodb()
        .args(["--temp", "-c", "\\d missing"])
        .assert()
        .code(1)
        .stderr(contains("ERROR 42P01"));
    isodb()
        .args(["--temp", "-c", "\\bogus"])
        .assert()
        .code(1)
        .stderr(contains("invalid command \\bogus"));
}

#[test]
fn explain_timing_and_isolation_meta_commands() {
    isodb()
        .args(["--temp", "-c", SETUP])
        .args(["-c", "\\explain select * from accounts where id = 2"])
        .args(["-c", "\\explain", "-c", "select * from accounts"])
        .args(["-c", "\\timing on", "-c", "select 1 as one"])
        .args([
            "-c",
            "\\isolation read committed",
            "-c",
            "show transaction isolation level",
        ])
        .assert()
        .success()
        .stdout(contains("Primary key lookup on accounts"))
        .stdout(contains("Full scan on accounts"))
        .stdout(predicate::str::is_match(r"Time: \d+\.\d{3} ms").expect("regex"))
        .stdout(contains("read committed"));
}

const RACE: &str = "create table accounts (id int primary key, balance int);
insert into accounts values (1, 100);
\\session t1
begin;
select balance from accounts where id = 1;
\\session t2
begin;
select balance from accounts where id = 1;
\\session t1
update accounts set balance = 110 where id = 1;
\\session t2
update accounts set balance = 120 where id = 1;
\\sessions
\\locks
\\txns
\\session t1
commit;
\\session t2
rollback;
select balance from accounts;
";

/// A transaction that inserts thousands of rows escalates to a lock on the
/// whole table: `\locks` names it, and a second writer waits for it.
#[test]
fn a_big_insert_holds_a_table_lock_that_the_shell_names() {
    let values: Vec<String> = (1..=5000).map(|n| format!("({n})")).collect();
    let script = format!(
        "create table big (id int primary key);
\\session t1
begin;
insert into big values {};
\\locks
\\session t2
insert into big values (0);
\\session t1
commit;
\\session t2
select count(*) from big;
",
        values.join(", ")
    );
    let assert = isodb().arg("--temp").write_stdin(script).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        predicate::str::is_match(
            r"(?m)^ big \(whole table\) +\| t1 \(txn \d+\) +\| exclusive +\| holds *$"
        )
        .expect("regex")
        .eval(&stdout),
        "\\locks shows the table lock: {stdout}"
    );
    assert!(
        !stdout.contains("big (id="),
        "the row locks went when the table lock came: {stdout}"
    );
    assert!(
        stdout.contains("t2: waiting for t1 (lock on big (whole table))"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(" count\n-------\n  5001\n(1 row)\n"),
        "{stdout}"
    );
}

/// The first capture of `pattern` on each matching line of `text`.
fn regex_lines(text: &str, pattern: &str) -> Vec<String> {
    let pattern = predicates::str::is_match(pattern).expect("regex");
    text.lines()
        .filter(|line| pattern.eval(line))
        .map(|line| {
            line.split('|')
                .nth(1)
                .map(|cell| cell.trim().to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_statement_waiting_for_a_lock_does_not_block_the_script() {
    let assert = isodb()
        .args(["--temp", "--on-error", "continue"])
        .write_stdin(RACE)
        .assert()
        .code(1);
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let waiting = stdout
        .find("t2: waiting for t1 (row lock on accounts (id=1))")
        .expect("the wait is announced");
    let sessions = stdout
        .find(" * | t2 ")
        .expect("\\sessions marks t2 current");
    assert!(waiting < sessions, "{stdout}");
    assert!(
        stdout.contains("| waiting for t1 (row lock on accounts (id=1))"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" accounts (id=1) | t2 (txn "),
        "\\locks shows the waiter: {stdout}"
    );
    assert!(stdout.contains("waits for t1"), "{stdout}");
    let txns = regex_lines(
        &stdout,
        r"^ +\d+ \| (t1|t2) +\| SERIALIZABLE \| +\d+ \| no +\| +[01] \|",
    );
    assert_eq!(
        txns,
        ["t1", "t2"],
        "\\txns lists both open transactions: {stdout}"
    );
    assert!(stderr.starts_with("t2: ERROR 40001:"), "{stderr}");
    assert!(
        stdout.ends_with(" balance\n---------\n     110\n(1 row)\n"),
        "{stdout}"
    );
}

#[test]
fn the_waiting_statement_finishes_when_the_holder_rolls_back() {
    let script = RACE.replace("\\session t1\ncommit;", "\\session t1\nrollback;");
    let output = isodb()
        .args(["--temp"])
        .write_stdin(script.replace("rollback;\nselect", "commit;\nselect"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rolled_back = stdout.rfind("ROLLBACK\n").expect("t1 rolls back");
    let resumed = stdout
        .find("t2: UPDATE 1\n")
        .expect("t2's update completes");
    assert!(rolled_back < resumed, "{stdout}");
    assert!(stdout.ends_with("     120\n(1 row)\n"), "{stdout}");
    assert!(output.status.success());
}

#[test]
fn without_a_path_the_shell_opens_isodb_data_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    isodb()
        .current_dir(dir.path())
        .args([
            "-c",
            "create table kept (id int primary key); insert into kept values (7)",
        ])
        .assert()
        .success();
    assert!(
        dir.path().join("isodb-data").is_dir(),
        "isodb-data is created"
    );
    isodb()
        .current_dir(dir.path())
        .args(["-c", "select id from kept"])
        .assert()
        .success()
        .stdout(" id\n----\n  7\n(1 row)\n");
    let other = dir.path().join("elsewhere");
    isodb()
        .arg(&other)
        .args(["-c", "\\dt"])
        .assert()
        .success()
        .stdout(contains("(0 rows)"));
    assert!(other.is_dir(), "isodb PATH creates PATH");
}

#[test]
fn standard_input_and_include_files_fail_with_status_one() {
    isodb()
        .arg("--temp")
        .write_stdin("select 1 as fine;\nselect nope from nowhere;\nselect 'not reached' as x;\n")
        .assert()
        .code(1)
        .stdout(contains("fine"))
        .stdout(contains("not reached").not())
        .stderr("ERROR 42P01: relation \"nowhere\" does not exist\n");
    let dir = tempfile::tempdir().expect("temp dir");
    let included = dir.path().join("inc.sql");
    std::fs::write(
        &included,
        "create table t (id int primary key);\ninsert into t values (1), (1);\n",
    )
    .expect("write script");
    isodb()
        .arg("--temp")
        .write_stdin(format!(
            "\\i {}\nselect 'after' as x;\n",
            included.display()
        ))
        .assert()
        .code(1)
        .stdout(contains("CREATE TABLE"))
        .stdout(contains("after").not())
        .stderr(contains("ERROR 23505"));
    isodb()
        .args(["--temp", "-c", "\\i /nonexistent/file.sql"])
        .assert()
        .code(1)
        .stderr(contains("\\i: cannot read /nonexistent/file.sql"));
}

#[test]
fn commit_in_an_aborted_block_reports_rollback() {
    isodb()
        .args(["--temp", "--on-error", "continue", "-c"])
        .arg(
            "create table t (id int primary key);
             begin; insert into t values (1); select * from nowhere; commit;
             select count(*) as n from t",
        )
        .assert()
        .code(1)
        .stdout("CREATE TABLE\nBEGIN\nINSERT 0 1\nROLLBACK\n n\n---\n 0\n(1 row)\n");
}
