use std::path::Path;

use codex_pooler_core::store::SecretKind;
use codex_pooler_tower::credentials::SealingKeyError;

use super::*;

const KEY_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_2: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const KEY_3: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

fn versions(keys: &SecretKeys) -> Vec<u32> {
    keys.versions().collect()
}

#[test]
fn environment_keys() {
    let only = SecretKeys::from_env(KEY_1, None, None).expect("current only");
    assert_eq!(versions(&only), vec![1]);
    assert_eq!(only.source(), &KeySource::Environment);
    assert!(only.previous().is_empty());

    let blank = SecretKeys::from_env(KEY_1, Some("4"), Some(" ")).expect("blank previous");
    assert_eq!(versions(&blank), vec![4]);

    let rotated = SecretKeys::from_env(KEY_3, Some("3"), Some(&format!("1:{KEY_1},2:{KEY_2}")))
        .expect("with previous");
    assert_eq!(rotated.current_version(), 3);
    assert_eq!(
        versions(&rotated),
        vec![3, 2, 1],
        "previous keys highest first"
    );
    // A previous key may have a higher version than the current one (a rollback).
    let back = SecretKeys::from_env(KEY_1, Some("1"), Some(&format!("2:{KEY_2}"))).expect("back");
    assert_eq!(versions(&back), vec![1, 2]);
}

#[test]
fn bad_environment_keys_are_typed() {
    assert_eq!(
        SecretKeys::from_env(KEY_1, Some("one"), None).err(),
        Some(SecretKeyError::BadVersionVariable)
    );
    assert_eq!(
        SecretKeys::from_env("", None, None).err(),
        Some(SecretKeyError::BadKey {
            location: KeyLocation::CurrentEnv,
            source: SealingKeyError::Empty
        })
    );
    assert_eq!(
        SecretKeys::from_env(KEY_1, Some("2"), Some(&format!("1:{KEY_2},2:{KEY_3}"))).err(),
        Some(SecretKeyError::DuplicateVersion {
            version: 2,
            first: KeyLocation::CurrentEnv,
            second: KeyLocation::PreviousEnv { entry: 2 },
        })
    );
    assert_eq!(
        SecretKeys::from_env(KEY_1, Some("3"), Some(&format!("1:{KEY_2},1:{KEY_3}"))).err(),
        Some(SecretKeyError::DuplicateVersion {
            version: 1,
            first: KeyLocation::PreviousEnv { entry: 1 },
            second: KeyLocation::PreviousEnv { entry: 2 },
        })
    );
    assert_eq!(
        SecretKeys::from_env(KEY_1, None, Some(KEY_2)).err(),
        Some(SecretKeyError::MissingVersion {
            location: KeyLocation::PreviousEnv { entry: 1 }
        })
    );
    let err =
        SecretKeys::from_env(KEY_1, Some("2"), Some(&format!("2:{KEY_2}"))).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        "key version 2 is configured twice (CODEX_POOLER_SECRET_KEY and \
         CODEX_POOLER_PREVIOUS_SECRET_KEYS entry 1)"
    );
}

#[test]
fn file_keys() {
    let path = Path::new("/data/secret.key");
    let legacy = SecretKeys::from_file(&format!("{KEY_1}\n"), path, None).expect("legacy");
    assert_eq!(versions(&legacy), vec![1]);
    assert_eq!(legacy.source(), &KeySource::File(path.to_path_buf()));
    assert_eq!(legacy.current().to_config_value(), KEY_1);

    let several = SecretKeys::from_file(&format!("1:{KEY_1}\n3:{KEY_3}\n2:{KEY_2}\n"), path, None)
        .expect("several");
    assert_eq!(
        versions(&several),
        vec![3, 2, 1],
        "the highest version seals"
    );
    assert_eq!(
        SecretKeys::from_file(&format!("3:{KEY_3}\n2:{KEY_2}\n"), path, Some("3"))
            .expect("agreeing variable")
            .current_version(),
        3
    );
}

#[test]
fn bad_file_keys_are_typed() {
    let path = Path::new("/data/secret.key");
    assert_eq!(
        SecretKeys::from_file(&format!("2:{KEY_1}\n2:{KEY_2}\n"), path, None).err(),
        Some(SecretKeyError::DuplicateVersion {
            version: 2,
            first: KeyLocation::File {
                path: path.to_path_buf(),
                line: 1
            },
            second: KeyLocation::File {
                path: path.to_path_buf(),
                line: 2
            },
        })
    );
    assert_eq!(
        SecretKeys::from_file(&format!("3:{KEY_3}\n2:{KEY_2}\n"), path, Some("2")).err(),
        Some(SecretKeyError::VersionMismatch {
            configured: 2,
            file: 3,
            path: path.to_path_buf(),
        })
    );
    assert_eq!(
        SecretKeys::from_file(KEY_1, path, Some("x")).err(),
        Some(SecretKeyError::BadVersionVariable)
    );
    assert_eq!(
        SecretKeys::from_file("", path, None).err(),
        Some(SecretKeyError::EmptyFile {
            path: path.to_path_buf()
        })
    );
}

#[test]
fn the_current_key_seals_and_previous_keys_open() {
    let old = SecretKeys::from_env(KEY_1, None, None).expect("old");
    let sealed = old.sealer().seal("acct", SecretKind::RefreshToken, b"rt");
    let new = SecretKeys::from_env(KEY_2, Some("2"), Some(&format!("1:{KEY_1}"))).expect("new");
    let sealer = new.sealer();
    assert_eq!(sealer.open("acct", &sealed).expect("open").expose(), "rt");
    assert_eq!(
        sealer.seal("acct", SecretKind::IdToken, b"x").key_version,
        2
    );
    let without = SecretKeys::from_env(KEY_2, Some("2"), None).expect("without");
    assert_eq!(
        without.sealer().open("acct", &sealed).err(),
        Some(SealError::UnknownKeyVersion(1))
    );
}

#[test]
fn the_hasher_verifies_stored_hashing_keys_of_removed_versions() {
    let key = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let old = SecretKeys::from_env(KEY_1, None, None).expect("old");
    let old_hash = old.current_hasher().hash(key);

    let both = SecretKeys::from_env(KEY_2, Some("2"), Some(&format!("1:{KEY_1}"))).expect("both");
    let (hasher, unopened) = both.hasher(&[]);
    assert!(unopened.is_empty());
    assert_eq!(hasher.key_version(), 2);
    assert!(
        hasher.verify(key, 1, &old_hash),
        "derived from the previous key"
    );
    let stored = vec![
        hasher.hashing_key(1).expect("v1").seal(&both.sealer()),
        // A stored key of a configured version is ignored in favour of the derived one.
        hasher.hashing_key(2).expect("v2").seal(&both.sealer()),
    ];

    let new = SecretKeys::from_env(KEY_2, Some("2"), None).expect("new");
    assert!(!new.current_hasher().verify(key, 1, &old_hash));
    let (hasher, unopened) = new.hasher(&stored);
    assert!(unopened.is_empty());
    assert_eq!(hasher.versions().collect::<Vec<_>>(), vec![2, 1]);
    assert!(
        hasher.verify(key, 1, &old_hash),
        "from the stored hashing key"
    );

    // Sealed under a key that is not configured: reported, and its hashes are refused.
    let other = SecretKeys::from_env(KEY_3, Some("3"), None).expect("other");
    let (hasher, unopened) = other.hasher(&stored);
    assert_eq!(
        unopened,
        vec![
            UnopenedHashingKey {
                version: 1,
                key_version: 2,
                error: SealError::UnknownKeyVersion(2),
            },
            UnopenedHashingKey {
                version: 2,
                key_version: 2,
                error: SealError::UnknownKeyVersion(2),
            }
        ]
    );
    assert!(!hasher.verify(key, 1, &old_hash));
}

#[test]
fn rotating_and_retaining() {
    let keys = SecretKeys::from_env(KEY_2, Some("2"), Some(&format!("1:{KEY_1}"))).expect("keys");
    let rotated = keys.with_new_current(SealingKey::generate(5));
    assert_eq!(versions(&rotated), vec![5, 2, 1]);
    assert_eq!(versions(&rotated.retaining(|v| v == 1)), vec![5, 1]);
    assert_eq!(versions(&rotated.retaining(|_| false)), vec![5]);
    assert!(!format!("{rotated:?}").contains(KEY_1), "debug is redacted");
}
