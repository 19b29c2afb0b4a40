//! The embedding example (`examples/embed_axum.rs`) serves a pooled request end to end, and its
//! gateway keeps tokens and quota fresh in the background, as the binary's does.

#[path = "../../examples/embed_axum.rs"]
#[allow(dead_code, unreachable_pub)]
mod embed_axum;

use std::time::{Duration, Instant};

use codex_pooler_core::quota::EvidenceSource;
use codex_pooler_server::fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};
use codex_pooler_tower::gateway::GatewaySettings;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn embedded_pooler_serves_pooled_and_own_routes() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = fake_credentials("acct-embed", "embed@example.com");
    let fake = FakeUpstream::start(FakeConfig::with_accounts(vec![FakeAccount::new(
        &c.account_id,
        &c.access_token,
        "embedded",
    )]))
    .unwrap();
    let mut settings = GatewaySettings::default();
    settings.upstream_base_url = fake.base_url();
    let (app, key, gateway) = embed_axum::pooled_app(c.auth_json.as_bytes(), settings)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let reply = post_responses(
        &base,
        "/backend-api/codex/responses",
        &key,
        &responses_body("gpt-5.1-codex", "through the embed"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("Hello from embedded"));
    assert!(reply.body.contains("response.completed"));

    let own = send("GET", &format!("{base}/hello"), &[], "").await;
    assert_eq!(own.body, "hello from my service");
    let denied = post_responses(&base, "/v1/responses", "sk-wrong", "{}").await;
    assert_eq!(denied.status, 401);
    gateway.shutdown().await;
}

/// Polls `check` until it holds, failing after 20 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With no request sent, the embedded gateway refreshes a token that expires soon (its
/// refresher) and reads the account's quota from `wham/usage` (its usage probe).
#[tokio::test(flavor = "multi_thread")]
async fn embedded_gateway_refreshes_tokens_and_reads_quota_in_the_background() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Within the default 5-minute refresh margin: due at the refresher's first pass.
    let c = expiring("acct-embed-bg", 120);
    let mut account = FakeAccount::new(&c.account_id, &c.access_token, "embedded");
    account.primary_used_percent = 42.0;
    let mut config = FakeConfig::with_accounts(vec![account]);
    config.oauth.grant(&c.account_id, &c.refresh_token);
    let fake = FakeUpstream::start(config).unwrap();

    let mut settings = GatewaySettings::default();
    settings.upstream_base_url = fake.base_url();
    settings.token_endpoint = format!("{}/oauth/token", fake.base_url());
    settings.usage_probe_interval = Some(Duration::from_secs(1));
    let (_app, _key, gateway) = embed_axum::pooled_app(c.auth_json.as_bytes(), settings)
        .await
        .unwrap();
    let jobs = gateway.gateway().jobs().clone();
    let id = jobs.snapshot().load().accounts().next().unwrap().id;

    // The refresher: the imported token is replaced, at the fake's token endpoint.
    eventually("the background refresh", || {
        fake.state().config().oauth.refresh_calls() >= 1
    })
    .await;
    let snapshot = jobs.snapshot().load();
    let account = snapshot.account(id).unwrap();
    let token = jobs.credentials().access_token(account).await.unwrap();
    assert_ne!(
        token.expose(),
        c.access_token,
        "the expiring token is still used"
    );
    assert!(
        fake.state()
            .config()
            .oauth
            .live_refresh_token(&c.account_id)
            .is_some_and(|rt| rt != c.refresh_token),
        "the refresh token was not rotated"
    );

    // The usage probe: the fake's 42% arrives as usage-API evidence.
    eventually("the background usage probe", || {
        jobs.live().quota.get(id).is_some_and(|quota| {
            quota
                .windows()
                .iter()
                .any(|w| w.source == EvidenceSource::UsageApi && w.value.used_percent == 42.0)
        })
    })
    .await;
    // Neither came from model traffic: none was sent.
    assert!(
        fake.seen()
            .iter()
            .all(|r| r.path != "/backend-api/codex/responses")
    );
    gateway.shutdown().await;
}
