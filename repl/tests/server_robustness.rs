//! `isodb serve` against bad clients and heavy load: garbage bytes, a
//! truncated message, a message claiming a huge length, a startup packet
//! of a wrong protocol version and a protocol violation each end that
//! connection with an error while the server goes on serving the others;
//! 100 concurrent connections doing transfers keep the bank total intact
//! and the server's memory bounded: for 10 s in CI, `ISODB_SOAK_SECS=30`
//! (or more) for the full run.

mod server_common;

use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use server_common::{RawClient, TestServer, frame, startup_packet};

/// Reads until the server closes; returns the messages it sent.
fn drain(client: &mut RawClient) -> Vec<server_common::Message> {
    let mut messages = Vec::new();
    while let Some(message) = client.read() {
        messages.push(message);
    }
    messages
}

/// The SQLSTATE of the FATAL error the server closed `client` with.
fn fatal_code(client: &mut RawClient) -> String {
    let messages = drain(client);
    let error = messages
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("no error before the close: {messages:?}"));
    assert_eq!(error.field(b'S').as_deref(), Some("FATAL"));
    error.field(b'C').unwrap_or_default()
}

/// The server still answers a normal client.
fn still_serving(server: &TestServer, witness: &mut RawClient) {
    assert_eq!(witness.column("SELECT 41 + 1"), [Some("42".to_string())]);
    let mut fresh = RawClient::connect(server.addr);
    assert_eq!(fresh.column("SELECT 'ok'"), [Some("ok".to_string())]);
}

#[test]
fn bad_bytes_end_only_their_own_connection() {
    let server = TestServer::start(&[]);
    let mut witness = RawClient::connect(server.addr);
    witness.query("BEGIN; SELECT 1");
    witness.until_ready();

    // Garbage instead of a startup packet.
    let mut garbage = RawClient::connect_only(server.addr);
    garbage.write(b"\x00\x00\x00\x10GARBAGE-GARBAGE!");
    assert_eq!(fatal_code(&mut garbage), "08P01");
    still_serving(&server, &mut witness);

    // Garbage after a good startup: an unknown message type.
    let mut garbage = RawClient::connect(server.addr);
    garbage.write(b"\xffthis is not a message");
    assert_eq!(fatal_code(&mut garbage), "08P01");

    // A truncated message, then the client stops sending.
    let mut truncated = RawClient::connect(server.addr);
    let mut message = frame(b'Q', b"SELECT 1\0");
    message.truncate(6);
    truncated.write(&message);
    truncated
        .stream
        .shutdown(Shutdown::Write)
        .expect("half close");
    assert_eq!(fatal_code(&mut truncated), "08P01");

    // A message claiming 2 GiB.
    let mut huge = RawClient::connect(server.addr);
    huge.write(&[b'Q', 0x7f, 0xff, 0xff, 0xff, b'S']);
    assert_eq!(fatal_code(&mut huge), "08P01");

    // A startup packet of protocol 4.0 and one of 2.0.
    for major in [4, 2] {
        let mut old = RawClient::connect_only(server.addr);
        old.write(&startup_packet("tester", major, 0));
        assert_eq!(fatal_code(&mut old), "08P01", "protocol {major}.0");
    }

    // A protocol violation: a password message after authentication.
    let mut violator = RawClient::connect(server.addr);
    violator.write(&frame(b'p', b"secret\0"));
    assert_eq!(fatal_code(&mut violator), "08P01");

    // A Bind whose counts do not match its statement is an ordinary error.
    let mut sloppy = RawClient::connect(server.addr);
    sloppy.parse("s", "SELECT $1::int", &[]);
    sloppy.bind("", "s", &[0, 0, 0], &[Some(b"1")], &[]);
    sloppy.sync();
    assert_eq!(
        sloppy.summaries(),
        ["ParseComplete", "Error 08P01", "Ready I"]
    );
    assert_eq!(sloppy.column("SELECT 2"), [Some("2".to_string())]);

    still_serving(&server, &mut witness);
    witness.query("COMMIT");
    assert_eq!(witness.summaries(), ["Complete COMMIT", "Ready I"]);
}

const ACCOUNTS: i64 = 20;
const START_BALANCE: i64 = 1000;

fn soak_duration() -> Duration {
    let secs = std::env::var("ISODB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_connections_of_transfers_keep_the_total_and_bounded_memory() {
    let server = Arc::new(TestServer::start(&["--max-connections", "128"]));
    let (setup, connection) =
        tokio_postgres::connect(&server.config("setup"), tokio_postgres::NoTls)
            .await
            .expect("connect");
    tokio::spawn(connection);
    let values: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("({i}, {START_BALANCE})"))
        .collect();
    setup
        .batch_execute(&format!(
            "CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL); INSERT INTO account VALUES {}",
            values.join(", ")
        ))
        .await
        .expect("setup");
    let duration = soak_duration();
    let deadline = Instant::now() + duration;
    let committed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..100u64 {
        let server = Arc::clone(&server);
        let committed = Arc::clone(&committed);
        workers.push(tokio::spawn(async move {
            let (client, connection) = tokio_postgres::connect(
                &server.config(&format!("w{worker}")),
                tokio_postgres::NoTls,
            )
            .await
            .expect("connect");
            tokio::spawn(connection);
            let debit = client
                .prepare("UPDATE account SET balance = balance - $1 WHERE id = $2")
                .await
                .expect("prepare");
            let credit = client
                .prepare("UPDATE account SET balance = balance + $1 WHERE id = $2")
                .await
                .expect("prepare");
            let mut n = worker;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let from = (n >> 33) as i64 % ACCOUNTS;
                let to = (from + 1 + (n >> 40) as i64 % (ACCOUNTS - 1)) % ACCOUNTS;
                let amount = 1 + (n >> 50) as i64 % 10;
                let attempt = async {
                    client
                        .batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                        .await?;
                    client.execute(&debit, &[&amount, &from]).await?;
                    client.execute(&credit, &[&amount, &to]).await?;
                    client.batch_execute("COMMIT").await
                };
                match attempt.await {
                    Ok(()) => {
                        committed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        let code = error
                            .code()
                            .map(|c| c.code().to_string())
                            .unwrap_or_default();
                        assert!(
                            matches!(code.as_str(), "40001" | "40P01"),
                            "unexpected error: {error}"
                        );
                        client.batch_execute("ROLLBACK").await.expect("rollback");
                    }
                }
            }
        }));
    }
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        samples.push(server.rss_kib());
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    let total: i64 = setup
        .query_one("SELECT sum(balance) FROM account", &[])
        .await
        .expect("sum")
        .get(0);
    assert_eq!(total, ACCOUNTS * START_BALANCE, "the bank total is intact");
    assert!(
        committed.load(Ordering::Relaxed) > 100,
        "transfers committed"
    );
    // Memory is bounded: the second half of the run grew no more than
    // 64 MiB beyond the first half's peak.
    let half = samples.len() / 2;
    let first = samples[..half].iter().copied().max().unwrap_or(0);
    let second = samples[half..].iter().copied().max().unwrap_or(0);
    println!(
        "{} transfers committed by 100 connections in {} s; server memory peak {first} KiB in the first half, {second} KiB in the second",
        committed.load(Ordering::Relaxed),
        duration.as_secs()
    );
    assert!(
        second <= first + 64 * 1024,
        "server memory grew from {first} KiB to {second} KiB"
    );
}
