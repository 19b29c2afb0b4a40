//! `secret.key`: read (refused when group or others may open it), generated on first use and
//! replaced atomically after a rotation.
//!
//! The file holds one `VERSION:KEY` line per key, the current (highest) version first. A file
//! written before versions were stored in it holds a bare key, which stays readable.

use std::io::Read as _;
use std::path::Path;

use codex_pooler_tower::credentials::SealingKey;

use super::error::SecretKeyError;
use super::{SecretKeys, parse};
use crate::error::ServerError;
use crate::private_files::{GROUP_OR_OTHER, mode, replace_private_file, write_private_file};

/// The keys of the file at `path`; when there is none yet, a new random key of `version` (the
/// value of `CODEX_POOLER_SECRET_KEY_VERSION`, default 1) is written there first (mode 0600).
pub(crate) fn load_or_generate(
    path: &Path,
    version: Option<&str>,
) -> Result<SecretKeys, ServerError> {
    if let Some(contents) = read_private(path)? {
        return parse_and_wipe(contents, path, version);
    }
    let initial = version
        .map(parse::version_variable)
        .transpose()?
        .unwrap_or(1);
    let contents = contents_of(&[SealingKey::generate(initial)]);
    match write_private_file(path, contents.as_bytes()) {
        Ok(()) => parse_and_wipe(contents, path, version),
        // Another process wrote it first: use its key.
        Err(ServerError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            wipe(contents);
            let contents = read_private(path)?.ok_or_else(|| {
                ServerError::io(
                    format!("reading {}", path.display()),
                    std::io::ErrorKind::NotFound.into(),
                )
            })?;
            parse_and_wipe(contents, path, version)
        }
        Err(err) => {
            wipe(contents);
            Err(err)
        }
    }
}

/// Replaces the file at `path` with `keys`, atomically (mode 0600).
pub(crate) fn write(path: &Path, keys: &SecretKeys) -> Result<(), ServerError> {
    let all: Vec<SealingKey> = std::iter::once(keys.current())
        .chain(keys.previous())
        .cloned()
        .collect();
    let contents = contents_of(&all);
    let written = replace_private_file(path, contents.as_bytes());
    wipe(contents);
    written
}

/// The file's contents if it exists, refusing a file group or others may open.
fn read_private(path: &Path) -> Result<Option<String>, ServerError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(ServerError::io(format!("reading {}", path.display()), err)),
    };
    // The mode of the file actually opened, not of whatever the path names by now.
    let meta = file
        .metadata()
        .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
    let mode = mode(&meta);
    if mode & GROUP_OR_OTHER != 0 {
        return Err(SecretKeyError::NotPrivate {
            path: path.to_path_buf(),
            mode,
        }
        .into());
    }
    let mut contents = String::new();
    file.read_to_string(&mut contents)
        .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
    Ok(Some(contents))
}

/// Parses `contents`, then wipes them.
fn parse_and_wipe(
    contents: String,
    path: &Path,
    version: Option<&str>,
) -> Result<SecretKeys, ServerError> {
    let keys = SecretKeys::from_file(&contents, path, version);
    wipe(contents);
    Ok(keys?)
}

/// One `VERSION:KEY` line per key.
fn contents_of(keys: &[SealingKey]) -> String {
    keys.iter()
        .map(|key| format!("{}:{}\n", key.version(), key.to_config_value()))
        .collect()
}

/// Overwrites a string that held key material before its memory is freed (best effort: other
/// copies the allocator made while it grew are out of reach).
fn wipe(contents: String) {
    let mut bytes = contents.into_bytes();
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn generates_once_then_reads_the_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        let first = load_or_generate(&path, None).expect("generate");
        assert_eq!(first.current_version(), 1);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let contents = std::fs::read_to_string(&path).expect("read");
        assert!(
            contents.starts_with("1:") && contents.ends_with('\n'),
            "{contents}"
        );
        let again = load_or_generate(&path, None).expect("read");
        assert_eq!(
            again.current().to_config_value(),
            first.current().to_config_value()
        );
        // The version variable names the first key's version, and must agree afterwards.
        let other = dir.path().join("other.key");
        assert_eq!(
            load_or_generate(&other, Some("3"))
                .expect("generate")
                .current_version(),
            3
        );
        assert!(load_or_generate(&other, Some("3")).is_ok());
        assert!(matches!(
            load_or_generate(&other, Some("2")),
            Err(ServerError::SecretKeys(SecretKeyError::VersionMismatch {
                configured: 2,
                file: 3,
                ..
            }))
        ));
    }

    #[test]
    fn a_legacy_file_keeps_working() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        std::fs::write(&path, KEY).expect("write");
        chmod(&path, 0o600);
        let keys = load_or_generate(&path, None).expect("legacy");
        assert_eq!(keys.current_version(), 1);
        assert_eq!(keys.current().to_config_value(), KEY);
        // As before versions were stored in the file, the variable names its version.
        assert_eq!(
            load_or_generate(&path, Some("4"))
                .expect("legacy")
                .current_version(),
            4
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            KEY,
            "untouched"
        );
    }

    #[test]
    fn refuses_a_file_others_may_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        std::fs::write(&path, KEY).expect("write");
        for mode in [0o644, 0o640, 0o604, 0o660] {
            chmod(&path, mode);
            let err = load_or_generate(&path, None).expect_err("refused");
            assert!(
                matches!(&err, ServerError::SecretKeys(SecretKeyError::NotPrivate { mode: m, .. }) if *m == mode),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("run `chmod 600 {}`", path.display())),
                "{message}"
            );
            assert!(!message.contains(KEY));
        }
        chmod(&path, 0o400);
        assert!(load_or_generate(&path, None).is_ok(), "read-only is fine");
    }

    #[test]
    fn write_replaces_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        std::fs::write(&path, KEY).expect("write");
        chmod(&path, 0o600);
        let keys = load_or_generate(&path, None).expect("legacy");
        let rotated = keys.with_new_current(SealingKey::generate(2));
        write(&path, &rotated).expect("write");
        let contents = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = contents.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("2:"));
        assert_eq!(lines[1], format!("1:{KEY}"));
        let reread = load_or_generate(&path, None).expect("reread");
        assert_eq!(reread.versions().collect::<Vec<_>>(), vec![2, 1]);

        write(&path, &reread.retaining(|_| false)).expect("write");
        let reread = load_or_generate(&path, None).expect("reread");
        assert_eq!(reread.versions().collect::<Vec<_>>(), vec![2]);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
