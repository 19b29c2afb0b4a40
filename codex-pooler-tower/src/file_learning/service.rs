//! [`LearnFile`]: remembers which account created a file.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::full;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::dispatch::Outcome;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::PoolId;
use codex_pooler_core::request::FileId;
use codex_pooler_core::request::PoolRequest;
use codex_pooler_core::request::RouteClass;
use futures_util::future::{BoxFuture, FutureExt};
use http::Response;
use tower_service::Service;

use crate::read_body::collect_limited;

/// The most a file creation answer (a small JSON object) may be.
const ANSWER_LIMIT: usize = 64 * 1024;

/// On a successful `FileCreate`, reads the answer whole (it is small), learns its `file_id` for
/// the serving account and passes the answer on unchanged; an answer that cannot be read becomes
/// `upstream_unavailable`. Every other outcome passes untouched.
#[derive(Debug, Clone)]
pub(crate) struct LearnFile<S> {
    inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl<S> LearnFile<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { inner, live, clock }
    }
}

impl<S> Service<PoolRequest> for LearnFile<S>
where
    S: Service<PoolRequest, Response = Outcome, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Outcome;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Outcome, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: PoolRequest) -> Self::Future {
        let creates = request.route.class == RouteClass::FileCreate;
        let pool = request.ctx.pool;
        let outcome = self.inner.call(request);
        if !creates {
            return outcome.boxed();
        }
        let live = Arc::clone(&self.live);
        let clock = Arc::clone(&self.clock);
        async move {
            let outcome = outcome.await?;
            if !outcome.response.status().is_success() {
                return Ok(outcome);
            }
            Ok(learn(&live, clock.as_ref(), pool, outcome).await)
        }
        .boxed()
    }
}

async fn learn(live: &LiveState, clock: &dyn Clock, pool: PoolId, mut outcome: Outcome) -> Outcome {
    let placeholder = Response::new(full(bytes::Bytes::new()));
    let (parts, body) = std::mem::replace(&mut outcome.response, placeholder).into_parts();
    let bytes = match collect_limited(body, ANSWER_LIMIT).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(
                code = err.code().as_str(),
                "file creation answer could not be read"
            );
            let error = PoolerError::upstream_unavailable();
            outcome.response = error.to_response();
            outcome.served_by = None;
            outcome.error_code = Some(error.code());
            return outcome;
        }
    };
    let file_id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("file_id")
                .and_then(|id| id.as_str().map(FileId::parse))
        });
    match (file_id, outcome.served_by.as_ref()) {
        (Some(Ok(id)), Some(account)) => {
            live.learn_file(pool, id.as_str(), account.id, clock.now());
        }
        // An id that could never be finalized through the gateway is not remembered.
        (Some(Err(reason)), _) => {
            tracing::warn!(%reason, "upstream created a file with an id of unexpected shape");
        }
        _ => {}
    }
    outcome.response = Response::from_parts(parts, full(bytes));
    outcome
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::ManualClock;
    use codex_pooler_core::error::ErrorCode;
    use codex_pooler_core::model::PoolId;

    use super::*;

    fn outcome(body: Vec<u8>) -> Outcome {
        Outcome::new(Response::new(full(body)))
    }

    #[tokio::test]
    async fn an_unreadable_creation_answer_is_upstream_unavailable() {
        let live = LiveState::new();
        let clock = ManualClock::at_unix(1_000);
        let learned = learn(
            &live,
            &clock,
            PoolId(1),
            outcome(vec![b' '; ANSWER_LIMIT + 1]),
        )
        .await;
        assert_eq!(learned.response.status().as_u16(), 502);
        assert_eq!(
            learned.error_code.map(ErrorCode::as_str),
            Some("upstream_unavailable")
        );
    }

    #[tokio::test]
    async fn an_answer_without_a_serving_account_passes_unchanged() {
        use http_body_util::BodyExt;
        let live = LiveState::new();
        let clock = ManualClock::at_unix(1_000);
        let body = br#"{"file_id":"file_abc"}"#.to_vec();
        let learned = learn(&live, &clock, PoolId(1), outcome(body.clone())).await;
        assert_eq!(learned.error_code, None);
        let sent = learned
            .response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(sent, body);
        assert_eq!(live.file_owner(PoolId(1), "file_abc", clock.now()), None);
    }
}
