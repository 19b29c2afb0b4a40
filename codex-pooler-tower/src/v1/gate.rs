//! [`V1Gate`]: the per-pool `/v1` switch, right below authentication.

use std::convert::Infallible;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::request::{PoolContext, Route, RouteFamily};
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// Wraps an authenticated service in [`V1Gate`].
#[derive(Debug, Clone)]
pub(crate) struct V1GateLayer {
    snapshot: SnapshotHandle,
}

impl V1GateLayer {
    /// A gate reading each pool's switch from `snapshot`.
    pub(crate) fn new(snapshot: SnapshotHandle) -> Self {
        Self { snapshot }
    }
}

impl<S> Layer<S> for V1GateLayer {
    type Service = V1Gate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1Gate {
            inner,
            snapshot: self.snapshot.clone(),
        }
    }
}

/// Answers 403 `v1_compatibility_disabled` to every `/v1` request (served or not) of a key
/// whose pool has `v1_enabled` off, before anything else looks at it. Runs below
/// `Authenticate`, so an unauthenticated request has had its 401 already.
///
/// A request without a [`Route`] is an unsupported `/v1` path (the only unrouted requests
/// the pooler takes, see `PoolerService`), so it is gated too.
#[derive(Debug, Clone)]
pub(crate) struct V1Gate<S> {
    inner: S,
    snapshot: SnapshotHandle,
}

impl<S, B> Service<Request<B>> for V1Gate<S>
where
    S: Service<Request<B>, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let v1 = request
            .extensions()
            .get::<Route>()
            .is_none_or(|route| route.family == RouteFamily::OpenAiV1);
        let off = v1
            && request
                .extensions()
                .get::<PoolContext>()
                .is_some_and(|ctx| {
                    self.snapshot
                        .load()
                        .pool(ctx.pool)
                        .is_some_and(|pool| !pool.v1_enabled)
                });
        if off {
            let response = PoolerError::v1_compatibility_disabled().to_response();
            return async move { Ok(response) }.boxed();
        }
        self.inner.call(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::{KeyId, Pool, PoolId, PoolStatus, Snapshot};
    use codex_pooler_core::request::Classified;
    use codex_pooler_core::store::StoreState;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// `method path` from a key of a pool with `/v1` `enabled`; the inner service answers
    /// `passed`.
    async fn send(enabled: bool, method: Method, path: &str) -> (u16, String) {
        let snapshot = SnapshotHandle::new(Snapshot::build(StoreState {
            version: 1,
            pools: vec![Pool {
                id: PoolId(1),
                slug: "p".into(),
                status: PoolStatus::Active,
                strategy: None,
                v1_enabled: enabled,
                waits: Default::default(),
            }],
            accounts: vec![],
            assignments: vec![],
            keys: vec![],
        }));
        let inner = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full("passed")))
        });
        let mut request = Request::new(());
        request.extensions_mut().insert(PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        });
        if let Classified::Pooled(route) = Route::classify(&method, path) {
            request.extensions_mut().insert(route);
        }
        let response = V1GateLayer::new(snapshot)
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_switched_off_pool_refuses_every_v1_path() {
        for (method, path) in [
            (Method::POST, "/v1/responses"),
            (Method::GET, "/v1/models"),
            (Method::POST, "/v1/embeddings"),
        ] {
            let (status, body) = send(false, method, path).await;
            assert_eq!(status, 403, "{path}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"error": {
                    "message": "OpenAI /v1 compatibility is disabled for this pool",
                    "type": "invalid_request_error",
                    "code": "v1_compatibility_disabled",
                    "param": null,
                }}),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn the_backend_surface_and_switched_on_pools_pass() {
        let backend = send(false, Method::POST, "/backend-api/codex/responses").await;
        assert_eq!(backend, (200, "passed".to_owned()));
        let on = send(true, Method::POST, "/v1/responses").await;
        assert_eq!(on, (200, "passed".to_owned()));
    }
}
