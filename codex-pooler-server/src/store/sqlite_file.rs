//! The SQLite database file is private: mode 0600, and its WAL and SHM files with it.
//!
//! SQLite creates `-wal` and `-shm` with the permissions of the database file, so a database
//! file created 0600 before SQLite first opens it keeps all three private whatever the umask or
//! the directory's mode. A database file created by an older version (0644 under the usual
//! umask) is narrowed to 0600 when it is opened, with its WAL and SHM.

use std::path::{Path, PathBuf};

use codex_pooler_core::store::StoreError;

/// The database file's companions SQLite creates beside it in WAL mode.
const COMPANIONS: [&str; 2] = ["-wal", "-shm"];

/// Creates `path` empty with mode 0600 unless it exists (SQLite takes an empty file as an empty
/// database).
///
/// # Errors
///
/// [`StoreError::Backend`] when the file can be neither created nor found.
pub(crate) fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::Backend(format!(
            "cannot create the database file {}: {err}",
            path.display()
        ))),
    }
}

/// Takes group and other permissions off the database file and its WAL and SHM, where they
/// have any. A file this process may not change (owned by another user) is left as it is, with
/// a warning.
pub(crate) fn restrict(path: &Path) {
    for file in files(path) {
        if let Err(err) = restrict_one(&file) {
            tracing::warn!(
                file = %file.display(),
                error = %err,
                "cannot make the database file private (chmod 600)"
            );
        }
    }
}

/// The database file, its WAL and its SHM.
fn files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in COMPANIONS {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

#[cfg(unix)]
fn restrict_one(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;

    let mode = match std::fs::metadata(file) {
        Ok(meta) => meta.permissions().mode(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))
}

#[cfg(not(unix))]
fn restrict_one(_file: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn creates_a_private_file_and_keeps_an_existing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pooler.db");
        create_private(&path).expect("create");
        assert_eq!(mode(&path), 0o600);
        std::fs::write(&path, b"kept").expect("write");
        create_private(&path).expect("exists");
        assert_eq!(std::fs::read(&path).expect("read"), b"kept");
        let missing_dir = dir.path().join("nope").join("pooler.db");
        let err = create_private(&missing_dir).expect_err("no directory");
        assert!(err.to_string().contains("cannot create the database file"));
    }

    #[test]
    fn restricts_the_database_and_its_companions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pooler.db");
        for file in files(&path) {
            std::fs::write(&file, b"").expect("write");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).expect("chmod");
        }
        let unrelated = dir.path().join("pooler.db-journal-other");
        std::fs::write(&unrelated, b"").expect("write");
        std::fs::set_permissions(&unrelated, std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        restrict(&path);
        for file in files(&path) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        assert_eq!(mode(&unrelated), 0o644);
        // Missing companions are fine.
        std::fs::remove_file(dir.path().join("pooler.db-wal")).expect("rm");
        restrict(&path);
    }
}
