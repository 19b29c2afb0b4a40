//! [`ReadBody`]: the request body, limited and decoded, as bytes.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::PoolBody;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::CONTENT_ENCODING;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::collect_limited;
use crate::decode::{BodyLimits, decode_body};
use crate::records::refuse;

/// Reads the body whole up to [`BodyLimits::max_wire_bytes`] and decodes its
/// `Content-Encoding`; the inner service gets the decoded bytes (headers unchanged). A body too
/// large, unreadable, of an unknown encoding or decoding past its caps is refused here.
#[derive(Debug, Clone)]
pub(crate) struct ReadBody<S> {
    inner: S,
    limits: BodyLimits,
}

impl<S> ReadBody<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, limits: BodyLimits) -> Self {
        Self { inner, limits }
    }
}

impl<S, B> Service<Request<B>> for ReadBody<S>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service goes into the future; the clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limits = self.limits;
        async move {
            let (parts, body) = request.into_parts();
            let read = collect_limited(body, limits.max_wire_bytes)
                .await
                .and_then(|wire| decode_body(parts.headers.get(CONTENT_ENCODING), wire, limits));
            match read {
                Ok(bytes) => inner.call(Request::from_parts(parts, bytes)).await,
                Err(err) => Ok(refuse(&err)),
            }
        }
        .boxed()
    }
}
