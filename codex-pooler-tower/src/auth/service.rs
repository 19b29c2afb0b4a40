//! [`Authenticate`]: the Pool API key gate in front of every pooled path.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::model::SnapshotHandle;
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use super::authenticate_secret;
use crate::keys::KeyHasher;

/// Checks the request's Pool API key and puts its
/// [`PoolContext`](codex_pooler_core::request::PoolContext) in the request extensions for the
/// layers below; a missing, unknown, paused, revoked or expired key is answered here with its
/// error and goes no further (the shape of tower-http's `AsyncRequireAuthorization`).
#[derive(Debug, Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    snapshot: SnapshotHandle,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
}

impl<S> Authenticate<S> {
    /// Wraps `inner`.
    pub(crate) fn new(
        inner: S,
        snapshot: SnapshotHandle,
        hasher: KeyHasher,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            snapshot,
            hasher,
            clock,
        }
    }
}

impl<S, B> Service<Request<B>> for Authenticate<S>
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
        let snapshot = self.snapshot.load();
        match authenticate_secret(request.headers(), &snapshot, &self.hasher, self.clock.now()) {
            Ok((ctx, matched)) => {
                request.extensions_mut().insert(ctx);
                request.extensions_mut().insert(matched);
                self.inner.call(request).boxed()
            }
            Err(err) => {
                let response = err.to_response();
                async move { Ok(response) }.boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::ManualClock;
    use codex_pooler_core::request::PoolContext;
    use http::header::AUTHORIZATION;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::auth::tests::fixture;

    /// Sends `auth` through [`Authenticate`] over the auth fixture's keys; the inner service
    /// answers with the pool it was told about.
    async fn call(
        snapshot: &SnapshotHandle,
        hasher: &KeyHasher,
        auth: Option<&str>,
    ) -> (u16, String) {
        let inner = service_fn(|request: Request<()>| async move {
            let ctx = request.extensions().get::<PoolContext>().copied();
            let body = format!("{:?}", ctx.map(|c| c.pool));
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full(body)))
        });
        let clock = Arc::new(ManualClock::at_unix(1_000));
        let gate = Authenticate::new(inner, snapshot.clone(), hasher.clone(), clock);
        let mut request = Request::new(());
        if let Some(auth) = auth {
            request
                .headers_mut()
                .insert(AUTHORIZATION, auth.parse().unwrap());
        }
        let response = gate.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_valid_key_reaches_the_inner_service_with_its_context() {
        let f = fixture();
        let auth = format!("Bearer {}", f.keys[0]);
        let snapshot = SnapshotHandle::new(f.snapshot);
        let (status, body) = call(&snapshot, &f.hasher, Some(&auth)).await;
        assert_eq!((status, body.as_str()), (200, "Some(PoolId(1))"));
    }

    #[tokio::test]
    async fn refusals_answer_their_error_and_stop() {
        let f = fixture();
        let cases = [
            (None, "invalid_api_key"),
            (Some("Bearer nope".to_owned()), "invalid_api_key"),
            (Some(format!("Bearer {}", f.keys[1])), "api_key_paused"),
            (Some(format!("Bearer {}", f.keys[2])), "api_key_revoked"),
            (Some(format!("Bearer {}", f.keys[3])), "api_key_expired"),
        ];
        let snapshot = SnapshotHandle::new(f.snapshot);
        for (auth, code) in cases {
            let (status, body) = call(&snapshot, &f.hasher, auth.as_deref()).await;
            assert_eq!(status, 401, "{code}");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"]["code"], code);
        }
    }
}
