//! The interactive shell through a pseudo-terminal: the banner, the prompt
//! with session, level and transaction state, and a two-session lost-update
//! race in which t2 blocks, the shell returns to the prompt, t1 commits and
//! t2's serialization failure is printed labelled with its session; Ctrl-C
//! on a blocked statement, Ctrl-C on typed text, Ctrl-D, and history in
//! `$HOME` (a temporary one: the tests never touch the real home); Ctrl-C
//! on a long query, locally and on a server (`--connect`, where it is a
//! CancelRequest).

mod server_common;

use std::process::Command;
use std::time::Duration;

use expectrl::{Needle, Session};
use server_common::TestServer;

fn shell(home: &std::path::Path) -> Session {
    let mut command = Command::new(env!("CARGO_BIN_EXE_isodb"));
    command.arg("--temp").env("HOME", home).env("TERM", "xterm");
    spawn(command)
}

fn spawn(command: Command) -> Session {
    let mut session = Session::spawn(command).expect("spawn isodb in a pty");
    // A pty starts 0 columns wide; rustyline needs a width to lay lines out.
    session
        .get_process_mut()
        .set_window_size(160, 40)
        .expect("set the terminal size");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session
}

fn send(session: &mut Session, line: &str) {
    session.send_line(line).expect("type a line");
}

fn expect<N: Needle + std::fmt::Debug>(session: &mut Session, needle: N) {
    let shown = format!("{needle:?}");
    if let Err(error) = session.expect(needle) {
        panic!("expected {shown}: {error}");
    }
}

#[test]
fn a_lost_update_race_between_two_sessions() {
    let home = tempfile::tempdir().expect("temp home");
    let mut s = shell(home.path());
    expect(&mut s, "default isolation level: SERIALIZABLE");
    expect(&mut s, "\\help");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");

    send(
        &mut s,
        "create table accounts (id int primary key, balance int);",
    );
    expect(&mut s, "CREATE TABLE");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "insert into accounts");
    expect(&mut s, "-> ");
    send(&mut s, "values (1, 100);");
    expect(&mut s, "INSERT 0 1");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");

    send(&mut s, "\\session t1");
    expect(&mut s, "t1 [SERIALIZABLE, idle]> ");
    send(&mut s, "begin;");
    expect(&mut s, "t1 [SERIALIZABLE, in txn]> ");
    send(
        &mut s,
        "update accounts set balance = balance + 10 where id = 1;",
    );
    expect(&mut s, "UPDATE 1");
    expect(&mut s, "t1 [SERIALIZABLE, in txn]> ");

    send(&mut s, "\\session t2");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    send(&mut s, "begin;");
    expect(&mut s, "t2 [SERIALIZABLE, in txn]> ");
    send(
        &mut s,
        "update accounts set balance = balance + 20 where id = 1;",
    );
    expect(&mut s, "t2: waiting for t1 (row lock on accounts (id=1))");
    expect(&mut s, "t2 [SERIALIZABLE, in txn, waiting]> ");

    send(&mut s, "\\session t1");
    expect(&mut s, "t1 [SERIALIZABLE, in txn]> ");
    send(&mut s, "commit;");
    expect(&mut s, "COMMIT");
    expect(&mut s, "t2: ERROR 40001");
    expect(&mut s, "t1 [SERIALIZABLE, idle]> ");

    send(&mut s, "\\session t2");
    expect(&mut s, "t2 [SERIALIZABLE, aborted]> ");
    send(&mut s, "rollback;");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    send(&mut s, "select balance from accounts;");
    expect(&mut s, "110");
    expect(&mut s, "(1 row)");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");

    send(&mut s, "\\q");
    expect(&mut s, expectrl::Eof);
    assert_exits_with(&s, 0);
    let history = std::fs::read_to_string(home.path().join(".isodb_history"))
        .expect("history is saved in HOME");
    assert!(
        history.contains("select balance from accounts;"),
        "{history}"
    );
}

#[test]
fn ctrl_c_clears_the_input_and_ctrl_d_exits() {
    let home = tempfile::tempdir().expect("temp home");
    let mut s = shell(home.path());
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "select 'abandoned';");
    expect(&mut s, "(1 row)");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    // Each key waits for the shell's echo: rustyline drops bytes that come
    // after the end of a line in the same read, as a fast typist never does.
    s.send("select 'half").expect("type");
    expect(&mut s, "'half");
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "select 42 as answer;");
    expect(&mut s, "answer");
    expect(&mut s, "42");
    s.send(expectrl::ControlCode::EndOfTransmission)
        .expect("Ctrl-D");
    expect(&mut s, expectrl::Eof);
}

fn assert_exits_with(session: &Session, code: i32) {
    match session.get_process().wait() {
        Ok(expectrl::WaitStatus::Exited(_, status)) => assert_eq!(status, code),
        other => panic!("expected exit status {code}, got {other:?}"),
    }
}

#[test]
fn ctrl_c_on_an_empty_line_cancels_the_lock_wait_and_on_typed_text_does_not() {
    let home = tempfile::tempdir().expect("temp home");
    let mut s = shell(home.path());
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "create table t (id int primary key, v int);");
    expect(&mut s, "CREATE TABLE");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "insert into t values (1, 0);");
    expect(&mut s, "INSERT 0 1");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "begin;");
    expect(&mut s, "main [SERIALIZABLE, in txn]> ");
    send(&mut s, "update t set v = 1 where id = 1;");
    expect(&mut s, "UPDATE 1");
    expect(&mut s, "main [SERIALIZABLE, in txn]> ");
    send(&mut s, "\\session t2");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    send(&mut s, "update t set v = 2 where id = 1;");
    expect(&mut s, "t2: waiting for main (row lock on t (id=1))");
    expect(&mut s, "t2 [SERIALIZABLE, autocommit, waiting]> ");

    // Ctrl-C with text on the line only drops the text.
    s.send("select 'typed'").expect("type");
    expect(&mut s, "'typed'");
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    expect(&mut s, "t2 [SERIALIZABLE, autocommit, waiting]> ");
    send(&mut s, "\\sessions");
    expect(&mut s, "| waiting for main (row lock on t (id=1))");
    expect(&mut s, "t2 [SERIALIZABLE, autocommit, waiting]> ");

    // On an empty line it cancels the wait through the session's CancelHandle.
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    expect(
        &mut s,
        "t2: ERROR 57014: canceling statement due to user request",
    );
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    send(&mut s, "\\locks");
    expect(&mut s, "t (id=1) | main (txn ");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    send(&mut s, "\\session main");
    expect(&mut s, "main [SERIALIZABLE, in txn]> ");
    send(&mut s, "commit;");
    expect(&mut s, "COMMIT");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "select v from t;");
    expect(&mut s, " 1\r\n(1 row)");
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "\\q");
    expect(&mut s, expectrl::Eof);
    assert_exits_with(&s, 0);
}

#[test]
fn errors_timing_and_no_home_do_not_end_the_shell() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_isodb"));
    command.arg("--temp").env_remove("HOME").env("TERM", "dumb");
    let mut s = spawn(command);
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "\\timing");
    expect(&mut s, "Timing is on.");
    send(&mut s, "select 1 form t;");
    expect(&mut s, "ERROR 42601");
    expect(&mut s, "LINE 1: select 1 form t\r\n");
    expect(&mut s, "                     ^");
    expect(&mut s, expectrl::Regex(r"Time: \d+\.\d{3} ms"));
    send(&mut s, "\\isolation read committed");
    expect(&mut s, "main [READ COMMITTED, idle]> ");
    send(&mut s, "begin isolation level repeatable read;");
    expect(&mut s, "main [REPEATABLE READ, in txn]> ");
    send(&mut s, "select * from nowhere;");
    expect(&mut s, "ERROR 42P01");
    expect(&mut s, "main [REPEATABLE READ, aborted]> ");
    send(&mut s, "commit;");
    expect(&mut s, "ROLLBACK");
    expect(&mut s, "main [READ COMMITTED, idle]> ");

    // TERM=dumb: the prompt is in cooked mode, Ctrl-C is a SIGINT, and it
    // cancels the prompt session's lock wait all the same.
    send(&mut s, "\\timing off");
    expect(&mut s, "Timing is off.");
    send(
        &mut s,
        "create table t (id int primary key); begin; insert into t values (1);",
    );
    expect(&mut s, "main [READ COMMITTED, in txn]> ");
    send(&mut s, "\\session t2");
    send(&mut s, "insert into t values (1);");
    expect(&mut s, "t2: waiting for main (row lock on t (id=1))");
    expect(&mut s, "t2 [SERIALIZABLE, autocommit, waiting]> ");
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    // The signal is handled on its own thread; give it time before Enter
    // (a person takes longer than this between the two keys).
    std::thread::sleep(Duration::from_millis(300));
    send(&mut s, "");
    expect(&mut s, "t2: ERROR 57014");
    expect(&mut s, "t2 [SERIALIZABLE, idle]> ");
    s.send(expectrl::ControlCode::EndOfTransmission)
        .expect("Ctrl-D");
    expect(&mut s, expectrl::Eof);
    assert_exits_with(&s, 0);
}

#[test]
fn an_interactive_demo_stops_before_each_step() {
    let home = tempfile::tempdir().expect("temp home");
    let mut s = shell(home.path());
    expect(&mut s, "main [SERIALIZABLE, idle]> ");
    send(&mut s, "\\isolation read uncommitted");
    expect(&mut s, "main [READ UNCOMMITTED, idle]> ");
    send(&mut s, "\\demo dirty-read");
    expect(&mut s, " 1. t1: BEGIN");
    expect(&mut s, "-- next? ");
    send(&mut s, "");
    expect(&mut s, " 2. t1: UPDATE demo SET value = 101 WHERE id = 1");
    expect(&mut s, "-- next? ");
    send(&mut s, "c");
    expect(&mut s, " 4. t1: ROLLBACK");
    expect(
        &mut s,
        "verdict: dirty read (P1/G1a) happened: t2 read x = 101",
    );
    expect(
        &mut s,
        "READ UNCOMMITTED allows dirty read (P1/G1a) (ISOLATION.md); this run agrees.",
    );
    expect(&mut s, "main [READ UNCOMMITTED, idle]> ");
    send(&mut s, "\\q");
    expect(&mut s, expectrl::Eof);
    assert_exits_with(&s, 0);
}

/// Fills `big` with 10,000 rows; a self-join of it with a condition that
/// never holds runs for minutes.
fn fill_big_table(s: &mut Session, prompt: &str) {
    send(
        s,
        "create table d (v int); insert into d values (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);",
    );
    expect(s, "INSERT 0 10");
    send(
        s,
        "create table big (v int); insert into big select a.v * 1000 + b.v * 100 + c.v * 10 + e.v from d a, d b, d c, d e;",
    );
    expect(s, "INSERT 0 10000");
    expect(s, prompt);
}

/// Ctrl-C while the endless join runs: it fails with 57014 and the shell
/// (and the session) go on.
fn ctrl_c_stops_the_endless_join(s: &mut Session, prompt: &str) {
    send(s, "select count(*) from big x, big y where x.v + y.v < 0;");
    std::thread::sleep(Duration::from_millis(500));
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    expect(s, "ERROR 57014: canceling statement due to user request");
    expect(s, prompt);
    send(s, "select count(*) from big;");
    expect(s, "10000");
    send(s, "\\q");
    expect(s, expectrl::Eof);
}

#[test]
fn ctrl_c_cancels_a_long_running_query() {
    let home = tempfile::tempdir().expect("temp home");
    let mut s = shell(home.path());
    let prompt = "main [SERIALIZABLE, idle]> ";
    expect(&mut s, prompt);
    fill_big_table(&mut s, prompt);
    ctrl_c_stops_the_endless_join(&mut s, prompt);
}

#[test]
fn ctrl_c_cancels_a_long_running_query_on_a_server() {
    let server = TestServer::start(&[]);
    let home = tempfile::tempdir().expect("temp home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_isodb"));
    command
        .args(["--connect", &server.url("ada")])
        .env("HOME", home.path())
        .env("TERM", "xterm");
    let mut s = spawn(command);
    expect(&mut s, "isodb ");
    expect(
        &mut s,
        &format!(
            "on postgres://ada@127.0.0.1:{}/test (server ",
            server.port()
        )[..],
    );
    let prompt = "main [SERIALIZABLE, idle]> ";
    expect(&mut s, prompt);
    fill_big_table(&mut s, prompt);
    ctrl_c_stops_the_endless_join(&mut s, prompt);
}
