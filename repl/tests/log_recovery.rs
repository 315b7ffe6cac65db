//! The shell and a write-ahead log that lost committed records: the open is
//! refused with the log's name and the way forward, and `--accept-log-loss`
//! opens what is left and says how many records were lost.

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn isodb() -> Command {
    let mut command = Command::cargo_bin("isodb").expect("the isodb binary is built");
    command.timeout(std::time::Duration::from_secs(60));
    command
}

#[test]
fn a_log_cut_short_is_refused_by_name_and_accept_log_loss_opens_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    let mut script = String::from("create table t (id int primary key);\n");
    for i in 1..=5 {
        script.push_str(&format!("insert into t values ({i});\n"));
    }
    isodb().arg(&db).args(["-c", &script]).assert().success();
    let log = std::fs::read_dir(&db)
        .expect("db dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .expect("a log");
    // Cut into the last record: the last INSERT's commit.
    let len = std::fs::metadata(&log).expect("meta").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open");
    file.set_len(len - 3).expect("cut");
    drop(file);

    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    isodb()
        .arg(&db)
        .args(["-c", "select count(*) from t"])
        .assert()
        .code(2)
        .stderr(contains(name.as_str()))
        .stderr(contains("XX001").or(contains("corruption")))
        .stderr(contains("--accept-log-loss"));
    isodb()
        .arg(&db)
        .arg("--accept-log-loss")
        .args(["-c", "select count(*) from t"])
        .assert()
        .success()
        .stderr(contains("point-in-time log recovery"))
        .stderr(contains("1 lost"))
        .stdout(contains("     4\n"));
    // Recovered: a plain open works again and nothing more is lost.
    isodb()
        .arg(&db)
        .args(["-c", "select count(*) from t"])
        .assert()
        .success()
        .stderr("")
        .stdout(contains("     4\n"));
}
