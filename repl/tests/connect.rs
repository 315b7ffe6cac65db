//! The shell connected to `isodb serve` (`isodb --connect URL`): results,
//! command tags and errors as a local shell prints them, each session a
//! connection of its own whose lock waits are named by the server's
//! `pg_blocking_pids`, the catalog meta-commands answered by catalog
//! queries, SCRAM passwords from the URL, and clear errors for servers it
//! cannot reach or log in to.

mod server_common;

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use server_common::TestServer;

fn isodb() -> Command {
    let mut command = Command::cargo_bin("isodb").expect("the isodb binary is built");
    command.timeout(std::time::Duration::from_secs(60));
    command
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_script_on_a_server_prints_what_a_local_shell_prints() {
    let server = TestServer::start(&[]);
    let script = "\
create table item (id int primary key, name text not null default 'unnamed', price double);
create index item_price on item (price);
insert into item values (1, 'pen', 1.5), (2, 'ink', NULL);
select id, name, price, price > 1 as dear from item order by id;
update item set price = 2 where id = 2;
select count(*) from item;
";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("script.sql");
    std::fs::write(&file, script).expect("write script");
    let connected = isodb()
        .args(["--connect", &server.url("ada")])
        .arg("-f")
        .arg(&file)
        .output()
        .expect("runs");
    let local = isodb()
        .arg("--temp")
        .arg("-f")
        .arg(&file)
        .output()
        .expect("runs");
    assert!(connected.status.success(), "{connected:?}");
    assert_eq!(stdout_of(&connected), stdout_of(&local));
    assert!(stdout_of(&connected).contains(
        " id | name | price | dear\n----+------+-------+------\n  1 | pen  |   1.5 | true\n  2 | ink  |       |\n(2 rows)\n"
    ));

    // Errors: the SQLSTATE, the message and the caret, and exit status 1,
    // as a local shell prints them.
    let bad = "select *\n  from item form x";
    let connected = isodb()
        .args(["--connect", &server.url("ada"), "-c", bad])
        .output()
        .expect("runs");
    let local = isodb().args(["--temp", "-c", bad]).output().expect("runs");
    assert_eq!(connected.status.code(), Some(1));
    assert_eq!(connected.stderr, local.stderr);
    assert!(String::from_utf8_lossy(&connected.stderr).contains(
        "ERROR 42601: syntax error at line 2, column 18: Expected: end of statement, found: x\n\
         LINE 2:   from item form x\n                         ^\n"
    ));
    isodb()
        .args(["--connect", &server.url("ada")])
        .args(["-c", "insert into item values (1, 'again', 0)"])
        .assert()
        .code(1)
        .stderr(contains("ERROR 23505: duplicate key value"));

    // The catalog meta-commands ask the server's catalog.
    isodb()
        .args(["--connect", &server.url("ada")])
        .args(["-c", "\\dt", "-c", "\\d item", "-c", "\\di"])
        .assert()
        .success()
        .stdout(contains(" table\n-------\n item\n(1 row)\n"))
        .stdout(contains("Table \"item\"\n"))
        .stdout(contains(
            " name   | text             | not null | 'unnamed'\n",
        ))
        .stdout(contains(" price  | double precision |          |\n"))
        .stdout(contains(
            "    item_price: CREATE INDEX item_price ON public.item USING btree (price)\n",
        ))
        .stdout(contains(
            " item_pkey  | item  | CREATE UNIQUE INDEX item_pkey",
        ));
    isodb()
        .args(["--connect", &server.url("ada")])
        .args(["-c", "\\d nothing"])
        .assert()
        .code(1)
        .stderr(contains("ERROR 42P01: relation \"nothing\" does not exist"));
    // The lock table is the server's own.
    isodb()
        .args(["--connect", &server.url("ada"), "-c", "\\locks"])
        .assert()
        .code(1)
        .stderr(contains(
            "\\locks: the lock table and transactions are the server's own",
        ));
}

#[test]
fn each_session_is_a_connection_and_its_lock_wait_names_the_holder() {
    let server = TestServer::start(&[]);
    let script = "\
create table account (id int primary key, balance int not null);
insert into account values (1, 100);
\\session t1
begin;
update account set balance = balance + 10 where id = 1;
\\session t2
begin isolation level read committed;
update account set balance = balance + 20 where id = 1;
\\sessions
\\session t1
commit;
\\session t2
commit;
select balance from account;
";
    let output = isodb()
        .args(["--connect", &server.url("ada")])
        .write_stdin(script)
        .output()
        .expect("runs");
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{output:?}");
    // t2 blocks behind t1; the shell says so and goes on.
    assert!(stdout.contains("BEGIN\nt2: waiting for t1\n"), "{stdout}");
    assert!(
        stdout.contains(" * | t2      | READ COMMITTED | in txn | pid "),
        "{stdout}"
    );
    assert!(stdout.contains("| waiting for t1\n"), "{stdout}");
    // t1's commit lets t2's update through (READ COMMITTED re-reads the row).
    assert!(stdout.contains("COMMIT\nt2: UPDATE 1\n"), "{stdout}");
    assert!(
        stdout.contains(" balance\n---------\n     130\n(1 row)\n"),
        "{stdout}"
    );
    // Each session had a connection of its own: four backend pids.
    let pids: std::collections::HashSet<&str> = stdout
        .lines()
        .filter_map(|l| l.split("| pid ").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(pids.len(), 3, "main, t1, t2: {stdout}");
}

#[test]
fn passwords_come_from_the_url_and_bad_targets_fail_clearly() {
    let server = TestServer::start(&["--password", "hunter2"]);
    let port = server.port();
    isodb()
        .args([
            "--connect",
            &format!("postgres://ada:hunter2@127.0.0.1:{port}/test"),
        ])
        .args(["-c", "select current_user"])
        .assert()
        .success()
        .stdout(contains(" ada\n(1 row)"));
    isodb()
        .args([
            "--connect",
            &format!("host=127.0.0.1 port={port} user=ada password=hunter2"),
        ])
        .args(["-c", "select 1 as one"])
        .assert()
        .success()
        .stdout(contains(" one\n-----\n   1\n(1 row)"));
    isodb()
        .args([
            "--connect",
            &format!("postgres://ada:wrong@127.0.0.1:{port}/test"),
        ])
        .args(["-c", "select 1"])
        .assert()
        .code(2)
        .stderr(contains("password authentication failed for user \"ada\""));
    isodb()
        .env_remove("PGPASSWORD")
        .args([
            "--connect",
            &format!("postgres://ada@127.0.0.1:{port}/test"),
        ])
        .args(["-c", "select 1"])
        .assert()
        .code(2)
        .stderr(contains("asks user \"ada\" for a password"));
    drop(server);
    isodb()
        .args([
            "--connect",
            &format!("postgres://ada@127.0.0.1:{port}/test"),
        ])
        .args(["-c", "select 1"])
        .assert()
        .code(2)
        .stderr(contains("cannot connect to 127.0.0.1:").and(contains("refused")));
    isodb()
        .args(["--connect", "postgres://ada@127.0.0.1/x?sslmode=require"])
        .assert()
        .code(2)
        .stderr(contains("do not use TLS"));
}

#[test]
fn a_session_whose_server_went_away_says_so() {
    let mut server = TestServer::start(&[]);
    // The shell connects at once and reads its script to the end of
    // standard input before running it: stop the server in between.
    let mut shell = std::process::Command::new(env!("CARGO_BIN_EXE_isodb"))
        .args(["--connect", &server.url("ada"), "--on-error", "continue"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the shell");
    let mut stdin = shell.stdin.take().expect("stdin");
    // Its monitor and its first session are connected.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.connections() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never connected"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(server.terminate().success());
    use std::io::Write;
    stdin
        .write_all(b"select 1;\nselect 2;\n")
        .expect("write the script");
    drop(stdin);
    let output = shell.wait_with_output().expect("the shell ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The first statement meets the server's goodbye (or the closed
    // socket); the second knows the connection is gone.
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("terminating connection due to administrator command")
            || first.starts_with("ERROR 08006: the connection to the server was lost"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("ERROR 08006: the connection to the server was lost")),
        "{stderr}"
    );
}
