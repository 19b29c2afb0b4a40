//! The embedding example (`examples/embed_axum.rs`) serves a pooled request end to end, and its
//! gateway keeps tokens and quota fresh in the background, as the binary's does.

#[path = "../../examples/embed_axum.rs"]
#[allow(dead_code, unreachable_pub)]
mod embed_axum;

use std::time::Duration;

use codex_pooler_core::quota::EvidenceSource;
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle};
use codex_pooler_tower::gateway::{GatewaySettings, RunningGateway};

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

/// An account of a fake that grants its refresh token and reports 42% of its primary window
/// used, and an embedded gateway over it refreshing at the fake.
async fn background_world(
    c: &FakeCredentials,
    usage_probe_interval: Option<Duration>,
) -> (FakeUpstreamHandle, RunningGateway) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut account = FakeAccount::new(&c.account_id, &c.access_token, "embedded");
    account.primary_used_percent = 42.0;
    let mut config = FakeConfig::with_accounts(vec![account]);
    config.oauth.grant(&c.account_id, &c.refresh_token);
    let fake = FakeUpstream::start(config).unwrap();
    let mut settings = GatewaySettings::default();
    settings.upstream_base_url = fake.base_url();
    settings.token_endpoint = format!("{}/oauth/token", fake.base_url());
    settings.refresh = settings
        .refresh
        .with_check_interval(Duration::from_millis(100));
    settings.usage_probe_interval = usage_probe_interval;
    let (_app, _key, gateway) = embed_axum::pooled_app(c.auth_json.as_bytes(), settings)
        .await
        .unwrap();
    (fake, gateway)
}

/// No model request reached the fake.
fn no_model_traffic(fake: &FakeUpstreamHandle) -> bool {
    fake.seen()
        .iter()
        .all(|r| r.path != "/backend-api/codex/responses")
}

/// With no request sent, the embedded gateway's token refresher replaces a token once it comes
/// within the refresh margin (5 minutes): it is outside the margin while the start-up reads
/// (catalog, discovery) run, and nothing else reads it afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_gateway_refreshes_an_expiring_token_in_the_background() {
    let c = expiring("acct-embed-refresh", 300 + 3);
    let (fake, gateway) = background_world(&c, None).await;
    let jobs = gateway.gateway().jobs().clone();
    let id = jobs.snapshot().load().accounts().next().unwrap().id;
    assert_eq!(fake.state().config().oauth.refresh_calls(), 0);

    eventually("the background refresh", || {
        fake.state().config().oauth.refresh_calls() >= 1
    })
    .await;
    let snapshot = jobs.snapshot().load();
    let token = jobs
        .credentials()
        .access_token(snapshot.account(id).unwrap())
        .await
        .unwrap();
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
    assert!(no_model_traffic(&fake));
    gateway.shutdown().await;
}

/// With no request sent, the embedded gateway's usage probe reads the account's quota from
/// `wham/usage`: the fake's 42% arrives as usage-API evidence.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_gateway_reads_quota_in_the_background() {
    let c = expiring("acct-embed-probe", 86_400);
    let (fake, gateway) = background_world(&c, Some(Duration::from_secs(1))).await;
    let jobs = gateway.gateway().jobs().clone();
    let id = jobs.snapshot().load().accounts().next().unwrap().id;

    eventually("the background usage probe", || {
        jobs.live().account_quota(id).is_some_and(|quota| {
            quota
                .windows()
                .iter()
                .any(|w| w.source == EvidenceSource::UsageApi && w.value.used_percent == 42.0)
        })
    })
    .await;
    assert!(
        fake.seen()
            .iter()
            .any(|r| r.path == "/backend-api/wham/usage")
    );
    assert!(no_model_traffic(&fake));
    gateway.shutdown().await;
}
