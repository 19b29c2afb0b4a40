//! The crash window, in process over SQLite and the fake's OAuth server: upstream has rotated
//! the lineage but the store write did not happen.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::model::{DEFAULT_CODEX_MODELS, Lifecycle, UpstreamAccount};
use codex_pooler_core::store::{NewAccount, PoolStore, SecretKind};
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle};
use codex_pooler_server::store::SqlStore;
use codex_pooler_test_kit::{FailNext, HookedStore, StoreCall};
use codex_pooler_tower::ConfigSync;
use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
use codex_pooler_tower::refresh::{
    HttpTokenEndpoint, RefreshPolicy, RefreshReason, RefreshingCredentials,
};
use codex_pooler_tower::upstream::CredentialSource;

use super::expiring;
use crate::support::FakeCredentials;

/// SQLite whose `replace_secrets` fails while the hook's count of failures to come is above
/// zero.
type FailingWrites = HookedStore<SqlStore, FailNext>;

/// A store with one account whose token expires in two minutes, a fake that knows its refresh
/// token, and the secret key (as a config value, to build sealers for several "processes").
struct Scene {
    _dir: tempfile::TempDir,
    store: Arc<FailingWrites>,
    fake: FakeUpstreamHandle,
    creds: FakeCredentials,
    key: String,
    account: UpstreamAccount,
}

impl Scene {
    async fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("crash.db").display());
        let store = Arc::new(FailingWrites::new(
            SqlStore::connect(&url).await.unwrap(),
            FailNext::new(StoreCall::ReplaceSecrets, "the process died here"),
        ));
        let creds = expiring("acct-crash", 120);
        let mut config = FakeConfig::with_accounts(vec![FakeAccount::new(
            &creds.account_id,
            &creds.access_token,
            "crash",
        )]);
        config.oauth.grant(&creds.account_id, &creds.refresh_token);
        let fake = FakeUpstream::start(config).unwrap();
        let key = SealingKey::generate(1).to_config_value();
        let scene_sealer = sealer(&key);
        let secrets = [
            (SecretKind::AccessToken, &creds.access_token),
            (SecretKind::RefreshToken, &creds.refresh_token),
        ]
        .into_iter()
        .map(|(kind, token)| scene_sealer.seal(&creds.account_id, kind, token.as_bytes()))
        .collect();
        let account = store
            .create_account(NewAccount {
                label: "crash".into(),
                chatgpt_account_id: creds.account_id.clone(),
                user_id: None,
                email: None,
                plan_type: None,
                base_url: Some(fake.base_url()),
                models: DEFAULT_CODEX_MODELS
                    .iter()
                    .map(|m| (*m).to_owned())
                    .collect(),
                secrets,
            })
            .await
            .unwrap();
        Self {
            _dir: dir,
            store,
            fake,
            creds,
            key,
            account,
        }
    }

    /// One gateway "process": the reload's tokens and a refresher over them.
    async fn process(&self) -> RefreshingCredentials {
        let dyn_store: Arc<dyn PoolStore> = self.store.clone();
        let sync = ConfigSync::load(Arc::clone(&dyn_store), sealer(&self.key))
            .await
            .unwrap();
        let endpoint =
            HttpTokenEndpoint::new(&format!("{}/oauth/token", self.fake.base_url())).unwrap();
        RefreshingCredentials::builder(
            sync.credentials(),
            dyn_store,
            Arc::new(sealer(&self.key)),
            Arc::new(endpoint),
        )
        .policy(RefreshPolicy::default().with_reuse_grace(Duration::ZERO))
        .build()
    }

    /// The stored (access, refresh) tokens.
    async fn stored(&self) -> (String, String) {
        let secrets = self.store.inner().secrets(self.account.id).await.unwrap();
        let open = |kind| {
            let sealed = secrets.iter().find(|s| s.kind == kind).unwrap();
            sealer(&self.key)
                .open(&self.creds.account_id, sealed)
                .unwrap()
                .expose()
                .to_owned()
        };
        (
            open(SecretKind::AccessToken),
            open(SecretKind::RefreshToken),
        )
    }

    fn refresh_calls(&self) -> u64 {
        self.fake.state().config().oauth.refresh_calls()
    }

    async fn lifecycle(&self) -> Lifecycle {
        self.store.load_state().await.unwrap().accounts[0].lifecycle
    }
}

fn sealer(key: &str) -> SecretSealer {
    SecretSealer::new(vec![SealingKey::from_config_value(key, 1).unwrap()], 1).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_token_answer_and_store_write_ends_in_reauth_required() {
    let scene = Scene::new().await;
    let old = (
        scene.creds.access_token.clone(),
        scene.creds.refresh_token.clone(),
    );
    scene.store.hook().fail_next(1);

    let first = scene.process().await;
    // The token is due, not expired: the request goes ahead with it, never with the new one.
    let token = first.access_token(&scene.account).await.unwrap();
    assert_eq!(token.expose(), old.0, "the unstored token was used");
    assert_eq!(scene.refresh_calls(), 1);
    let live = scene
        .fake
        .state()
        .config()
        .oauth
        .live_refresh_token("acct-crash")
        .map(str::to_owned);
    assert_ne!(
        live.as_deref(),
        Some(old.1.as_str()),
        "upstream rotated the lineage"
    );
    assert_eq!(
        scene.stored().await,
        old,
        "the store holds the old, consistent pair"
    );
    assert_eq!(scene.lifecycle().await, Lifecycle::Active);

    // The process dies here (`first` is never used again). The next one only knows the
    // consumed refresh token: upstream says it was reused, the operator is told.
    let second = scene.process().await;
    let token = second.access_token(&scene.account).await.unwrap();
    assert_eq!(
        token.expose(),
        old.0,
        "still valid, still served while it lasts"
    );
    assert_eq!(scene.refresh_calls(), 2);
    assert_eq!(scene.lifecycle().await, Lifecycle::ReauthRequired);
    assert_eq!(scene.stored().await, old, "nothing half-written");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_crash_the_waiting_tokens_are_stored_before_upstream_is_asked_again() {
    let scene = Scene::new().await;
    scene.store.hook().fail_next(1);
    let process = scene.process().await;
    let token = process.access_token(&scene.account).await.unwrap();
    assert_eq!(token.expose(), scene.creds.access_token);

    let token = process
        .refresh_now(&scene.account, RefreshReason::ProactiveExpiry)
        .await
        .unwrap();
    assert_ne!(token.expose(), scene.creds.access_token);
    assert_eq!(
        scene.refresh_calls(),
        1,
        "the stored-late tokens were not refreshed again"
    );
    let live = scene
        .fake
        .state()
        .config()
        .oauth
        .live_refresh_token("acct-crash")
        .map(str::to_owned);
    assert_eq!(
        scene.stored().await,
        (token.expose().to_owned(), live.unwrap())
    );
    assert_eq!(process.access_token(&scene.account).await.unwrap(), token);
}
