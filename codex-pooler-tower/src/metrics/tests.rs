//! Recording and scrape-time encoding of [`GatewayMetrics`].

use std::convert::Infallible;
use std::sync::Arc;

use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::ManualClock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{
    AccountId, KeyId, Pool, PoolId, PoolStatus, Snapshot, SnapshotHandle, UpstreamAccount,
};
use codex_pooler_core::request::{Classified, PoolContext, Route, UpstreamCall};
use codex_pooler_core::store::StoreState;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use prometheus_client::registry::Registry;
use tower::{Layer as _, ServiceBuilder, ServiceExt, service_fn};

use super::*;

const NOW: i64 = 1_700_000_000;

fn snapshot() -> SnapshotHandle {
    SnapshotHandle::new(Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: PoolId(1),
            slug: "team".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        accounts: vec![
            UpstreamAccount::new(AccountId(7), "alice@example.com".to_owned())
                .with_chatgpt_account_id("chatgpt-secret-workspace".to_owned()),
        ],
        assignments: vec![],
        keys: vec![],
    }))
}

/// Metrics bound to a fresh live state over [`snapshot`], and the registry they are in.
fn bound() -> (Arc<GatewayMetrics>, Registry, Arc<LiveState>) {
    let metrics = Arc::new(GatewayMetrics::new());
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let live = Arc::new(LiveState::new());
    metrics.bind(
        snapshot(),
        Arc::clone(&live),
        Arc::new(ManualClock::at_unix(NOW.unsigned_abs())),
    );
    (metrics, registry, live)
}

fn scrape(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

fn pooled_request() -> Request<()> {
    let Classified::Pooled(route) = Route::classify(&Method::POST, "/backend-api/codex/responses")
    else {
        panic!("responses is pooled");
    };
    let mut request = Request::new(());
    request.extensions_mut().insert(route);
    request.extensions_mut().insert(PoolContext {
        pool: PoolId(1),
        key: KeyId(2),
    });
    request
}

#[tokio::test]
async fn a_streamed_answer_is_counted_timed_and_open_until_its_body_ends() {
    let (metrics, registry, _) = bound();
    let inner = service_fn(|_: Request<()>| async {
        let mut response = Response::new(full("data: {}\n\n"));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/event-stream"),
        );
        Ok::<_, Infallible>(response)
    });
    let service = ServiceBuilder::new()
        .layer(ObserveLayer::new(Arc::clone(&metrics)))
        .layer(PoolTagLayer)
        .service(inner);
    let response: Response<PoolBody> = service.oneshot(pooled_request()).await.unwrap();
    let open = scrape(&registry);
    assert!(
        open.contains("codex_pooler_requests_in_flight 1\n"),
        "{open}"
    );
    assert!(
        open.contains("codex_pooler_open_streams{kind=\"sse\"} 1\n"),
        "{open}"
    );
    assert!(
        open.contains(
            "codex_pooler_requests_total{route=\"responses\",status=\"2xx\",pool=\"team\"} 1\n"
        ),
        "{open}"
    );
    response.into_body().collect().await.unwrap();
    let done = scrape(&registry);
    assert!(
        done.contains("codex_pooler_requests_in_flight 0\n"),
        "{done}"
    );
    assert!(
        done.contains("codex_pooler_open_streams{kind=\"sse\"} 0\n"),
        "{done}"
    );
    assert!(
        done.contains("codex_pooler_request_duration_seconds_count{route=\"responses\"} 1\n"),
        "{done}"
    );
    assert!(
        done.contains("codex_pooler_time_to_first_byte_seconds_count{route=\"responses\"} 1\n"),
        "{done}"
    );
}

#[tokio::test]
async fn a_refusal_before_a_pool_is_known_counts_under_pool_none() {
    let (metrics, registry, _) = bound();
    let inner = service_fn(|_: Request<()>| async {
        let mut response = Response::new(full("{}"));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        Ok::<_, Infallible>(response)
    });
    // No PoolTag below: authentication refused the key.
    let service = ObserveLayer::new(Arc::clone(&metrics)).layer(inner);
    let mut request = Request::new(());
    request
        .extensions_mut()
        .insert(match Route::classify(&Method::POST, "/v1/responses") {
            Classified::Pooled(route) => route,
            _ => panic!("pooled"),
        });
    let response = service.oneshot(request).await.unwrap();
    drop(response);
    let text = scrape(&registry);
    assert!(
        text.contains(
            "codex_pooler_requests_total{route=\"responses\",status=\"4xx\",pool=\"none\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("codex_pooler_requests_in_flight 0\n"),
        "{text}"
    );
}

fn call(account: i64) -> UpstreamCall {
    let Classified::Pooled(route) = Route::classify(&Method::POST, "/backend-api/codex/responses")
    else {
        panic!("responses is pooled");
    };
    UpstreamCall {
        account: Arc::new(UpstreamAccount::new(AccountId(account), "a".to_owned())),
        request: Arc::new(codex_pooler_core::request::PoolRequest::new(
            PoolContext {
                pool: PoolId(1),
                key: KeyId(2),
            },
            route,
            codex_pooler_core::request::RequestFacts::default(),
            codex_pooler_core::clock::from_unix_seconds(NOW),
        )),
        attempt: 1,
    }
}

#[tokio::test]
async fn attempts_and_failures_count_by_account_handle_and_outcome() {
    let (metrics, registry, _) = bound();
    let statuses = [Some(200), Some(429), None];
    for status in statuses {
        let inner = service_fn(move |_: UpstreamCall| async move {
            match status {
                Some(code) => {
                    let mut response = Response::new(full(""));
                    *response.status_mut() = StatusCode::from_u16(code).unwrap();
                    Ok(response)
                }
                None => Err("connection refused"),
            }
        });
        let _ = AttemptsLayer::new(Arc::clone(&metrics))
            .layer(inner)
            .oneshot(call(7))
            .await;
    }
    let text = scrape(&registry);
    for line in [
        "codex_pooler_upstream_attempts_total{account=\"acct-7\",outcome=\"success\"} 1\n",
        "codex_pooler_upstream_attempts_total{account=\"acct-7\",outcome=\"rate_limited\"} 1\n",
        "codex_pooler_upstream_attempts_total{account=\"acct-7\",outcome=\"transport_error\"} 1\n",
        "codex_pooler_upstream_failures_total{account=\"acct-7\",outcome=\"rate_limited\"} 1\n",
        "codex_pooler_upstream_failures_total{account=\"acct-7\",outcome=\"transport_error\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(!text.contains("failures_total{account=\"acct-7\",outcome=\"success\"}"));
}

#[test]
fn quota_is_read_from_live_state_at_scrape_time_without_account_identity() {
    let (_metrics, registry, live) = bound();
    assert!(!scrape(&registry).contains("quota_used_percent{"));
    let mut headers = http::HeaderMap::new();
    headers.insert("x-codex-primary-used-percent", http::HeaderValue::from(40));
    headers.insert(
        "x-codex-primary-window-minutes",
        http::HeaderValue::from(300),
    );
    live.observe_headers(
        AccountId(7),
        &headers,
        codex_pooler_core::clock::from_unix_seconds(NOW),
    );
    let text = scrape(&registry);
    assert!(
        text.contains(
            "codex_pooler_quota_used_percent{account=\"acct-7\",window=\"short\"} 40.0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("codex_pooler_record_queue_dropped_total 0\n"),
        "{text}"
    );
    assert!(!text.contains("alice@example.com") && !text.contains("chatgpt-secret-workspace"));
}

#[test]
fn refreshes_reloads_and_websocket_streams_are_counted() {
    let (metrics, registry, _) = bound();
    metrics.count_refresh(RefreshOutcome::Success);
    metrics.count_refresh(RefreshOutcome::ReauthRequired);
    metrics.count_reload(ReloadOutcome::Reloaded);
    let open = metrics.open_stream(StreamKind::Websocket);
    let text = scrape(&registry);
    for line in [
        "codex_pooler_token_refreshes_total{outcome=\"success\"} 1\n",
        "codex_pooler_token_refreshes_total{outcome=\"reauth_required\"} 1\n",
        "codex_pooler_config_reloads_total{outcome=\"reloaded\"} 1\n",
        "codex_pooler_open_streams{kind=\"websocket\"} 1\n",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    drop(open);
    assert!(scrape(&registry).contains("codex_pooler_open_streams{kind=\"websocket\"} 0\n"));
}
