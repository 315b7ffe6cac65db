//! The interactive shell through a pseudo-terminal: the banner, the prompt
//! with session, level and transaction state, and a two-session lost-update
//! race in which t2 blocks, the shell returns to the prompt, t1 commits and
//! t2's serialization failure is printed labelled with its session.

use std::process::Command;
use std::time::Duration;

use expectrl::{Needle, Session};

fn shell(home: &std::path::Path) -> Session {
    let mut command = Command::new(env!("CARGO_BIN_EXE_isodb"));
    command.arg("--temp").env("HOME", home).env("TERM", "dumb");
    let mut session = Session::spawn(command).expect("spawn isodb in a pty");
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
    send(&mut s, "insert into accounts");
    expect(&mut s, "-> ");
    send(&mut s, "values (1, 100);");
    expect(&mut s, "INSERT 0 1");

    send(&mut s, "\\session t1");
    expect(&mut s, "t1 [SERIALIZABLE, idle]> ");
    send(&mut s, "begin;");
    expect(&mut s, "t1 [SERIALIZABLE, in txn]> ");
    send(
        &mut s,
        "update accounts set balance = balance + 10 where id = 1;",
    );
    expect(&mut s, "UPDATE 1");

    send(&mut s, "\\session t2");
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

    send(&mut s, "\\q");
    expect(&mut s, expectrl::Eof);
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
    s.send("select 'half").expect("type");
    s.send(expectrl::ControlCode::EndOfText).expect("Ctrl-C");
    send(&mut s, "select 42 as answer;");
    expect(&mut s, "answer");
    expect(&mut s, "42");
    s.send(expectrl::ControlCode::EndOfTransmission)
        .expect("Ctrl-D");
    expect(&mut s, expectrl::Eof);
}
