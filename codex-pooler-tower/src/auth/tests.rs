use std::time::Duration;

use codex_pooler_core::clock::from_unix_seconds;
use codex_pooler_core::model::{KeyId, KeyPolicy, KeyStatus, Pool, PoolApiKey, PoolId, PoolStatus};
use codex_pooler_core::store::StoreState;
use http::HeaderValue;

use super::*;
use crate::credentials::SealingKey;
use crate::keys::PoolKeyMaterial;

pub(super) struct Fixture {
    pub(super) snapshot: Snapshot,
    pub(super) hasher: KeyHasher,
    pub(super) keys: Vec<String>,
}

/// Four keys: active, paused, revoked, expired (at t=500).
pub(super) fn fixture() -> Fixture {
    let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
    let mut keys = Vec::new();
    let mut stored = Vec::new();
    for (i, (status, expires)) in [
        (KeyStatus::Active, None),
        (KeyStatus::Paused, None),
        (KeyStatus::Revoked, None),
        (KeyStatus::Active, Some(from_unix_seconds(500))),
    ]
    .into_iter()
    .enumerate()
    {
        let generated = PoolKeyMaterial::generate();
        let plaintext = generated.plaintext.expose().to_owned();
        stored.push(PoolApiKey {
            id: KeyId(i as i64 + 1),
            pool: PoolId(1),
            name: format!("k{i}"),
            prefix: generated.prefix.clone(),
            hash: hasher.hash(&plaintext),
            key_version: hasher.key_version(),
            status,
            expires_at: expires,
            policy: KeyPolicy::default(),
            previous: None,
        });
        keys.push(plaintext);
    }
    let snapshot = Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: PoolId(1),
            slug: "p".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        accounts: vec![],
        assignments: vec![],
        keys: stored,
    });
    Fixture {
        snapshot,
        hasher,
        keys,
    }
}

fn headers(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h
}

fn code(f: &Fixture, auth: Option<&str>) -> Result<PoolContext, &'static str> {
    let h = auth.map(headers).unwrap_or_default();
    authenticate(&h, &f.snapshot, &f.hasher, from_unix_seconds(1_000))
        .map_err(|e| e.code().as_str())
}

#[test]
fn accepts_an_active_key() {
    let f = fixture();
    let ctx = code(&f, Some(&format!("Bearer {}", f.keys[0]))).unwrap();
    assert_eq!(ctx.pool, PoolId(1));
    assert_eq!(ctx.key, KeyId(1));
    // The scheme is case-insensitive.
    assert!(code(&f, Some(&format!("bearer {}", f.keys[0]))).is_ok());
}

#[test]
fn refuses_missing_malformed_and_unknown_keys_alike() {
    let f = fixture();
    assert_eq!(code(&f, None), Err("invalid_api_key"));
    assert_eq!(code(&f, Some("Basic abc")), Err("invalid_api_key"));
    assert_eq!(code(&f, Some("Bearer ")), Err("invalid_api_key"));
    assert_eq!(code(&f, Some("Bearer not-a-key")), Err("invalid_api_key"));
    let unknown = PoolKeyMaterial::generate();
    assert_eq!(
        code(&f, Some(&format!("Bearer {}", unknown.plaintext.expose()))),
        Err("invalid_api_key")
    );
    // A known prefix with the wrong secret.
    let mut forged = f.keys[0].clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        code(&f, Some(&format!("Bearer {forged}"))),
        Err("invalid_api_key")
    );
}

#[test]
fn paused_revoked_and_expired_keys_get_their_codes() {
    let f = fixture();
    assert_eq!(
        code(&f, Some(&format!("Bearer {}", f.keys[1]))),
        Err("api_key_paused")
    );
    assert_eq!(
        code(&f, Some(&format!("Bearer {}", f.keys[2]))),
        Err("api_key_revoked")
    );
    assert_eq!(
        code(&f, Some(&format!("Bearer {}", f.keys[3]))),
        Err("api_key_expired")
    );
    // The expiring key was fine before its expiry.
    let h = headers(&format!("Bearer {}", f.keys[3]));
    let before = from_unix_seconds(500) - Duration::from_secs(1);
    assert!(authenticate(&h, &f.snapshot, &f.hasher, before).is_ok());
}

#[test]
fn a_rotated_keys_old_secret_works_until_its_grace_ends() {
    use codex_pooler_core::model::PreviousSecret;

    let mut f = fixture();
    let old = f.keys[0].clone();
    let prefix = old[7..19].to_owned();
    let new = PoolKeyMaterial::rotate(&prefix).unwrap();
    let grace_end = from_unix_seconds(2_000);
    let mut state = StoreState {
        version: 2,
        pools: f.snapshot.pools().cloned().collect(),
        keys: vec![f.snapshot.key(KeyId(1)).unwrap().clone()],
        ..StoreState::default()
    };
    let key = &mut state.keys[0];
    key.previous = Some(PreviousSecret {
        hash: key.hash,
        key_version: key.key_version,
        until: grace_end,
    });
    key.hash = f.hasher.hash(new.plaintext.expose());
    f.snapshot = Snapshot::build(state);
    let at = |secret: &str, now| {
        let h = headers(&format!("Bearer {secret}"));
        authenticate_secret(&h, &f.snapshot, &f.hasher, now)
            .map(|(ctx, matched)| (ctx.key, matched))
            .map_err(|e| e.code().as_str())
    };
    let during = from_unix_seconds(1_999);
    let new_hash = f.hasher.hash(new.plaintext.expose());
    let old_hash = f.hasher.hash(&old);
    assert_eq!(
        at(new.plaintext.expose(), during),
        Ok((KeyId(1), MatchedSecret(new_hash)))
    );
    assert_eq!(at(&old, during), Ok((KeyId(1), MatchedSecret(old_hash))));
    // At the end of the grace the old secret is a wrong one; the new one goes on.
    assert_eq!(at(&old, grace_end), Err("invalid_api_key"));
    assert!(at(new.plaintext.expose(), grace_end).is_ok());
    // A wrong secret is refused during the grace too.
    let stranger = PoolKeyMaterial::rotate(&prefix).unwrap();
    assert_eq!(
        at(stranger.plaintext.expose(), during),
        Err("invalid_api_key")
    );
}

#[test]
fn each_key_is_checked_under_the_hashing_key_of_its_version() {
    use crate::keys::HashingKey;

    let old = HashingKey::derive(&SealingKey::from_bytes([1; 32], 1));
    let new = HashingKey::derive(&SealingKey::from_bytes([2; 32], 2));
    let before = KeyHasher::new(old.clone(), vec![]).unwrap();
    let after = KeyHasher::new(new, vec![old]).unwrap();
    let issued = [
        (PoolKeyMaterial::generate(), &before),
        (PoolKeyMaterial::generate(), &after),
    ];
    let keys = issued
        .iter()
        .enumerate()
        .map(|(i, (generated, hasher))| PoolApiKey {
            id: KeyId(i as i64 + 1),
            pool: PoolId(1),
            name: format!("k{i}"),
            prefix: generated.prefix.clone(),
            hash: hasher.hash(generated.plaintext.expose()),
            key_version: hasher.key_version(),
            status: KeyStatus::Active,
            expires_at: None,
            policy: KeyPolicy::default(),
            previous: None,
        })
        .collect();
    let snapshot = Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: PoolId(1),
            slug: "p".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        accounts: vec![],
        assignments: vec![],
        keys,
    });
    let now = from_unix_seconds(1_000);
    let check = |hasher: &KeyHasher, i: usize| {
        let h = headers(&format!("Bearer {}", issued[i].0.plaintext.expose()));
        authenticate(&h, &snapshot, hasher, now).map_err(|e| e.code().as_str())
    };
    assert_eq!(check(&after, 0).unwrap().key, KeyId(1), "old version");
    assert_eq!(check(&after, 1).unwrap().key, KeyId(2), "current version");
    // Without the old version's hashing key, the old key is just invalid.
    let new_only = KeyHasher::from_sealing_key(&SealingKey::from_bytes([2; 32], 2));
    assert_eq!(check(&new_only, 0), Err("invalid_api_key"));
    assert!(check(&new_only, 1).is_ok());
}
