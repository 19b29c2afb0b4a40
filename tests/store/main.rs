//! `PoolStore` conformance: the test kit's suite (`codex_pooler_test_kit::store_conformance`),
//! run against `MemoryStore`, `SqlStore` on a fresh SQLite file and `SqlStore` on a fresh
//! PostgreSQL database; then tests of the SQL store alone.
//!
//! PostgreSQL tests read an admin URL from `CODEX_POOLER_TEST_POSTGRES_URL` (for example
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`), create one database per test and
//! drop it afterwards. Without the variable they fail, unless `CODEX_POOLER_SKIP_POSTGRES_TESTS=1` asks to skip them.

use codex_pooler_core::store::{MemoryStore, PoolStore};
use codex_pooler_test_kit::pool_store_conformance;
use codex_pooler_test_kit::store_conformance::{self as suite, StoreFixture};

mod records;

pool_store_conformance!(memory, async { Some(MemoryStore::new()) });
pool_store_conformance!(sqlite, async {
    Some(crate::temp_sqlite::TempSqlite::new().await)
});
pool_store_conformance!(postgres, crate::temp_postgres::TempPostgres::new());

impl StoreFixture for temp_sqlite::TempSqlite {
    fn store(&self) -> &dyn PoolStore {
        &self.store
    }
}

impl StoreFixture for temp_postgres::TempPostgres {
    fn store(&self) -> &dyn PoolStore {
        &self.store
    }
}

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
            .execute_unprepared("UPDATE pools SET status = 'deleted'")
            .await
            .expect("corrupt the row");
        let err = store.load_state().await.expect_err("bad status");
        match err {
            StoreError::Backend(msg) => {
                assert!(msg.contains("pools.status"), "{msg}");
                assert!(msg.contains("deleted"), "{msg}");
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
