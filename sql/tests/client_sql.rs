//! The parts of the session a PostgreSQL server uses: command tags,
//! statement descriptions with inferred parameter types, implicit
//! transaction blocks (several statements of one message as one
//! transaction), and backend pids (`pg_backend_pid()`,
//! `pg_blocking_pids()`).

mod common;

use common::{first, in_thread, open, receive, wait_until_blocked};
use isodb::{DataType, Session, TransactionState, Value};

fn run_all(session: &mut Session, sql: &str) -> Vec<Result<String, String>> {
    let statements = session.parse_statements(sql).expect("parses");
    let implicit = statements.len() > 1;
    if implicit {
        session.begin_implicit().expect("implicit block");
    }
    let mut tags = Vec::new();
    for statement in &statements {
        match session.run_prepared(statement, &[]) {
            Ok(done) => tags.push(Ok(done.tag)),
            Err(error) => {
                tags.push(Err(error.sqlstate().to_string()));
                break;
            }
        }
    }
    if implicit && let Err(error) = session.end_implicit() {
        tags.push(Err(error.sqlstate().to_string()));
    }
    tags
}

#[test]
fn statements_report_postgres_command_tags() {
    let db = open();
    let mut s = db.session();
    let tags = run_all(
        &mut s,
        "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 1), (2, 2);
         UPDATE t SET v = 0; SELECT * FROM t; DELETE FROM t WHERE id = 1; CREATE INDEX t_v ON t (v);
         SET application_name = 'x'; SHOW application_name; DROP INDEX t_v",
    );
    let expected = [
        "CREATE TABLE",
        "INSERT 0 2",
        "UPDATE 2",
        "SELECT 2",
        "DELETE 1",
        "CREATE INDEX",
        "SET",
        "SHOW",
        "DROP INDEX",
    ];
    assert_eq!(tags, expected.map(|t| Ok(t.to_string())).to_vec());
    let tags = run_all(&mut s, "BEGIN");
    assert_eq!(tags, vec![Ok("BEGIN".to_string())]);
    assert_eq!(
        run_all(&mut s, "SELECT 1/0"),
        vec![Err("22012".to_string())]
    );
    // COMMIT of a failed block rolls back, and says so.
    assert_eq!(run_all(&mut s, "COMMIT"), vec![Ok("ROLLBACK".to_string())]);
}

#[test]
fn a_failing_statement_rolls_back_its_whole_message() {
    let db = open();
    let mut s = db.session();
    s.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        .expect("create");
    let tags = run_all(
        &mut s,
        "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); INSERT INTO t VALUES (3)",
    );
    assert_eq!(
        tags,
        vec![Ok("INSERT 0 1".to_string()), Err("23505".to_string())]
    );
    assert_eq!(s.transaction_state(), TransactionState::Idle);
    assert_eq!(first::<i64>(&mut s, "SELECT count(*) FROM t"), 0);
    let tags = run_all(&mut s, "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)");
    assert_eq!(tags.len(), 2);
    assert_eq!(first::<i64>(&mut s, "SELECT count(*) FROM t"), 2);
    // BEGIN inside makes the block an ordinary one that outlives the message.
    run_all(
        &mut s,
        "INSERT INTO t VALUES (5); BEGIN; INSERT INTO t VALUES (6)",
    );
    assert_eq!(s.transaction_state(), TransactionState::InTransaction);
    let mut other = db.session();
    assert_eq!(first::<i64>(&mut other, "SELECT count(*) FROM t"), 2);
    run_all(&mut s, "COMMIT");
    assert_eq!(first::<i64>(&mut other, "SELECT count(*) FROM t"), 4);
}

#[test]
fn describe_infers_parameter_types_from_their_use() {
    let db = open();
    let mut s = db.session();
    s.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE, ok BOOLEAN)")
        .expect("create");
    let insert = s
        .prepare("INSERT INTO t VALUES ($1, $2, $3, $4)")
        .expect("prepare");
    let described = s.describe(&insert).expect("describe");
    assert_eq!(
        described.param_types,
        vec![
            Some(DataType::Integer),
            Some(DataType::Text),
            Some(DataType::Double),
            Some(DataType::Boolean)
        ]
    );
    assert!(described.columns.is_empty());
    let select = s
        .prepare("SELECT name, score FROM t WHERE id = $1 AND name LIKE $2 LIMIT $3")
        .expect("prepare");
    let described = s.describe(&select).expect("describe");
    assert_eq!(
        described.param_types,
        vec![
            Some(DataType::Integer),
            Some(DataType::Text),
            Some(DataType::Integer)
        ]
    );
    let names: Vec<_> = described
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type))
        .collect();
    assert_eq!(
        names,
        vec![
            ("name", Some(DataType::Text)),
            ("score", Some(DataType::Double))
        ]
    );
    let untyped = s.prepare("SELECT $1").expect("prepare");
    assert_eq!(
        s.describe(&untyped).expect("describe").param_types,
        vec![None]
    );
    let show = s.prepare("SHOW DateStyle").expect("prepare");
    assert_eq!(
        s.describe(&show).expect("describe").columns[0].name,
        "DateStyle"
    );
    let done = s
        .run_prepared(
            &insert,
            &[
                Value::Integer(1),
                "a".into(),
                Value::Double(0.5),
                Value::Boolean(true),
            ],
        )
        .expect("insert");
    assert_eq!(done.tag, "INSERT 0 1");
}

#[test]
fn backend_pids_name_sessions_and_who_blocks_whom() {
    let db = open();
    let mut holder = db.session();
    let waiter = db.session();
    let mut observer = db.session();
    let (holder_pid, waiter_pid) = (holder.backend_pid(), waiter.backend_pid());
    assert_ne!(holder_pid, waiter_pid);
    assert_eq!(
        first::<i64>(&mut holder, "SELECT pg_backend_pid()"),
        i64::from(holder_pid)
    );
    holder
        .execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0)")
        .expect("setup");
    let blocking = |observer: &mut Session, pid: i32| {
        first::<String>(observer, &format!("SELECT pg_blocking_pids({pid})"))
    };
    assert_eq!(blocking(&mut observer, waiter_pid), "{}");
    holder
        .execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1")
        .expect("hold the row");
    let handle = waiter.cancel_handle();
    let rx = in_thread(waiter, |s| s.execute("UPDATE t SET v = 2 WHERE id = 1"));
    wait_until_blocked(&db, &handle);
    assert_eq!(
        blocking(&mut observer, waiter_pid),
        format!("{{{holder_pid}}}")
    );
    assert_eq!(db.blocking_pids(waiter_pid), vec![holder_pid]);
    // The holder waits for no one; an unknown pid blocks on no one.
    assert_eq!(blocking(&mut observer, holder_pid), "{}");
    assert_eq!(blocking(&mut observer, 999_999), "{}");
    assert_eq!(
        first::<String>(
            &mut observer,
            &format!("SELECT array_to_string(pg_blocking_pids({waiter_pid}), ',')")
        ),
        holder_pid.to_string()
    );
    holder.execute("ROLLBACK").expect("rollback");
    let (waiter, result) = receive(&rx);
    assert_eq!(result.expect("the update went on"), 1);
    assert_eq!(blocking(&mut observer, waiter_pid), "{}");
    // A dropped session's pid names nobody; a new session gets a new pid.
    drop(waiter);
    let fresh = db.session();
    assert!(fresh.backend_pid() != waiter_pid && fresh.backend_pid() != holder_pid);
}
