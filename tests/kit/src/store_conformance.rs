//! The [`PoolStore`] conformance suite: what every store must do, as cases a store author runs
//! against fresh, empty instances of their store.
//!
//! [`pool_store_conformance!`](crate::pool_store_conformance) generates one `#[tokio::test]` per
//! case. It takes a module name and an expression giving a future of `Option<F>`, where `F`
//! implements [`StoreFixture`]: a fresh, empty store plus whatever it needs alive until the case
//! ends (a temporary directory, a throwaway database). `None` skips the case, for a backend that
//! is not available here (the future should say so, or fail, as the suite's policy wants). The
//! expression is evaluated once per case. The calling crate needs `tokio` (features `macros`,
//! `rt`) as a dev-dependency.
//!
//! ```
//! use codex_pooler_core::store::MemoryStore;
//!
//! codex_pooler_test_kit::pool_store_conformance!(memory, async { Some(MemoryStore::new()) });
//! # fn main() {}
//! ```
//!
//! A store that needs more alive than itself (a temporary directory, a database to drop) puts
//! it in its fixture; a backend that is not available answers `None`:
//!
//! ```
//! use codex_pooler_core::store::{MemoryStore, PoolStore};
//! use codex_pooler_test_kit::store_conformance::StoreFixture;
//!
//! /// The store and what must outlive it (for a file store: its `tempfile::TempDir`).
//! struct Scratch {
//!     store: MemoryStore,
//!     _dir: Vec<u8>,
//! }
//!
//! impl StoreFixture for Scratch {
//!     fn store(&self) -> &dyn PoolStore {
//!         &self.store
//!     }
//! }
//!
//! async fn scratch() -> Option<Scratch> {
//!     // For example: `None` when the database URL is not set and skipping is allowed.
//!     std::env::var_os("MY_STORE_SKIP").is_none().then(|| Scratch {
//!         store: MemoryStore::new(),
//!         _dir: Vec::new(),
//!     })
//! }
//!
//! codex_pooler_test_kit::pool_store_conformance!(scratch_store, scratch());
//! # fn main() {}
//! ```
//!
//! The cases are also plain functions of `&dyn PoolStore` (for example [`pools`]), and the
//! fixtures they write ([`new_account`], [`new_key`], [`record`], ...) are public for a store's
//! own tests. The suite panics (an assertion) on the first difference.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codex_pooler_core::error::ErrorCode;
use codex_pooler_core::model::{
    AccountId, Assignment, EffortRule, KeyId, KeyLimits, KeyPolicy, KeyStatus, Lifecycle, PoolId,
    PoolStatus, PoolWaits, PreviousSecret, ReasoningEffort,
};
use codex_pooler_core::quota::{
    AccountEvidence, Credits, Evidence, EvidenceSource, QuotaWindow, WindowSlot,
};
use codex_pooler_core::record::{RecordEnd, RequestRecord, TokenUsage};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::{
    KeyRotation, MemoryStore, NewAccount, NewKey, PoolStore, SealedSecret, SecretKind, StoreError,
};

/// A fresh, empty store for one conformance case, and whatever must live as long as it.
pub trait StoreFixture {
    /// The store under test.
    fn store(&self) -> &dyn PoolStore;
}

impl StoreFixture for MemoryStore {
    fn store(&self) -> &dyn PoolStore {
        self
    }
}

impl StoreFixture for Box<dyn PoolStore> {
    fn store(&self) -> &dyn PoolStore {
        self.as_ref()
    }
}

impl StoreFixture for Arc<dyn PoolStore> {
    fn store(&self) -> &dyn PoolStore {
        self.as_ref()
    }
}

/// Generates one `#[tokio::test]` per [`store_conformance`](crate::store_conformance) case, in
/// module `$module`, each run against a store from `$fixture` (a future of
/// `Option<impl StoreFixture>`; `None` skips the case).
///
/// See the [module docs](crate::store_conformance) for an example.
#[macro_export]
macro_rules! pool_store_conformance {
    ($module:ident, $fixture:expr $(,)?) => {
        $crate::pool_store_conformance!(@cases $module, $fixture;
            pools,
            accounts_and_secrets,
            lifecycle,
            assignments,
            keys,
            versions,
            load_state,
            records,
            // Quota evidence.
            quota_evidence,
            unassign,
            remove_account,
            rotate_key,
            pool_archive_and_waits,
        );
    };
    (@cases $module:ident, $fixture:expr; $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(fixture) = $fixture.await else {
                        return;
                    };
                    $crate::store_conformance::$case(
                        $crate::store_conformance::StoreFixture::store(&fixture),
                    )
                    .await;
                }
            )*
        }
    };
}

const MISSING: i64 = 987_654_321;

/// A sealed secret of `kind` whose bytes derive from `seed`; its ciphertext holds every byte
/// value, NUL and 0xff included.
pub fn secret(kind: SecretKind, seed: u8) -> SealedSecret {
    SealedSecret {
        kind,
        key_version: u32::from(seed) + 1,
        nonce: (0..12).map(|i| seed.wrapping_add(i)).collect(),
        // Every byte value, including NUL and 0xff, must survive the round trip.
        ciphertext: (0..=255u8).map(|b| b.wrapping_add(seed)).collect(),
    }
}

/// A new account labelled `label` (ChatGPT account `acct-<label>`) with two models and an
/// access and a refresh token.
pub fn new_account(label: &str) -> NewAccount {
    NewAccount {
        label: label.to_owned(),
        chatgpt_account_id: format!("acct-{label}"),
        user_id: Some(format!("user-{label}")),
        email: Some(format!("{label}@example.com")),
        plan_type: Some("pro".to_owned()),
        base_url: None,
        models: vec!["gpt-5.1-codex".to_owned(), "gpt-5.2".to_owned()],
        secrets: vec![
            secret(SecretKind::AccessToken, 1),
            secret(SecretKind::RefreshToken, 2),
        ],
    }
}

/// A new key for `pool` with prefix `prefix`, a fixed hash and key version 3.
pub fn new_key(pool: PoolId, prefix: &str) -> NewKey {
    NewKey {
        pool,
        name: format!("key {prefix}"),
        prefix: prefix.to_owned(),
        hash: std::array::from_fn(|i| u8::try_from(i).unwrap_or(0).wrapping_mul(7)),
        key_version: 3,
        expires_at: None,
        policy: KeyPolicy::default(),
    }
}

/// A time with whole milliseconds (the SQL store keeps millisecond precision).
pub fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Request record number `i` (fields vary with `i`) carrying `usage`.
pub fn record(i: u64, usage: Option<TokenUsage>) -> RequestRecord {
    let mut record = RequestRecord::new(
        at(1_763_000_000_000 + i),
        PoolId(1),
        KeyId(2),
        RouteClass::Responses,
        (!i.is_multiple_of(3)).then(|| "gpt-5.1-codex".to_owned()),
        i % 2 == 1,
    );
    record.account = i.is_multiple_of(2).then_some(AccountId(3));
    record.status = 200 + u16::try_from(i % 300).unwrap_or(0);
    record.attempts = u32::try_from(i % 4).unwrap_or(0) + 1;
    record.latency_ms = 1_000 + i;
    record.usage = usage;
    record.error_code = i.is_multiple_of(5).then_some(ErrorCode::NoEligibleAccount);
    record.exclusions = i
        .is_multiple_of(5)
        .then(|| "3:quota_exhausted,5:account_paused".to_owned());
    record.dropped_parameters = i
        .is_multiple_of(4)
        .then(|| "max_output_tokens,temperature".to_owned());
    record.end = RecordEnd::Completed;
    record
}

async fn version(store: &dyn PoolStore) -> u64 {
    store.version().await.expect("version")
}

/// Pools: create (a duplicate slug is a conflict), find by slug, set status and the `/v1`
/// switch;
/// each successful write bumps the version, a failed one nothing.
pub async fn pools(store: &dyn PoolStore) {
    assert_eq!(version(store).await, 0);
    let a = store.create_pool("team-a").await.expect("create team-a");
    assert_eq!(a.slug, "team-a");
    assert_eq!(a.status, PoolStatus::Active);
    assert!(a.v1_enabled, "a new pool serves /v1");
    let b = store.create_pool("team-b").await.expect("create team-b");
    assert_ne!(a.id, b.id);
    assert_eq!(version(store).await, 2);

    let err = store
        .create_pool("team-a")
        .await
        .expect_err("duplicate slug");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(version(store).await, 2, "a failed write bumps nothing");

    assert_eq!(
        store.pool_by_slug("team-b").await.expect("by slug"),
        Some(b.clone())
    );
    assert_eq!(store.pool_by_slug("nope").await.expect("by slug"), None);

    store
        .set_pool_status(a.id, PoolStatus::Disabled)
        .await
        .expect("disable");
    assert_eq!(version(store).await, 3);
    let a2 = store
        .pool_by_slug("team-a")
        .await
        .expect("by slug")
        .expect("team-a exists");
    assert_eq!(a2.status, PoolStatus::Disabled);
    let err = store
        .set_pool_status(PoolId(MISSING), PoolStatus::Active)
        .await
        .expect_err("unknown pool");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, 3);

    store
        .set_pool_v1_enabled(b.id, false)
        .await
        .expect("turn /v1 off");
    assert_eq!(version(store).await, 4);
    let b2 = store
        .pool_by_slug("team-b")
        .await
        .expect("by slug")
        .expect("team-b exists");
    assert!(!b2.v1_enabled);
    let err = store
        .set_pool_v1_enabled(PoolId(MISSING), true)
        .await
        .expect_err("unknown pool");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, 4);

    let state = store.load_state().await.expect("load");
    assert_eq!(state.pools, vec![a2, b2]);
}

/// Accounts and their sealed secrets: create, read back byte for byte, replace by kind;
/// unknown accounts are `NotFound`.
pub async fn accounts_and_secrets(store: &dyn PoolStore) {
    let new = new_account("one");
    let account = store.create_account(new.clone()).await.expect("create");
    assert_eq!(version(store).await, 1);
    assert_eq!(account.label, new.label);
    assert_eq!(account.chatgpt_account_id, new.chatgpt_account_id);
    assert_eq!(account.user_id, new.user_id);
    assert_eq!(account.email, new.email);
    assert_eq!(account.plan_type, new.plan_type);
    assert_eq!(account.base_url, None);
    assert_eq!(account.models, new.models);
    assert_eq!(account.lifecycle, Lifecycle::Active);

    assert_eq!(
        store.secrets(account.id).await.expect("secrets"),
        new.secrets
    );
    assert!(
        store
            .secrets(AccountId(MISSING))
            .await
            .expect("secrets")
            .is_empty()
    );

    // A second account with no secrets and no optional fields.
    let bare = store
        .create_account(NewAccount {
            label: "bare".to_owned(),
            chatgpt_account_id: "acct-bare".to_owned(),
            user_id: None,
            email: None,
            plan_type: None,
            base_url: Some("http://127.0.0.1:9".to_owned()),
            models: Vec::new(),
            secrets: Vec::new(),
        })
        .await
        .expect("create bare");
    assert!(store.secrets(bare.id).await.expect("secrets").is_empty());
    assert_eq!(version(store).await, 2);

    // Replace the access token, add an id token, keep the refresh token.
    let access = secret(SecretKind::AccessToken, 40);
    let id_token = secret(SecretKind::IdToken, 41);
    store
        .replace_secrets(account.id, vec![access.clone(), id_token.clone()])
        .await
        .expect("replace");
    assert_eq!(version(store).await, 3);
    let mut held = store.secrets(account.id).await.expect("secrets");
    held.sort_by_key(|s| s.kind.as_str());
    assert_eq!(
        held,
        vec![access, id_token, secret(SecretKind::RefreshToken, 2)]
    );
    assert!(store.secrets(bare.id).await.expect("secrets").is_empty());

    let err = store
        .replace_secrets(AccountId(MISSING), vec![secret(SecretKind::IdToken, 9)])
        .await
        .expect_err("unknown account");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, 3);

    let state = store.load_state().await.expect("load");
    assert_eq!(state.accounts, vec![account, bare]);
}

/// Account lifecycle changes are stored and bump the version (removal has its own case).
pub async fn lifecycle(store: &dyn PoolStore) {
    let account = store
        .create_account(new_account("cycle"))
        .await
        .expect("create");
    let mut expected = 1;
    let settable = Lifecycle::ALL
        .into_iter()
        .rev()
        .filter(|l| *l != Lifecycle::Removed);
    for lifecycle in settable {
        store
            .set_account_lifecycle(account.id, lifecycle)
            .await
            .expect("set lifecycle");
        expected += 1;
        assert_eq!(version(store).await, expected);
        let state = store.load_state().await.expect("load");
        assert_eq!(state.accounts.len(), 1);
        assert_eq!(state.accounts[0].lifecycle, lifecycle);
    }
    let err = store
        .set_account_lifecycle(AccountId(MISSING), Lifecycle::Paused)
        .await
        .expect_err("unknown account");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, expected);
}

/// Assigning accounts to pools is idempotent; unknown pools and accounts are `NotFound`.
pub async fn assignments(store: &dyn PoolStore) {
    let a = store.create_pool("a").await.expect("pool a");
    let b = store.create_pool("b").await.expect("pool b");
    let x = store.create_account(new_account("x")).await.expect("x");
    let y = store.create_account(new_account("y")).await.expect("y");
    assert_eq!(version(store).await, 4);

    store.assign(a.id, x.id).await.expect("assign a-x");
    assert_eq!(version(store).await, 5);
    store.assign(a.id, x.id).await.expect("assign a-x again");
    assert_eq!(version(store).await, 5, "re-assigning changes nothing");
    store.assign(b.id, x.id).await.expect("assign b-x");
    store.assign(a.id, y.id).await.expect("assign a-y");
    assert_eq!(version(store).await, 7);

    let err = store
        .assign(PoolId(MISSING), x.id)
        .await
        .expect_err("unknown pool");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = store
        .assign(a.id, AccountId(MISSING))
        .await
        .expect_err("unknown account");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, 7);

    let state = store.load_state().await.expect("load");
    let link = |pool: PoolId, account: AccountId| Assignment { pool, account };
    assert_eq!(
        state.assignments,
        vec![link(a.id, x.id), link(b.id, x.id), link(a.id, y.id)]
    );
}

/// Pool API keys: create (a duplicate prefix is a conflict), set status, read back.
pub async fn keys(store: &dyn PoolStore) {
    let pool = store.create_pool("keys").await.expect("pool");
    let mut new = new_key(pool.id, "cpk_aaaa");
    new.expires_at = Some(at(1_900_000_000_123));
    let key = store.create_key(new.clone()).await.expect("create key");
    assert_eq!(version(store).await, 2);
    assert_eq!(key.pool, pool.id);
    assert_eq!(key.name, new.name);
    assert_eq!(key.prefix, new.prefix);
    assert_eq!(key.hash, new.hash);
    assert_eq!(key.key_version, new.key_version);
    assert_eq!(key.expires_at, new.expires_at);
    assert_eq!(key.status, KeyStatus::Active);

    let err = store
        .create_key(new_key(pool.id, "cpk_aaaa"))
        .await
        .expect_err("duplicate prefix");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .create_key(new_key(PoolId(MISSING), "cpk_bbbb"))
        .await
        .expect_err("unknown pool");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, 2);

    let other = store
        .create_key(new_key(pool.id, "cpk_cccc"))
        .await
        .expect("second key");
    assert_eq!(other.expires_at, None);
    assert_eq!(version(store).await, 3);

    let mut expected = 3;
    for status in [KeyStatus::Paused, KeyStatus::Active, KeyStatus::Revoked] {
        store
            .set_key_status(key.id, status)
            .await
            .expect("set key status");
        expected += 1;
        assert_eq!(version(store).await, expected);
        let state = store.load_state().await.expect("load");
        let stored = state
            .keys
            .iter()
            .find(|k| k.id == key.id)
            .expect("key listed");
        assert_eq!(stored.status, status);
    }
    let err = store
        .set_key_status(KeyId(MISSING), KeyStatus::Paused)
        .await
        .expect_err("unknown key");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, expected);

    let policy = KeyPolicy {
        allowed_models: vec!["gpt-5.4".into()],
        reasoning: Some(EffortRule::AtMost(ReasoningEffort::Low)),
        limits: KeyLimits {
            requests_per_minute: Some(30),
            tokens_per_week: Some(1_000_000),
            ..KeyLimits::default()
        },
        ..KeyPolicy::default()
    };
    store
        .set_key_policy(other.id, policy.clone())
        .await
        .expect("set key policy");
    expected += 1;
    assert_eq!(version(store).await, expected);
    let err = store
        .set_key_policy(KeyId(MISSING), KeyPolicy::default())
        .await
        .expect_err("unknown key");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(version(store).await, expected);

    let state = store.load_state().await.expect("load");
    let mut revoked = key;
    revoked.status = KeyStatus::Revoked;
    let mut ruled = other.clone();
    ruled.policy = policy;
    assert_eq!(state.keys, vec![revoked.clone(), ruled]);

    // Back to no rules: the stored policy is cleared, not kept.
    store
        .set_key_policy(other.id, KeyPolicy::default())
        .await
        .expect("clear key policy");
    let state = store.load_state().await.expect("load");
    assert_eq!(state.keys, vec![revoked, other]);
}

/// The configuration version: every successful write bumps it once, reads and failed writes
/// never.
pub async fn versions(store: &dyn PoolStore) {
    let mut expected = 0;
    let mut check = |v: u64, what: &str| {
        expected += 1;
        assert_eq!(v, expected, "{what} bumps the version by one");
    };
    let pool = store.create_pool("v").await.expect("pool");
    check(version(store).await, "create_pool");
    store
        .set_pool_status(pool.id, PoolStatus::Active)
        .await
        .expect("status");
    check(version(store).await, "set_pool_status");
    let account = store
        .create_account(new_account("v"))
        .await
        .expect("account");
    check(version(store).await, "create_account");
    store
        .set_account_lifecycle(account.id, Lifecycle::RefreshDue)
        .await
        .expect("lifecycle");
    check(version(store).await, "set_account_lifecycle");
    store
        .replace_secrets(account.id, vec![secret(SecretKind::AccessToken, 7)])
        .await
        .expect("replace");
    check(version(store).await, "replace_secrets");
    store.assign(pool.id, account.id).await.expect("assign");
    check(version(store).await, "assign");
    let key = store
        .create_key(new_key(pool.id, "cpk_v"))
        .await
        .expect("key");
    check(version(store).await, "create_key");
    store
        .set_key_status(key.id, KeyStatus::Paused)
        .await
        .expect("key status");
    check(version(store).await, "set_key_status");
    store
        .set_key_policy(key.id, KeyPolicy::default())
        .await
        .expect("key policy");
    check(version(store).await, "set_key_policy");

    let before = version(store).await;
    store
        .insert_records(&[record(1, None), record(2, None)])
        .await
        .expect("records");
    store.insert_records(&[]).await.expect("no records");
    store.recent_records(10).await.expect("recent");
    store.secrets(account.id).await.expect("secrets");
    store.pool_by_slug("v").await.expect("by slug");
    assert_eq!(
        version(store).await,
        before,
        "reads and records bump nothing"
    );
    assert_eq!(store.load_state().await.expect("load").version, before);
}

/// `load_state` returns everything written, as written.
pub async fn load_state(store: &dyn PoolStore) {
    let empty = store.load_state().await.expect("load empty");
    assert_eq!(empty.version, 0);
    assert!(empty.pools.is_empty());
    assert!(empty.accounts.is_empty());
    assert!(empty.assignments.is_empty());
    assert!(empty.keys.is_empty());

    let pool = store.create_pool("state").await.expect("pool");
    let account = store
        .create_account(new_account("s"))
        .await
        .expect("account");
    store.assign(pool.id, account.id).await.expect("assign");
    let key = store
        .create_key(new_key(pool.id, "cpk_state"))
        .await
        .expect("key");

    let state = store.load_state().await.expect("load");
    assert_eq!(state.version, 4);
    assert_eq!(state.version, version(store).await);
    assert_eq!(state.pools, vec![pool.clone()]);
    assert_eq!(state.accounts, vec![account.clone()]);
    assert_eq!(
        state.assignments,
        vec![Assignment {
            pool: pool.id,
            account: account.id
        }]
    );
    assert_eq!(state.keys, vec![key]);
}

/// Request records: insert in batches (one larger than a SQL statement's worth), read back
/// newest first with a limit.
pub async fn records(store: &dyn PoolStore) {
    assert!(store.recent_records(10).await.expect("recent").is_empty());
    let usage = TokenUsage {
        input_tokens: 1_200,
        cached_input_tokens: 1_024,
        output_tokens: 300,
        reasoning_tokens: 0,
        total_tokens: 1_500,
    };
    let first: Vec<_> = (0..5)
        .map(|i| record(i, i.is_multiple_of(2).then_some(usage)))
        .collect();
    store.insert_records(&first).await.expect("first batch");
    let second: Vec<_> = (5..8).map(|i| record(i, None)).collect();
    store.insert_records(&second).await.expect("second batch");
    assert_eq!(version(store).await, 0);

    let recent = store.recent_records(100).await.expect("recent");
    let expected: Vec<_> = first.iter().chain(&second).rev().cloned().collect();
    assert_eq!(recent, expected, "all fields round-trip, newest first");
    assert_eq!(recent[0].usage, None);
    assert_eq!(recent[3].usage, Some(usage));

    let top = store.recent_records(3).await.expect("recent 3");
    assert_eq!(top, expected[..3]);
    assert!(store.recent_records(0).await.expect("recent 0").is_empty());

    // A batch larger than one SQL statement's worth of rows.
    let big: Vec<_> = (100..1_300).map(|i| record(i, Some(usage))).collect();
    store.insert_records(&big).await.expect("big batch");
    let all = store.recent_records(usize::MAX).await.expect("all");
    assert_eq!(all.len(), 8 + big.len());
    assert_eq!(all[0], big[big.len() - 1]);
    assert_eq!(all[all.len() - 1], first[0]);
}

// Quota evidence.

/// A window reading in `slot` of `minutes`, `used` percent, observed at `at(observed)`.
fn reading(
    slot: WindowSlot,
    minutes: Option<u32>,
    used: f64,
    resets: Option<u64>,
    source: EvidenceSource,
    observed: u64,
) -> Evidence<QuotaWindow> {
    Evidence::new(
        QuotaWindow {
            slot,
            used_percent: used,
            window_minutes: minutes,
            resets_at: resets.map(at),
            observed_at: at(observed),
        },
        source,
        at(observed),
    )
}

/// Quota evidence: saved per account (every field round-trips, stale or not), replaced whole
/// by the next save, dropped by an empty one; accounts the store does not hold are skipped;
/// the configuration version never moves.
pub async fn quota_evidence(store: &dyn PoolStore) {
    assert!(store.load_quota_evidence().await.expect("load").is_empty());
    let a = store.create_account(new_account("qa")).await.expect("a");
    let b = store.create_account(new_account("qb")).await.expect("b");
    let before = version(store).await;
    let t = 1_763_000_000_000;
    let full = AccountEvidence {
        account: a.id,
        windows: vec![
            reading(
                WindowSlot::Primary,
                Some(300),
                100.0,
                Some(t + 3_600_000),
                EvidenceSource::ErrorBody,
                t,
            ),
            reading(
                WindowSlot::Secondary,
                None,
                37.5,
                None,
                EvidenceSource::StreamEvent,
                t - 86_400_000,
            ),
            reading(
                WindowSlot::Tertiary,
                Some(43_200),
                12.25,
                Some(t + 20 * 86_400_000),
                EvidenceSource::UsageApi,
                t + 1,
            ),
        ],
        exhausted_until: Some(Evidence::new(
            at(t + 3_600_000),
            EvidenceSource::ErrorBody,
            at(t),
        )),
        credits: Some(Evidence::new(
            Credits {
                has_credits: true,
                unlimited: false,
                balance: Some("12.50".to_owned()),
            },
            EvidenceSource::ResponseHeaders,
            at(t + 2),
        )),
    };
    let windows_only = AccountEvidence {
        account: b.id,
        windows: vec![reading(
            WindowSlot::Primary,
            Some(10_080),
            5.0,
            None,
            EvidenceSource::ResponseHeaders,
            t,
        )],
        exhausted_until: None,
        credits: None,
    };
    let mut missing = full.clone();
    missing.account = AccountId(MISSING);
    store
        .save_quota_evidence(&[full.clone(), windows_only.clone(), missing])
        .await
        .expect("save");
    assert_eq!(
        store.load_quota_evidence().await.expect("load"),
        [full.clone(), windows_only.clone()]
    );
    assert_eq!(version(store).await, before, "evidence is no configuration");

    // A later save replaces the account's evidence whole; an empty one drops it.
    let mut fewer = full.clone();
    fewer.windows.truncate(1);
    fewer.credits = None;
    let limit_only = AccountEvidence {
        windows: Vec::new(),
        exhausted_until: full.exhausted_until,
        ..AccountEvidence::empty(b.id)
    };
    store
        .save_quota_evidence(&[fewer.clone(), limit_only.clone()])
        .await
        .expect("replace");
    assert_eq!(
        store.load_quota_evidence().await.expect("load"),
        [fewer.clone(), limit_only]
    );
    store
        .save_quota_evidence(&[AccountEvidence::empty(b.id)])
        .await
        .expect("drop");
    store.save_quota_evidence(&[]).await.expect("nothing");
    assert_eq!(store.load_quota_evidence().await.expect("load"), [fewer]);
}

/// Unassigning: the link goes and the version moves; unknown pools and accounts, and an
/// account not in the pool, are not found and change nothing.
pub async fn unassign(store: &dyn PoolStore) {
    let a = store.create_pool("a").await.expect("pool a");
    let b = store.create_pool("b").await.expect("pool b");
    let x = store.create_account(new_account("x")).await.expect("x");
    store.assign(a.id, x.id).await.expect("assign a-x");
    store.assign(b.id, x.id).await.expect("assign b-x");
    let before = version(store).await;

    store.unassign(a.id, x.id).await.expect("unassign a-x");
    assert_eq!(version(store).await, before + 1);
    let state = store.load_state().await.expect("load");
    assert_eq!(
        state.assignments,
        vec![Assignment {
            pool: b.id,
            account: x.id
        }],
        "only b keeps x"
    );

    let cases = [
        (
            a.id,
            x.id,
            format!("assignment of account {} to pool {} not found", x.id, a.id),
        ),
        (PoolId(MISSING), x.id, format!("pool {MISSING} not found")),
        (
            a.id,
            AccountId(MISSING),
            format!("account {MISSING} not found"),
        ),
    ];
    for (pool, account, message) in cases {
        let err = store.unassign(pool, account).await.expect_err(&message);
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(version(store).await, before + 1, "failures change nothing");
}

/// Removing an account: its secrets and assignments go, its row stays as a `removed` tombstone
/// that refuses every later change; unknown accounts are not found.
pub async fn remove_account(store: &dyn PoolStore) {
    let a = store.create_pool("a").await.expect("pool a");
    let b = store.create_pool("b").await.expect("pool b");
    let x = store.create_account(new_account("x")).await.expect("x");
    let y = store.create_account(new_account("y")).await.expect("y");
    store.assign(a.id, x.id).await.expect("assign a-x");
    store.assign(b.id, x.id).await.expect("assign b-x");
    store.assign(a.id, y.id).await.expect("assign a-y");
    let before = version(store).await;

    store.remove_account(x.id).await.expect("remove x");
    assert_eq!(version(store).await, before + 1);
    assert!(store.secrets(x.id).await.expect("secrets").is_empty());
    assert_eq!(store.secrets(y.id).await.expect("y secrets").len(), 2);
    let before = before + 1;
    let state = store.load_state().await.expect("load");
    assert_eq!(
        state.assignments,
        vec![Assignment {
            pool: a.id,
            account: y.id
        }]
    );
    let tombstone = state
        .accounts
        .iter()
        .find(|acc| acc.id == x.id)
        .expect("the row stays");
    // Setting the removed lifecycle is removing: y's secrets and assignments go too.
    store
        .set_account_lifecycle(y.id, Lifecycle::Removed)
        .await
        .expect("remove y by lifecycle");
    assert!(store.secrets(y.id).await.expect("y secrets").is_empty());
    assert!(
        store
            .load_state()
            .await
            .expect("load")
            .assignments
            .is_empty()
    );
    assert_eq!(tombstone.lifecycle, Lifecycle::Removed);
    assert_eq!(tombstone.label, "x", "records can still name it");

    let removed = format!("account {} was removed", x.id);
    let err = store.remove_account(x.id).await.expect_err("twice");
    assert!(matches!(err, StoreError::Removed(_)), "{err:?}");
    assert_eq!(err.to_string(), removed);
    let err = store.assign(a.id, x.id).await.expect_err("assign removed");
    assert_eq!(err.to_string(), removed);
    let err = store
        .set_account_lifecycle(x.id, Lifecycle::Active)
        .await
        .expect_err("revive removed");
    assert_eq!(err.to_string(), removed);
    let err = store
        .replace_secrets(x.id, vec![secret(SecretKind::AccessToken, 9)])
        .await
        .expect_err("new secrets for removed");
    assert_eq!(err.to_string(), removed);
    let err = store
        .set_account_base_url(x.id, Some("https://example.com"))
        .await
        .expect_err("origin of removed");
    assert_eq!(err.to_string(), removed);
    assert!(store.secrets(x.id).await.expect("secrets").is_empty());

    let err = store
        .remove_account(AccountId(MISSING))
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), format!("account {MISSING} not found"));
    assert_eq!(version(store).await, before + 1, "only y's removal since");
}

/// Rotating a key: same id, prefix and policy, a new hash, the old one kept as the previous
/// secret until the grace ends (or dropped without grace); unknown keys are not found.
pub async fn rotate_key(store: &dyn PoolStore) {
    let pool = store.create_pool("p").await.expect("pool");
    let mut spec = new_key(pool.id, "aaaaaaaaaaaa");
    spec.policy.allowed_models = vec!["gpt-5.1-codex".to_owned()];
    let key = store.create_key(spec).await.expect("key");
    let before = version(store).await;

    let until = at(1_800_000_000_000);
    let rotated = store
        .rotate_key(
            key.id,
            KeyRotation {
                hash: [9; 32],
                key_version: 4,
                grace_until: Some(until),
            },
        )
        .await
        .expect("rotate");
    assert_eq!(version(store).await, before + 1);
    assert_eq!(
        (rotated.id, rotated.prefix.as_str(), rotated.pool),
        (key.id, "aaaaaaaaaaaa", pool.id)
    );
    assert_eq!((rotated.hash, rotated.key_version), ([9; 32], 4));
    assert_eq!(rotated.policy, key.policy, "the policy stays attached");
    assert_eq!(
        rotated.previous,
        Some(PreviousSecret {
            hash: key.hash,
            key_version: key.key_version,
            until,
        })
    );
    let stored = store.load_state().await.expect("load").keys;
    assert_eq!(stored, vec![rotated.clone()], "as stored");

    // Again without grace: the secret before is dropped at once.
    let again = store
        .rotate_key(
            key.id,
            KeyRotation {
                hash: [8; 32],
                key_version: 4,
                grace_until: None,
            },
        )
        .await
        .expect("rotate again");
    assert_eq!((again.hash, again.previous), ([8; 32], None));
    assert_eq!(store.load_state().await.expect("load").keys, vec![again]);

    let err = store
        .rotate_key(
            KeyId(MISSING),
            KeyRotation {
                hash: [1; 32],
                key_version: 1,
                grace_until: None,
            },
        )
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), format!("key {MISSING} not found"));
    assert_eq!(version(store).await, before + 2);
}

/// Archiving a pool is for good; a pool's own waits are kept and cleared.
pub async fn pool_archive_and_waits(store: &dyn PoolStore) {
    let pool = store.create_pool("p").await.expect("pool");
    assert_eq!(pool.waits, PoolWaits::default());
    let waits = PoolWaits {
        busy_wait_secs: Some(0),
        pin_wait_secs: Some(7),
    };
    store.set_pool_waits(pool.id, waits).await.expect("waits");
    let read = store.pool_by_slug("p").await.expect("read").expect("pool");
    assert_eq!(read.waits, waits);
    let half = PoolWaits {
        busy_wait_secs: None,
        pin_wait_secs: Some(7),
    };
    store
        .set_pool_waits(pool.id, half)
        .await
        .expect("clear one");
    let read = store.pool_by_slug("p").await.expect("read").expect("pool");
    assert_eq!(read.waits, half);
    let err = store
        .set_pool_waits(PoolId(MISSING), waits)
        .await
        .expect_err("unknown");
    assert_eq!(err.to_string(), format!("pool {MISSING} not found"));

    store
        .set_pool_status(pool.id, PoolStatus::Disabled)
        .await
        .expect("disable");
    store
        .set_pool_status(pool.id, PoolStatus::Archived)
        .await
        .expect("archive");
    let before = version(store).await;
    for status in [PoolStatus::Active, PoolStatus::Disabled] {
        let err = store
            .set_pool_status(pool.id, status)
            .await
            .expect_err("archived is for good");
        assert!(matches!(err, StoreError::Archived(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "pool {} is archived for good: it cannot be enabled or disabled again",
                pool.id
            )
        );
    }
    store
        .set_pool_status(pool.id, PoolStatus::Archived)
        .await
        .expect("archiving again is harmless");
    assert_eq!(version(store).await, before + 1);
    let read = store.pool_by_slug("p").await.expect("read").expect("pool");
    assert_eq!(read.status, PoolStatus::Archived);
    let err = store
        .set_pool_status(PoolId(MISSING), PoolStatus::Archived)
        .await
        .expect_err("unknown");
    assert_eq!(err.to_string(), format!("pool {MISSING} not found"));
}
