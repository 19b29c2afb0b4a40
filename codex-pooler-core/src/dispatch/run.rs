//! One request's way through its candidates: rounds of attempts, waits for busy accounts and
//! fresh plans. What each answer teaches is the [classifier](super::classify)'s; whether to
//! move on, and what reaches the client, the [policy](super::policy)'s.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::{Either, poll_fn, select};
use tower_service::Service;

use super::classify::Classifier;
use super::policy::{Decision, Failover};
use super::{DispatchConfig, Outcome};
use crate::BoxError;
use crate::body::PoolBody;
use crate::clock::Clock;
use crate::health::{AttemptGuard, HealthExclusion};
use crate::live::LiveState;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::{AttemptBudget, PlannedRequest, Replanner, RoutePlan};
use crate::request::{PoolRequest, UpstreamCall};

/// A candidate still worth trying.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Its position in the candidates.
    index: usize,
    /// Set when upstream refused it for concurrency with this many other attempts in flight:
    /// it is tried again only once fewer are.
    refused_below: Option<u32>,
    /// Passed over in this round for being at its learned limit.
    skipped: bool,
}

impl Pending {
    fn new(index: usize) -> Self {
        Self {
            index,
            refused_below: None,
            skipped: false,
        }
    }

    /// Whether to try it in this pass, and if so whether within its learned limit: first
    /// within the limits, then over them for the accounts skipped as busy (the limit is an
    /// estimate; only upstream knows the real cap). A followed soft pin goes over at once.
    fn try_within_limit(self, over_pass: bool, pinned: bool, in_flight: u32) -> Option<bool> {
        match (self.refused_below, over_pass) {
            // Refused by upstream: tried again once one of its streams ended.
            (Some(below), false) if in_flight < below => Some(false),
            (None, false) => Some(!pinned),
            (None, true) if self.skipped => Some(false),
            _ => None,
        }
    }
}

/// One request's dispatch: the services and settings it runs with.
pub(super) struct Run<S> {
    pub(super) inner: S,
    pub(super) live: Arc<LiveState>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: DispatchConfig,
    pub(super) replanner: Option<Replanner>,
    /// Time spent waiting for busy accounts so far.
    pub(super) waited: Duration,
}

/// Where one request stands.
struct Progress {
    request: Arc<PoolRequest>,
    /// The plan, its candidates moved out (the rest goes into the receipt).
    plan: RoutePlan,
    /// The candidates, fresh plans' included.
    candidates: Vec<Arc<UpstreamAccount>>,
    pending: Vec<Pending>,
    /// Attempts the request may make.
    budget: usize,
    replans: usize,
    fresh_plans: bool,
    timed_out: bool,
    limits_seen: usize,
    deadline: SystemTime,
    pin_deadline: Option<SystemTime>,
    failover: Failover,
}

/// An answer to hand on.
struct Served {
    account: Arc<UpstreamAccount>,
    response: http::Response<PoolBody>,
    guard: AttemptGuard,
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
        self.config = self.config.for_pool(planned.waits);
        let mut p = self.start(planned);
        loop {
            for over_pass in [false, true] {
                if let Some(served) = self.pass(&mut p, over_pass).await {
                    let Served {
                        account,
                        response,
                        guard,
                    } = served;
                    return p
                        .failover
                        .serve(p.plan, account, response, guard, self.waited);
                }
            }
            if !self.next_round(&mut p).await {
                break;
            }
        }
        let now = self.clock.now();
        p.failover
            .give_up(&self.live, now, p.plan, &p.candidates, self.waited)
    }

    /// The request's starting point.
    fn start(&self, planned: PlannedRequest) -> Progress {
        let PlannedRequest {
            request, mut plan, ..
        } = planned;
        let candidates = std::mem::take(&mut plan.candidates);
        let total = candidates.len();
        let start = self.clock.now();
        // A followed soft pin puts its account first, with other candidates behind it.
        let pin_deadline = (plan.pin.is_some() && total > 1)
            .then(|| after(start, self.config.pin_wait.min(self.config.busy_wait)));
        Progress {
            fresh_plans: AttemptBudget::of(&request, total).allows_fresh_plans(),
            request: Arc::new(request),
            plan,
            candidates,
            pending: (0..total).map(Pending::new).collect(),
            budget: total * MAX_ATTEMPTS_PER_CANDIDATE,
            replans: 0,
            timed_out: false,
            limits_seen: 0,
            deadline: after(start, self.config.busy_wait),
            pin_deadline,
            failover: Failover::default(),
        }
    }

    /// One pass over the pending candidates; the answer to hand on, if one came.
    async fn pass(&mut self, p: &mut Progress, over_pass: bool) -> Option<Served> {
        let mut i = 0;
        while i < p.pending.len() && p.failover.attempts() < p.budget {
            let pending = p.pending[i];
            let Some(account) = p.candidates.get(pending.index).cloned() else {
                p.pending.remove(i);
                continue;
            };
            let pinned = pending.index == 0 && p.pin_deadline.is_some();
            let in_flight = self.live.health.in_flight(account.id);
            let Some(within_limit) = pending.try_within_limit(over_pass, pinned, in_flight) else {
                i += 1;
                continue;
            };
            let started = self.clock.now();
            // The slot is held until the response body ends (the guard travels with the
            // outcome).
            let guard = match self.claim(&p.request, account.id, within_limit) {
                Claim::Claimed(guard) => guard,
                Claim::Refused => {
                    p.pending.remove(i);
                    continue;
                }
                Claim::Busy => {
                    p.pending[i].skipped = true;
                    i += 1;
                    continue;
                }
            };
            match self.attempt(p, &account, guard, started).await {
                Decision::Serve { response, guard } => {
                    return Some(Served {
                        account,
                        response,
                        guard,
                    });
                }
                Decision::Drop => {
                    p.pending.remove(i);
                }
                Decision::RetryBelow(below) => {
                    p.pending[i].refused_below = Some(below);
                    // The pinned account is waited for at once, alone, for a little while.
                    if let Some(until) = p.pin_deadline.filter(|_| pinned) {
                        if self.wait(vec![(account.id, below)], until).await {
                            continue;
                        }
                        p.pin_deadline = None;
                    }
                    i += 1;
                }
            }
        }
        None
    }

    /// One upstream attempt on `account`, begun at `started`, classified and decided on.
    async fn attempt(
        &mut self,
        p: &mut Progress,
        account: &Arc<UpstreamAccount>,
        guard: AttemptGuard,
        started: SystemTime,
    ) -> Decision {
        let call = UpstreamCall {
            account: Arc::clone(account),
            request: Arc::clone(&p.request),
            attempt: u32::try_from(p.failover.attempts() + 1).unwrap_or(u32::MAX),
        };
        let result = match poll_fn(|cx| self.inner.poll_ready(cx)).await {
            Ok(()) => self.inner.call(call).await,
            Err(err) => Err(err),
        };
        let latency = elapsed(&*self.clock, started);
        let classifier = Classifier {
            live: Arc::clone(&self.live),
            clock: Arc::clone(&self.clock),
            soft_owner: p.plan.soft_owner,
        };
        let class = classifier
            .classify(account.id, &p.request, guard, result.map_err(Into::into))
            .await;
        p.failover.decide(account.id, class, latency)
    }

    /// After a round with no answer: plan afresh, or wait for a busy account; false when the
    /// request has nothing left to try.
    async fn next_round(&mut self, p: &mut Progress) -> bool {
        let refused = p.pending.iter().any(|x| x.refused_below.is_some());
        // Usage limits the quota book did not foresee: the book knows them now, so a fresh
        // plan offers accounts that still have quota instead of declaring the pool dry.
        let usage_limited = p.failover.usage_limited();
        let surprised = usage_limited > p.limits_seen;
        if p.failover.attempts() >= p.budget || !(refused || surprised) {
            return false;
        }
        p.limits_seen = usage_limited;
        // Refusals for concurrency cut those accounts' limits, so accounts with room now
        // come first in a fresh plan too: look before waiting.
        if (surprised || p.replans < MAX_REPLANS || p.timed_out) && self.replan(p) {
            return true;
        }
        if !refused {
            return false;
        }
        // Wait for one of their streams to end, within the request's total wait.
        let watch: Vec<_> = p
            .pending
            .iter()
            .filter_map(|x| Some((p.candidates.get(x.index)?.id, x.refused_below?)))
            .collect();
        if !self.wait(watch, p.deadline).await {
            // Waited long enough for these; one last fresh plan may still find room.
            if p.timed_out {
                return false;
            }
            p.timed_out = true;
            for x in &mut p.pending {
                x.refused_below = Some(0);
            }
            return true;
        }
        for x in &mut p.pending {
            x.skipped = false;
        }
        true
    }

    /// Asks the planner again; true when the fresh plan added candidates.
    fn replan(&self, p: &mut Progress) -> bool {
        let fresh = match &self.replanner {
            Some(replanner) if p.fresh_plans => replanner.plan(&p.request),
            _ => None,
        };
        let Some(fresh) = fresh else {
            return false;
        };
        p.replans += 1;
        let known = p.candidates.len();
        for account in fresh.candidates {
            if !p.candidates.iter().any(|c| c.id == account.id) {
                p.pending.push(Pending::new(p.candidates.len()));
                p.candidates.push(account);
            }
        }
        let added = p.candidates.len() - known;
        p.budget += added * MAX_ATTEMPTS_PER_CANDIDATE;
        added > 0
    }

    /// Claims a slot on `account`, within its learned concurrency limit or over it (the
    /// circuit applies either way).
    fn claim(&self, request: &PoolRequest, account: AccountId, within_limit: bool) -> Claim {
        let now = self.clock.now();
        let model = request.facts.model.as_deref().unwrap_or_default();
        let class = request.route.class;
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
}

/// Upstream attempts one request may make, per planned candidate: a busy candidate may be tried
/// again after a wait, but never without bound.
const MAX_ATTEMPTS_PER_CANDIDATE: usize = 2;

/// Fresh plans one request may ask for before it waits for busy accounts (plus one when its
/// wait runs out).
const MAX_REPLANS: usize = 2;

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
