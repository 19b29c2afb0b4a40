//! One request's way through its candidates: rounds of attempts, waits for busy accounts,
//! fresh plans, and the answer when every candidate failed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::{Either, poll_fn, select};
use http::StatusCode;
use tower_service::Service;

use super::answer::{is_retryable, read_error_body};
use super::{Attempt, AttemptResult, DispatchConfig, Outcome, RouteReceipt};
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::{Clock, unix_seconds};
use crate::eligibility::Exclusion;
use crate::error::PoolerError;
use crate::health::{AttemptGuard, AttemptOutcome, HealthExclusion};
use crate::live::LiveState;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::RoutePlan;
use crate::quota::parse_usage_limit;
use crate::request::{PlannedRequest, UpstreamCall};
use crate::route::RouteClass;

/// An upstream failure that may be handed to the client when nothing better comes.
struct Failure {
    /// Its position in the attempts.
    attempt: usize,
    /// Whether it was a `usage_limit_reached` 429.
    usage_limited: bool,
    /// The answer, its body read.
    response: http::Response<PoolBody>,
}

/// A candidate still worth trying.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Its position in the plan.
    index: usize,
    /// Set when upstream refused it for concurrency with this many other attempts in flight:
    /// it is tried again only once fewer are.
    refused_below: Option<u32>,
    /// Passed over in this round for being at its learned limit.
    skipped: bool,
}

/// One request's dispatch: the services and settings it runs with.
pub(super) struct Run<S> {
    pub(super) inner: S,
    pub(super) live: Arc<LiveState>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: DispatchConfig,
    /// Time spent waiting for busy accounts so far.
    pub(super) waited: Duration,
}

/// How a claim for an account's slot went.
enum Claim {
    /// The slot is ours.
    Claimed(AttemptGuard),
    /// The account is busy; it may be tried again later.
    Busy,
    /// The account cannot take the request (its circuit opened since the plan was made).
    Refused,
}

impl<S> Run<S>
where
    S: Service<UpstreamCall, Response = http::Response<PoolBody>>,
    S::Error: Into<BoxError>,
{
    /// Tries the candidates in rounds. A round tries the pending candidates in plan order
    /// within their learned concurrency limits, then, if none answered, the ones passed over
    /// as busy, over their limits (the limit is an estimate; a followed soft pin is always sent
    /// over it). A candidate that failed for good (usage limit, 5xx, transport error, open
    /// circuit) leaves the pending list. One that upstream refused for concurrency while its
    /// other streams ran stays, and once a round ends with only such candidates left, the
    /// request waits for one of their streams to end and tries again, until
    /// [`DispatchConfig::busy_wait`] is spent. A refused soft pin is waited for first, alone,
    /// for up to [`DispatchConfig::pin_wait`], before the request moves on.
    pub(super) async fn run(mut self, planned: PlannedRequest) -> Outcome {
        let PlannedRequest {
            request,
            mut plan,
            replan,
        } = planned;
        // Compaction never moves to another account: its result must come from one place.
        let replan = replan.filter(|_| !request.facts.compaction);
        let request = Arc::new(request);
        // The candidates move out of the plan (the rest of it goes into the receipt): fresh
        // plans may add to them.
        let mut candidates = std::mem::take(&mut plan.candidates);
        let total = candidates.len();
        let model = request.facts.model.clone().unwrap_or_default();
        let class = request.route.class;
        let start = self.clock.now();
        let deadline = after(start, self.config.busy_wait);
        // A followed soft pin puts its account first, with other candidates behind it.
        let mut pin_deadline = (plan.pin.is_some() && total > 1)
            .then(|| after(start, self.config.pin_wait.min(self.config.busy_wait)));

        let mut pending: Vec<Pending> = (0..total)
            .map(|index| Pending {
                index,
                refused_below: None,
                skipped: false,
            })
            .collect();
        let mut budget = total * MAX_ATTEMPTS_PER_CANDIDATE;
        let mut replans = 0;
        let mut timed_out = false;
        let mut limits_seen = 0usize;
        let mut attempts: Vec<Attempt> = Vec::with_capacity(total);
        let mut usage_limited = 0usize;
        let mut last_failure: Option<Failure> = None;
        loop {
            // First within the learned limits, then over them for the accounts skipped as busy:
            // the limit is an estimate, and only upstream knows the real cap.
            for over_pass in [false, true] {
                let mut i = 0;
                while i < pending.len() && attempts.len() < budget {
                    let p = pending[i];
                    let Some(account) = candidates.get(p.index) else {
                        pending.remove(i);
                        continue;
                    };
                    let pinned = p.index == 0 && pin_deadline.is_some();
                    let within_limit = match (p.refused_below, over_pass) {
                        // Refused by upstream: tried again once one of its streams ended.
                        (Some(below), false) if self.live.health.in_flight(account.id) < below => {
                            false
                        }
                        (None, false) => !pinned,
                        (None, true) if p.skipped => false,
                        _ => {
                            i += 1;
                            continue;
                        }
                    };
                    let started = self.clock.now();
                    // The slot is held until the response body ends (the guard travels with
                    // the outcome).
                    let mut guard = match self.claim(account.id, &model, class, within_limit) {
                        Claim::Claimed(guard) => guard,
                        Claim::Refused => {
                            pending.remove(i);
                            continue;
                        }
                        Claim::Busy => {
                            pending[i].skipped = true;
                            i += 1;
                            continue;
                        }
                    };
                    let call = UpstreamCall {
                        account: Arc::clone(account),
                        request: Arc::clone(&request),
                        attempt: u32::try_from(attempts.len() + 1).unwrap_or(u32::MAX),
                    };
                    let result = match poll_fn(|cx| self.inner.poll_ready(cx)).await {
                        Ok(()) => self.inner.call(call).await,
                        Err(err) => Err(err),
                    };
                    let latency = elapsed(&*self.clock, started);
                    let response = match result {
                        Ok(response) => response,
                        Err(err) => {
                            let err: BoxError = err.into();
                            tracing::debug!(account = %account.id, error = %err, "upstream attempt failed");
                            guard.record(AttemptOutcome::TransportError, self.clock.now());
                            attempts.push(Attempt {
                                account: account.id,
                                result: AttemptResult::TransportError,
                                latency,
                            });
                            pending.remove(i);
                            continue;
                        }
                    };

                    let now = self.clock.now();
                    let status = response.status();
                    self.live
                        .quota
                        .observe_headers(account.id, response.headers(), now);
                    if !is_retryable(status) {
                        guard.record(AttemptOutcome::from_status(status, false), now);
                        if status.is_success() {
                            self.live.record_success(account.id, now);
                            self.live.learn_continuity(
                                &request,
                                account.id,
                                response.headers(),
                                now,
                            );
                        }
                        attempts.push(Attempt {
                            account: account.id,
                            result: AttemptResult::Answered(status.as_u16()),
                            latency,
                        });
                        let served = Some(Arc::clone(account));
                        return finish(plan, attempts, served, response, None, self.waited)
                            .with_guard(guard);
                    }

                    // A retryable answer: read its (small) body to learn from it, then move on;
                    // the last one goes to the client if nothing better comes.
                    let (parts, body) = response.into_parts();
                    let body = read_error_body(body).await;
                    let limit = (status == StatusCode::TOO_MANY_REQUESTS)
                        .then(|| parse_usage_limit(&body, now))
                        .flatten();
                    guard.record(AttemptOutcome::from_status(status, limit.is_some()), now);
                    if let Some(limit) = limit {
                        self.live.quota.observe_limit(account.id, limit, now);
                        usage_limited += 1;
                    }
                    attempts.push(Attempt {
                        account: account.id,
                        result: AttemptResult::Retried(status.as_u16()),
                        latency,
                    });
                    // One account's usage limit is not the pool's: a transient failure (5xx,
                    // code-less 429) from another account is the truer answer to hand on.
                    if limit.is_none() || last_failure.as_ref().is_none_or(|f| f.usage_limited) {
                        last_failure = Some(Failure {
                            attempt: attempts.len() - 1,
                            usage_limited: limit.is_some(),
                            response: http::Response::from_parts(parts, full(body)),
                        });
                    }
                    drop(guard);
                    // A code-less 429 while the account's other streams run is its concurrency
                    // cap: worth trying again once one of them ends. Without other streams it
                    // is something else, and the account is done for this request.
                    let others = self.live.health.in_flight(account.id);
                    if status != StatusCode::TOO_MANY_REQUESTS || limit.is_some() || others == 0 {
                        pending.remove(i);
                        continue;
                    }
                    pending[i].refused_below = Some(others);
                    // The pinned account is waited for at once, alone, for a little while.
                    if let Some(until) = pin_deadline.filter(|_| pinned) {
                        let watch = vec![(account.id, others)];
                        if self.wait(watch, until).await {
                            continue;
                        }
                        pin_deadline = None;
                    }
                    i += 1;
                }
            }

            let refused = pending.iter().any(|p| p.refused_below.is_some());
            // Usage limits the quota book did not foresee: the book knows them now, so a fresh
            // plan offers accounts that still have quota instead of declaring the pool dry.
            let surprised = usage_limited > limits_seen;
            if attempts.len() >= budget || !(refused || surprised) {
                break;
            }
            limits_seen = usage_limited;
            // Refusals for concurrency cut those accounts' limits, so accounts with room now
            // come first in a fresh plan too: look before waiting.
            if (surprised || replans < MAX_REPLANS || timed_out)
                && let Some(fresh) = replan.as_ref().and_then(|r| r.plan(&request))
            {
                replans += 1;
                let known = candidates.len();
                for account in fresh.candidates {
                    if !candidates.iter().any(|c| c.id == account.id) {
                        pending.push(Pending {
                            index: candidates.len(),
                            refused_below: None,
                            skipped: false,
                        });
                        candidates.push(account);
                    }
                }
                if candidates.len() > known {
                    budget += (candidates.len() - known) * MAX_ATTEMPTS_PER_CANDIDATE;
                    continue;
                }
            }
            if !refused {
                break;
            }
            // Wait for one of their streams to end, within the request's total wait.
            let watch: Vec<_> = pending
                .iter()
                .filter_map(|p| Some((candidates.get(p.index)?.id, p.refused_below?)))
                .collect();
            if !self.wait(watch, deadline).await {
                // Waited long enough for these; one last fresh plan may still find room.
                if !timed_out {
                    timed_out = true;
                    for p in &mut pending {
                        p.refused_below = Some(0);
                    }
                    continue;
                }
                break;
            }
            for p in &mut pending {
                p.skipped = false;
            }
        }
        self.give_up(plan, &candidates, attempts, usage_limited, last_failure)
    }

    /// Claims a slot on `account`, within its learned concurrency limit or over it (the
    /// circuit applies either way).
    fn claim(
        &self,
        account: AccountId,
        model: &str,
        class: RouteClass,
        within_limit: bool,
    ) -> Claim {
        let now = self.clock.now();
        let health = &self.live.health;
        let claimed = if within_limit {
            health.begin(account, model, class, now)
        } else {
            health.begin_over_limit(account, model, class, now)
        };
        match claimed {
            Ok(guard) => Claim::Claimed(guard),
            Err(HealthExclusion::Busy { .. }) => Claim::Busy,
            Err(_) => Claim::Refused,
        }
    }

    /// Waits until one of `watch` has a free slot or until `until` (see [`wait_for_slot`]),
    /// counting the time in [`waited`](Self::waited); true when a slot showed first.
    async fn wait(&mut self, watch: Vec<(AccountId, u32)>, until: SystemTime) -> bool {
        let started = self.clock.now();
        let slot = wait_for_slot(&self.live, &*self.clock, watch, until).await;
        self.waited += elapsed(&*self.clock, started);
        slot
    }

    /// Every candidate failed: the best error for the client.
    fn give_up(
        &self,
        plan: RoutePlan,
        candidates: &[Arc<UpstreamAccount>],
        mut attempts: Vec<Attempt>,
        usage_limited: usize,
        last_failure: Option<Failure>,
    ) -> Outcome {
        let now = self.clock.now();
        // When each attempt answered usage_limit_reached, the pool is exhausted as far as this
        // request can tell: answer with the earliest reset we know.
        let exhausted = (usage_limited > 0 && usage_limited == attempts.len())
            .then(|| earliest_reset(&self.live, candidates, &plan.exclusions, now))
            .flatten()
            .map(|at| {
                PoolerError::usage_limit_reached(
                    unix_seconds(at),
                    at.duration_since(now).unwrap_or(Duration::ZERO),
                )
            });
        let failure = match (exhausted, last_failure) {
            (None, Some(failure)) => failure,
            // The pooler's own answer: the pool's exhaustion, or no upstream answer at all.
            (exhausted, _) => {
                let error = exhausted.unwrap_or_else(PoolerError::upstream_unavailable);
                let response = error.to_response();
                return finish(
                    plan,
                    attempts,
                    None,
                    response,
                    Some(error.code()),
                    self.waited,
                );
            }
        };
        // The chosen failure goes to the client: that attempt was answered, not retried.
        let served_by = match attempts.get_mut(failure.attempt) {
            Some(attempt) => match attempt.result {
                AttemptResult::Retried(code) => {
                    attempt.result = AttemptResult::Answered(code);
                    candidates.iter().find(|c| c.id == attempt.account).cloned()
                }
                _ => None,
            },
            None => None,
        };
        let response = failure.response;
        finish(plan, attempts, served_by, response, None, self.waited)
    }
}

/// Upstream attempts one request may make, per planned candidate: a busy candidate may be tried
/// again after a wait, but never without bound.
const MAX_ATTEMPTS_PER_CANDIDATE: usize = 2;

/// Fresh plans one request may ask for before it waits for busy accounts (plus one when its
/// wait runs out).
const MAX_REPLANS: usize = 2;

/// The outcome of a planned request, with its routing receipt.
fn finish(
    plan: RoutePlan,
    attempts: Vec<Attempt>,
    served_by: Option<Arc<UpstreamAccount>>,
    response: http::Response<PoolBody>,
    error_code: Option<&'static str>,
    waited: Duration,
) -> Outcome {
    let receipt = RouteReceipt {
        strategy: plan.strategy,
        eligible: plan.eligible,
        pin: plan.pin.map(|p| p.kind),
        pin_skipped: plan.pin_skipped,
        served_by: served_by.as_ref().map(|a| a.id),
        failovers: RouteReceipt::failovers(&attempts),
        waited,
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

/// Waits until one of `watch` (accounts with their in-flight bounds) has a free slot, or until
/// `until`; true when a slot showed first.
async fn wait_for_slot(
    live: &LiveState,
    clock: &dyn Clock,
    watch: Vec<(AccountId, u32)>,
    until: SystemTime,
) -> bool {
    if watch.is_empty() || clock.now() >= until {
        return false;
    }
    let slot = live.health.slot_wait_below(watch);
    let timer = clock.sleep_until(until);
    matches!(select(slot, timer).await, Either::Left(_))
}

/// `start + wait`, saturating far in the future.
fn after(start: SystemTime, wait: Duration) -> SystemTime {
    start
        .checked_add(wait)
        .unwrap_or_else(|| start + Duration::from_secs(u64::from(u32::MAX)))
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
