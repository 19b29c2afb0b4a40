//! [`Facts`]: from a decoded HTTP request to the [`PoolRequest`].

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::facts::{RequestFacts, check_id_headers};
use codex_pooler_core::file_id::FileId;
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::route::{Route, RouteClass};
use futures_util::future::{BoxFuture, FutureExt};
use http::request::Parts;
use http::{Request, Response};
use tower_service::Service;

use crate::pooler::ReceivedAt;
use crate::records::refuse;

/// Reads the routing facts (model, stream, continuity keys, compaction) and builds the
/// [`PoolRequest`] from the request and its extensions (the caller's
/// [`PoolContext`], the [`Route`], the arrival, a finalized [`FileId`]). Facts of no valid
/// shape are refused here.
///
/// Compaction is decided here, once: a trailing compaction trigger in the body, or the legacy
/// compaction route; neither is retried on another account.
#[derive(Debug, Clone)]
pub(crate) struct Facts<S> {
    inner: S,
    clock: Arc<dyn Clock>,
}

impl<S> Facts<S> {
    /// Wraps `inner`; `clock` stands in for a missing arrival time.
    pub(crate) fn new(inner: S, clock: Arc<dyn Clock>) -> Self {
        Self { inner, clock }
    }
}

impl<S> Service<Request<Bytes>> for Facts<S>
where
    S: Service<PoolRequest, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        match pool_request(request, self.clock.as_ref()) {
            Ok(pooled) => self.inner.call(pooled).boxed(),
            Err(err) => {
                let response = refuse(&err);
                async move { Ok(response) }.boxed()
            }
        }
    }
}

fn pool_request(request: Request<Bytes>, clock: &dyn Clock) -> Result<PoolRequest, PoolerError> {
    let (mut parts, body) = request.into_parts();
    let (Some(ctx), Some(route)) = (
        parts.extensions.get::<PoolContext>().copied(),
        parts.extensions.get::<Route>().copied(),
    ) else {
        // The layers above answer requests without a key context or a pooled route.
        return Err(PoolerError::unsupported_endpoint());
    };
    let received_at = parts
        .extensions
        .get::<ReceivedAt>()
        .map_or_else(|| clock.now(), |at| at.0);
    let file_id = parts.extensions.remove::<FileId>();
    let facts = facts(&parts, &body, route, file_id.as_ref())?;
    Ok(PoolRequest {
        ctx,
        route,
        facts,
        method: parts.method,
        headers: parts.headers,
        body,
        seed: rand::random(),
        received_at,
        file_id,
    })
}

fn facts(
    parts: &Parts,
    body: &[u8],
    route: Route,
    file_id: Option<&FileId>,
) -> Result<RequestFacts, PoolerError> {
    if route.class == RouteClass::Transcribe {
        // Multipart audio: nothing to read for routing, and nothing is looked at.
        check_id_headers(&parts.headers)?;
        return Ok(RequestFacts::default());
    }
    let mut facts = RequestFacts::from_json(&parts.headers, body)?;
    // Legacy compaction is never retried elsewhere, like a trailing compaction trigger.
    facts.compaction |= route.class == RouteClass::Compact;
    // Finalizing an upload goes to the account holding the file (a hard pin).
    if let Some(id) = file_id {
        facts.continuity.file_ids.push(id.as_str().to_owned());
    }
    Ok(facts)
}
