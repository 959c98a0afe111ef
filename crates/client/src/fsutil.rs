//! Durable, atomic file replacement for trusted state.

use crate::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new
/// content, never a mix: write a temporary file beside it, sync it, rename it over
/// the old one, sync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_files(&[(path, bytes)], 0o644)
}

/// [`write_atomic`] for secrets: the file is created with mode 0600, so no reader
/// can open it between its creation and a later chmod.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_files(&[(path, bytes)], 0o600)
}

/// Replaces several files at once: each is written beside its target, all are synced
/// side by side, then renamed, then each directory involved is synced. A crash leaves
/// every file either old or new (files may differ in which). Syncing side by side
/// lets the filesystem fold the syncs into one journal commit, where one after
/// another each waits for its own: a `tuflog update` writes five or six files.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<()> {
    replace_files(files, 0o644)
}

/// The one replacement mechanism behind every write here, new files created with
/// `mode`.
fn replace_files(files: &[(&Path, &[u8])], mode: u32) -> Result<()> {
    let mut written: Vec<std::path::PathBuf> = Vec::with_capacity(files.len());
    let mut dirs: Vec<&Path> = Vec::new();
    let result = (|| {
        let mut opened = Vec::with_capacity(files.len());
        for (path, bytes) in files {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            std::fs::create_dir_all(dir)?;
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
            let name = path.file_name().ok_or_else(|| {
                std::io::Error::other(format!("{} has no file name", path.display()))
            })?;
            let tmp = dir.join(format!(
                ".{}.tmp-{}",
                name.to_string_lossy(),
                std::process::id()
            ));
            written.push(tmp.clone());
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
            #[cfg(not(unix))]
            let _ = mode;
            let mut f = options.open(&tmp)?;
            f.write_all(bytes)?;
            opened.push(f);
        }
        sync_all_at_once(&opened)?;
        for ((path, _), tmp) in files.iter().zip(&written) {
            std::fs::rename(tmp, path)?;
        }
        let dir_handles = dirs
            .iter()
            .map(std::fs::File::open)
            .collect::<std::io::Result<Vec<_>>>()?;
        sync_all_at_once(&dir_handles)
    })();
    if result.is_err() {
        for tmp in &written {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result.map_err(|e| match files.first() {
        Some((p, _)) => Error::io(p, e),
        None => Error::io(Path::new("."), e),
    })
}

fn sync_all_at_once(files: &[std::fs::File]) -> std::io::Result<()> {
    if let [one] = files {
        return one.sync_all();
    }
    std::thread::scope(|scope| {
        let syncs: Vec<_> = files
            .iter()
            .map(|f| scope.spawn(move || f.sync_all()))
            .collect();
        syncs.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("sync thread panicked")))
        })
    })
}

/// Reads `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
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
