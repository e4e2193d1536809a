//! Writing a state file safely (rfc5011.md §6): a temporary file in the
//! same directory created with `O_EXCL`, written and fsynced, renamed over
//! the target, then the directory fsynced. A crash at any moment leaves
//! either the old file or the new one, complete. A failed write leaves the
//! old file in place and says why, naming the directory where that is
//! where the problem lies (read-only file system, permissions).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A failed write: what was being done, to which path, and the error.
#[derive(Debug)]
pub struct WriteError {
    /// The path the step was about (the temporary file, the target or the directory).
    pub path: PathBuf,
    /// The step: "create", "write", "fsync", "rename", "fsync directory".
    pub step: &'static str,
    /// The OS error.
    pub error: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = match self.error.raw_os_error() {
            Some(30) => {
                " (read-only file system: the directory must be writable, e.g. systemd ReadWritePaths=)"
            }
            Some(13) | Some(1) => {
                " (permission denied: the daemon user needs write access to the directory)"
            }
            Some(28) => " (no space left on the device)",
            _ => "",
        };
        write!(
            f,
            "{} {}: {}{hint}",
            self.step,
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for WriteError {}

fn dir_and_name(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "anchor".into());
    (dir, name)
}

/// Can `path` be replaced (a temporary file created in its directory)?
/// Checked at startup, so that a read-only state directory is reported
/// before the first key event needs it.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let (dir, name) = dir_and_name(path);
    let (tmp, file) = create_temp(&dir, &name)?;
    drop(file);
    let _ = fs::remove_file(tmp);
    Ok(())
}

fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File), WriteError> {
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp.{}.{n}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true) // O_CREAT | O_EXCL
            .mode(0o644)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(WriteError {
                    path: dir.to_path_buf(),
                    step: "create a temporary file in",
                    error,
                });
            }
        }
    }
}

/// Replace `path` with `contents` atomically and durably.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let (dir, name) = dir_and_name(path);
    let (tmp, mut file) = create_temp(&dir, &name)?;
    let fail = |step, error, tmp: &Path| {
        let _ = fs::remove_file(tmp);
        WriteError {
            path: tmp.to_path_buf(),
            step,
            error,
        }
    };
    if let Err(e) = file.write_all(contents) {
        return Err(fail("write", e, &tmp));
    }
    if let Err(e) = file.sync_all() {
        return Err(fail("fsync", e, &tmp));
    }
    drop(file);
    if let Err(error) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(WriteError {
            path: path.to_path_buf(),
            step: "rename over",
            error,
        });
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|error| WriteError {
            path: dir,
            step: "fsync directory",
            error,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn writability_is_checked_without_leaving_anything() {
        let dir = tempfile::tempdir().unwrap();
        check_writable(&dir.path().join("root.key")).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let e = check_writable(&dir.path().join("nope").join("root.key")).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-subdir").join("root.key");
        let e = write_atomic(&path, b"new").unwrap_err();
        assert!(e.to_string().contains("missing-subdir"), "{e}");
        // A target that is a directory: rename fails, the old content stays.
        let target = dir.path().join("busy");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("x"), "keep").unwrap();
        let e = write_atomic(&target, b"new").unwrap_err();
        assert_eq!(e.step, "rename over");
        assert_eq!(fs::read_to_string(target.join("x")).unwrap(), "keep");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
