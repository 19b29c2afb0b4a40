//! Running one strategy over a workload: the real `PlanLayer` and `DispatchLayer` in front of the
//! simulated upstream, driven by a [`ManualClock`].
//!
//! Events are processed in time order: stream ends (the turn's concurrency slot is released, as
//! the gateway does when the response body ends), usage-probe reads (spread evenly over the probe
//! interval, as the server's probe does), clock timers, then turn starts. A turn the dispatcher
//! makes wait for a busy account stays pending and is polled again after every event (a freed
//! slot or a due timer is what lets it through); its stream starts when it is answered, and its
//! session's later turns move back by the time it waited.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime};

use codex_pooler_core::BoxError;
use codex_pooler_core::clock::{Clock, ManualClock};
use codex_pooler_core::dispatch::{AttemptResult, DispatchLayer, Outcome};
use codex_pooler_core::health::AttemptGuard;
use codex_pooler_core::live::ContinuityConfig;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{AccountId, SnapshotHandle};
use codex_pooler_core::plan::{PlanLayer, Planner, Replanner};
use codex_pooler_core::quota::{parse_usage_limit, parse_usage_payload};
use codex_pooler_core::request::PoolRequest;
use codex_pooler_core::strategy::RoutingStrategy;
use http::StatusCode;
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder};

use super::SimConfig;
use super::fleet::unix_ms;
use super::metrics::{ErrorKind, Figures, Tally};
use super::upstream::SimUpstream;
use super::workload::{POOL, START_UNIX_SECS, SessionKind, Workload};

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
        live = live.with_continuity(ContinuityConfig {
            affinity_ttl: Duration::ZERO,
            turn_state_ttl: Duration::ZERO,
            alias_ttl: Duration::ZERO,
            ..ContinuityConfig::default()
        });
    }
    let live = Arc::new(live);
    let upstream = SimUpstream::new(&workload.accounts, Arc::clone(&clock));
    let planner = Planner::new((entry.make)()).with_max_attempts(config.max_attempts);
    let snapshot = SnapshotHandle::new(workload.snapshot());
    let replanner = Replanner::new(
        &planner,
        snapshot.clone(),
        Arc::clone(&live),
        Arc::clone(&dyn_clock),
    );
    let mut service = ServiceBuilder::new()
        .layer(PlanLayer::new(
            planner,
            snapshot,
            Arc::clone(&live),
            Arc::clone(&dyn_clock),
        ))
        .layer(
            DispatchLayer::new(Arc::clone(&live), dyn_clock)
                .with_config(config.dispatch)
                .with_replanner(replanner),
        )
        .service(upstream.clone());

    let start_ms = START_UNIX_SECS * 1000;
    let mut probe = Probe::new(config, workload, start_ms);
    let mut events = Events::new(workload);
    let mut guards: HashMap<usize, AttemptGuard> = HashMap::new();
    let mut tally = Tally::new(&entry.label, workload);
    // Turns waiting in the dispatcher for a busy account, oldest first.
    let mut waiting: Vec<Waiting> = Vec::new();
    // Per session: how far its turns have been pushed back by waits, and whether one waits now
    // (its later turns are held until it is answered: a client does not send the next turn of
    // a thread before the last one is answered).
    let mut delay_ms = vec![0u64; workload.sessions.len()];
    let mut held: Vec<Vec<usize>> = vec![Vec::new(); workload.sessions.len()];
    // Over websocket: per session, the open socket's account and its response-id alias.
    let mut sockets = Sockets::new(config, workload);

    // The probe reads on through the run, and stops with it.
    let end_ms = start_ms + u64::from(workload.days) * 86_400_000;
    loop {
        let timer = clock.next_deadline().map(unix_ms);
        let probe_at = probe.next_at().filter(|at| *at <= end_ms);
        let Some(event) = events.next(probe_at, timer) else {
            break;
        };
        match event {
            Event::StreamEnd { at, turn } => {
                advance(&clock, at);
                // Dropping the guard frees the slot, as the end of the body does.
                guards.remove(&turn);
            }
            Event::ProbeRead { at } => {
                advance(&clock, at);
                probe.read(&upstream, &live, &clock);
                continue;
            }
            Event::Timer { at } => advance(&clock, at),
            Event::TurnStart { at, turn: index } => {
                advance(&clock, at);
                let Some(turn) = workload.turns.get(index) else {
                    continue;
                };
                let session = turn.session;
                let due = turn.start_ms + delay_ms[session];
                if due > at {
                    events.start_at(due, index);
                    continue;
                }
                if waiting.iter().any(|w| w.session == session) {
                    held[session].push(index);
                    continue;
                }
                let mut request = workload.request(turn, clock.now())?;
                sockets.bind(session, &mut request);
                resolve(poll_fn(|cx| service.poll_ready(cx)))?.map_err(|never| match never {})?;
                waiting.push(Waiting::new(index, session, at, service.call(request)));
            }
        }
        // Whatever can move now: new turns, and waits a freed slot or a timer woke.
        let mut i = 0;
        while i < waiting.len() {
            let Poll::Ready(outcome) = waiting[i].poll_if_woken() else {
                i += 1;
                continue;
            };
            let w = waiting.remove(i);
            let outcome = outcome.map_err(|never| match never {})?;
            let now_ms = unix_ms(clock.now());
            let waited = now_ms.saturating_sub(w.since_ms);
            delay_ms[w.session] += waited;
            for index in held[w.session].drain(..) {
                events.start_at(now_ms, index);
            }
            let Some(turn) = workload.turns.get(w.turn) else {
                continue;
            };
            tally.waited(waited);
            let retried = outcome
                .attempts
                .iter()
                .filter(|a| a.result == AttemptResult::Retried(429))
                .count();
            tally.retried(retried as u64);
            let status = outcome.response.status();
            match (&outcome.served_by, status.is_success()) {
                (Some(account), true) => {
                    sockets.opened(w.session, account.id, &live, clock.now());
                    tally.served(turn, account.id, move_reason(&outcome));
                    if let Some(guard) = outcome.guard {
                        guards.insert(w.turn, guard);
                        events.stream_end(now_ms + turn.duration_ms, w.turn);
                    }
                }
                _ => {
                    sockets.closed(w.session);
                    let kind = error_kind(outcome)?;
                    let pool = upstream.fleet().state(now_ms);
                    let day = (now_ms - start_ms) as f64 / 86_400_000.0;
                    tally.failed(kind, day, pool);
                }
            }
            // An answer may have freed slots (an attempt's guard): look at every wait again.
            i = 0;
        }
    }
    if !waiting.is_empty() {
        return Err("turns were still waiting when nothing was left to happen".into());
    }
    drop(guards);
    let tallies = upstream
        .fleet()
        .tallies(u64::from(workload.days) * 86_400_000);
    Ok(tally.finish(tallies))
}

/// Websocket sessions' upstream sockets. One client websocket is one upstream socket on one
/// account (the gateway picks it at the upgrade, with the session's soft pin); every turn on
/// it goes there or fails, as a `previous_response_id` only resolves on the socket that
/// produced it. A failed turn closes the socket; the client's next turn opens a new one,
/// planned afresh. Modelled as a hard pin (a response-id alias per socket).
struct Sockets {
    /// Per session: whether it talks over a websocket.
    websocket: Vec<bool>,
    /// Per session: the open socket's account and generation.
    open: Vec<Option<(AccountId, u32)>>,
    /// Per session: sockets opened so far.
    opened: Vec<u32>,
}

impl Sockets {
    fn new(config: &SimConfig, workload: &Workload) -> Self {
        let n = workload.sessions.len();
        Self {
            websocket: workload
                .sessions
                .iter()
                .map(|s| config.websocket && s.kind == SessionKind::SessionId)
                .collect(),
            open: vec![None; n],
            opened: vec![0; n],
        }
    }

    fn alias(session: usize, generation: u32) -> String {
        format!("ws-{session}-{generation}")
    }

    /// A turn on an open socket names it.
    fn bind(&self, session: usize, request: &mut PoolRequest) {
        if let Some(Some((_, generation))) = self.open.get(session) {
            request.facts.continuity.previous_response_id = Some(Self::alias(session, *generation));
        }
    }

    /// A served turn of a websocket session without a socket opened one on `account`.
    fn opened(&mut self, session: usize, account: AccountId, live: &LiveState, now: SystemTime) {
        if !self.websocket.get(session).copied().unwrap_or(false) || self.open[session].is_some() {
            return;
        }
        self.opened[session] += 1;
        let generation = self.opened[session];
        live.learn_response_id(POOL, &Self::alias(session, generation), account, now);
        self.open[session] = Some((account, generation));
    }

    /// A failed turn closes the session's socket.
    fn closed(&mut self, session: usize) {
        if let Some(open) = self.open.get_mut(session) {
            *open = None;
        }
    }
}

/// The gateway's answer to one turn, still to come.
type Answer = Pin<Box<dyn Future<Output = Result<Outcome, Infallible>> + Send>>;

/// A turn inside the gateway, waiting for a busy account (or not yet polled).
struct Waiting {
    turn: usize,
    session: usize,
    since_ms: u64,
    future: Answer,
    /// Set by the turn's waker (a freed slot, a due timer): only woken turns are polled.
    woken: Arc<Woken>,
}

/// A waker that only raises a flag; the simulation loop is the executor.
#[derive(Debug, Default)]
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Waiting {
    fn new(turn: usize, session: usize, since_ms: u64, future: Answer) -> Self {
        Self {
            turn,
            session,
            since_ms,
            future,
            woken: Arc::new(Woken(AtomicBool::new(true))),
        }
    }

    /// Polls the turn if something woke it since its last poll.
    fn poll_if_woken(&mut self) -> Poll<Result<Outcome, Infallible>> {
        if !self.woken.0.swap(false, Ordering::Relaxed) {
            return Poll::Pending;
        }
        let waker = Waker::from(Arc::clone(&self.woken));
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// What happens next in simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A served turn's stream ends.
    StreamEnd { at: u64, turn: usize },
    /// The usage probe reads an account.
    ProbeRead { at: u64 },
    /// A clock timer (a dispatcher's wait bound) is due.
    Timer { at: u64 },
    /// A turn is sent.
    TurnStart { at: u64, turn: usize },
}

/// Stream ends and turn starts in time order.
#[derive(Debug)]
struct Events {
    ends: BinaryHeap<Reverse<(u64, usize)>>,
    starts: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Events {
    fn new(workload: &Workload) -> Self {
        Self {
            ends: BinaryHeap::new(),
            starts: workload
                .turns
                .iter()
                .enumerate()
                .map(|(i, t)| Reverse((t.start_ms, i)))
                .collect(),
        }
    }

    fn stream_end(&mut self, at: u64, turn: usize) {
        self.ends.push(Reverse((at, turn)));
    }

    fn start_at(&mut self, at: u64, turn: usize) {
        self.starts.push(Reverse((at, turn)));
    }

    /// The earliest event; at equal times stream ends go first, then probe reads, timers and
    /// turn starts.
    fn next(&mut self, probe: Option<u64>, timer: Option<u64>) -> Option<Event> {
        let end = self.ends.peek().map(|Reverse((at, _))| *at);
        let start = self.starts.peek().map(|Reverse((at, _))| *at);
        let earliest = [end, probe, timer, start].into_iter().flatten().min()?;
        if end == Some(earliest) {
            let Reverse((at, turn)) = self.ends.pop()?;
            return Some(Event::StreamEnd { at, turn });
        }
        if probe == Some(earliest) {
            return Some(Event::ProbeRead { at: earliest });
        }
        if timer == Some(earliest) {
            return Some(Event::Timer { at: earliest });
        }
        let Reverse((at, turn)) = self.starts.pop()?;
        Some(Event::TurnStart { at, turn })
    }
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
        skipped.as_str()
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
            live.observe_usage(id, &snapshot);
        }
    }
}
