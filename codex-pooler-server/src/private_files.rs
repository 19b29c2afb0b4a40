//! Files and directories only their owner may read: the data directory, `secret.key` and the
//! `auth.json` files `keys create` writes.
//!
//! New files are created with mode 0600 and new directories with 0700, whatever the umask.
//! [`replace_private_file`] swaps a file's contents atomically (a private temporary file renamed
//! over it), so a crash leaves either the old contents or the new ones, never half of them.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ServerError;

/// The permission bits of group and others.
pub(crate) const GROUP_OR_OTHER: u32 = 0o077;

/// Creates `dir` and its missing parents, the new ones with mode 0700. An existing directory
/// keeps its mode.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))
}

/// Creates a new, empty file readable by its owner only (mode 0600); fails if it exists.
pub(crate) fn create_private_file(path: &Path) -> Result<std::fs::File, ServerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| ServerError::io(format!("creating {}", path.display()), e))
}

/// Writes a new file readable by its owner only; fails if it exists.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), ServerError> {
    let file = create_private_file(path)?;
    write_and_sync(file, path, contents)
}

/// Writes `contents` to `file` (at `path`, for the error) and flushes it to disk.
pub(crate) fn write_and_sync(
    mut file: std::fs::File,
    path: &Path,
    contents: &[u8],
) -> Result<(), ServerError> {
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))
}

/// Replaces `path`'s contents atomically with a file readable by its owner only: writes a
/// private temporary file beside it, flushes it, renames it over `path` and flushes the
/// directory.
pub(crate) fn replace_private_file(path: &Path, contents: &[u8]) -> Result<(), ServerError> {
    let temporary = temporary_sibling(path);
    let written = create_private_file(&temporary)
        .and_then(|file| write_and_sync(file, &temporary, contents))
        .and_then(|()| {
            std::fs::rename(&temporary, path)
                .map_err(|e| ServerError::io(format!("replacing {}", path.display()), e))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
        return written;
    }
    // The rename is durable once the directory is flushed; a failure here loses nothing.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The permission bits of `meta` (0 off Unix, where there are none to check).
pub(crate) fn mode(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// A fresh name beside `path` for a temporary file.
fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}-{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn file_mode(path: &Path) -> u32 {
        mode(&std::fs::metadata(path).expect("metadata"))
    }

    #[test]
    fn new_files_and_directories_are_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a").join("b");
        create_private_dir(&dir).expect("dir");
        assert_eq!(file_mode(&dir), 0o700);
        assert_eq!(file_mode(&root.path().join("a")), 0o700);
        // An existing directory keeps its mode.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&dir).expect("dir again");
        assert_eq!(file_mode(&dir), 0o755);

        let path = dir.join("f");
        write_private_file(&path, b"one").expect("write");
        assert_eq!(file_mode(&path), 0o600);
        assert!(
            write_private_file(&path, b"two").is_err(),
            "never overwrites"
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"one");
    }

    #[test]
    fn replacing_is_atomic_and_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        replace_private_file(&path, b"first").expect("create");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        replace_private_file(&path, b"second").expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        assert_eq!(file_mode(&path), 0o600, "the new file is private");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret.key")]);

        let missing = dir.path().join("nope").join("secret.key");
        assert!(replace_private_file(&missing, b"x").is_err());
    }
}
