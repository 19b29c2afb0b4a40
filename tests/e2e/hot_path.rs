//! The request path makes no store call: configuration is read from memory, records and quota
//! evidence are written in batches off the path.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use codex_pooler_core::model::KeyPolicy;
use codex_pooler_core::store::{NewKey, PoolStore};
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};
use codex_pooler_server::store::SqlStore;
use codex_pooler_test_kit::{CountCalls, HookedStore, StoreCall};
use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
use codex_pooler_tower::evidence::{EvidenceWriter, EvidenceWriterConfig};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
use codex_pooler_tower::records::{RecordWriter, RecordWriterConfig};
use codex_pooler_tower::{ConfigSync, Pooler, PoolerLayer};
use tower::Layer;

use crate::support::*;

/// A store that counts every call, over a real SQLite store: `insert_records` calls are record
/// batches, `save_quota_evidence` calls evidence flushes, every other call a read.
type Counting = HookedStore<SqlStore, CountCalls>;

#[tokio::test(flavor = "multi_thread")]
async fn requests_make_no_store_calls_and_records_are_batched() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hot.db").display());
    let store = Arc::new(Counting::new(
        SqlStore::connect(&url).await.unwrap(),
        CountCalls::new(),
    ));
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
            policy: KeyPolicy::default(),
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
    // The evidence flush runs only when asked here (its interval is longer than the test), so
    // every evidence write below is the flush's, none a request's.
    let evidence = EvidenceWriter::new(
        Arc::clone(&dyn_store),
        Arc::clone(pooler.live()),
        EvidenceWriterConfig {
            flush_interval: std::time::Duration::from_secs(3_600),
        },
    );
    let app = Router::new().fallback_service(PoolerLayer::new(pooler).layer(Router::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let reads_before = store.hook().total_except(StoreCall::InsertRecords);
    assert_eq!(store.hook().count(StoreCall::SaveQuotaEvidence), 0);
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
        store.hook().total_except(StoreCall::InsertRecords),
        reads_before,
        "the request path called the store"
    );
    // Every answer carried quota headers; one flush writes the one account's latest evidence.
    assert_eq!(evidence.flush().await.unwrap(), 1);
    assert_eq!(store.hook().count(StoreCall::SaveQuotaEvidence), 1);
    assert_eq!(
        evidence.flush().await.unwrap(),
        0,
        "nothing new, nothing written"
    );
    assert_eq!(store.hook().count(StoreCall::SaveQuotaEvidence), 1);
    let saved = store.inner().load_quota_evidence().await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].account, account.id);
    assert!(!saved[0].windows.is_empty());
    writer.shutdown().await;
    let batches = store.hook().count(StoreCall::InsertRecords);
    assert!(
        batches >= 1 && batches < n,
        "{batches} record writes for {n} requests"
    );
    assert_eq!(store.inner().recent_records(1000).await.unwrap().len(), n);
}
