//! [`Facts`]: from a decoded HTTP request to the [`PoolRequest`].

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::live::SessionIds;
use codex_pooler_core::request::{ContextEndpoint, FileId};
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::request::{RequestFacts, check_id_headers};
use codex_pooler_core::request::{Route, RouteClass};
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
///
/// A request whose client sent no session id gets one derived from its `prompt_cache_key` or
/// thread fingerprint, scoped to the pool and key ([`SessionIds`]): it is sent upstream as
/// `session-id` and routes the thread.
#[derive(Debug, Clone)]
pub(crate) struct Facts<S> {
    inner: S,
    clock: Arc<dyn Clock>,
    sessions: Arc<SessionIds>,
}

impl<S> Facts<S> {
    /// Wraps `inner`; `clock` stands in for a missing arrival time, `sessions` derives session
    /// ids.
    pub(crate) fn new(inner: S, clock: Arc<dyn Clock>, sessions: Arc<SessionIds>) -> Self {
        Self {
            inner,
            clock,
            sessions,
        }
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
        match pool_request(request, self.clock.as_ref(), &self.sessions) {
            Ok(pooled) => self.inner.call(pooled).boxed(),
            Err(err) => {
                let response = refuse(&err);
                async move { Ok(response) }.boxed()
            }
        }
    }
}

fn pool_request(
    request: Request<Bytes>,
    clock: &dyn Clock,
    sessions: &SessionIds,
) -> Result<PoolRequest, PoolerError> {
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
    let mut facts = facts(&parts, &body, route, file_id.as_ref())?;
    if route.class.is_model_turn() {
        facts.derive_session(sessions, ctx);
    }
    // The history, notes and search tools go to their endpoint's fixed path.
    let context_endpoint = ContextEndpoint::of_path(parts.uri.path())
        .filter(|e| route.class.is_context() && e.class() == route.class);
    Ok(PoolRequest::new(ctx, route, facts, received_at)
        .with_method(parts.method)
        .with_headers(parts.headers)
        .with_body(body)
        .with_seed(rand::random())
        .with_file_id(file_id)
        .with_context_endpoint(context_endpoint))
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
    // Only the history, notes and search tools route on their `context.session_id`.
    if !route.class.is_context() {
        facts.continuity.context_session = None;
    }
    // Finalizing an upload goes to the account holding the file (a hard pin).
    if let Some(id) = file_id {
        facts.continuity.file_ids.push(id.as_str().to_owned());
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::ManualClock;
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::request::Classified;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::records::Refusal;

    /// Sends `body` to `path`; the inner service answers with the facts it was given.
    async fn send(path: &str, body: &str, file: Option<FileId>) -> Response<PoolBody> {
        let Classified::Pooled(route) = Route::classify(&Method::POST, path) else {
            panic!("{path} is not pooled");
        };
        let inner = service_fn(|request: PoolRequest| async move {
            let facts = request.facts;
            let text = match facts.continuity.upstream_session {
                Some(session) => format!("{session} {:?}", facts.continuity_key),
                None => format!(
                    "{:?} {} {:?}",
                    facts.model, facts.compaction, facts.continuity.file_ids
                ),
            };
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full(text)))
        });
        let mut request = Request::new(Bytes::from(body.to_owned()));
        request.extensions_mut().insert(PoolContext {
            pool: PoolId(1),
            key: KeyId(1),
        });
        request.extensions_mut().insert(route);
        if let Some(file) = file {
            request.extensions_mut().insert(file);
        }
        Facts::new(
            inner,
            Arc::new(ManualClock::at_unix(1_000)),
            Arc::new(SessionIds::new([5; 32])),
        )
        .oneshot(request)
        .await
        .unwrap()
    }

    async fn text(response: Response<PoolBody>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_body_that_is_no_json_object_is_refused() {
        let response = send("/backend-api/codex/responses", "[1]", None).await;
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            response.extensions().get::<Refusal>().map(|r| r.0.as_str()),
            Some("invalid_request")
        );
    }

    #[tokio::test]
    async fn a_model_of_no_model_shape_is_refused() {
        let body = format!(r#"{{"model":"{}"}}"#, "m".repeat(200));
        let response = send("/backend-api/codex/responses", &body, None).await;
        assert_eq!(
            response.extensions().get::<Refusal>().map(|r| r.0.as_str()),
            Some("invalid_request")
        );
    }

    #[tokio::test]
    async fn compaction_is_decided_by_the_route_or_the_body() {
        let plain = send("/backend-api/codex/responses", r#"{"model":"m"}"#, None).await;
        assert_eq!(text(plain).await, r#"Some("m") false []"#);
        let legacy = send(
            "/backend-api/codex/responses/compact",
            r#"{"model":"m"}"#,
            None,
        )
        .await;
        assert_eq!(text(legacy).await, r#"Some("m") true []"#);
    }

    #[tokio::test]
    async fn a_turn_without_session_gets_one_derived_for_its_pool_and_key() {
        let body = r#"{"model":"m","prompt_cache_key":"thread-1"}"#;
        let answer = text(send("/backend-api/codex/responses", body, None).await).await;
        let expected = SessionIds::new([5; 32])
            .derive(
                PoolContext {
                    pool: PoolId(1),
                    key: KeyId(1),
                },
                &codex_pooler_core::live::ContinuityKeys {
                    prompt_cache_key: Some("thread-1".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            answer,
            format!("{expected} Some(\"upstream_session:{expected}\")")
        );
        assert!(!answer.contains("thread-1"));
    }

    #[tokio::test]
    async fn a_finalized_file_pins_the_request() {
        let file = FileId::parse("file_abc").unwrap();
        let path = "/backend-api/files/file_abc/uploaded";
        let response = send(path, "{}", Some(file)).await;
        assert_eq!(text(response).await, r#"None false ["file_abc"]"#);
    }
}
