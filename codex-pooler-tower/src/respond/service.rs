//! [`Respond`]: the pipeline's outcome as the client's response.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::dispatch::{Outcome, ROUTE_RECEIPT_HEADER};
use codex_pooler_core::model::PoolId;
use codex_pooler_core::request::PoolRequest;
use futures_util::future::{BoxFuture, FutureExt};
use http::Response;
use http::header::HeaderValue;
use tower_service::Service;

use super::served::{Served, SlotHold};
use crate::pooler::Shared;
use crate::upstream::filter_response_headers;

/// Answers with the [`Outcome`]'s response: upstream headers filtered to the allowlist, the
/// pool's catalog ETag in place of the account's, the routing receipt header; what routing did
/// goes in the response extensions as [`Served`].
#[derive(Debug, Clone)]
pub(crate) struct Respond<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Respond<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S> Service<PoolRequest> for Respond<S>
where
    S: Service<PoolRequest, Response = Outcome, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: PoolRequest) -> Self::Future {
        let pool = request.ctx.pool;
        let model = request.facts.model.clone();
        let stream = request.facts.stream;
        let outcome = self.inner.call(request);
        let shared = Arc::clone(&self.shared);
        async move {
            let outcome = outcome.await?;
            Ok(respond(&shared, outcome, pool, model, stream))
        }
        .boxed()
    }
}

/// The client response for `outcome`, answered in `pool` to a request for `model`.
fn respond(
    shared: &Shared,
    outcome: Outcome,
    pool: PoolId,
    model: Option<String>,
    stream: bool,
) -> Response<PoolBody> {
    let (mut parts, body) = outcome.response.into_parts();
    filter_response_headers(&mut parts.headers);
    shared
        .models_etags
        .rewrite(&mut parts.headers, &shared.snapshot, &shared.live, pool);
    if let Some(value) = outcome
        .receipt
        .as_ref()
        .and_then(|r| HeaderValue::from_str(&r.header_value(&shared.handles)).ok())
    {
        parts.headers.insert(ROUTE_RECEIPT_HEADER, value);
    }
    parts.extensions.insert(Served {
        model,
        stream,
        account: outcome.served_by.as_ref().map(|a| a.id),
        attempts: u32::try_from(outcome.attempts.len()).unwrap_or(u32::MAX),
        error_code: outcome.error_code,
        exclusions: Arc::from(outcome.exclusions),
        slot: SlotHold::new(outcome.guard),
    });
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::error::ErrorCode;
    use codex_pooler_core::model::SnapshotHandle;
    use codex_pooler_core::model::{AccountId, KeyId, PoolId};
    use codex_pooler_core::plan::Exclusion;
    use codex_pooler_core::request::PoolContext;
    use codex_pooler_core::request::RequestFacts;
    use codex_pooler_core::request::{Classified, Route};
    use http::Method;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::credentials::SealingKey;
    use crate::keys::KeyHasher;
    use crate::pooler::Pooler;

    #[tokio::test]
    async fn the_outcome_is_answered_with_what_routing_did_in_its_extensions() {
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        let pooler = Pooler::builder(SnapshotHandle::default(), hasher).build();
        let inner = service_fn(|_: PoolRequest| async {
            let mut response = Response::new(codex_pooler_core::body::full("{}"));
            response
                .headers_mut()
                .insert("x-upstream-internal", HeaderValue::from_static("secret"));
            Ok::<_, Infallible>(
                Outcome::new(response)
                    .with_exclusions(vec![(AccountId(4), Exclusion::ModelUnsupported)])
                    .with_error_code(ErrorCode::NoEligibleAccount),
            )
        });
        let Classified::Pooled(route) =
            Route::classify(&Method::POST, "/backend-api/codex/responses")
        else {
            panic!("responses is pooled");
        };
        let facts = RequestFacts {
            model: Some("m".to_owned()),
            stream: true,
            ..RequestFacts::default()
        };
        let request = PoolRequest::new(
            PoolContext {
                pool: PoolId(1),
                key: KeyId(1),
            },
            route,
            facts,
            std::time::SystemTime::UNIX_EPOCH,
        )
        .with_method(Method::POST)
        .with_headers(http::HeaderMap::new());
        let response = Respond::new(inner, Arc::clone(pooler.shared()))
            .oneshot(request)
            .await
            .unwrap();
        assert!(!response.headers().contains_key("x-upstream-internal"));
        assert!(!response.headers().contains_key(ROUTE_RECEIPT_HEADER));
        let served = response.extensions().get::<Served>().unwrap();
        assert_eq!(served.model.as_deref(), Some("m"));
        assert!(served.stream);
        assert_eq!(served.account, None);
        assert_eq!(served.attempts, 0);
        assert_eq!(
            served.error_code.map(ErrorCode::as_str),
            Some("no_eligible_account")
        );
        assert_eq!(served.exclusions.len(), 1);
        assert!(served.slot.take().is_none());
    }
}
