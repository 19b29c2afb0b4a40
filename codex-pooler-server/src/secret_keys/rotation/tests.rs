use std::collections::BTreeMap;

use codex_pooler_core::model::AccountId;
use codex_pooler_core::store::SecretKind;
use codex_pooler_tower::credentials::SealError;
use codex_pooler_tower::keys::SealedHashingKey;

use super::*;
use crate::secret_keys::status;
use crate::store::StoredSecret;

const KEY_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_2: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn keys(current: (&str, u32), previous: &[(&str, u32)]) -> SecretKeys {
    let previous: Vec<String> = previous.iter().map(|(k, v)| format!("{v}:{k}")).collect();
    SecretKeys::from_env(
        current.0,
        Some(&current.1.to_string()),
        Some(&previous.join(",")),
    )
    .expect("keys")
}

fn secret(keys: &SecretKeys, account: i64, kind: SecretKind, token: &str) -> StoredSecret {
    let chatgpt_account_id = format!("acct-{account}");
    StoredSecret {
        account: AccountId(account),
        sealed: keys
            .sealer()
            .seal(&chatgpt_account_id, kind, token.as_bytes()),
        chatgpt_account_id,
    }
}

/// Two accounts sealed under key 1, one Pool API key hash of version 1.
fn inventory_under_key_1() -> SealedInventory {
    let old = keys((KEY_1, 1), &[]);
    SealedInventory {
        secrets: vec![
            secret(&old, 1, SecretKind::AccessToken, "at-1"),
            secret(&old, 1, SecretKind::RefreshToken, "rt-1"),
            secret(&old, 2, SecretKind::AccessToken, "at-2"),
        ],
        hashing_keys: Vec::new(),
        key_hashes: BTreeMap::from([(1, 1)]),
    }
}

/// `inventory` after `resealed` was written.
fn apply(inventory: &SealedInventory, resealed: &Resealed) -> SealedInventory {
    let mut after = inventory.clone();
    for new in &resealed.secrets {
        let stored = after
            .secrets
            .iter_mut()
            .find(|s| s.account == new.account && s.sealed.nonce == new.replaces_nonce)
            .expect("replaces a stored secret");
        stored.sealed = new.sealed.clone();
    }
    after.hashing_keys = resealed.hashing_keys.clone();
    after
}

#[test]
fn reseals_everything_under_the_current_key() {
    let inventory = inventory_under_key_1();
    let rotated = keys((KEY_2, 2), &[(KEY_1, 1)]);
    let (resealed, summary) = plan(&rotated, &inventory).expect("plan");
    assert_eq!(
        summary,
        RotationSummary {
            key_version: 2,
            resealed_secrets: 3,
            unchanged_secrets: 0,
            hashing_keys: vec![1],
        }
    );
    assert!(resealed.secrets.iter().all(|s| s.sealed.key_version == 2));
    assert_eq!(resealed.hashing_keys.len(), 1);
    assert_eq!(
        (
            resealed.hashing_keys[0].version,
            resealed.hashing_keys[0].key_version
        ),
        (1, 2)
    );

    // With only the new key, every secret opens and the old key hash still verifies.
    let after = apply(&inventory, &resealed);
    let new_only = keys((KEY_2, 2), &[]);
    let sealer = new_only.sealer();
    let tokens: Vec<String> = after
        .secrets
        .iter()
        .map(|s| {
            sealer
                .open(&s.chatgpt_account_id, &s.sealed)
                .expect("opens")
                .expose()
                .to_owned()
        })
        .collect();
    assert_eq!(tokens, vec!["at-1", "rt-1", "at-2"]);
    let key = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let old_hash = keys((KEY_1, 1), &[]).current_hasher().hash(key);
    let (hasher, unopened) = new_only.hasher(&after.hashing_keys);
    assert!(unopened.is_empty());
    assert!(hasher.verify(key, 1, &old_hash));

    let report = status::report(&new_only, &after);
    assert!(report.rotation_complete);
    assert_eq!(report.needed_versions, vec![2]);
    assert!(report.missing_versions.is_empty());

    // Rotating again carries the stored hashing key over without the key of version 1.
    let next = keys((KEY_1, 3), &[(KEY_2, 2)]);
    let (again, summary) = plan(&next, &after).expect("second rotation");
    assert_eq!(summary.resealed_secrets, 3);
    assert_eq!(summary.hashing_keys, vec![1]);
    assert_eq!(again.hashing_keys[0].key_version, 3);
}

#[test]
fn secrets_already_under_the_current_key_are_left_alone() {
    let current = keys((KEY_2, 2), &[(KEY_1, 1)]);
    let mut inventory = inventory_under_key_1();
    inventory
        .secrets
        .push(secret(&current, 3, SecretKind::IdToken, "id-3"));
    inventory.key_hashes = BTreeMap::from([(2, 4)]);
    let (resealed, summary) = plan(&current, &inventory).expect("plan");
    assert_eq!(summary.resealed_secrets, 3);
    assert_eq!(summary.unchanged_secrets, 1);
    assert!(resealed.secrets.iter().all(|s| s.account != AccountId(3)));
    assert!(
        resealed.hashing_keys.is_empty(),
        "hashes of the current version need no stored key"
    );
}

#[test]
fn unused_stored_hashing_keys_are_dropped() {
    let current = keys((KEY_2, 2), &[(KEY_1, 1)]);
    let (hasher, _) = current.hasher(&[]);
    let mut inventory = inventory_under_key_1();
    inventory.key_hashes.clear();
    inventory.hashing_keys = vec![hasher.hashing_key(1).expect("v1").seal(&current.sealer())];
    let (resealed, summary) = plan(&current, &inventory).expect("plan");
    assert!(resealed.hashing_keys.is_empty());
    assert!(summary.hashing_keys.is_empty());
}

#[test]
fn a_secret_that_does_not_open_stops_the_rotation() {
    let inventory = inventory_under_key_1();
    // The old key is missing.
    let err = plan(&keys((KEY_2, 2), &[]), &inventory).expect_err("cannot open");
    assert_eq!(
        err,
        RotationError::UnopenableSecret {
            account: AccountId(1),
            kind: SecretKind::AccessToken,
            key_version: 1,
            source: SealError::UnknownKeyVersion(1),
        }
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "the access_token of upstream 1, sealed with key version 1, does not open"
        ),
        "{message}"
    );
    assert!(message.ends_with("nothing was changed"), "{message}");
    assert!(!message.contains(KEY_1) && !message.contains(KEY_2));

    // A wrong key of the right version.
    let mut tampered = inventory;
    tampered.secrets[2].sealed.ciphertext[0] ^= 1;
    assert_eq!(
        plan(&keys((KEY_2, 2), &[(KEY_1, 1)]), &tampered).err(),
        Some(RotationError::UnopenableSecret {
            account: AccountId(2),
            kind: SecretKind::AccessToken,
            key_version: 1,
            source: SealError::Unauthentic,
        })
    );
}

#[test]
fn a_hashing_key_in_use_that_is_missing_or_broken_stops_the_rotation() {
    let mut inventory = inventory_under_key_1();
    inventory.secrets.clear();
    inventory.key_hashes = BTreeMap::from([(1, 2), (2, 1)]);
    assert_eq!(
        plan(&keys((KEY_2, 2), &[]), &inventory).err(),
        Some(RotationError::MissingHashingKey {
            version: 1,
            hashes: 2
        })
    );

    let both = keys((KEY_2, 2), &[(KEY_1, 1)]);
    let (hasher, _) = both.hasher(&[]);
    let mut sealed = hasher.hashing_key(1).expect("v1").seal(&both.sealer());
    sealed.ciphertext[0] ^= 1;
    inventory.hashing_keys = vec![sealed];
    assert_eq!(
        plan(&keys((KEY_2, 2), &[]), &inventory).err(),
        Some(RotationError::UnopenableHashingKey {
            version: 1,
            key_version: 2,
            source: SealError::Unauthentic,
        })
    );
    // Sealed under a key that is gone.
    inventory.hashing_keys = vec![SealedHashingKey {
        version: 1,
        key_version: 7,
        nonce: vec![0; 12],
        ciphertext: vec![0; 48],
    }];
    assert_eq!(
        plan(&keys((KEY_2, 2), &[]), &inventory).err(),
        Some(RotationError::UnopenableHashingKey {
            version: 1,
            key_version: 7,
            source: SealError::UnknownKeyVersion(7),
        })
    );
}

#[test]
fn the_next_version_is_above_everything_in_use() {
    let mut inventory = inventory_under_key_1();
    let keys_1 = keys((KEY_1, 1), &[]);
    assert_eq!(next_version(&keys_1, &inventory), Ok(2));
    assert_eq!(
        next_version(&keys((KEY_1, 1), &[(KEY_2, 6)]), &inventory),
        Ok(7)
    );
    inventory.key_hashes.insert(9, 1);
    assert_eq!(next_version(&keys_1, &inventory), Ok(10));
    inventory.hashing_keys.push(SealedHashingKey {
        version: 3,
        key_version: 12,
        nonce: Vec::new(),
        ciphertext: Vec::new(),
    });
    assert_eq!(next_version(&keys_1, &inventory), Ok(13));
    assert_eq!(
        next_version(&keys((KEY_1, u32::MAX), &[]), &SealedInventory::default()),
        Err(RotationError::VersionsExhausted(u32::MAX))
    );
}

#[test]
fn status_names_what_each_version_is_needed_for() {
    let inventory = inventory_under_key_1();
    let before = status::report(&keys((KEY_2, 2), &[(KEY_1, 1)]), &inventory);
    assert_eq!(before.current_version, 2);
    assert_eq!(before.source, "environment");
    assert_eq!(before.configured_versions, vec![2, 1]);
    assert_eq!(
        before.secrets,
        vec![status::VersionCount {
            key_version: 1,
            count: 3
        }]
    );
    assert_eq!(before.needed_versions, vec![1]);
    assert!(before.removable_versions.is_empty());
    assert!(before.missing_versions.is_empty());
    assert!(!before.rotation_complete);

    let missing = status::report(&keys((KEY_2, 2), &[]), &inventory);
    assert_eq!(missing.missing_versions, vec![1]);

    let json = serde_json::to_value(&before).expect("json");
    assert_eq!(json["key_hashes"][0]["key_version"], 1);
    assert!(!json.to_string().contains(KEY_1));
}
