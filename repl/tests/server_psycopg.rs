//! Python's psycopg (installed into a virtual environment by `.ci/run`)
//! against `isodb serve`: one connection blocks on the other's row lock
//! and goes on after its commit; a write skew at SERIALIZABLE raises
//! `psycopg.errors.SerializationFailure`. The scenario is
//! `tests/psycopg/isolation.py`; `ISODB_PYTHON` names the interpreter
//! (default: the virtual environment `.ci/run` makes in
//! `target/psycopg-venv`).

mod server_common;

use std::path::PathBuf;
use std::process::Command;

use server_common::TestServer;

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("ISODB_PYTHON") {
        return python.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/psycopg-venv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

#[test]
fn psycopg_sees_row_locks_and_serialization_failures() {
    let server = TestServer::start(&[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/psycopg/isolation.py");
    let output = Command::new(python())
        .arg(script)
        .arg(server.port().to_string())
        .output()
        .expect("python runs (set ISODB_PYTHON or run .ci/run to make the psycopg venv)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("SerializationFailure (40001)"), "{stdout}");
    assert!(stdout.ends_with("psycopg: all checks passed\n"), "{stdout}");
}
