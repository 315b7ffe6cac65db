//! `isodb serve` with real Rust clients (`postgres`, `tokio-postgres`) and
//! a raw protocol client, against a server on an ephemeral loopback port:
//! prepared statements with parameters of every type in both formats,
//! errors and their SQLSTATEs, every isolation level, a serialization
//! failure, CancelRequest of a lock wait and of a long scan,
//! statement_timeout, a disconnect releasing locks, the error inside a
//! pipeline, portal row limits, command tags and ReadyForQuery states,
//! start-up chatter, SCRAM, the connection limit and a clean shutdown.

mod server_common;

use std::thread;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls};
use server_common::{RawClient, TestServer};

/// A row of every type isodb has: integer, boolean, double, text.
type Typed<T> = (i64, Option<bool>, Option<f64>, Option<T>);

fn code(error: &postgres::Error) -> String {
    error
        .as_db_error()
        .map(|e| e.code().code().to_string())
        .unwrap_or_else(|| format!("not a database error: {error}"))
}

#[test]
fn prepared_statements_carry_every_type_both_ways() {
    let server = TestServer::start(&[]);
    let mut client = server.client();
    client
        .batch_execute("CREATE TABLE v (id INT PRIMARY KEY, b BOOLEAN, f DOUBLE, t TEXT)")
        .expect("create");
    let insert = client
        .prepare("INSERT INTO v VALUES ($1, $2, $3, $4)")
        .expect("prepare");
    let types: Vec<String> = insert
        .params()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(types, ["int8", "bool", "float8", "text"]);
    let rows: [Typed<&str>; 3] = [
        (1, Some(true), Some(0.1), Some("héllo")),
        (i64::MIN, Some(false), Some(f64::INFINITY), Some("")),
        (i64::MAX, None, None, None),
    ];
    for (id, b, f, t) in rows {
        assert_eq!(
            client.execute(&insert, &[&id, &b, &f, &t]).expect("insert"),
            1
        );
    }
    // Binary results (what the postgres crate asks for).
    let got: Vec<Typed<String>> = client
        .query(
            "SELECT id, b, f, t FROM v WHERE id >= $1 ORDER BY id",
            &[&i64::MIN],
        )
        .expect("select")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        got[0],
        (
            i64::MIN,
            Some(false),
            Some(f64::INFINITY),
            Some(String::new())
        )
    );
    assert_eq!(got[1], (1, Some(true), Some(0.1), Some("héllo".into())));
    assert_eq!(got[2], (i64::MAX, None, None, None));
    // Text results (the simple protocol).
    let text: Vec<Vec<Option<String>>> = client
        .simple_query("SELECT id, b, f, t FROM v ORDER BY id")
        .expect("simple")
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => {
                Some((0..4).map(|i| row.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        text[1],
        vec![
            Some("1".into()),
            Some("t".into()),
            Some("0.1".into()),
            Some("héllo".into())
        ]
    );
    // Text-format parameters, typed by the server's inference.
    let mut raw = RawClient::connect(server.addr);
    raw.parse("", "SELECT t, f FROM v WHERE id = $1 AND b = $2", &[]);
    raw.bind("", "", &[0], &[Some(b"1"), Some(b"t")], &[0]);
    raw.execute("", 0);
    raw.sync();
    let messages = raw.until_ready();
    let row = messages.iter().find(|m| m.tag == b'D').expect("a row");
    assert_eq!(
        row.values(),
        vec![Some("héllo".as_bytes().to_vec()), Some(b"0.1".to_vec())]
    );
    // Binary parameters of the narrower integer types a client may declare.
    raw.parse(
        "narrow",
        "SELECT count(*) FROM v WHERE id = $1 OR id = $2",
        &[21, 23],
    );
    raw.bind(
        "",
        "narrow",
        &[1],
        &[Some(&1i16.to_be_bytes()), Some(&1i32.to_be_bytes())],
        &[1],
    );
    raw.execute("", 0);
    raw.sync();
    let messages = raw.until_ready();
    let row = messages.iter().find(|m| m.tag == b'D').expect("a row");
    assert_eq!(row.values(), vec![Some(1i64.to_be_bytes().to_vec())]);
}

#[test]
fn errors_reach_the_client_with_their_sqlstate_and_fields() {
    let server = TestServer::start(&[]);
    let mut client = server.client();
    client
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .expect("setup");
    let error = client
        .execute("INSERT INTO t VALUES (1)", &[])
        .expect_err("dup");
    let db = error.as_db_error().expect("a database error");
    assert_eq!(db.code(), &SqlState::UNIQUE_VIOLATION);
    assert_eq!(db.detail(), Some("Key (id)=(1) already exists."));
    assert_eq!(db.severity(), "ERROR");
    let error = client.simple_query("SELECT * FORM t").expect_err("syntax");
    let db = error.as_db_error().expect("a database error");
    assert_eq!(db.code(), &SqlState::SYNTAX_ERROR);
    assert!(
        db.position().is_some(),
        "a syntax error carries its position"
    );
    assert_eq!(
        code(
            &client
                .simple_query("SELECT * FROM missing")
                .expect_err("42P01")
        ),
        "42P01"
    );
    assert_eq!(
        code(&client.simple_query("SELECT 1/0").expect_err("22012")),
        "22012"
    );
    // The connection goes on after each error.
    let one: i64 = client.query_one("SELECT 1", &[]).expect("select").get(0);
    assert_eq!(one, 1);
}

#[test]
fn transactions_run_at_every_isolation_level() {
    let server = TestServer::start(&[]);
    let mut client = server.client();
    client
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0)")
        .expect("setup");
    let levels = [
        (IsolationLevel::ReadUncommitted, "read uncommitted"),
        (IsolationLevel::ReadCommitted, "read committed"),
        (IsolationLevel::RepeatableRead, "repeatable read"),
        (IsolationLevel::Serializable, "serializable"),
    ];
    for (level, name) in levels {
        let mut tx = client
            .build_transaction()
            .isolation_level(level)
            .start()
            .expect("begin");
        let shown: String = tx
            .query_one("SHOW transaction_isolation", &[])
            .expect("show")
            .get(0);
        assert_eq!(shown, name);
        tx.execute("UPDATE t SET v = v + 1 WHERE id = $1", &[&1i64])
            .expect("update");
        tx.commit().expect("commit");
    }
    let v: i64 = client
        .query_one("SELECT v FROM t", &[])
        .expect("select")
        .get(0);
    assert_eq!(v, 4);
}

#[test]
fn write_skew_at_serializable_is_a_40001_for_the_client() {
    let server = TestServer::start(&[]);
    let mut a = server.client();
    let mut b = server.client();
    a.batch_execute(
        "CREATE TABLE doctors (name TEXT PRIMARY KEY, on_call BOOLEAN NOT NULL);
         INSERT INTO doctors VALUES ('alice', true), ('bob', true)",
    )
    .expect("setup");
    let mut ta = a
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()
        .expect("a");
    let mut tb = b
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()
        .expect("b");
    let count = "SELECT count(*) FROM doctors WHERE on_call";
    assert_eq!(
        ta.query_one(count, &[]).expect("a reads").get::<_, i64>(0),
        2
    );
    assert_eq!(
        tb.query_one(count, &[]).expect("b reads").get::<_, i64>(0),
        2
    );
    ta.execute(
        "UPDATE doctors SET on_call = false WHERE name = 'alice'",
        &[],
    )
    .expect("a writes");
    tb.execute("UPDATE doctors SET on_call = false WHERE name = 'bob'", &[])
        .expect("b writes");
    ta.commit().expect("the first commit wins");
    let error = tb.commit().expect_err("the second one is a write skew");
    assert_eq!(code(&error), "40001");
}

#[test]
fn cancel_request_ends_a_lock_wait_and_a_long_scan() {
    let server = TestServer::start(&[]);
    let mut holder = server.client();
    holder
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0)")
        .expect("setup");
    let values: Vec<String> = (0..20_000).map(|i| format!("({i}, {i})")).collect();
    holder
        .batch_execute(&format!(
            "CREATE TABLE big (id INT PRIMARY KEY, v INT); INSERT INTO big VALUES {}",
            values.join(",")
        ))
        .expect("big");
    holder
        .batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
        .expect("hold");
    let mut waiter = server.client();
    let token = waiter.cancel_token();
    let blocked = thread::spawn(move || {
        let result = waiter
            .execute("UPDATE t SET v = 2 WHERE id = 1", &[])
            .map_err(|e| code(&e));
        (waiter, result)
    });
    thread::sleep(Duration::from_millis(300));
    token.cancel_query(NoTls).expect("send CancelRequest");
    let (mut waiter, result) = blocked.join().expect("thread");
    assert_eq!(result, Err("57014".to_string()));
    holder.batch_execute("COMMIT").expect("commit");

    let token = waiter.cancel_token();
    let scanning = thread::spawn(move || {
        let started = Instant::now();
        let result = waiter
            .query("SELECT count(*) FROM big a, big b WHERE a.v + b.v < 0", &[])
            .map(|_| ())
            .map_err(|e| code(&e));
        (result, started.elapsed())
    });
    thread::sleep(Duration::from_millis(300));
    token.cancel_query(NoTls).expect("send CancelRequest");
    let (result, took) = scanning.join().expect("thread");
    assert_eq!(result, Err("57014".to_string()));
    assert!(
        took < Duration::from_secs(10),
        "the join would run for minutes; it took {took:?}"
    );
}

#[test]
fn statement_timeout_and_a_disconnect_that_releases_locks() {
    let server = TestServer::start(&[]);
    let mut client = server.client();
    client
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0)")
        .expect("setup");
    let mut holder = server.client();
    holder
        .batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
        .expect("hold");
    client
        .batch_execute("SET statement_timeout = '200ms'")
        .expect("set");
    let started = Instant::now();
    let error = client
        .execute("UPDATE t SET v = 2 WHERE id = 1", &[])
        .expect_err("times out");
    assert_eq!(code(&error), "57014");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The holder goes away mid-transaction: its lock goes with it.
    drop(holder);
    client
        .batch_execute("SET statement_timeout = '10s'")
        .expect("set");
    assert_eq!(
        client
            .execute("UPDATE t SET v = 2 WHERE id = 1", &[])
            .expect("free"),
        1
    );
    let v: i64 = client
        .query_one("SELECT v FROM t", &[])
        .expect("select")
        .get(0);
    assert_eq!(v, 2, "the disconnected transaction was rolled back");
}

#[test]
fn an_error_inside_a_pipeline_skips_to_sync_and_rolls_the_batch_back() {
    let server = TestServer::start(&[]);
    let mut raw = RawClient::connect(server.addr);
    raw.query("CREATE TABLE t (id INT PRIMARY KEY)");
    raw.until_ready();
    raw.parse("ins", "INSERT INTO t VALUES ($1)", &[]);
    for id in [b"1", b"1", b"3"] {
        raw.bind("", "ins", &[0], &[Some(id)], &[]);
        raw.execute("", 0);
    }
    raw.parse("", "SELECT 1", &[]);
    raw.sync();
    assert_eq!(
        raw.summaries(),
        [
            "ParseComplete",
            "BindComplete",
            "Complete INSERT 0 1",
            "BindComplete",
            "Error 23505",
            "Ready I",
        ]
    );
    assert_eq!(
        raw.column("SELECT count(*) FROM t"),
        [Some("0".to_string())],
        "the batch rolled back"
    );
    // The statement of the failed batch is still prepared, and the next batch works.
    raw.bind("", "ins", &[0], &[Some(b"7")], &[]);
    raw.execute("", 0);
    raw.sync();
    assert_eq!(
        raw.summaries(),
        ["BindComplete", "Complete INSERT 0 1", "Ready I"]
    );
    // Inside an explicit block, an error leaves it failed (E) until ROLLBACK.
    raw.query("BEGIN");
    raw.until_ready();
    raw.bind("", "ins", &[0], &[Some(b"7")], &[]);
    raw.execute("", 0);
    raw.sync();
    assert_eq!(raw.summaries(), ["BindComplete", "Error 23505", "Ready E"]);
    raw.query("SELECT 1");
    assert_eq!(raw.summaries(), ["Error 25P02", "Ready E"]);
    raw.query("ROLLBACK");
    assert_eq!(raw.summaries(), ["Complete ROLLBACK", "Ready I"]);
}

#[test]
fn portals_honour_row_limits_and_tags_and_states_are_exact() {
    let server = TestServer::start(&[]);
    let mut raw = RawClient::connect(server.addr);
    raw.query("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3), (4), (5)");
    assert_eq!(
        raw.summaries(),
        ["Complete CREATE TABLE", "Complete INSERT 0 5", "Ready I"]
    );
    raw.query("BEGIN");
    assert_eq!(raw.summaries(), ["Complete BEGIN", "Ready T"]);
    raw.parse("q", "SELECT id FROM t ORDER BY id", &[]);
    raw.bind("p", "q", &[], &[], &[]);
    raw.describe(b'P', "p");
    raw.execute("p", 2);
    raw.execute("p", 2);
    raw.execute("p", 2);
    raw.sync();
    assert_eq!(
        raw.summaries(),
        [
            "ParseComplete",
            "BindComplete",
            "RowDescription",
            "DataRow",
            "DataRow",
            "PortalSuspended",
            "DataRow",
            "DataRow",
            "PortalSuspended",
            "DataRow",
            "Complete SELECT 1",
            "Ready T",
        ]
    );
    raw.query("UPDATE t SET id = id + 10 WHERE id > 3; DELETE FROM t WHERE id = 1; COMMIT");
    assert_eq!(
        raw.summaries(),
        [
            "Complete UPDATE 2",
            "Complete DELETE 1",
            "Complete COMMIT",
            "Ready I"
        ]
    );
    raw.parse("d", "SELECT id FROM t WHERE id = $1", &[]);
    raw.describe(b'S', "d");
    raw.sync();
    let messages = raw.until_ready();
    let description = messages
        .iter()
        .find(|m| m.tag == b't')
        .expect("ParameterDescription");
    assert_eq!(description.body, [0, 1, 0, 0, 0, 20], "one int8 parameter");
    raw.query("");
    assert_eq!(raw.summaries(), ["EmptyQuery", "Ready I"]);
}

#[test]
fn stock_client_startup_chatter_works() {
    let server = TestServer::start(&[]);
    let mut raw = RawClient::connect(server.addr);
    // BackendKeyData names the backend as pg_backend_pid() does.
    let pid = raw.backend_pid.expect("BackendKeyData").to_string();
    assert_eq!(raw.column("SELECT pg_backend_pid()"), [Some(pid)]);
    let reported: Vec<&str> = raw.parameters.iter().map(|(k, _)| k.as_str()).collect();
    for name in [
        "server_version",
        "server_encoding",
        "client_encoding",
        "DateStyle",
        "TimeZone",
        "standard_conforming_strings",
        "integer_datetimes",
        "application_name",
    ] {
        assert!(reported.contains(&name), "{name} is reported: {reported:?}");
    }
    let mut client = postgres::Config::new()
        .host("127.0.0.1")
        .port(server.port())
        .user("tester")
        .application_name("suite")
        .connect(NoTls)
        .expect("connect");
    let statements = [
        "SET client_encoding = 'UTF8'",
        "SET DateStyle = ISO",
        "SET extra_float_digits = 3",
        "SET TimeZone = 'UTC'",
        "SET standard_conforming_strings = on",
        "SET search_path = public",
        "SET application_name = 'renamed'",
    ];
    for statement in statements {
        client
            .batch_execute(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let row = client
        .query_one(
            "SELECT version(), current_setting('application_name'), current_setting('DateStyle'), current_setting('extra_float_digits')",
            &[],
        )
        .expect("settings");
    assert!(
        row.get::<_, String>(0)
            .starts_with("PostgreSQL 14.0 (isodb")
    );
    assert_eq!(row.get::<_, String>(1), "renamed");
    assert_eq!(row.get::<_, String>(2), "ISO, MDY");
    assert_eq!(row.get::<_, String>(3), "3");
    let shown = client.simple_query("SHOW TimeZone").expect("show");
    assert!(
        shown
            .iter()
            .any(|m| matches!(m, postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("UTC")))
    );
    // A changed reported setting comes back as ParameterStatus.
    let mut raw = RawClient::connect(server.addr);
    raw.query("SET application_name = 'watched'");
    let messages = raw.until_ready();
    let status = messages
        .iter()
        .find(|m| m.tag == b'S')
        .expect("ParameterStatus");
    assert!(status.body.starts_with(b"application_name\0watched\0"));
}

#[test]
fn scram_authenticates_and_a_wrong_password_is_refused() {
    let server = TestServer::start(&["--password", "s3cret"]);
    let config = |password: &str| {
        format!(
            "host=127.0.0.1 port={} user=ada password={password} dbname=x",
            server.port()
        )
    };
    let mut client = postgres::Client::connect(&config("s3cret"), NoTls).expect("right password");
    let user: String = client
        .query_one("SELECT current_user", &[])
        .expect("user")
        .get(0);
    assert_eq!(user, "ada");
    let Err(error) = postgres::Client::connect(&config("wrong"), NoTls) else {
        panic!("a wrong password was accepted");
    };
    assert_eq!(code(&error), "28P01");
}

#[test]
fn connections_past_the_limit_are_refused_with_53300() {
    let server = TestServer::start(&["--max-connections", "2"]);
    let first = server.client();
    let _second = server.client();
    let Err(error) = postgres::Client::connect(&server.config("third"), NoTls) else {
        panic!("a third connection was accepted");
    };
    assert_eq!(code(&error), "53300");
    drop(first);
    // A slot frees as soon as a connection ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match postgres::Client::connect(&server.config("again"), NoTls) {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline && code(&e) == "53300" => {
                thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn sigterm_rolls_back_open_transactions_and_closes_the_database() {
    let mut server = TestServer::start_in_directory(&[]);
    let mut client = server.client();
    client
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .expect("setup");
    client
        .batch_execute("BEGIN; INSERT INTO t VALUES (2)")
        .expect("open transaction");
    let status = server.terminate();
    assert!(status.success(), "clean exit: {status:?}");
    let error = client
        .batch_execute("COMMIT")
        .expect_err("the connection was ended");
    assert!(
        error
            .as_db_error()
            .is_none_or(|db| db.code().code() == "57P01"),
        "{error}"
    );
    // The directory is closed (no LOCK held) and holds only the committed row.
    let dir = server
        .dir
        .as_ref()
        .expect("a directory")
        .path()
        .to_path_buf();
    let db = isodb::Database::open(&dir).expect("reopen after shutdown");
    let mut session = db.session();
    let rows = session.query("SELECT id FROM t", &[]).expect("select");
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn tokio_postgres_pipelines_queries_on_one_connection() {
    let server = TestServer::start(&[]);
    let (client, connection) =
        tokio_postgres::connect(&server.config("async"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
        .await
        .expect("create");
    let insert = client
        .prepare("INSERT INTO t VALUES ($1, $2)")
        .await
        .expect("prepare");
    let writes = (0..50i64).map(|i| {
        let client = &client;
        let insert = &insert;
        async move { client.execute(insert, &[&i, &format!("v{i}")]).await }
    });
    for done in futures::future::join_all(writes).await {
        assert_eq!(done.expect("insert"), 1);
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 50);
}
