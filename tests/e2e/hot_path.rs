//! The request path makes no store call: configuration is read from memory, records are written
//! in batches off the path.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use axum::Router;
use codex_pooler_core::model::{
    AccountId, KeyId, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId, PoolStatus, UpstreamAccount,
};
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::{
    NewAccount, NewKey, PoolStore, SealedSecret, StoreError, StoreState,
};
use codex_pooler_server::fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};
use codex_pooler_server::store::SqlStore;
use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
use codex_pooler_tower::records::{RecordWriter, RecordWriterConfig};
use codex_pooler_tower::{ConfigSync, Pooler, PoolerLayer};
use tower::Layer;

use crate::support::*;

/// A store that counts every call, over a real SQLite store.
#[derive(Debug)]
struct Counting {
    inner: SqlStore,
    reads: AtomicUsize,
    record_batches: AtomicUsize,
}

impl Counting {
    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl PoolStore for Counting {
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError> {
        self.read();
        self.inner.create_pool(slug).await
    }
    async fn set_pool_status(&self, p: PoolId, s: PoolStatus) -> Result<(), StoreError> {
        self.read();
        self.inner.set_pool_status(p, s).await
    }
    async fn set_pool_strategy(&self, p: PoolId, s: Option<&str>) -> Result<(), StoreError> {
        self.read();
        self.inner.set_pool_strategy(p, s).await
    }
    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError> {
        self.read();
        self.inner.pool_by_slug(slug).await
    }
    async fn create_account(&self, a: NewAccount) -> Result<UpstreamAccount, StoreError> {
        self.read();
        self.inner.create_account(a).await
    }
    async fn set_account_lifecycle(&self, a: AccountId, l: Lifecycle) -> Result<(), StoreError> {
        self.read();
        self.inner.set_account_lifecycle(a, l).await
    }
    async fn set_account_base_url(&self, a: AccountId, u: Option<&str>) -> Result<(), StoreError> {
        self.read();
        self.inner.set_account_base_url(a, u).await
    }
    async fn replace_secrets(&self, a: AccountId, s: Vec<SealedSecret>) -> Result<(), StoreError> {
        self.read();
        self.inner.replace_secrets(a, s).await
    }
    async fn secrets(&self, a: AccountId) -> Result<Vec<SealedSecret>, StoreError> {
        self.read();
        self.inner.secrets(a).await
    }
    async fn assign(&self, p: PoolId, a: AccountId) -> Result<(), StoreError> {
        self.read();
        self.inner.assign(p, a).await
    }
    async fn create_key(&self, k: NewKey) -> Result<PoolApiKey, StoreError> {
        self.read();
        self.inner.create_key(k).await
    }
    async fn set_key_status(&self, k: KeyId, s: KeyStatus) -> Result<(), StoreError> {
        self.read();
        self.inner.set_key_status(k, s).await
    }
    async fn version(&self) -> Result<u64, StoreError> {
        self.read();
        self.inner.version().await
    }
    async fn load_state(&self) -> Result<StoreState, StoreError> {
        self.read();
        self.inner.load_state().await
    }
    async fn insert_records(&self, r: &[RequestRecord]) -> Result<(), StoreError> {
        self.record_batches.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_records(r).await
    }
    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        self.read();
        self.inner.recent_records(limit).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_make_no_store_calls_and_records_are_batched() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hot.db").display());
    let store = Arc::new(Counting {
        inner: SqlStore::connect(&url).await.unwrap(),
        reads: AtomicUsize::new(0),
        record_batches: AtomicUsize::new(0),
    });
    let dyn_store: Arc<dyn PoolStore> = store.clone();

    let c = fake_credentials("acct-hot", "hot@example.com");
    let fake = FakeUpstream::start(FakeConfig::with_accounts(vec![FakeAccount::new(
        &c.account_id,
        &c.access_token,
        "hot",
    )]))
    .unwrap();
    let sealing = SealingKey::generate(1);
    let hasher = KeyHasher::from_sealing_key(&sealing);
    let sealer = SecretSealer::new(vec![sealing], 1).unwrap();
    let auth = import_auth_json(c.auth_json.as_bytes(), SystemTime::now()).unwrap();
    let pool = dyn_store.create_pool("hot").await.unwrap();
    let account = dyn_store
        .create_account(auth.new_account(&sealer, Some("hot"), Some(&fake.base_url())))
        .await
        .unwrap();
    dyn_store.assign(pool.id, account.id).await.unwrap();
    let key = PoolKeyMaterial::generate();
    dyn_store
        .create_key(NewKey {
            pool: pool.id,
            name: "k".into(),
            prefix: key.prefix.clone(),
            hash: hasher.hash(key.plaintext.expose()),
            key_version: hasher.key_version(),
            expires_at: None,
        })
        .await
        .unwrap();

    let sync = ConfigSync::load(Arc::clone(&dyn_store), sealer)
        .await
        .unwrap();
    let writer = Arc::new(RecordWriter::spawn(
        Arc::clone(&dyn_store),
        RecordWriterConfig::default(),
    ));
    let pooler = Pooler::builder(sync.snapshot(), hasher)
        .credentials(sync.credentials())
        .records(writer.clone())
        .build();
    let app = Router::new().fallback_service(PoolerLayer::new(pooler).layer(Router::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let reads_before = store.reads.load(Ordering::SeqCst);
    let n = 60;
    for i in 0..n {
        let reply = post_responses(
            &format!("http://{addr}"),
            "/backend-api/codex/responses",
            key.plaintext.expose(),
            &responses_body("gpt-5.1-codex", &format!("hot {i}")),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(
        store.reads.load(Ordering::SeqCst),
        reads_before,
        "the request path called the store"
    );
    writer.shutdown().await;
    let batches = store.record_batches.load(Ordering::SeqCst);
    assert!(
        batches >= 1 && batches < n,
        "{batches} record writes for {n} requests"
    );
    assert_eq!(store.inner.recent_records(1000).await.unwrap().len(), n);
}
