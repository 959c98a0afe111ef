//! Durable, atomic file replacement: a crash leaves every file either old or
//! new, never a mix, and a replacement abandoned before its commit changes
//! nothing.

use crate::{Error, Result};
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes`: write a temporary file beside it, sync it,
/// rename it over the old one, sync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_files(&[(path, bytes)], 0o644)
}

/// [`write_atomic`] for secrets: the file is created with mode 0600, so no reader
/// can open it between its creation and a later chmod.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_files(&[(path, bytes)], 0o600)
}

/// Replaces several files at once: every file is written and synced beside its
/// target before any is renamed, so a failure part-way changes none.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<()> {
    replace_files(files, 0o644)
}

fn replace_files(files: &[(&Path, &[u8])], mode: u32) -> Result<()> {
    let mut replacement = Replacement::with_mode(mode);
    for (path, bytes) in files {
        replacement.stage(path, bytes)?;
    }
    replacement.commit()
}

/// Files on their way to replacing others. [`Replacement::stage`] takes a file
/// to write beside its target; [`Replacement::commit`] writes and syncs each,
/// renames every one into place in the order staged and syncs each directory
/// involved. Until the commit nothing is written; a replacement dropped without
/// one leaves no trace.
pub struct Replacement {
    mode: u32,
    staged: Vec<Staged>,
    next_id: u64,
}

struct Staged {
    target: PathBuf,
    temporary: PathBuf,
    bytes: Bytes,
}

impl Default for Replacement {
    fn default() -> Self {
        Self::with_mode(0o644)
    }
}

impl Replacement {
    /// New files are created with `mode` (0o600 for secrets: no reader can open
    /// them between their creation and a later chmod).
    pub fn with_mode(mode: u32) -> Self {
        Replacement {
            mode,
            staged: Vec::new(),
            next_id: 0,
        }
    }

    /// Takes a copy of `bytes` to write beside `path`. Files are renamed in the
    /// order staged; staging a path again replaces what was staged for it.
    pub fn stage(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.stage_shared(path, Bytes::copy_from_slice(bytes))
    }

    /// [`Replacement::stage`] without a copy: an update stages the very bytes it
    /// checked.
    pub fn stage_shared(&mut self, path: &Path, bytes: Bytes) -> Result<()> {
        self.unstage(path);
        let name = path
            .file_name()
            .ok_or_else(|| Error::io(path, std::io::Error::other("the path has no file name")))?;
        let temporary = parent_dir(path).join(format!(
            ".{}.tmp-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            self.next_id
        ));
        self.next_id += 1;
        self.staged.push(Staged {
            target: path.to_path_buf(),
            temporary,
            bytes,
        });
        Ok(())
    }

    /// Forgets what was staged for `path`, if anything.
    pub fn unstage(&mut self, path: &Path) {
        self.staged.retain(|s| s.target != path);
    }

    /// Renames `path`, if staged, after every other file.
    pub fn rename_last(&mut self, path: &Path) {
        if let Some(i) = self.staged.iter().position(|s| s.target == path) {
            let moved = self.staged.remove(i);
            self.staged.push(moved);
        }
    }

    /// Writes and syncs every staged file beside its target, renames each over
    /// its target in the order staged, and syncs their directories.
    pub fn commit(mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        let remove_all = |from: usize| {
            for s in &staged[from..] {
                let _ = std::fs::remove_file(&s.temporary);
            }
        };
        for s in &staged {
            if let Err(e) = write_synced(&s.temporary, &s.bytes, self.mode) {
                remove_all(0);
                return Err(Error::io(&s.target, e));
            }
        }
        let mut dirs: Vec<&Path> = Vec::new();
        for (i, s) in staged.iter().enumerate() {
            if let Err(e) = std::fs::rename(&s.temporary, &s.target) {
                remove_all(i);
                return Err(Error::io(&s.target, e));
            }
            let dir = parent_dir(&s.target);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }
}

/// Creates `path` (and its directory) with `mode`, writes `bytes`, syncs.
fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(parent_dir(path))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Reads `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads `path`, refusing it past `limit` bytes: it reads at most the limit, rather
/// than trusting the file's size beforehand (a pipe or a growing file has none).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            url: path.display().to_string(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/root.json");
        write_atomic(&path, b"first, longer content").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(read_optional(&path).unwrap().unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["root.json"]);
        assert!(read_optional(&dir.path().join("missing"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn several_files_replace_together_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("metadata");
        let at = |n: &str| meta.join(n);
        let (root, targets, snapshot) = (at("root.json"), at("targets.json"), at("snapshot.json"));
        let log = dir.path().join("logs/origin.checkpoint");
        write_all_atomic(&[(&root, b"r1"), (&targets, b"t1"), (&log, b"c1")]).unwrap();
        write_all_atomic(&[(&targets, b"t2"), (&snapshot, b"s2")]).unwrap();
        assert_eq!(std::fs::read(&log).unwrap(), b"c1");
        assert_eq!(std::fs::read(meta.join("root.json")).unwrap(), b"r1");
        assert_eq!(std::fs::read(meta.join("targets.json")).unwrap(), b"t2");
        let mut names: Vec<_> = std::fs::read_dir(&meta)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["root.json", "snapshot.json", "targets.json"]);
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_replacement_dropped_before_its_commit_changes_nothing_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let trusted = dir.path().join("targets.json");
        write_atomic(&trusted, b"trusted").unwrap();
        let mut r = Replacement::default();
        r.stage(&trusted, b"unchecked").unwrap();
        r.stage(&dir.path().join("new.json"), b"unchecked").unwrap();
        r.stage(&dir.path().join("later.json"), b"unchecked")
            .unwrap();
        drop(r);
        assert_eq!(std::fs::read(&trusted).unwrap(), b"trusted");
        assert_eq!(names_in(dir.path()), ["targets.json"]);
    }

    #[test]
    fn many_large_files_replace_together() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("fresh/metadata");
        let names: Vec<String> = (0..11).map(|i| format!("{i}.json")).collect();
        let content = |i: usize| vec![b"0123456789"[i % 10]; 50_000];
        let mut r = Replacement::default();
        for (i, name) in names.iter().enumerate() {
            r.stage(&meta.join(name), &content(i)).unwrap();
        }
        r.commit().unwrap();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(std::fs::read(meta.join(name)).unwrap(), content(i));
        }
        assert_eq!(names_in(&meta).len(), names.len(), "no temporaries left");
    }

    #[test]
    fn staging_a_path_again_commits_only_the_latest_and_unstage_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        let mut r = Replacement::default();
        r.stage(&a, b"a1").unwrap();
        r.stage(&b, b"b1").unwrap();
        r.stage(&a, b"a2").unwrap();
        r.stage(&c, b"c1").unwrap();
        r.unstage(&c);
        r.rename_last(&a);
        r.commit().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"a2");
        assert_eq!(std::fs::read(&b).unwrap(), b"b1");
        assert_eq!(names_in(dir.path()), ["a", "b"]);
    }

    /// Regression: `tuflog download … -o file` with a bare file name failed with
    /// "No such file or directory", creating the parent directory "".
    #[test]
    fn regression_a_bare_file_name_is_written_in_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let before = std::env::current_dir().unwrap();
        std::env::set_current_dir(dir.path()).unwrap();
        let result = write_atomic(Path::new("bare.txt"), b"x");
        std::env::set_current_dir(before).unwrap();
        result.unwrap();
        assert_eq!(std::fs::read(dir.path().join("bare.txt")).unwrap(), b"x");
    }
}
