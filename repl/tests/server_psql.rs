//! The real `psql` (Debian's postgresql-client, installed by `.ci/run`)
//! against `isodb serve`: `-c`, `-f`, `\dt`, `\d TABLE`, `\di`, `\l`,
//! `\conninfo`, a script with an error under `ON_ERROR_STOP=1`, and TLS
//! with SCRAM-SHA-256.

mod server_common;

use std::io::Write;
use std::process::{Command, Output};

use server_common::TestServer;

fn psql(server: &TestServer, args: &[&str]) -> Output {
    psql_with(server, args, &[])
}

fn psql_with(server: &TestServer, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("psql")
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port().to_string(),
            "-U",
            "ada",
            "-d",
            "shop",
        ])
        .args(args)
        .env_remove("PGPASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("psql runs (install postgresql-client)")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn setup(server: &TestServer) {
    let output = psql(
        server,
        &[
            "-c",
            "CREATE TABLE item (id INT PRIMARY KEY, name TEXT NOT NULL DEFAULT 'unnamed', price DOUBLE)",
            "-c",
            "CREATE INDEX item_price ON item (price)",
            "-c",
            "INSERT INTO item VALUES (1, 'pen', 1.5), (2, 'ink', NULL)",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout(&output), "CREATE TABLE\nCREATE INDEX\nINSERT 0 2\n");
}

#[test]
fn commands_files_and_meta_commands_answer_as_in_postgres() {
    let server = TestServer::start(&[]);
    setup(&server);
    let output = psql(
        &server,
        &[
            "-A",
            "-t",
            "-c",
            "SELECT id, name, price FROM item ORDER BY id",
        ],
    );
    assert_eq!(stdout(&output), "1|pen|1.5\n2|ink|\n");

    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "UPDATE item SET price = 2 WHERE id = 2;\nSELECT sum(price) AS total FROM item;\n",
    )
    .expect("write script");
    let output = psql(&server, &["-f", script.to_str().expect("path")]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "UPDATE 1\n total \n-------\n   3.5\n(1 row)\n\n"
    );

    let output = psql(&server, &["-c", "\\dt"]);
    let text = stdout(&output);
    assert!(text.contains("List of relations"), "{text}");
    assert!(text.contains(" public | item | table | ada"), "{text}");

    let output = psql(&server, &["-c", "\\d item"]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "Table \"public.item\"",
        " id     | bigint           |           | not null | ",
        " name   | text             |           | not null | 'unnamed'",
        " price  | double precision |           |          | ",
        "    \"item_pkey\" PRIMARY KEY, btree (id)",
        "    \"item_price\" btree (price)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }

    let output = psql(&server, &["-c", "\\di"]);
    let text = stdout(&output);
    assert!(
        text.contains(" public | item_price | index | ada   | item"),
        "{text}"
    );
    assert!(
        text.contains(" public | item_pkey  | index | ada   | item"),
        "{text}"
    );

    let output = psql(&server, &["-c", "\\l"]);
    assert!(
        stdout(&output).contains(" shop | ada   | UTF8"),
        "{}",
        stdout(&output)
    );

    let output = psql(&server, &["-c", "\\conninfo"]);
    assert!(
        stdout(&output).contains(&format!(
            "database \"shop\" as user \"ada\" on host \"127.0.0.1\" at port \"{}\"",
            server.port()
        )),
        "{}",
        stdout(&output)
    );
}

#[test]
fn on_error_stop_ends_a_script_at_its_first_error() {
    let server = TestServer::start(&[]);
    setup(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("broken.sql");
    std::fs::write(
        &script,
        "INSERT INTO item VALUES (3, 'cap', 4);\nINSERT INTO item VALUES (1, 'again', 0);\nINSERT INTO item VALUES (4, 'never', 0);\n",
    )
    .expect("write script");
    let output = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            script.to_str().expect("path"),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(3),
        "psql exits 3 on a stopped script"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ERROR:  duplicate key value violates unique constraint"),
        "{stderr}"
    );
    assert!(
        stderr.contains("DETAIL:  Key (id)=(1) already exists."),
        "{stderr}"
    );
    let output = psql(
        &server,
        &["-A", "-t", "-c", "SELECT id FROM item ORDER BY id"],
    );
    assert_eq!(
        stdout(&output),
        "1\n2\n3\n",
        "the statement after the error never ran"
    );
}

#[test]
fn tls_with_scram_and_a_wrong_password_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::File::create(&cert)
        .and_then(|mut f| f.write_all(certified.cert.pem().as_bytes()))
        .expect("write cert");
    std::fs::File::create(&key)
        .and_then(|mut f| f.write_all(certified.key_pair.serialize_pem().as_bytes()))
        .expect("write key");
    let server = TestServer::start(&[
        "--password",
        "hunter2",
        "--tls-cert",
        cert.to_str().expect("path"),
        "--tls-key",
        key.to_str().expect("path"),
    ]);
    let output = psql_with(
        &server,
        &["-A", "-t", "-c", "SELECT current_user", "-c", "\\conninfo"],
        &[("PGSSLMODE", "require"), ("PGPASSWORD", "hunter2")],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    assert!(text.starts_with("ada\n"), "{text}");
    assert!(text.contains("SSL connection (protocol: TLSv1.3"), "{text}");
    let output = psql_with(
        &server,
        &["-c", "SELECT 1"],
        &[("PGSSLMODE", "require"), ("PGPASSWORD", "wrong")],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
