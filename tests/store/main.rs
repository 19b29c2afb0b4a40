//! `PoolStore` conformance: one suite, run against `MemoryStore`, `SqlStore` on a fresh SQLite
//! file and `SqlStore` on a fresh PostgreSQL database.
//!
//! PostgreSQL tests read an admin URL from `CODEX_POOLER_TEST_POSTGRES_URL` (for example
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`), create one database per test and
//! drop it afterwards. Without the variable they fail, unless `CODEX_POOLER_SKIP_POSTGRES_TESTS=1` asks to skip them.

use codex_pooler_core::store::PoolStore;

/// The conformance suite: each case gets a fresh, empty store.
mod suite {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use codex_pooler_core::model::{
        AccountId, Assignment, KeyId, KeyStatus, Lifecycle, PoolId, PoolStatus,
    };
    use codex_pooler_core::record::{RequestRecord, TokenUsage};
    use codex_pooler_core::store::{
        NewAccount, NewKey, PoolStore, SealedSecret, SecretKind, StoreError,
    };

    const MISSING: i64 = 987_654_321;

    pub(crate) fn secret(kind: SecretKind, seed: u8) -> SealedSecret {
        SealedSecret {
            kind,
            key_version: u32::from(seed) + 1,
            nonce: (0..12).map(|i| seed.wrapping_add(i)).collect(),
            // Every byte value, including NUL and 0xff, must survive the round trip.
            ciphertext: (0..=255u8).map(|b| b.wrapping_add(seed)).collect(),
        }
    }

    pub(crate) fn new_account(label: &str) -> NewAccount {
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

    pub(crate) fn new_key(pool: PoolId, prefix: &str) -> NewKey {
        NewKey {
            pool,
            name: format!("key {prefix}"),
            prefix: prefix.to_owned(),
            hash: std::array::from_fn(|i| u8::try_from(i).unwrap_or(0).wrapping_mul(7)),
            key_version: 3,
            expires_at: None,
        }
    }

    /// A time with whole milliseconds (the SQL store keeps millisecond precision).
    pub(crate) fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    pub(crate) fn record(i: u64, usage: Option<TokenUsage>) -> RequestRecord {
        RequestRecord {
            received_at: at(1_763_000_000_000 + i),
            pool: PoolId(1),
            key: KeyId(2),
            account: i.is_multiple_of(2).then_some(AccountId(3)),
            route: "responses".to_owned(),
            model: (!i.is_multiple_of(3)).then(|| "gpt-5.1-codex".to_owned()),
            stream: i % 2 == 1,
            status: 200 + u16::try_from(i % 300).unwrap_or(0),
            attempts: u32::try_from(i % 4).unwrap_or(0) + 1,
            latency_ms: 1_000 + i,
            usage,
            error_code: i
                .is_multiple_of(5)
                .then(|| "no_eligible_account".to_owned()),
            exclusions: i
                .is_multiple_of(5)
                .then(|| "3:quota_exhausted,5:account_paused".to_owned()),
            end: "completed".to_owned(),
        }
    }

    async fn version(store: &dyn PoolStore) -> u64 {
        store.version().await.expect("version")
    }

    pub(crate) async fn pools(store: &dyn PoolStore) {
        assert_eq!(version(store).await, 0);
        let a = store.create_pool("team-a").await.expect("create team-a");
        assert_eq!(a.slug, "team-a");
        assert_eq!(a.status, PoolStatus::Active);
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

        let state = store.load_state().await.expect("load");
        assert_eq!(state.pools, vec![a2, b]);
    }

    pub(crate) async fn accounts_and_secrets(store: &dyn PoolStore) {
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

    pub(crate) async fn lifecycle(store: &dyn PoolStore) {
        let account = store
            .create_account(new_account("cycle"))
            .await
            .expect("create");
        let mut expected = 1;
        for lifecycle in Lifecycle::ALL.into_iter().rev() {
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

    pub(crate) async fn assignments(store: &dyn PoolStore) {
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

    pub(crate) async fn keys(store: &dyn PoolStore) {
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

        let state = store.load_state().await.expect("load");
        let mut revoked = key;
        revoked.status = KeyStatus::Revoked;
        assert_eq!(state.keys, vec![revoked, other]);
    }

    pub(crate) async fn versions(store: &dyn PoolStore) {
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

    pub(crate) async fn load_state(store: &dyn PoolStore) {
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

    pub(crate) async fn records(store: &dyn PoolStore) {
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
}

/// Generates one `#[tokio::test]` per suite case and backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::suite::$case(&codex_pooler_core::store::MemoryStore::new()).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::temp_sqlite::TempSqlite::new().await;
                    crate::suite::$case(&db.store).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = crate::temp_postgres::TempPostgres::new().await else {
                        return;
                    };
                    crate::suite::$case(&db.store).await;
                }
            )*
        }
    };
}

conformance!(
    pools,
    accounts_and_secrets,
    lifecycle,
    assignments,
    keys,
    versions,
    load_state,
    records,
);

/// SQLite files in temporary directories.
mod temp_sqlite {
    use codex_pooler_server::store::SqlStore;

    pub(crate) struct TempSqlite {
        pub(crate) store: SqlStore,
        pub(crate) url: String,
        // Dropped last: removes the database file.
        _dir: tempfile::TempDir,
    }

    impl TempSqlite {
        pub(crate) async fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("pooler.db");
            assert!(!path.exists());
            let url = format!("sqlite://{}", path.display());
            let store = SqlStore::connect(&url).await.expect("connect sqlite");
            assert!(path.exists(), "connect creates the file");
            Self {
                store,
                url,
                _dir: dir,
            }
        }
    }
}

/// Throwaway PostgreSQL databases.
mod temp_postgres {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    use codex_pooler_server::store::SqlStore;
    use sea_orm::{ConnectionTrait, Database};

    const URL_VAR: &str = "CODEX_POOLER_TEST_POSTGRES_URL";

    /// A database created for one test and dropped when this is dropped (even on panic).
    pub(crate) struct TempPostgres {
        pub(crate) store: SqlStore,
        admin_url: String,
        name: String,
    }

    /// The admin URL, or `None` (after a skip notice) outside CI when it is not set.
    fn admin_url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CODEX_POOLER_SKIP_POSTGRES_TESTS").as_deref() == Ok("1") => {
                eprintln!("SKIPPED: PostgreSQL store test (CODEX_POOLER_SKIP_POSTGRES_TESTS=1)");
                None
            }
            _ => panic!(
                "PostgreSQL is missing: {URL_VAR} is not set. Run `bash .ci/run` (it installs \
                 and starts PostgreSQL), set {URL_VAR} (e.g. \
                 postgres://postgres:postgres@127.0.0.1:5432/postgres), or set \
                 CODEX_POOLER_SKIP_POSTGRES_TESTS=1 to skip these tests"
            ),
        }
    }

    /// `admin_url` with its database name replaced by `name`.
    fn database_url(admin_url: &str, name: &str) -> String {
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url, String::new()),
        };
        let authority_start = base.find("://").map_or(0, |i| i + 3);
        let path_start = base[authority_start..]
            .find('/')
            .map_or(base.len(), |i| authority_start + i);
        format!("{}/{name}{query}", &base[..path_start])
    }

    fn unique_name() -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(
            "codex_pooler_test_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    async fn admin(admin_url: &str, sql: &str) {
        let db = Database::connect(admin_url)
            .await
            .expect("connect to the PostgreSQL admin database");
        db.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db.close().await.expect("close admin connection");
    }

    impl TempPostgres {
        pub(crate) async fn new() -> Option<Self> {
            let admin_url = admin_url()?;
            let name = unique_name();
            admin(&admin_url, &format!("CREATE DATABASE \"{name}\"")).await;
            let store = SqlStore::connect(&database_url(&admin_url, &name))
                .await
                .expect("connect postgres");
            Some(Self {
                store,
                admin_url,
                name,
            })
        }
    }

    impl Drop for TempPostgres {
        fn drop(&mut self) {
            // Drop runs inside the test's runtime: drop the database from a thread of its own.
            let admin_url = self.admin_url.clone();
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(admin(&admin_url, &sql));
            })
            .join();
            if dropped.is_err() && !std::thread::panicking() {
                panic!("could not drop test database {}", self.name);
            }
        }
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            database_url("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url("postgres://u:p@h/postgres?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}

/// Checks for both SQL backends beyond the shared suite.
mod sql {
    use codex_pooler_core::model::PoolStatus;
    use codex_pooler_core::store::{PoolStore, StoreError};
    use codex_pooler_server::store::SqlStore;
    use sea_orm::ConnectionTrait;

    /// A status spelling the domain does not know is a backend error, not a panic.
    pub(crate) async fn bad_stored_value(store: &SqlStore) {
        store.ping().await.expect("ping");
        let pool = store.create_pool("bad").await.expect("pool");
        store
            .set_pool_status(pool.id, PoolStatus::Disabled)
            .await
            .expect("status");
        store
            .connection()
            .execute_unprepared("UPDATE pools SET status = 'archived'")
            .await
            .expect("corrupt the row");
        let err = store.load_state().await.expect_err("bad status");
        match err {
            StoreError::Backend(msg) => {
                assert!(msg.contains("pools.status"), "{msg}");
                assert!(msg.contains("archived"), "{msg}");
            }
            other => panic!("expected a backend error, got {other:?}"),
        }
        let err = store.pool_by_slug("bad").await.expect_err("bad status");
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    }

    #[tokio::test]
    async fn sqlite_bad_stored_value() {
        let db = crate::temp_sqlite::TempSqlite::new().await;
        bad_stored_value(&db.store).await;
    }

    #[tokio::test]
    async fn postgres_bad_stored_value() {
        let Some(db) = crate::temp_postgres::TempPostgres::new().await else {
            return;
        };
        bad_stored_value(&db.store).await;
    }
}

/// Re-sealing every sealed value in one transaction (the secret key rotation's write).
mod reseal {
    use codex_pooler_core::store::{PoolStore, SealedSecret};
    use codex_pooler_server::store::{ResealError, Resealed, ResealedSecret, SqlStore};
    use codex_pooler_tower::keys::SealedHashingKey;

    fn hashing_key(key_version: u32) -> SealedHashingKey {
        SealedHashingKey {
            version: 3,
            key_version,
            nonce: vec![key_version as u8; 12],
            ciphertext: vec![7; 48],
        }
    }

    pub(crate) async fn all_or_nothing(store: &SqlStore) {
        let pool = store.create_pool("reseal").await.expect("pool");
        let account = store
            .create_account(crate::suite::new_account("reseal"))
            .await
            .expect("account");
        store
            .create_key(crate::suite::new_key(pool.id, "cpk_reseal"))
            .await
            .expect("key");
        let inventory = store.sealed_inventory().await.expect("inventory");
        assert_eq!(inventory.secrets.len(), 2);
        assert!(inventory.secrets.iter().all(|s| s.account == account.id));
        assert!(
            inventory
                .secrets
                .iter()
                .all(|s| s.chatgpt_account_id == "acct-reseal")
        );
        assert_eq!(
            inventory.key_hashes,
            std::collections::BTreeMap::from([(3, 1)])
        );
        assert_eq!(
            store.key_hash_versions().await.expect("versions"),
            inventory.key_hashes
        );
        assert!(inventory.hashing_keys.is_empty());
        let before = store.secrets(account.id).await.expect("secrets");
        let version = store.version().await.expect("version");

        // A plan that refuses writes nothing.
        let err = store
            .reseal(|_| Err::<(Resealed, ()), _>(std::fmt::Error))
            .await
            .expect_err("refused");
        assert!(matches!(err, ResealError::Plan(std::fmt::Error)), "{err:?}");
        assert_eq!(store.version().await.expect("version"), version);

        // Every secret re-sealed, a hashing key stored, the version bumped once.
        let resealed = |secret: &SealedSecret| SealedSecret {
            key_version: 9,
            nonce: vec![9; 12],
            ciphertext: secret.ciphertext.iter().rev().copied().collect(),
            ..secret.clone()
        };
        let answer = store
            .reseal(|inventory| {
                let secrets = inventory
                    .secrets
                    .iter()
                    .map(|s| ResealedSecret {
                        account: s.account,
                        replaces_nonce: s.sealed.nonce.clone(),
                        sealed: resealed(&s.sealed),
                    })
                    .collect();
                Ok::<_, std::fmt::Error>((
                    Resealed {
                        secrets,
                        hashing_keys: vec![hashing_key(9)],
                    },
                    42,
                ))
            })
            .await
            .expect("reseal");
        assert_eq!(answer, 42);
        assert_eq!(store.version().await.expect("version"), version + 1);
        let after = store.secrets(account.id).await.expect("secrets");
        assert_eq!(after, before.iter().map(resealed).collect::<Vec<_>>());
        assert_eq!(
            store.hashing_keys().await.expect("hashing keys"),
            vec![hashing_key(9)]
        );

        // A secret that changed since it was read (its nonce differs) stops the whole write.
        let err = store
            .reseal(|inventory| {
                let mut secrets: Vec<ResealedSecret> = inventory
                    .secrets
                    .iter()
                    .map(|s| ResealedSecret {
                        account: s.account,
                        replaces_nonce: s.sealed.nonce.clone(),
                        sealed: SealedSecret {
                            key_version: 10,
                            ..s.sealed.clone()
                        },
                    })
                    .collect();
                secrets[1].replaces_nonce = vec![0; 12];
                Ok::<_, std::fmt::Error>((
                    Resealed {
                        secrets,
                        hashing_keys: vec![hashing_key(10)],
                    },
                    (),
                ))
            })
            .await
            .expect_err("changed");
        match err {
            ResealError::Changed { account: id, kind } => {
                assert_eq!(id, account.id);
                assert_eq!(kind, after[1].kind);
            }
            other => panic!("expected Changed, got {other:?}"),
        }
        assert_eq!(store.secrets(account.id).await.expect("secrets"), after);
        assert_eq!(
            store.hashing_keys().await.expect("hashing keys"),
            vec![hashing_key(9)]
        );
        assert_eq!(store.version().await.expect("version"), version + 1);

        // An empty set of hashing keys clears them.
        store
            .reseal(|_| Ok::<_, std::fmt::Error>((Resealed::default(), ())))
            .await
            .expect("clear");
        assert!(store.hashing_keys().await.expect("hashing keys").is_empty());
    }

    #[tokio::test]
    async fn sqlite() {
        let db = crate::temp_sqlite::TempSqlite::new().await;
        all_or_nothing(&db.store).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = crate::temp_postgres::TempPostgres::new().await else {
            return;
        };
        all_or_nothing(&db.store).await;
    }
}

/// The database file, its WAL and its SHM are readable by their owner only.
#[cfg(unix)]
mod file_modes {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use codex_pooler_core::store::PoolStore;
    use codex_pooler_server::store::SqlStore;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    fn open_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        dir
    }

    fn companions(db: &Path) -> [std::path::PathBuf; 3] {
        let with = |suffix: &str| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::path::PathBuf::from(name)
        };
        [db.to_path_buf(), with("-wal"), with("-shm")]
    }

    #[tokio::test]
    async fn a_new_database_is_private_with_its_wal_and_shm() {
        let dir = open_dir();
        let path = dir.path().join("pooler.db");
        let store = SqlStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("connect");
        store.create_pool("modes").await.expect("write");
        // SQLite made the WAL and SHM files with the database file's mode.
        for file in companions(&path) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        assert_eq!(mode(dir.path()), 0o755, "the directory is left alone");
    }

    #[tokio::test]
    async fn an_existing_open_database_is_made_private() {
        let dir = open_dir();
        let path = dir.path().join("pooler.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqlStore::connect(&url).await.expect("connect");
        store.create_pool("older").await.expect("write");
        store.close().await.expect("close");
        // As an older version left it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let store = SqlStore::connect(&url).await.expect("reopen");
        store.create_pool("newer").await.expect("write");
        for file in companions(&path) {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
}

#[tokio::test]
async fn sqlite_reopen_keeps_data() {
    let db = temp_sqlite::TempSqlite::new().await;
    let pool = db.store.create_pool("kept").await.expect("pool");
    let account = db
        .store
        .create_account(suite::new_account("kept"))
        .await
        .expect("account");
    db.store.assign(pool.id, account.id).await.expect("assign");
    db.store
        .create_key(suite::new_key(pool.id, "cpk_kept"))
        .await
        .expect("key");
    db.store
        .insert_records(&[suite::record(1, None), suite::record(2, None)])
        .await
        .expect("records");
    let before = db.store.load_state().await.expect("load");
    let records = db.store.recent_records(10).await.expect("recent");
    let secrets = db.store.secrets(account.id).await.expect("secrets");
    db.store.clone().close().await.expect("close");

    let reopened = codex_pooler_server::store::SqlStore::connect(&db.url)
        .await
        .expect("reopen");
    let after = reopened.load_state().await.expect("load");
    assert_eq!(after.version, before.version);
    assert_eq!(after.pools, before.pools);
    assert_eq!(after.accounts, before.accounts);
    assert_eq!(after.assignments, before.assignments);
    assert_eq!(after.keys, before.keys);
    assert_eq!(reopened.recent_records(10).await.expect("recent"), records);
    assert_eq!(
        reopened.secrets(account.id).await.expect("secrets"),
        secrets
    );
    // Migrations ran once: writing goes on from where it stopped.
    reopened.create_pool("more").await.expect("pool");
    assert_eq!(
        reopened.version().await.expect("version"),
        before.version + 1
    );
}

/// Two stores on one file (a CLI beside a running server) write at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_write_concurrently() {
    let db = temp_sqlite::TempSqlite::new().await;
    let other = codex_pooler_server::store::SqlStore::connect(&db.url)
        .await
        .expect("second store");
    let write = |store: codex_pooler_server::store::SqlStore, tag: &'static str| async move {
        for i in 0..25 {
            store
                .create_pool(&format!("{tag}-{i}"))
                .await
                .expect("concurrent create");
            store
                .insert_records(&[suite::record(i, None)])
                .await
                .expect("concurrent records");
        }
    };
    let a = tokio::spawn(write(db.store.clone(), "a"));
    let b = tokio::spawn(write(other.clone(), "b"));
    a.await.expect("writer a");
    b.await.expect("writer b");
    assert_eq!(db.store.version().await.expect("version"), 50);
    assert_eq!(other.load_state().await.expect("load").pools.len(), 50);
    assert_eq!(
        db.store
            .recent_records(usize::MAX)
            .await
            .expect("recent")
            .len(),
        50
    );
}

/// Connections to the file use WAL, a busy timeout and foreign keys.
#[tokio::test]
async fn sqlite_pragmas() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let db = temp_sqlite::TempSqlite::new().await;
    let pragma = |sql: &'static str| {
        let conn = db.store.connection().clone();
        async move {
            conn.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .expect("pragma")
                .expect("pragma row")
        }
    };
    let mode: String = pragma("PRAGMA journal_mode")
        .await
        .try_get_by_index(0)
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let timeout: i64 = pragma("PRAGMA busy_timeout")
        .await
        .try_get_by_index(0)
        .expect("busy_timeout");
    assert!(timeout >= 5_000, "busy_timeout {timeout}");
    let fk: i64 = pragma("PRAGMA foreign_keys")
        .await
        .try_get_by_index(0)
        .expect("foreign_keys");
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn sqlite_in_memory_url() {
    let store = codex_pooler_server::store::SqlStore::connect("sqlite::memory:")
        .await
        .expect("connect");
    suite::load_state(&store).await;
}

#[tokio::test]
async fn unsupported_url_is_a_backend_error() {
    let err = codex_pooler_server::store::SqlStore::connect("mysql://u:secret@h/db")
        .await
        .expect_err("mysql is not supported");
    let msg = err.to_string();
    assert!(msg.contains("unsupported"), "{msg}");
    assert!(!msg.contains("secret"), "the URL is not echoed: {msg}");
}
