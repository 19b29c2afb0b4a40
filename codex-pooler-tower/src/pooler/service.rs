//! [`PoolerService`]: answers pooled paths with the request stack, passes everything else to
//! the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::request::{Classified, Route};
use futures_util::FutureExt;
use http::{Request, Response};
use http_body::Body;
use tower::ServiceExt;
use tower_service::Service;

use super::{Pooler, ReceivedAt};

/// The pooler in front of an inner service.
///
/// Requests to `POST /backend-api/codex/responses`, `POST /v1/responses` and `POST
/// /v1/chat/completions` are authenticated with a Pool API key, planned, and dispatched to an
/// upstream account; the answer streams back unbuffered. Other `/v1` paths answer `unsupported_endpoint`. Every other request goes to the
/// inner service unchanged.
#[derive(Debug, Clone)]
pub struct PoolerService<S> {
    inner: S,
    pooler: Pooler,
}

impl<S> PoolerService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, pooler: Pooler) -> Self {
        Self { inner, pooler }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for PoolerService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ReqB: Body<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<PoolBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<PoolBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let route = match Route::classify(request.method(), request.uri().path()) {
            Classified::NotPooled => {
                let fut = self.inner.call(request);
                return Box::pin(async move { Ok(fut.await?.map(boxed)) });
            }
            Classified::Pooled(route) => Some(route),
            // No route in the extensions: the stack answers `unsupported_endpoint` once the key
            // is checked.
            Classified::UnsupportedV1 => None,
        };
        let mut request = request.map(boxed);
        let extensions = request.extensions_mut();
        extensions.insert(ReceivedAt(self.pooler.shared.clock.now()));
        if let Some(route) = route {
            extensions.insert(route);
        }
        let answer = self.pooler.stack.clone().oneshot(request);
        Box::pin(answer.map(|answered| match answered {
            Ok(response) => Ok(response),
            Err(never) => match never {},
        }))
    }
}
