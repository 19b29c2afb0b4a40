//! Embedding codex-pooler in your own axum service.
//!
//! Run with `cargo run -p codex-pooler-examples --example embed_axum -- path/to/auth.json`.
//!
//! The service keeps its own routes (`/hello` here); `PoolerLayer` answers the pooled Codex
//! routes (`/backend-api/codex/responses`, `/v1/responses`) in front of them, over an in-memory
//! store configured in code. The gateway runs what `codex-pooler serve` runs in the background
//! (configuration reload, token refresher, workspace discovery, catalog sync, usage probe,
//! record writer) and drains it all on Ctrl-C.

use std::error::Error;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use codex_pooler_core::model::KeyPolicy;
use codex_pooler_core::store::{MemoryStore, NewKey, PoolStore};
use codex_pooler_tower::PoolerLayer;
use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
use codex_pooler_tower::gateway::{Gateway, GatewaySettings, RunningGateway};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
use tower::Layer;

/// Builds the app: a pool with the account from `auth_json`, one Pool API key (returned), the
/// running gateway (shut it down when the app stops serving), and the pooler wrapped around the
/// service's own router.
pub async fn pooled_app(
    auth_json: &[u8],
    settings: GatewaySettings,
) -> Result<(Router, String, RunningGateway), Box<dyn Error + Send + Sync>> {
    // 1. Configuration, in code: one pool, one upstream account, one key.
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let sealing_key = SealingKey::generate(1);
    let hasher = KeyHasher::from_sealing_key(&sealing_key);
    let sealer = SecretSealer::new(vec![sealing_key], 1)?;

    let pool = store.create_pool("team").await?;
    let auth = import_auth_json(auth_json, SystemTime::now())?;
    let account = store
        .create_account(auth.new_account(&sealer, Some("my-account"), None))
        .await?;
    store.assign(pool.id, account.id).await?;
    let key = PoolKeyMaterial::generate();
    store
        .create_key(NewKey {
            pool: pool.id,
            name: "example".into(),
            prefix: key.prefix.clone(),
            hash: hasher.hash(key.plaintext.expose()),
            key_version: hasher.key_version(),
            expires_at: None,
            policy: KeyPolicy::default(),
        })
        .await?;

    // 2. The gateway: the pooler over that configuration, and its background tasks.
    let gateway = Gateway::builder(store, sealer, hasher)
        .settings(settings)
        .build()
        .await?
        .spawn();

    // 3. Your service, with the pooler in front of it.
    let own_routes = Router::new().route("/hello", get(|| async { "hello from my service" }));
    let pooled = PoolerLayer::new(gateway.pooler().clone()).layer(own_routes);
    let app = Router::new().fallback_service(pooled);
    Ok((app, key.plaintext.expose().to_owned(), gateway))
}

#[allow(dead_code)] // Run as an example; the tests include this file for `pooled_app`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: embed_axum path/to/auth.json")?;
    let mut settings = GatewaySettings::default();
    if let Ok(upstream) = std::env::var("UPSTREAM_BASE_URL") {
        settings.upstream_base_url = upstream;
    }
    let (app, key, gateway) = pooled_app(&std::fs::read(path)?, settings).await?;
    // Streamed answers are many small writes: turn Nagle's algorithm off.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    println!("listening on http://127.0.0.1:3000 with Pool API key {key}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // Stop the background tasks, let refreshes in flight finish, flush the records.
    gateway.shutdown().await;
    Ok(())
}
