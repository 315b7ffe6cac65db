//! `\demo` at each of the four isolation levels, against ISOLATION.md's
//! matrix written out below as the oracle: every demo's verdict must say
//! the anomaly happened exactly where the matrix allows it (and the shell
//! itself must not report a contradiction: its exit status stays 0).
//!
//! | demo                | RU | RC | RR | SER |
//! | ------------------- | -- | -- | -- | --- |
//! | dirty-write (G0)    | ✓  | ✓  | ✓  | ✓   |
//! | dirty-read (G1a)    | —  | ✓  | ✓  | ✓   |
//! | non-repeatable-read | —  | —  | ✓  | ✓   |
//! | phantom             | —  | —  | ✓  | ✓   |
//! | lost-update         | —  | —  | ✓  | ✓   |
//! | read-skew           | —  | —  | ✓  | ✓   |
//! | write-skew          | —  | —  | —  | ✓   |
//!
//! ✓ prevented, — allowed (and shown by this interleaving).
//!
//! The same matrix holds with the shell connected to `isodb serve`
//! (`--connect`), every demo session a connection of its own.

mod server_common;

use assert_cmd::Command;
use predicates::str::contains;
use server_common::TestServer;

const LEVELS: [&str; 4] = [
    "READ UNCOMMITTED",
    "READ COMMITTED",
    "REPEATABLE READ",
    "SERIALIZABLE",
];

/// (demo, its name in verdicts, at each level of `LEVELS`: does it happen?)
const MATRIX: &[(&str, &str, [bool; 4])] = &[
    (
        "dirty-write",
        "dirty write (G0)",
        [false, false, false, false],
    ),
    (
        "dirty-read",
        "dirty read (P1/G1a)",
        [true, false, false, false],
    ),
    (
        "non-repeatable-read",
        "non-repeatable read (P2)",
        [true, true, false, false],
    ),
    ("phantom", "phantom (P3)", [true, true, false, false]),
    (
        "lost-update",
        "lost update (P4)",
        [true, true, false, false],
    ),
    (
        "read-skew",
        "read skew (G-single)",
        [true, true, false, false],
    ),
    (
        "write-skew",
        "write skew (G2-item)",
        [true, true, true, false],
    ),
];

fn isodb() -> Command {
    let mut command = Command::cargo_bin("isodb").expect("the isodb binary is built");
    command.timeout(std::time::Duration::from_secs(60));
    command
}

/// Plays every demo at `level` in one shell (on a temporary database, or
/// connected to `server`) and returns its standard output.
fn play_all(level: &str, server: Option<&TestServer>) -> String {
    let mut command = isodb();
    match server {
        Some(server) => command.args(["--connect", &server.url("demos")]),
        None => command.arg("--temp"),
    };
    command.args(["--isolation", level]);
    for (demo, _, _) in MATRIX {
        command.arg("-c").arg(format!("\\demo {demo}"));
    }
    let output = command.output().expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "at {level}: status {:?}\n{stderr}\n{stdout}",
        output.status
    );
    assert!(!stderr.contains("bug in isodb"), "{stderr}");
    stdout
}

#[test]
fn every_demo_agrees_with_the_matrix_at_every_level() {
    agrees_with_the_matrix(None);
}

#[test]
fn every_demo_agrees_with_the_matrix_on_a_server() {
    let server = TestServer::start(&[]);
    agrees_with_the_matrix(Some(&server));
}

fn agrees_with_the_matrix(server: Option<&TestServer>) {
    for (column, level) in LEVELS.iter().enumerate() {
        let stdout = play_all(level, server);
        let verdicts: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("verdict: "))
            .collect();
        assert_eq!(verdicts.len(), MATRIX.len(), "at {level}:\n{stdout}");
        for ((demo, short, happens), verdict) in MATRIX.iter().zip(&verdicts) {
            let expected = if happens[column] {
                format!("verdict: {short} happened: ")
            } else {
                format!("verdict: no {short}: ")
            };
            assert!(
                verdict.starts_with(&expected),
                "{demo} at {level}: expected {expected:?}, got {verdict:?}"
            );
        }
        assert_eq!(
            stdout.matches(&format!("{level} guarantees: ")).count(),
            MATRIX.len(),
            "{stdout}"
        );
        // How each prevention happened, from what the engine did.
        assert!(
            stdout.contains("how: t2 waited for t1 at step 4"),
            "the second writer of the dirty-write demo blocks at {level}: {stdout}"
        );
        match *level {
            "READ UNCOMMITTED" | "READ COMMITTED" => {
                assert!(
                    stdout.contains("x = 12 and y = 22 are both t2's"),
                    "{stdout}"
                );
                assert!(stdout.contains("both increments committed, yet x = 11"));
            }
            "REPEATABLE READ" => {
                assert!(
                    stdout.contains("t2 failed with 40001 at step 6"),
                    "lost update aborts the second writer: {stdout}"
                );
                assert!(stdout.contains("t1 read x = 10 both times"), "{stdout}");
            }
            _ => {
                assert!(
                    stdout.contains("t2 failed with 40001 at step 8"),
                    "write skew aborts the second committer: {stdout}"
                );
            }
        }
        assert!(!stdout.contains("did not show it"), "{stdout}");
    }
}

#[test]
fn a_demo_shows_its_steps_and_the_waiting_session() {
    isodb()
        .args(["--temp", "-c", "\\isolation read committed"])
        .args(["-c", "\\demo lost-update", "-c", "\\dt"])
        .assert()
        .success()
        .stdout(contains(
            " 6. t2: UPDATE demo SET value = 11 WHERE id = 1       -- t2 writes what it read + 1\n\
             t2: waiting for t1 (row lock on demo (id=1))\n",
        ))
        .stdout(contains("t2: UPDATE 1\n"))
        .stdout(contains(
            "READ COMMITTED allows lost update (P4) (ISOLATION.md); this run agrees.",
        ))
        .stdout(contains("(0 rows)"));
}

#[test]
fn demos_are_listed_and_never_drop_a_user_table() {
    isodb()
        .args(["--temp", "-c", "\\demo"])
        .assert()
        .success()
        .stdout(contains("  write-skew "))
        .stdout(contains("  dirty-write "));
    isodb()
        .args(["--temp", "-c", "\\demo nonsense"])
        .assert()
        .code(1)
        .stderr(contains("there is no demo \"nonsense\""));
    isodb()
        .args(["--temp", "--on-error", "continue"])
        .args([
            "-c",
            "create table demo (id int primary key); insert into demo values (42)",
        ])
        .args(["-c", "\\demo lost-update", "-c", "select id from demo"])
        .assert()
        .code(1)
        .stderr(contains("a table demo exists"))
        .stdout(contains(" 42\n(1 row)\n"));
}
