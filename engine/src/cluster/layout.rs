//! The directory of a database of several shards: a `CLUSTER` file naming
//! the shard count, and one engine directory per shard.
//!
//! ```text
//!   DB/CLUSTER          "isodb cluster 1\nshards 4\n" (written once, atomically)
//!   DB/shard-000/       an engine: its own log, LSM tree, manifest, LOCK
//!   DB/shard-001/ …
//! ```
//!
//! A database of one shard has no `CLUSTER` file: its engine lives in `DB`
//! itself, as before shards existed, so older databases open unchanged.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::txn::MAX_SHARDS;
use crate::{Error, Result};

const CLUSTER_FILE: &str = "CLUSTER";
const HEADER: &str = "isodb cluster 1";

/// Where a database's shards live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The database directory.
    pub root: PathBuf,
    /// Number of shards.
    pub shards: u16,
}

impl Layout {
    /// The directory of shard `shard`.
    pub fn shard_dir(&self, shard: u16) -> PathBuf {
        if self.shards == 1 {
            self.root.clone()
        } else {
            self.root.join(format!("shard-{shard:03}"))
        }
    }

    /// The layout of an existing database in `root` (`None` when `root`
    /// holds neither a `CLUSTER` file nor an engine), without creating
    /// anything: for the tools that only read a database.
    pub fn existing(root: &Path) -> Result<Option<Layout>> {
        let shards = match read_cluster_file(root)? {
            Some(shards) => shards,
            None if root.join("CURRENT").exists() => 1,
            None => return Ok(None),
        };
        Ok(Some(Layout {
            root: root.to_path_buf(),
            shards,
        }))
    }

    /// Reads the layout of the database in `root`, or creates one of
    /// `wanted` shards (1 when `None`) if there is none yet. An existing
    /// database keeps its shard count; asking for another is an error.
    pub fn open_or_create(root: &Path, wanted: Option<u16>) -> Result<Layout> {
        if let Some(shards) = read_cluster_file(root)? {
            if let Some(wanted) = wanted
                && wanted != shards
            {
                return Err(Error::InvalidArgument(format!(
                    "the database at {} has {shards} shards, not {wanted}; the shard count is fixed when a database is created",
                    root.display()
                )));
            }
            return Ok(Layout {
                root: root.to_path_buf(),
                shards,
            });
        }
        let wanted = wanted.unwrap_or(1);
        if wanted == 0 || usize::from(wanted) > MAX_SHARDS {
            return Err(Error::InvalidArgument(format!(
                "a database has 1 to {MAX_SHARDS} shards, not {wanted}"
            )));
        }
        let holds_engine = root.join("CURRENT").exists();
        if holds_engine && wanted != 1 {
            return Err(Error::InvalidArgument(format!(
                "the database at {} has 1 shard, not {wanted}; the shard count is fixed when a database is created",
                root.display()
            )));
        }
        if wanted > 1 {
            write_cluster_file(root, wanted)?;
        }
        Ok(Layout {
            root: root.to_path_buf(),
            shards: wanted,
        })
    }
}

fn read_cluster_file(root: &Path) -> Result<Option<u16>> {
    let path = root.join(CLUSTER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut lines = text.lines();
    let shards = match (lines.next(), lines.next(), lines.next()) {
        (Some(HEADER), Some(count), None) => count
            .strip_prefix("shards ")
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|&n| n >= 2 && usize::from(n) <= MAX_SHARDS),
        _ => None,
    };
    shards
        .map(Some)
        .ok_or_else(|| Error::corruption(&path, 0, "not a well-formed CLUSTER file"))
}

fn write_cluster_file(root: &Path, shards: u16) -> Result<()> {
    if root.exists() {
        let mut entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
        if entries.next().is_some() {
            return Err(Error::NotADatabase {
                path: root.to_path_buf(),
                reason: "the directory is not empty, and holds no database".into(),
            });
        }
    }
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let tmp = root.join(format!("{CLUSTER_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(format!("{HEADER}\nshards {shards}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    let path = root.join(CLUSTER_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    std::fs::File::open(root)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io(root, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_keeps_its_shard_count() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("db");
        let layout = Layout::open_or_create(&root, Some(4)).expect("create");
        assert_eq!(layout.shards, 4);
        assert_eq!(layout.shard_dir(2), root.join("shard-002"));
        assert_eq!(Layout::open_or_create(&root, None).expect("open").shards, 4);
        let error = Layout::open_or_create(&root, Some(2)).expect_err("other count");
        assert!(error.to_string().contains("has 4 shards"), "{error}");
    }

    #[test]
    fn one_shard_lives_in_the_root_and_a_damaged_file_is_reported() {
        let dir = tempfile::tempdir().expect("dir");
        let layout = Layout::open_or_create(dir.path(), None).expect("create");
        assert_eq!(layout.shard_dir(0), dir.path());
        assert!(!dir.path().join(CLUSTER_FILE).exists());
        std::fs::write(dir.path().join(CLUSTER_FILE), "garbage").expect("write");
        let error = Layout::open_or_create(dir.path(), None).expect_err("damaged");
        assert_eq!(error.sqlstate(), "XX001");
        assert!(Layout::open_or_create(&dir.path().join("x"), Some(0)).is_err());
    }
}
