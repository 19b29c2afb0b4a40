//! Unauthorized recovery on every path that uses an account's token: the websocket upgrade, the
//! usage probe, the catalog sync and workspace discovery each answer an upstream 401 with exactly
//! one refresh at the fake's OAuth server and one retry; a refresh that fails for good is not
//! retried in a loop. (The HTTP path is covered in `refresh.rs`.)

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::model::{KeyPolicy, UpstreamAccount};
use codex_pooler_core::store::{MemoryStore, NewKey, PoolStore};
use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeRefreshFailure, FakeUpstream, FakeUpstreamHandle, SeenRequest,
};
use codex_pooler_tower::catalog_sync::CatalogSync;
use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
use codex_pooler_tower::job_context::JobContext;
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
use codex_pooler_tower::refresh::{HttpTokenEndpoint, RefreshingCredentials};
use codex_pooler_tower::upstream::CredentialSource;
use codex_pooler_tower::usage_probe::{ProbeOutcome, UsageProbe};
use codex_pooler_tower::workspace::{WorkspaceDiscovery, WorkspaceRoutes};
use codex_pooler_tower::{ConfigSync, Pooler, PoolerLayer};
use tower::Layer;

use crate::support::*;
use crate::ws_client;

const TURNS: &str = "/backend-api/codex/responses";
const USAGE: &str = "/backend-api/wham/usage";
const MODELS: &str = "/backend-api/codex/models";
const CHECK: &str = "/backend-api/wham/accounts/check";

/// One account, a fake that knows its refresh token, and an in-process gateway whose every
/// component shares one refreshing credential source.
struct World {
    fake: FakeUpstreamHandle,
    snapshot: SnapshotHandle,
    credentials: Arc<RefreshingCredentials>,
    live: Arc<LiveState>,
    routes: WorkspaceRoutes,
    base: String,
    key: String,
    id: String,
}

impl World {
    async fn new(configure: impl FnOnce(&mut FakeConfig)) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = fake_credentials("acct-recover", "recover@example.com");
        let mut config = FakeConfig::with_accounts(vec![FakeAccount::new(
            &c.account_id,
            &c.access_token,
            "recover",
        )]);
        config.oauth.grant(&c.account_id, &c.refresh_token);
        configure(&mut config);
        let fake = FakeUpstream::start(config).unwrap();

        let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
        let sealing = SealingKey::generate(1);
        let hasher = KeyHasher::from_sealing_key(&sealing);
        let sealer = SecretSealer::new(vec![sealing.clone()], 1).unwrap();
        let pool = store.create_pool("team").await.unwrap();
        let auth = import_auth_json(c.auth_json.as_bytes(), SystemTime::now()).unwrap();
        let account = store
            .create_account(auth.new_account(&sealer, None, Some(&fake.base_url())))
            .await
            .unwrap();
        store.assign(pool.id, account.id).await.unwrap();
        let key = PoolKeyMaterial::generate();
        store
            .create_key(NewKey {
                pool: pool.id,
                name: "recovery".into(),
                prefix: key.prefix.clone(),
                hash: hasher.hash(key.plaintext.expose()),
                key_version: hasher.key_version(),
                expires_at: None,
                policy: KeyPolicy::default(),
            })
            .await
            .unwrap();

        let sync = ConfigSync::load(Arc::clone(&store), sealer).await.unwrap();
        let endpoint = HttpTokenEndpoint::new(&format!("{}/oauth/token", fake.base_url())).unwrap();
        let credentials = Arc::new(
            RefreshingCredentials::builder(
                sync.credentials(),
                store,
                Arc::new(SecretSealer::new(vec![sealing], 1).unwrap()),
                Arc::new(endpoint),
            )
            .build(),
        );
        let routes = WorkspaceRoutes::new();
        let pooler = Pooler::builder(sync.snapshot(), hasher)
            .credentials(credentials.clone())
            .workspace_routes(routes.clone())
            .build();
        let live = Arc::clone(pooler.live());
        let app = Router::new().fallback_service(PoolerLayer::new(pooler).layer(Router::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            fake,
            snapshot: sync.snapshot(),
            credentials,
            live,
            routes,
            base,
            key: key.plaintext.expose().to_owned(),
            id: c.account_id,
        }
    }

    fn account(&self) -> Arc<UpstreamAccount> {
        Arc::clone(self.snapshot.load().accounts().next().unwrap())
    }

    fn dyn_credentials(&self) -> Arc<dyn CredentialSource> {
        self.credentials.clone()
    }

    /// Upstream stops accepting the account's access token (revoked early, say); a refresh
    /// gives a new one it accepts.
    fn revoke(&self) {
        self.fake
            .set_account(&self.id, |a| a.access_token = "revoked".to_owned());
        self.fake.clear_seen();
    }

    fn refresh_calls(&self) -> u64 {
        self.fake.state().config().oauth.refresh_calls()
    }

    fn seen_on(&self, path: &str) -> Vec<SeenRequest> {
        self.fake
            .seen()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The calls on `path` were a refused one and an accepted retry, in that order.
    fn assert_refused_then_retried(&self, path: &str) {
        let calls: Vec<bool> = self.seen_on(path).iter().map(|r| r.authorized).collect();
        assert_eq!(calls, [false, true], "{path}");
    }

    /// The jobs' context, with workspace routes of its own (not the pooler's).
    fn jobs(&self) -> JobContext {
        JobContext::new(
            self.snapshot.clone(),
            self.dyn_credentials(),
            Arc::clone(&self.live),
            &self.fake.base_url(),
        )
    }

    fn probe(&self) -> UsageProbe {
        UsageProbe::new(&self.jobs())
    }

    fn catalog(&self) -> CatalogSync {
        CatalogSync::new(&self.jobs())
    }

    fn discovery(&self) -> WorkspaceDiscovery {
        WorkspaceDiscovery::new(&self.jobs().workspace_routes(self.routes.clone()))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_websocket_upgrade_refreshes_once_reconnects_and_rediscovers() {
    let world = World::new(|_| {}).await;
    let job = world.discovery().spawn();
    eventually("the first discovery", || !world.seen_on(CHECK).is_empty()).await;
    world.revoke();

    let mut socket = ws_client::open(&world.base, &world.key).await.unwrap();
    assert_eq!(ws_client::one_turn(&mut socket).await, "Hello from recover");
    assert_eq!(world.refresh_calls(), 1);
    let upgrades: Vec<bool> = world
        .seen_on(TURNS)
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.authorized)
        .collect();
    assert_eq!(upgrades, [false, true]);
    // As the Codex CLI does after its unauthorized recovery: the account is checked again,
    // with the fresh token.
    eventually("a rediscovery", || {
        world.seen_on(CHECK).iter().any(|r| r.authorized)
    })
    .await;
    job.abort();
    assert_eq!(world.refresh_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_usage_probe_refreshes_once_after_a_401() {
    let world = World::new(|_| {}).await;
    world.revoke();
    let report = world.probe().probe_once().await;
    assert_eq!(
        report.outcomes,
        [(world.account().id, ProbeOutcome::Recorded)]
    );
    assert_eq!(world.refresh_calls(), 1);
    world.assert_refused_then_retried(USAGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_sync_refreshes_once_after_a_401() {
    let world = World::new(|_| {}).await;
    world.revoke();
    assert_eq!(world.catalog().sync_once().await, 1);
    assert_eq!(world.refresh_calls(), 1);
    world.assert_refused_then_retried(MODELS);
}

#[tokio::test(flavor = "multi_thread")]
async fn workspace_discovery_refreshes_once_after_a_401() {
    let world = World::new(|config| {
        config.accounts[0].account_routing_override = Some("us_cr".to_owned());
    })
    .await;
    world.revoke();
    let route = world.discovery().discover(&world.account()).await.unwrap();
    assert_eq!(route.routing_override.map(|o| o.as_str()), Some("us_cr"));
    assert_eq!(world.routes.get(world.account().id), Some(route));
    assert_eq!(world.refresh_calls(), 1);
    world.assert_refused_then_retried(CHECK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_rejected_for_good_is_tried_once_on_any_path() {
    let world = World::new(|config| {
        config.oauth.refresh_failure = Some(FakeRefreshFailure::InvalidGrant);
    })
    .await;
    world.revoke();
    let account = world.account();

    let report = world.probe().probe_once().await;
    assert_eq!(report.outcome(account.id), Some(ProbeOutcome::Unauthorized));
    assert_eq!(world.refresh_calls(), 1);

    // Every other path meets the same dead lineage without asking the token endpoint again.
    assert_eq!(world.catalog().sync_once().await, 0);
    assert!(world.discovery().discover(&account).await.is_err());
    assert!(ws_client::open(&world.base, &world.key).await.is_err());
    let reply = post_responses(
        &world.base,
        TURNS,
        &world.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_ne!(reply.status, 200, "{}", reply.body);
    assert_eq!(world.refresh_calls(), 1);
    // Each path made its one call and did not retry it.
    for path in [USAGE, MODELS, CHECK] {
        assert_eq!(world.seen_on(path).len(), 1, "{path}");
    }
    assert_eq!(world.routes.get(account.id), None);
}
