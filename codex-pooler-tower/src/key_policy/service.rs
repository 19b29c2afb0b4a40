//! [`KeyPolicy`]: the calling key's rules and limits on a decoded request.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::request::{PoolContext, Route, RouteClass};
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use super::{govern_body, rules_for};
use crate::records::refuse;

/// Applies the calling key's policy (from the [`PoolContext`] in the extensions) to a decoded
/// request: the model and effort rules rewrite or refuse a `responses` or compact body, and the
/// key's limits admit the request or refuse it with 429 `rate_limit_exceeded`. Requests of keys
/// without rules pass untouched.
#[derive(Debug, Clone)]
pub(crate) struct KeyPolicy<S> {
    inner: S,
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl<S> KeyPolicy<S> {
    /// Wraps `inner`.
    pub(crate) fn new(
        inner: S,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            snapshot,
            live,
            clock,
        }
    }
}

impl<S> Service<Request<Bytes>> for KeyPolicy<S>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let (Some(ctx), Some(route)) = (
            request.extensions().get::<PoolContext>().copied(),
            request.extensions().get::<Route>().copied(),
        ) else {
            return self.inner.call(request).boxed();
        };
        let snapshot = self.snapshot.load();
        let Some(policy) = rules_for(&snapshot, ctx.key) else {
            return self.inner.call(request).boxed();
        };
        let responses_body = matches!(route.class, RouteClass::Responses | RouteClass::Compact);
        let (parts, body) = request.into_parts();
        let now = self.clock.now();
        match govern_body(policy, ctx.key, &body, responses_body, &self.live, now) {
            Ok(rewritten) => {
                let body = rewritten.unwrap_or(body);
                self.inner.call(Request::from_parts(parts, body)).boxed()
            }
            Err(err) => {
                let response = refuse(&err);
                async move { Ok(response) }.boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::ManualClock;
    use codex_pooler_core::model::{
        KeyId, KeyLimits, KeyPolicy as Rules, KeyStatus, Pool, PoolApiKey, PoolId, PoolStatus,
        Snapshot,
    };
    use codex_pooler_core::request::Classified;
    use codex_pooler_core::store::StoreState;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::util::BoxService;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::records::Refusal;

    fn snapshot(policy: Rules) -> SnapshotHandle {
        SnapshotHandle::new(Snapshot::build(StoreState {
            version: 1,
            pools: vec![Pool {
                id: PoolId(1),
                slug: "p".into(),
                status: PoolStatus::Active,
                strategy: None,
                v1_enabled: true,
                waits: Default::default(),
            }],
            keys: vec![PoolApiKey {
                id: KeyId(1),
                pool: PoolId(1),
                name: "k".into(),
                prefix: "cpk_test".into(),
                hash: [0; 32],
                key_version: 1,
                status: KeyStatus::Active,
                expires_at: None,
                policy,
                previous: None,
            }],
            ..StoreState::default()
        }))
    }

    /// Sends `body` to `path` for key 1 under `policy`; the inner service echoes the body.
    async fn send(
        service: &mut KeyPolicy<Echo>,
        path: &str,
        body: &'static str,
    ) -> Response<PoolBody> {
        let Classified::Pooled(route) = Route::classify(&Method::POST, path) else {
            panic!("{path} is not pooled");
        };
        let mut request = Request::new(Bytes::from_static(body.as_bytes()));
        request.extensions_mut().insert(PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        });
        request.extensions_mut().insert(route);
        service.ready().await.unwrap().call(request).await.unwrap()
    }

    type Echo = BoxService<Request<Bytes>, Response<PoolBody>, Infallible>;

    fn governed(policy: Rules) -> KeyPolicy<Echo> {
        let echo = service_fn(|request: Request<Bytes>| async move {
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full(
                request.into_body(),
            )))
        });
        KeyPolicy::new(
            BoxService::new(echo),
            snapshot(policy),
            Arc::new(LiveState::new()),
            Arc::new(ManualClock::at_unix(1_000_000)),
        )
    }

    async fn text(response: Response<PoolBody>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_enforced_model_replaces_the_named_one() {
        let mut service = governed(Rules {
            enforced_model: Some("gpt-5.4".into()),
            ..Rules::default()
        });
        let response = send(
            &mut service,
            "/backend-api/codex/responses",
            r#"{"model":"o3"}"#,
        )
        .await;
        assert_eq!(text(response).await, r#"{"model":"gpt-5.4"}"#);
    }

    #[tokio::test]
    async fn a_model_outside_the_allowlist_is_refused_with_403() {
        let mut service = governed(Rules {
            allowed_models: vec!["gpt-5.4".into()],
            ..Rules::default()
        });
        let response = send(
            &mut service,
            "/backend-api/codex/responses",
            r#"{"model":"o3"}"#,
        )
        .await;
        assert_eq!(response.status().as_u16(), 403);
        assert_eq!(
            response.extensions().get::<Refusal>().map(|r| r.0.as_str()),
            Some("model_not_allowed")
        );
        let body: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(body["error"]["code"], "model_not_allowed");
        assert_eq!(body["error"]["param"], "model");
    }

    #[tokio::test]
    async fn requests_over_the_minute_limit_get_429_with_retry_after() {
        let mut service = governed(Rules {
            limits: KeyLimits {
                requests_per_minute: Some(2),
                ..KeyLimits::default()
            },
            ..Rules::default()
        });
        let path = "/backend-api/codex/responses";
        for _ in 0..2 {
            let ok = send(&mut service, path, r#"{"model":"m"}"#).await;
            assert_eq!(ok.status().as_u16(), 200);
        }
        let over = send(&mut service, path, r#"{"model":"m"}"#).await;
        assert_eq!(over.status().as_u16(), 429);
        let retry: u64 = over.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: serde_json::Value = serde_json::from_str(&text(over).await).unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(body["error"]["type"], "requests");
    }

    #[tokio::test]
    async fn an_oversized_input_is_refused_but_a_file_upload_is_not_measured() {
        let mut service = governed(Rules {
            limits: KeyLimits {
                input_tokens_per_request: Some(2),
                ..KeyLimits::default()
            },
            ..Rules::default()
        });
        let big = send(
            &mut service,
            "/backend-api/codex/responses",
            r#"{"model":"m","input":"a long prompt"}"#,
        )
        .await;
        assert_eq!(big.status().as_u16(), 429);
        assert!(big.headers().get("retry-after").is_none());
        let file = send(
            &mut service,
            "/backend-api/files",
            r#"{"file_name":"a long name.txt"}"#,
        )
        .await;
        assert_eq!(file.status().as_u16(), 200);
    }
}
