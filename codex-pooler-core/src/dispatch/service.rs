//! [`Dispatch`]: the failover middleware.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::poll_fn;
use http::StatusCode;
use http_body_util::BodyExt;
use tower_service::Service;

use super::{Attempt, AttemptResult, ERROR_BODY_LIMIT, Outcome, RouteReceipt};
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::{Clock, unix_seconds};
use crate::eligibility::Exclusion;
use crate::error::PoolerError;
use crate::health::{AttemptOutcome, HealthExclusion};
use crate::live::LiveState;
use crate::model::UpstreamAccount;
use crate::plan::RoutePlan;
use crate::quota::parse_usage_limit;
use crate::request::{PlannedRequest, UpstreamCall};

/// Tries the planned candidates in order against the inner upstream service.
#[derive(Debug, Clone)]
pub struct Dispatch<S> {
    inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl<S> Dispatch<S> {
    /// Wraps the upstream service `inner`.
    pub fn new(inner: S, live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { inner, live, clock }
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

impl<S> Service<PlannedRequest> for Dispatch<S>
where
    S: Service<UpstreamCall, Response = http::Response<PoolBody>> + Clone + Send + 'static,
    S::Error: Into<BoxError> + Send,
    S::Future: Send,
{
    type Response = Outcome;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Outcome, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is per attempt: each one drives the upstream service's own readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, planned: PlannedRequest) -> Self::Future {
        // A clone is not ready; the ready one stays here and the clone runs the attempts, each
        // of which polls readiness before calling.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let live = Arc::clone(&self.live);
        let clock = Arc::clone(&self.clock);
        Box::pin(async move { Ok(run(inner, live, clock, planned).await) })
    }
}

async fn run<S>(
    mut inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    planned: PlannedRequest,
) -> Outcome
where
    S: Service<UpstreamCall, Response = http::Response<PoolBody>>,
    S::Error: Into<BoxError>,
{
    let PlannedRequest { request, plan } = planned;
    let request = Arc::new(request);
    let total = plan.candidates.len();
    let mut attempts = Vec::with_capacity(total);
    let mut usage_limited = 0usize;
    let mut last_failure: Option<http::Response<PoolBody>> = None;

    let model = request.facts.model.clone().unwrap_or_default();
    let class = request.route.class;
    let candidates = plan.candidates.clone();
    for (index, account) in candidates.iter().enumerate() {
        let is_last = index + 1 == total;
        let started = clock.now();
        // The slot is held until the response body ends (the guard travels with the outcome).
        let mut guard = match live.health.begin(account.id, &model, class, started) {
            Ok(guard) => guard,
            Err(HealthExclusion::Busy { .. }) => {
                match live
                    .health
                    .begin_over_limit(account.id, &model, class, started)
                {
                    Ok(guard) => guard,
                    Err(_) => continue,
                }
            }
            // Its circuit opened since the plan was made.
            Err(_) => continue,
        };
        let call = UpstreamCall {
            account: Arc::clone(account),
            request: Arc::clone(&request),
            attempt: u32::try_from(index + 1).unwrap_or(u32::MAX),
        };
        let result = match poll_fn(|cx| inner.poll_ready(cx)).await {
            Ok(()) => inner.call(call).await,
            Err(err) => Err(err),
        };
        let latency = elapsed(&*clock, started);
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                let err: BoxError = err.into();
                tracing::debug!(account = %account.id, error = %err, "upstream attempt failed");
                guard.record(AttemptOutcome::TransportError, clock.now());
                attempts.push(Attempt {
                    account: account.id,
                    result: AttemptResult::TransportError,
                    latency,
                });
                continue;
            }
        };

        let now = clock.now();
        let status = response.status();
        live.quota
            .observe_headers(account.id, response.headers(), now);
        if !is_retryable(status) {
            guard.record(AttemptOutcome::from_status(status, false), now);
            if status.is_success() {
                live.record_success(account.id, now);
                learn_continuity(&live, &request, account.id, response.headers(), now);
            }
            attempts.push(Attempt {
                account: account.id,
                result: AttemptResult::Answered(status.as_u16()),
                latency,
            });
            let served = Some(Arc::clone(account));
            return finish(plan, attempts, served, response, None).with_guard(guard);
        }

        // A retryable answer: read its (small) body to learn from it, then either move on or,
        // on the last candidate, hand the same answer to the client.
        let (parts, body) = response.into_parts();
        let body = read_error_body(body).await;
        let limit = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| parse_usage_limit(&body, now))
            .flatten();
        guard.record(AttemptOutcome::from_status(status, limit.is_some()), now);
        if let Some(limit) = limit {
            live.quota.observe_limit(account.id, limit, now);
            usage_limited += 1;
        }
        let code = status.as_u16();
        attempts.push(Attempt {
            account: account.id,
            result: if is_last {
                AttemptResult::Answered(code)
            } else {
                AttemptResult::Retried(code)
            },
            latency,
        });
        last_failure = Some(http::Response::from_parts(parts, full(body)));
        if is_last {
            break;
        }
    }

    // Every candidate failed. When each answered usage_limit_reached, the pool is exhausted as
    // far as this request can tell: answer with the earliest reset we know.
    let now = clock.now();
    let error = if usage_limited > 0 && usage_limited == attempts.len() {
        earliest_reset(&live, &plan.candidates, &plan.exclusions, now).map(|at| {
            PoolerError::usage_limit_reached(
                unix_seconds(at),
                at.duration_since(now).unwrap_or(Duration::ZERO),
            )
        })
    } else {
        None
    };
    let served_by = attempts
        .last()
        .filter(|a| matches!(a.result, AttemptResult::Answered(_)))
        .and_then(|a| plan.candidates.iter().find(|c| c.id == a.account))
        .cloned();
    match (error, last_failure) {
        (Some(error), _) => finish(
            plan,
            attempts,
            None,
            error.to_response(),
            Some(error.code()),
        ),
        (None, Some(response)) => finish(plan, attempts, served_by, response, None),
        (None, None) => {
            let error = PoolerError::upstream_unavailable();
            finish(
                plan,
                attempts,
                None,
                error.to_response(),
                Some(error.code()),
            )
        }
    }
}

/// The outcome of a planned request, with its routing receipt.
fn finish(
    plan: RoutePlan,
    attempts: Vec<Attempt>,
    served_by: Option<Arc<UpstreamAccount>>,
    response: http::Response<PoolBody>,
    error_code: Option<&'static str>,
) -> Outcome {
    let receipt = RouteReceipt {
        strategy: plan.strategy,
        eligible: plan.eligible,
        pin: plan.pin.map(|p| p.kind),
        pin_skipped: plan.pin_skipped,
        served_by: served_by.as_ref().map(|a| a.id),
        failovers: RouteReceipt::failovers(&attempts),
    };
    Outcome {
        response,
        served_by,
        attempts,
        exclusions: plan.exclusions,
        receipt: Some(receipt),
        error_code,
        guard: None,
    }
}

/// After a successful answer: the request's soft keys now point at `account`, and a turn state
/// it issued keeps the rest of the turn there.
fn learn_continuity(
    live: &LiveState,
    request: &crate::request::PoolRequest,
    account: crate::model::AccountId,
    headers: &http::HeaderMap,
    now: SystemTime,
) {
    let pool = request.ctx.pool;
    live.continuity
        .remember(pool, &request.facts.continuity, account, now);
    if let Some(state) = headers
        .get("x-codex-turn-state")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    {
        live.continuity.learn_turn_state(pool, state, account, now);
    }
}

/// Whether an upstream status moves the request to the next candidate.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Reads up to [`ERROR_BODY_LIMIT`] bytes of an error body; a longer or broken body reads as
/// empty (it is then not evidence of anything).
async fn read_error_body(mut body: PoolBody) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Bytes::new();
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > ERROR_BODY_LIMIT {
                return Bytes::new();
            }
            buf.extend_from_slice(&data);
        }
    }
    buf.freeze()
}

fn elapsed(clock: &dyn Clock, since: SystemTime) -> Duration {
    clock.now().duration_since(since).unwrap_or_default()
}

fn earliest_reset(
    live: &LiveState,
    candidates: &[Arc<crate::model::UpstreamAccount>],
    exclusions: &[(crate::model::AccountId, Exclusion)],
    now: SystemTime,
) -> Option<SystemTime> {
    let tried = candidates
        .iter()
        .filter_map(|c| live.quota.exhausted_until(c.id, now));
    let excluded = exclusions.iter().filter_map(|(_, e)| match e {
        Exclusion::QuotaExhausted { until } => Some(*until),
        _ => None,
    });
    tried.chain(excluded).min()
}
