//! [`KnownFile`]: the file a finalize request names, checked before anything else is read.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::request::FileId;
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::request::{Route, RouteClass, file_id_of_finalize};
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use crate::records::refuse;

/// For `FileFinalize`, puts the [`FileId`] its path names in the request extensions, or refuses
/// with `invalid_file_id` (no id shape) or `file_not_found` (not a file the pool learned). Other
/// routes pass unchanged.
#[derive(Debug, Clone)]
pub(crate) struct KnownFile<S> {
    inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl<S> KnownFile<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { inner, live, clock }
    }

    /// The file a finalize request names, parsed from the raw (never percent-decoded) path.
    fn known(&self, ctx: PoolContext, path: &str) -> Result<FileId, PoolerError> {
        let id = match file_id_of_finalize(path) {
            Some(Ok(id)) => id,
            Some(Err(reason)) => return Err(PoolerError::invalid_file_id(&reason)),
            // Classification only names this route for the finalize shape.
            None => return Err(PoolerError::file_not_found()),
        };
        let now = self.clock.now();
        match self.live.file_owner(ctx.pool, id.as_str(), now) {
            Some(_) => Ok(id),
            None => Err(PoolerError::file_not_found()),
        }
    }
}

impl<S, B> Service<Request<B>> for KnownFile<S>
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<Route>().copied();
        let ctx = request.extensions().get::<PoolContext>().copied();
        let (Some(route), Some(ctx)) = (route, ctx) else {
            return self.inner.call(request).boxed();
        };
        if route.class != RouteClass::FileFinalize {
            return self.inner.call(request).boxed();
        }
        match self.known(ctx, request.uri().path()) {
            Ok(id) => {
                request.extensions_mut().insert(id);
                self.inner.call(request).boxed()
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
    use codex_pooler_core::model::{AccountId, KeyId, PoolId};
    use codex_pooler_core::request::Classified;
    use http::Method;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::records::Refusal;

    const CTX: PoolContext = PoolContext {
        pool: PoolId(1),
        key: KeyId(1),
    };

    /// Finalizes `path`; the inner service answers with the file id it was given.
    async fn finalize(live: Arc<LiveState>, path: &str) -> Response<PoolBody> {
        let Classified::Pooled(route) = Route::classify(&Method::POST, path) else {
            panic!("{path} is not pooled");
        };
        let inner = service_fn(|request: Request<()>| async move {
            let id = request
                .extensions()
                .get::<FileId>()
                .map(|id| id.as_str().to_owned());
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full(
                id.unwrap_or_default(),
            )))
        });
        let mut request = Request::new(());
        *request.uri_mut() = path.parse().unwrap();
        request.extensions_mut().insert(CTX);
        request.extensions_mut().insert(route);
        KnownFile::new(inner, live, Arc::new(ManualClock::at_unix(1_000)))
            .oneshot(request)
            .await
            .unwrap()
    }

    fn refusal(response: &Response<PoolBody>) -> Option<&'static str> {
        response.extensions().get::<Refusal>().map(|r| r.0.as_str())
    }

    #[tokio::test]
    async fn an_id_of_no_id_shape_is_refused() {
        let response = finalize(Arc::default(), "/backend-api/files/x%2F..%2F/uploaded").await;
        assert_eq!(refusal(&response), Some("invalid_file_id"));
    }

    #[tokio::test]
    async fn a_file_the_pool_never_created_is_not_found() {
        let response = finalize(Arc::default(), "/backend-api/files/file_abc/uploaded").await;
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(refusal(&response), Some("file_not_found"));
    }

    #[tokio::test]
    async fn a_known_file_goes_on_with_its_id() {
        use http_body_util::BodyExt;
        let live = Arc::new(LiveState::new());
        let now = ManualClock::at_unix(1_000).now();
        live.learn_file(PoolId(1), "file_abc", AccountId(7), now);
        let response = finalize(live, "/backend-api/files/file_abc/uploaded").await;
        assert_eq!(refusal(&response), None);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "file_abc");
    }
}
