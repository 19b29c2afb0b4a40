//! [`Upgrade`]: takes websocket upgrades off the HTTP request path.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::request::{Route, RouteClass};
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use crate::pooler::{ReceivedAt, Shared};

/// Answers an authenticated `GET /responses` websocket upgrade with
/// [`websocket::upgrade`](crate::websocket::upgrade) (`101`, or the refusal it records);
/// every other request goes to the inner service.
#[derive(Debug, Clone)]
pub(crate) struct Upgrade<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Upgrade<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S> Service<Request<PoolBody>> for Upgrade<S>
where
    S: Service<Request<PoolBody>, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<PoolBody>) -> Self::Future {
        let extensions = request.extensions();
        let (Some(route), Some(ctx)) = (
            extensions.get::<Route>().copied(),
            extensions.get::<PoolContext>().copied(),
        ) else {
            return self.inner.call(request).boxed();
        };
        if route.class != RouteClass::ResponsesWebsocket {
            return self.inner.call(request).boxed();
        }
        let received_at = extensions
            .get::<ReceivedAt>()
            .map_or_else(|| self.shared.clock.now(), |at| at.0);
        let shared = Arc::clone(&self.shared);
        async move { Ok(crate::websocket::upgrade(shared, ctx, route, request, received_at).await) }
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::body::full;
    use codex_pooler_core::model::SnapshotHandle;
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::request::Classified;
    use http::Method;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::credentials::SealingKey;
    use crate::keys::KeyHasher;
    use crate::pooler::Pooler;

    async fn send(method: Method) -> Response<PoolBody> {
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        let pooler = Pooler::builder(SnapshotHandle::default(), hasher).build();
        let inner = service_fn(|_: Request<PoolBody>| async {
            Ok::<_, Infallible>(Response::new(full("passed")))
        });
        let Classified::Pooled(route) = Route::classify(&method, "/backend-api/codex/responses")
        else {
            panic!("responses is pooled");
        };
        let mut request = Request::new(full(""));
        *request.method_mut() = method;
        request.extensions_mut().insert(PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        });
        request.extensions_mut().insert(route);
        Upgrade::new(inner, Arc::clone(pooler.shared()))
            .oneshot(request)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_get_without_a_websocket_handshake_is_refused_with_426() {
        assert_eq!(send(Method::GET).await.status().as_u16(), 426);
    }

    #[tokio::test]
    async fn other_routes_go_on() {
        assert_eq!(send(Method::POST).await.status().as_u16(), 200);
    }
}
