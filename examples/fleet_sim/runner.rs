//! Running one strategy over a workload: the real `PlanLayer` and `DispatchLayer` in front of the
//! simulated upstream, driven by a [`ManualClock`].
//!
//! Events are processed in time order: stream ends (the turn's concurrency slot is released, as
//! the gateway does when the response body ends), usage-probe reads (spread evenly over the probe
//! interval, as the server's probe does), then turn starts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use codex_pooler_core::BoxError;
use codex_pooler_core::clock::{Clock, ManualClock};
use codex_pooler_core::continuity::{ContinuityBook, ContinuityConfig};
use codex_pooler_core::dispatch::{AttemptResult, DispatchLayer, Outcome};
use codex_pooler_core::health::AttemptGuard;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::plan::{PlanLayer, Planner};
use codex_pooler_core::quota::{parse_usage_limit, parse_usage_payload};
use codex_pooler_core::snapshot::SnapshotHandle;
use codex_pooler_core::strategy::RoutingStrategy;
use http::StatusCode;
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder};

use super::SimConfig;
use super::fleet::unix_ms;
use super::metrics::{ErrorKind, Figures, Tally};
use super::upstream::SimUpstream;
use super::workload::{START_UNIX_SECS, Workload};

/// Builds a fresh strategy instance (each run starts from a clean one).
pub type StrategyFactory = Arc<dyn Fn() -> Arc<dyn RoutingStrategy> + Send + Sync>;

/// One row of the results table: a strategy and how the gateway around it is set up.
#[derive(Clone)]
pub struct StrategyEntry {
    /// The row label.
    pub label: String,
    /// Makes the strategy.
    pub make: StrategyFactory,
    /// Whether the continuity book pins threads (off: every request is routed afresh).
    pub pins: bool,
}

impl std::fmt::Debug for StrategyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyEntry")
            .field("label", &self.label)
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

impl StrategyEntry {
    /// A strategy behind the gateway as shipped (continuity pins on), labelled by its name.
    pub fn new(make: impl Fn() -> Arc<dyn RoutingStrategy> + Send + Sync + 'static) -> Self {
        Self {
            label: make().name().to_owned(),
            make: Arc::new(make),
            pins: true,
        }
    }

    /// The same strategy with continuity pins switched off.
    #[must_use]
    pub fn without_pins(mut self) -> Self {
        self.label = format!("{} (no pins)", self.label);
        self.pins = false;
        self
    }
}

/// Simulates `entry` over `workload`.
pub fn run(
    config: &SimConfig,
    workload: &Workload,
    entry: &StrategyEntry,
) -> Result<Figures, BoxError> {
    let clock = Arc::new(ManualClock::at_unix(START_UNIX_SECS));
    let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
    let mut live = LiveState::new();
    if !entry.pins {
        // Entries that expire at once: nothing is ever pinned.
        live.continuity = ContinuityBook::new(ContinuityConfig {
            affinity_ttl: Duration::ZERO,
            turn_state_ttl: Duration::ZERO,
            alias_ttl: Duration::ZERO,
            ..ContinuityConfig::default()
        });
    }
    let live = Arc::new(live);
    let upstream = SimUpstream::new(&workload.accounts, Arc::clone(&clock));
    let planner = Planner::new((entry.make)()).with_max_attempts(config.max_attempts);
    let mut service = ServiceBuilder::new()
        .layer(PlanLayer::new(
            planner,
            SnapshotHandle::new(workload.snapshot()),
            Arc::clone(&live),
            Arc::clone(&dyn_clock),
        ))
        .layer(DispatchLayer::new(Arc::clone(&live), dyn_clock))
        .service(upstream.clone());

    let start_ms = START_UNIX_SECS * 1000;
    let mut probe = Probe::new(config, workload, start_ms);
    let mut ends: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut guards: HashMap<usize, AttemptGuard> = HashMap::new();
    let mut tally = Tally::new(&entry.label, workload);

    for (i, turn) in workload.turns.iter().enumerate() {
        // Everything due before the turn, in time order: stream ends, then probe reads.
        loop {
            let end = ends.peek().map(|Reverse((at, _))| *at);
            let next_probe = probe.next_at();
            match (end, next_probe) {
                (Some(at), p) if at <= turn.start_ms && p.is_none_or(|p| at <= p) => {
                    if let Some(Reverse((_, index))) = ends.pop() {
                        advance(&clock, at);
                        // Dropping the guard frees the slot, as the end of the body does.
                        guards.remove(&index);
                    }
                }
                (_, Some(p)) if p <= turn.start_ms => {
                    advance(&clock, p);
                    probe.read(&upstream, &live, &clock);
                }
                _ => break,
            }
        }
        advance(&clock, turn.start_ms);
        let request = workload.request(turn, clock.now())?;
        resolve(poll_fn(|cx| service.poll_ready(cx)))?.map_err(|never| match never {})?;
        let outcome = resolve(service.call(request))?.map_err(|never| match never {})?;
        let retried = outcome
            .attempts
            .iter()
            .filter(|a| a.result == AttemptResult::Retried(429))
            .count();
        tally.retried(retried as u64);
        let status = outcome.response.status();
        match (&outcome.served_by, status.is_success()) {
            (Some(account), true) => {
                tally.served(turn, account.id, move_reason(&outcome));
                if let Some(guard) = outcome.guard {
                    guards.insert(i, guard);
                    ends.push(Reverse((turn.start_ms + turn.duration_ms, i)));
                }
            }
            _ => {
                let kind = error_kind(outcome)?;
                let now_ms = unix_ms(clock.now());
                let pool = upstream.fleet().state(now_ms);
                let day = (now_ms - start_ms) as f64 / 86_400_000.0;
                tally.failed(kind, day, pool);
            }
        }
    }
    drop(guards);
    let tallies = upstream
        .fleet()
        .tallies(u64::from(workload.days) * 86_400_000);
    Ok(tally.finish(tallies))
}

/// Classifies a client-visible error (reading the body of an upstream answer handed on).
fn error_kind(outcome: Outcome) -> Result<ErrorKind, BoxError> {
    let status = outcome.response.status();
    Ok(match (status, outcome.error_code) {
        (StatusCode::TOO_MANY_REQUESTS, Some(_)) => ErrorKind::PoolExhausted,
        (StatusCode::SERVICE_UNAVAILABLE, Some(_)) => ErrorKind::Unavailable,
        (StatusCode::TOO_MANY_REQUESTS, None) => {
            let body = resolve(outcome.response.into_body().collect())??.to_bytes();
            if parse_usage_limit(&body, std::time::SystemTime::UNIX_EPOCH).is_some() {
                ErrorKind::UpstreamLimit
            } else {
                ErrorKind::UpstreamBusy
            }
        }
        _ => ErrorKind::Other,
    })
}

/// Why a served turn went where it went, should that be another account than last time.
fn move_reason(outcome: &Outcome) -> &'static str {
    let Some(receipt) = &outcome.receipt else {
        return "unplanned";
    };
    if !receipt.failovers.is_empty() {
        "failover_after_429"
    } else if let Some(skipped) = receipt.pin_skipped {
        skipped
    } else if receipt.pin.is_none() {
        "no_pin"
    } else {
        "pin_followed"
    }
}

/// Moves the clock forward to `to_ms` (Unix milliseconds); never back.
fn advance(clock: &ManualClock, to_ms: u64) {
    let now = unix_ms(clock.now());
    if to_ms > now {
        clock.advance(Duration::from_millis(to_ms - now));
    }
}

/// Drives a future that never waits (every service here answers at once) to completion.
fn resolve<F: Future>(future: F) -> Result<F::Output, BoxError> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Ok(out);
        }
    }
    Err("the pipeline waited on something; the simulation never should".into())
}

/// The gateway's usage probe: each account read once per interval, reads spread evenly.
#[derive(Debug)]
struct Probe {
    ids: Vec<codex_pooler_core::model::AccountId>,
    step_ms: u64,
    next_ms: Option<u64>,
    count: usize,
}

impl Probe {
    fn new(config: &SimConfig, workload: &Workload, start_ms: u64) -> Self {
        let ids: Vec<_> = workload.accounts.iter().map(|a| a.id).collect();
        let interval = u64::from(config.probe_minutes) * 60_000;
        let step_ms = interval / (ids.len().max(1) as u64);
        Self {
            next_ms: (step_ms > 0 && !ids.is_empty()).then_some(start_ms),
            ids,
            step_ms,
            count: 0,
        }
    }

    fn next_at(&self) -> Option<u64> {
        self.next_ms
    }

    /// Reads the next account's `wham/usage` and records it, as `UsageProbe` does.
    fn read(&mut self, upstream: &SimUpstream, live: &LiveState, clock: &ManualClock) {
        let Some(id) = self.ids.get(self.count % self.ids.len().max(1)).copied() else {
            return;
        };
        self.count += 1;
        self.next_ms = self.next_ms.map(|at| at + self.step_ms);
        let now = clock.now();
        let payload = upstream.fleet().usage_payload(id, unix_ms(now));
        if let Some(snapshot) = payload.and_then(|body| parse_usage_payload(&body, now).ok()) {
            live.quota.observe_usage(id, &snapshot);
        }
    }
}
