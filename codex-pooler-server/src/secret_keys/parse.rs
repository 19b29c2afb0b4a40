//! Parsing configured keys: `VERSION:KEY` entries, [`PREVIOUS_SECRET_KEYS_ENV`] and the lines
//! of `secret.key`.
//!
//! A key is what [`SealingKey::from_config_value`] accepts (base64 or 64 hex digits of 32
//! bytes); neither encoding uses `:`, so the first `:` ends the version.

use std::path::Path;

use codex_pooler_tower::credentials::SealingKey;

use super::error::{KeyLocation, SecretKeyError};
#[cfg(doc)]
use crate::settings::PREVIOUS_SECRET_KEYS_ENV;

/// A parsed key and where it was configured.
pub(crate) type Located = (SealingKey, KeyLocation);

/// Parses [`SECRET_KEY_VERSION_ENV`](crate::settings::SECRET_KEY_VERSION_ENV).
pub(crate) fn version_variable(value: &str) -> Result<u32, SecretKeyError> {
    value
        .trim()
        .parse()
        .map_err(|_| SecretKeyError::BadVersionVariable)
}

/// Parses one `VERSION:KEY` entry (surrounding whitespace ignored).
pub(crate) fn versioned_entry(
    entry: &str,
    location: KeyLocation,
) -> Result<Located, SecretKeyError> {
    let Some((version, key)) = entry.split_once(':') else {
        return Err(SecretKeyError::MissingVersion { location });
    };
    let Ok(version) = version.trim().parse::<u32>() else {
        return Err(SecretKeyError::BadVersion { location });
    };
    match SealingKey::from_config_value(key, version) {
        Ok(key) => Ok((key, location)),
        Err(source) => Err(SecretKeyError::BadKey { location, source }),
    }
}

/// Parses [`PREVIOUS_SECRET_KEYS_ENV`]: comma-separated `VERSION:KEY` entries. A blank value
/// holds none; an empty entry between commas is refused as malformed.
pub(crate) fn previous_keys(value: &str) -> Result<Vec<Located>, SecretKeyError> {
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .enumerate()
        .map(|(i, entry)| versioned_entry(entry, KeyLocation::PreviousEnv { entry: i + 1 }))
        .collect()
}

/// Parses a `secret.key` file: one `VERSION:KEY` per line (blank lines ignored), or a single
/// line holding only a key, as files written before key versions were stored in the file are;
/// that key has `unversioned` as its version.
pub(crate) fn key_file(
    contents: &str,
    path: &Path,
    unversioned: u32,
) -> Result<Vec<Located>, SecretKeyError> {
    let lines: Vec<(usize, &str)> = contents
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    let location = |line| KeyLocation::File {
        path: path.to_path_buf(),
        line,
    };
    match lines.as_slice() {
        [] => Err(SecretKeyError::EmptyFile {
            path: path.to_path_buf(),
        }),
        [(line, key)] if !key.contains(':') => SealingKey::from_config_value(key, unversioned)
            .map(|key| vec![(key, location(*line))])
            .map_err(|source| SecretKeyError::BadKey {
                location: location(*line),
                source,
            }),
        lines => lines
            .iter()
            .map(|(line, entry)| versioned_entry(entry, location(*line)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_tower::credentials::SealingKeyError;

    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    fn versions(keys: &[Located]) -> Vec<u32> {
        keys.iter().map(|(k, _)| k.version()).collect()
    }

    #[test]
    fn version_variable_is_a_whole_number() {
        assert_eq!(version_variable(" 7 "), Ok(7));
        assert_eq!(version_variable("0"), Ok(0));
        for bad in ["", "-1", "two", "1.5", "4294967296"] {
            assert_eq!(
                version_variable(bad),
                Err(SecretKeyError::BadVersionVariable),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn previous_keys_parse() {
        assert!(previous_keys("").expect("blank").is_empty());
        assert!(previous_keys("  ").expect("blank").is_empty());
        let keys = previous_keys(&format!("1:{KEY_A}, 3 : {KEY_B_HEX} ")).expect("two");
        assert_eq!(versions(&keys), vec![1, 3]);
        assert_eq!(keys[1].1, KeyLocation::PreviousEnv { entry: 2 });
    }

    #[test]
    fn malformed_previous_entries_are_typed() {
        let entry = |n| KeyLocation::PreviousEnv { entry: n };
        assert_eq!(
            previous_keys(KEY_A).err(),
            Some(SecretKeyError::MissingVersion { location: entry(1) })
        );
        assert_eq!(
            previous_keys(&format!("1:{KEY_A},,2:{KEY_A}")).err(),
            Some(SecretKeyError::MissingVersion { location: entry(2) })
        );
        assert_eq!(
            previous_keys(&format!("1:{KEY_A},")).err(),
            Some(SecretKeyError::MissingVersion { location: entry(2) })
        );
        assert_eq!(
            previous_keys(&format!("v2:{KEY_A}")).err(),
            Some(SecretKeyError::BadVersion { location: entry(1) })
        );
        assert_eq!(
            previous_keys(&format!(":{KEY_A}")).err(),
            Some(SecretKeyError::BadVersion { location: entry(1) })
        );
        assert_eq!(
            previous_keys("2:").err(),
            Some(SecretKeyError::BadKey {
                location: entry(1),
                source: SealingKeyError::Empty
            })
        );
        assert_eq!(
            previous_keys("2:AAAA").err(),
            Some(SecretKeyError::BadKey {
                location: entry(1),
                source: SealingKeyError::WrongLength { len: 3 }
            })
        );
    }

    #[test]
    fn key_files_parse() {
        let path = Path::new("/data/secret.key");
        // A file from before versions: one bare key, of the version given.
        let legacy = key_file(&format!("{KEY_A}\n"), path, 1).expect("legacy");
        assert_eq!(versions(&legacy), vec![1]);
        assert_eq!(
            versions(&key_file(KEY_A, path, 4).expect("legacy")),
            vec![4]
        );

        let both = key_file(&format!("\n2:{KEY_A}\n\n  1:{KEY_B_HEX}  \n"), path, 1).expect("two");
        assert_eq!(versions(&both), vec![2, 1]);
        assert_eq!(
            both[1].1,
            KeyLocation::File {
                path: path.to_path_buf(),
                line: 4
            }
        );
        // A single versioned line keeps its own version.
        assert_eq!(
            versions(&key_file(&format!("5:{KEY_A}"), path, 1).expect("one")),
            vec![5]
        );
    }

    #[test]
    fn malformed_key_files_are_typed() {
        let path = Path::new("/data/secret.key");
        let line = |n| KeyLocation::File {
            path: path.to_path_buf(),
            line: n,
        };
        assert_eq!(
            key_file(" \n\n", path, 1).err(),
            Some(SecretKeyError::EmptyFile {
                path: path.to_path_buf()
            })
        );
        assert_eq!(
            key_file(&format!("2:{KEY_A}\n{KEY_B_HEX}\n"), path, 1).err(),
            Some(SecretKeyError::MissingVersion { location: line(2) })
        );
        assert_eq!(
            key_file("not a key\n", path, 1).err(),
            Some(SecretKeyError::BadKey {
                location: line(1),
                source: SealingKeyError::NotEncoded
            })
        );
        assert_eq!(
            key_file(&format!("x:{KEY_A}"), path, 1).err(),
            Some(SecretKeyError::BadVersion { location: line(1) })
        );
    }

    #[test]
    fn errors_never_echo_keys() {
        let err = previous_keys(KEY_A).expect_err("no version");
        assert!(!err.to_string().contains(KEY_A), "{err}");
        let err = previous_keys("3:Zm9vYmFy").expect_err("short key");
        assert!(!err.to_string().contains("Zm9vYmFy"), "{err}");
        assert_eq!(
            err.to_string(),
            "CODEX_POOLER_PREVIOUS_SECRET_KEYS entry 1: sealing key decodes to 6 bytes; it must be \
             exactly 32"
        );
    }
}
