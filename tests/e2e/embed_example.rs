//! The embedding example (`examples/embed_axum.rs`) serves a pooled request end to end.

#[path = "../../examples/embed_axum.rs"]
#[allow(dead_code, unreachable_pub)]
mod embed_axum;

use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};

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
    let (app, key) = embed_axum::pooled_app(c.auth_json.as_bytes(), &fake.base_url())
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
}
