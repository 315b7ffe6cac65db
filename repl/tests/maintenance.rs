//! `isodb check PATH` and `isodb recover PATH --to NEW` on a database written
//! through the shell (a table of 30,000 rows, big enough that a table file is
//! flushed mid-session, and a small table still in the log), damaged the
//! ways issue 22 lists: one bad block, a manifest cut in half, and a path
//! that is not a database.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

const ROWS: u32 = 30_000;

fn isodb() -> Command {
    let mut command = Command::cargo_bin("isodb").expect("the isodb binary is built");
    command.timeout(std::time::Duration::from_secs(120));
    command
}

/// `t`: ROWS rows of about 200 bytes; `u`: 5 rows.
fn write_database(db: &Path) {
    let mut script = String::from("create table t (id int primary key, v text not null);\n");
    let filler = "x".repeat(200);
    for chunk in 0..ROWS / 1000 {
        script.push_str("insert into t values ");
        let rows: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| format!("({i}, '{filler}')"))
            .collect();
        script.push_str(&rows.join(", "));
        script.push_str(";\n");
    }
    script.push_str("create table u (id int primary key);\n");
    script.push_str("insert into u values (1), (2), (3), (4), (5);\n");
    let file = db.with_extension("sql");
    std::fs::write(&file, script).expect("write script");
    let status = isodb()
        .arg(db)
        .arg("-f")
        .arg(&file)
        .output()
        .expect("run")
        .status;
    assert!(status.success(), "the script ran");
}

fn files(db: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(db)
        .expect("db dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The first number in the last line of a `count(*)` table.
fn count(db: &Path, sql: &str) -> u64 {
    let output = isodb()
        .arg(db)
        .args(["--format", "csv", "-c", sql])
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {text:?}"))
}

#[test]
fn check_finds_a_bad_block_and_recover_saves_every_row_outside_it() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    write_database(&db);
    let tables = files(&db, "sst");
    assert!(!tables.is_empty(), "a table was flushed mid-session");
    isodb()
        .arg("check")
        .arg(&db)
        .assert()
        .success()
        .stdout(contains("no damage found"));

    // One bad byte in the middle of the largest table: a data block.
    let table = tables
        .iter()
        .max_by_key(|t| std::fs::metadata(t).map_or(0, |m| m.len()))
        .expect("a table")
        .clone();
    let mut bytes = std::fs::read(&table).expect("read");
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0x5a;
    std::fs::write(&table, bytes).expect("write");
    let name = table.file_name().unwrap().to_string_lossy().into_owned();

    isodb()
        .arg("check")
        .arg(&db)
        .assert()
        .code(1)
        .stdout(contains(format!("DAMAGE  {name}")))
        .stdout(contains("data block"))
        .stdout(contains("isodb recover"));
    // The other table reads; the damaged one says what and where.
    assert_eq!(count(&db, "select count(*) from u"), 5);
    isodb()
        .arg(&db)
        .args(["-c", "select count(*) from t"])
        .assert()
        .code(1)
        .stderr(contains("XX001"))
        .stderr(contains(name.as_str()))
        .stderr(contains("data block"))
        .stderr(contains("isodb recover"));

    let new = dir.path().join("new");
    isodb()
        .arg("recover")
        .arg(&db)
        .arg("--to")
        .arg(&new)
        .assert()
        .code(1)
        .stdout(contains("NOT SAVED"))
        .stdout(contains("that is: t (id="));
    let saved = count(&new, "select count(*) from t");
    let lost = u64::from(ROWS) - saved;
    // One block of ~4 KiB holds about 18 rows of this table.
    assert!((1..=40).contains(&lost), "lost {lost} rows");
    // What was saved is one contiguous gap short of the whole table.
    let outside = count(
        &new,
        &format!("select count(*) from t where v = '{}'", "x".repeat(200)),
    );
    assert_eq!(outside, saved, "every saved row is intact");
    assert_eq!(count(&new, "select count(*) from u"), 5);
    // The damaged database was only read.
    isodb().arg("check").arg(&db).assert().code(1);
}

#[test]
fn a_manifest_cut_in_half_is_refused_by_name_and_recover_saves_every_row() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    write_database(&db);
    let manifest = std::fs::read_dir(&db)
        .expect("db")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("MANIFEST-"))
        .expect("a manifest");
    let len = std::fs::metadata(&manifest).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .expect("open")
        .set_len(len / 2)
        .expect("cut");
    let tables_before = files(&db, "sst");
    let name = manifest.file_name().unwrap().to_string_lossy().into_owned();

    isodb()
        .arg(&db)
        .args(["-c", "select count(*) from t"])
        .assert()
        .code(2)
        .stderr(contains(name.as_str()))
        .stderr(contains("torn record"));
    assert_eq!(files(&db, "sst"), tables_before, "the open deleted nothing");
    isodb()
        .arg("check")
        .arg(&db)
        .assert()
        .code(1)
        .stdout(contains(format!("DAMAGE  {name}")));

    let new = dir.path().join("new");
    isodb()
        .arg("recover")
        .arg(&db)
        .arg("--to")
        .arg(&new)
        .assert()
        .success()
        .stdout(contains("the files that are there hold was saved"));
    assert_eq!(count(&new, "select count(*) from t"), u64::from(ROWS));
    assert_eq!(count(&new, "select count(*) from u"), 5);
}

#[test]
fn a_folder_that_is_not_a_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
    isodb()
        .arg(dir.path())
        .args(["-c", "select 1"])
        .assert()
        .code(2)
        .stderr(contains("is not an isodb database"));
    isodb().arg("check").arg(dir.path()).assert().code(2);
    let new = dir.path().join("new");
    isodb()
        .arg("recover")
        .arg(dir.path())
        .arg("--to")
        .arg(&new)
        .assert()
        .code(2);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["notes.txt"], "nothing was created");
}

/// The manifest's last byte cut after a clean close loses only the log's
/// seal: the database opens with every row, says what it kept aside, and
/// deletes no table.
#[test]
fn a_manifest_missing_its_last_byte_opens_whole_and_says_what_it_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    write_database(&db);
    let manifest = std::fs::read_dir(&db)
        .expect("db")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("MANIFEST-"))
        .expect("a manifest");
    let len = std::fs::metadata(&manifest).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&manifest)
        .expect("open")
        .set_len(len - 1)
        .expect("cut");
    let tables_before = files(&db, "sst");
    isodb()
        .arg(&db)
        .args(["--format", "csv", "-c", "select count(*) from t"])
        .assert()
        .success()
        .stdout(contains(ROWS.to_string()))
        .stderr(contains("kept files aside"))
        .stderr(contains(".torn"));
    let tables_after = files(&db, "sst");
    assert!(
        tables_before.iter().all(|t| tables_after.contains(t)),
        "{tables_before:?} -> {tables_after:?}"
    );
    isodb().arg("check").arg(&db).assert().success();
}

/// A database of three shards (`isodb --shards 3`): `\d` says how rows are
/// placed, `check` reads every shard, `recover` makes a new database of as
/// many shards with every row, and a damaged `CLUSTER` file is refused by name.
#[test]
fn a_sharded_database_is_checked_and_recovered_shard_by_shard() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    let mut script = String::from("create table t (id int primary key, v text not null);\n");
    let rows: Vec<String> = (0..3000).map(|i| format!("({i}, 'row {i}')")).collect();
    script.push_str(&format!("insert into t values {};\n", rows.join(", ")));
    let file = dir.path().join("setup.sql");
    std::fs::write(&file, script).expect("write script");
    isodb()
        .arg(&db)
        .args(["--shards", "3", "-f"])
        .arg(&file)
        .assert()
        .success();
    for shard in 0..3 {
        assert!(
            db.join(format!("shard-00{shard}")).is_dir(),
            "shard {shard}"
        );
    }
    isodb()
        .arg(&db)
        .args(["-c", "\\d t"])
        .assert()
        .success()
        .stdout(contains(
            "Distribution: hash of the primary key (id) over 3 shards",
        ));
    // The count is fixed at creation.
    isodb()
        .arg(&db)
        .args(["--shards", "2", "-c", "select 1"])
        .assert()
        .failure()
        .stderr(contains("has 3 shards, not 2"));

    let checked = isodb().arg("check").arg(&db).assert().success();
    let text = String::from_utf8_lossy(&checked.get_output().stdout).into_owned();
    for shard in 0..3 {
        assert!(text.contains(&format!("shard {shard} of 3")), "{text}");
    }
    assert_eq!(text.matches("no damage found").count(), 3, "{text}");

    let new = dir.path().join("new");
    isodb()
        .arg("recover")
        .arg(&db)
        .arg("--to")
        .arg(&new)
        .assert()
        .success();
    assert!(
        new.join("shard-002").is_dir(),
        "the new database has 3 shards"
    );
    assert_eq!(count(&new, "select count(*) from t"), 3000);
    assert_eq!(
        count(&new, "select count(*) from t where v like 'row %'"),
        3000
    );

    std::fs::write(db.join("CLUSTER"), "isodb cluster 1\nshards x\n").expect("damage");
    isodb()
        .arg("check")
        .arg(&db)
        .assert()
        .code(2)
        .stderr(contains("CLUSTER"));
}
