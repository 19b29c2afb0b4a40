//! [`LocalRoutes`]: answers the gateway's own routes and lets pooled ones through.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::unix_seconds;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::request::Route;
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use super::answer;
use crate::pooler::Shared;

/// Answers local routes (`/models`, `/wham/usage`, `/wham/accounts/check`, other helper routes)
/// for the authenticated key, and `unsupported_endpoint` for a request that names no pooled
/// [`Route`] (a `/v1` path the pooler does not serve), except the `/v1/files` metadata routes,
/// answered from the key's uploads. Everything else goes to the inner
/// service.
#[derive(Debug, Clone)]
pub(crate) struct LocalRoutes<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> LocalRoutes<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S, B> Service<Request<B>> for LocalRoutes<S>
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
        let route = request.extensions().get::<Route>().copied();
        let ctx = request.extensions().get::<PoolContext>().copied();
        let response = match (route, ctx) {
            (Some(route), Some(ctx)) if route.class.is_local() => answer::answer(
                &self.shared,
                ctx,
                route,
                request.headers(),
                request.uri().query(),
            ),
            (Some(_), Some(_)) => return self.inner.call(request).boxed(),
            // The `/v1/files` metadata routes are the gateway's own, checked per key.
            (None, Some(ctx)) => crate::v1::metadata_answer(
                &self.shared.files,
                ctx.key,
                request.method(),
                request.uri().path(),
                unix_seconds(self.shared.clock.now()),
            )
            .unwrap_or_else(|| PoolerError::unsupported_endpoint().to_response()),
            (None, None) => PoolerError::unsupported_endpoint().to_response(),
            // Authentication runs above: a request without a key context never gets here.
            (Some(_), None) => PoolerError::invalid_api_key().to_response(),
        };
        async move { Ok(response) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::SnapshotHandle;
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::request::Classified;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::credentials::SealingKey;
    use crate::keys::KeyHasher;
    use crate::pooler::Pooler;

    /// `method path` through [`LocalRoutes`] for an authenticated key; the inner service
    /// answers `passed`.
    async fn send(method: Method, path: &str) -> (u16, String) {
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        let pooler = Pooler::builder(SnapshotHandle::default(), hasher).build();
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
        let response = LocalRoutes::new(inner, Arc::clone(pooler.shared()))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn code(body: &str) -> String {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[tokio::test]
    async fn an_unsupported_v1_path_answers_unsupported_endpoint() {
        let (_, body) = send(Method::POST, "/v1/embeddings").await;
        assert_eq!(code(&body), "unsupported_endpoint");
    }

    #[tokio::test]
    async fn other_helper_routes_are_not_found() {
        let (status, body) = send(Method::GET, "/backend-api/nope").await;
        assert_eq!((status, code(&body).as_str()), (404, "not_found"));
    }

    #[tokio::test]
    async fn pooled_routes_go_on() {
        let (_, body) = send(Method::POST, "/backend-api/codex/responses").await;
        assert_eq!(body, "passed");
    }
}
