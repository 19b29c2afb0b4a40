//! The workload: accounts, sessions and their turns, all drawn from the seed before any
//! strategy runs, so every strategy faces exactly the same demand.
//!
//! Each turn becomes a [`PoolRequest`] the way the gateway builds one: headers and a JSON body,
//! read by [`RequestFacts::from_json`], which derives the continuity keys (session header,
//! or a fingerprint of the first non-system input item).

use std::time::SystemTime;

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::live::SessionIds;
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{
    AccountId, Assignment, KeyId, Pool, PoolId, PoolStatus, UpstreamAccount,
};
use codex_pooler_core::request::RequestFacts;
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use codex_pooler_core::store::StoreState;
use http::{HeaderMap, HeaderValue, Method};

use super::SimConfig;
use super::fleet::{AccountSpec, Plan, SHORT_MINUTES, SHORT_SHARE, WEEKLY_MINUTES};
use super::rng::SimRng;
use super::upstream::{DURATION_HEADER, TOKENS_HEADER};

/// The simulation starts at this Unix second (2027-01-15).
pub const START_UNIX_SECS: u64 = 1_800_000_000;
/// The model every turn asks for.
pub const MODEL: &str = "gpt-5-codex";
/// The simulated pool.
pub const POOL: PoolId = PoolId(1);
/// The simulated gateway's session-id key (see [`SessionIds`]).
const SESSION_KEY: [u8; 32] = [42; 32];

const DAY_MS: u64 = 86_400_000;
const HOUR_MS: f64 = 3_600_000.0;

/// How a session identifies its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionKind {
    /// A `session-id` header on every turn.
    SessionId,
    /// No id, but the same first input item on every turn (the derived key applies).
    Derived,
    /// No id and a different first item on every turn: stateless API calls.
    Stateless,
}

impl SessionKind {
    /// Every kind, in table order.
    pub const ALL: [Self; 3] = [Self::SessionId, Self::Derived, Self::Stateless];

    /// A short label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionId => "session id",
            Self::Derived => "derived key",
            Self::Stateless => "stateless",
        }
    }

    /// Position in [`SessionKind::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::SessionId => 0,
            Self::Derived => 1,
            Self::Stateless => 2,
        }
    }
}

/// One client session (a Codex thread, or a stream of API calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// How it identifies its thread.
    pub kind: SessionKind,
    /// Its random identity (session id, opening message).
    pub tag: u64,
}

/// One turn: a request at a fixed time, whatever happened to earlier turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Index of its session.
    pub session: usize,
    /// Its position in the session (0 for the first turn).
    pub index: u32,
    /// When it is sent (Unix milliseconds).
    pub start_ms: u64,
    /// How long its stream stays open when served.
    pub duration_ms: u64,
    /// Tokens it consumes when served.
    pub tokens: u64,
    /// The per-request seed (the gateway draws one per request).
    pub seed: u64,
    /// Varies the first input item of stateless turns.
    pub nonce: u64,
}

/// Everything a run is fed: the accounts' starting state and every turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// The upstream accounts.
    pub accounts: Vec<AccountSpec>,
    /// The sessions.
    pub sessions: Vec<Session>,
    /// Every turn, by start time.
    pub turns: Vec<Turn>,
    /// Tokens all turns together would consume.
    pub demand_tokens: f64,
    /// Simulated days.
    pub days: u32,
}

impl Workload {
    /// Draws the workload of `config`.
    pub fn generate(config: &SimConfig) -> Self {
        let root = SimRng::new(config.seed);
        let horizon_ms = u64::from(config.days.max(1)) * DAY_MS;
        let (sessions, mut turns) = sessions(config, &mut root.fork(2), horizon_ms);
        turns.sort_by_key(|t| (t.start_ms, t.session, t.index));
        // u64 -> f64: exact below 2^53.
        let demand_tokens: f64 = turns.iter().map(|t| t.tokens as f64).sum();
        let accounts = accounts(config, &mut root.fork(1), demand_tokens);
        Self {
            accounts,
            sessions,
            turns,
            demand_tokens,
            days: config.days.max(1),
        }
    }

    /// The gateway's configuration: one active pool holding every account.
    pub fn snapshot(&self) -> Snapshot {
        let accounts: Vec<UpstreamAccount> = self
            .accounts
            .iter()
            .map(|spec| {
                UpstreamAccount::new(spec.id, format!("{}-{}", spec.plan.as_str(), spec.id))
                    .with_plan_type(spec.plan.as_str())
                    .with_models([MODEL])
            })
            .collect();
        Snapshot::build(StoreState {
            version: 1,
            pools: vec![Pool {
                id: POOL,
                slug: "fleet".into(),
                status: PoolStatus::Active,
                // The planner's default strategy: the one under test.
                strategy: None,
                v1_enabled: true,
                waits: Default::default(),
            }],
            assignments: accounts
                .iter()
                .map(|a| Assignment {
                    pool: POOL,
                    account: a.id,
                })
                .collect(),
            accounts,
            keys: Vec::new(),
        })
    }

    /// The request the gateway would build for `turn`, received at `now`.
    pub fn request(&self, turn: &Turn, now: SystemTime) -> Result<PoolRequest, BoxError> {
        let session = self
            .sessions
            .get(turn.session)
            .ok_or("turn of an unknown session")?;
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(TOKENS_HEADER, HeaderValue::from(turn.tokens));
        headers.insert(DURATION_HEADER, HeaderValue::from(turn.duration_ms));
        let input = match session.kind {
            SessionKind::SessionId | SessionKind::Derived => serde_json::json!([
                {"type": "message", "role": "developer", "content": "You are a coding agent."},
                {"type": "message", "role": "user",
                 "content": format!("Thread {:016x}: make the failing test pass", session.tag)},
                {"type": "message", "role": "user", "content": format!("turn {}", turn.index)},
            ]),
            SessionKind::Stateless => serde_json::json!([
                {"type": "message", "role": "user",
                 "content": format!("One-off question {:016x}", turn.nonce)},
            ]),
        };
        if session.kind == SessionKind::SessionId {
            let id = format!("{:016x}-{:04x}", session.tag, turn.session % 0x1_0000);
            headers.insert("session-id", HeaderValue::from_str(&id)?);
        }
        let body = serde_json::to_vec(&serde_json::json!({
            "model": MODEL,
            "stream": true,
            "store": false,
            "input": input,
        }))?;
        let ctx = PoolContext {
            pool: POOL,
            key: KeyId(1),
        };
        let mut facts = RequestFacts::from_json(&headers, &body)?;
        // As the gateway's Facts layer does: a thread without a session id gets one derived.
        facts.derive_session(&SessionIds::new(SESSION_KEY), ctx);
        Ok(PoolRequest::new(
            ctx,
            Route {
                family: RouteFamily::CodexBackend,
                class: RouteClass::Responses,
            },
            facts,
            now,
        )
        .with_method(Method::POST)
        .with_headers(headers)
        .with_body(Bytes::from(body))
        .with_seed(turn.seed))
    }

    /// Accounts per plan, in plan order.
    pub fn plan_mix(&self) -> Vec<(Plan, usize)> {
        let mut mix: Vec<(Plan, usize)> = Vec::new();
        for spec in &self.accounts {
            match mix.iter_mut().find(|(p, _)| *p == spec.plan) {
                Some((_, n)) => *n += 1,
                None => mix.push((spec.plan, 1)),
            }
        }
        mix.sort();
        mix
    }

    /// Sessions per kind, in [`SessionKind::ALL`] order.
    pub fn session_mix(&self) -> [usize; 3] {
        let mut mix = [0; 3];
        for s in &self.sessions {
            mix[s.kind.index()] += 1;
        }
        mix
    }

    /// The pool's weekly capacity in tokens.
    pub fn weekly_capacity(&self) -> f64 {
        self.accounts.iter().map(|a| a.weekly_cap).sum()
    }

    /// The weekly-window tokens the pool has over the run: per account, what is left of its
    /// current window at the start plus every window that starts during the run.
    /// The demand is [`SimConfig::load`] times this.
    pub fn available_capacity(&self) -> f64 {
        let run_ms = u64::from(self.days) * DAY_MS;
        self.accounts.iter().map(|s| s.available(run_ms)).sum()
    }
}

/// Accounts with staggered windows, their capacity calibrated so that the demand is
/// `config.load` times the weekly capacity the pool has over the run (see
/// [`Workload::available_capacity`]).
fn accounts(config: &SimConfig, rng: &mut SimRng, demand: f64) -> Vec<AccountSpec> {
    let n = config.accounts.max(1);
    let start_ms = START_UNIX_SECS * 1000;
    let window_ms = |minutes: u32| u64::from(minutes) * 60_000;
    // First with one unit of capacity per plan unit, then scaled.
    let mut specs: Vec<AccountSpec> = (0..n)
        .map(|i| {
            let plan = Plan::PATTERN[i % Plan::PATTERN.len()];
            let weekly_cap = plan.weekly_units();
            let short_cap = weekly_cap * SHORT_SHARE;
            // Whole seconds, so reset stamps are exact.
            let weekly_left = 1000 * (1 + rng.below(window_ms(WEEKLY_MINUTES) / 1000));
            let short_left = 1000 * (1 + rng.below(window_ms(SHORT_MINUTES) / 1000));
            // Usage so far: as if the account had been used at 40-100 % of its weekly rate and
            // up to 80 % of its 5-hour rate since each window began.
            let weekly_elapsed = 1.0 - weekly_left as f64 / window_ms(WEEKLY_MINUTES) as f64;
            let short_elapsed = 1.0 - short_left as f64 / window_ms(SHORT_MINUTES) as f64;
            AccountSpec {
                id: AccountId(i64::try_from(i).unwrap_or(i64::MAX - 1) + 1),
                plan,
                weekly_cap,
                short_cap,
                weekly_used: weekly_cap * weekly_elapsed * rng.range(0.4, 1.0),
                short_used: short_cap * short_elapsed * rng.range(0.0, 0.8),
                weekly_reset_ms: start_ms + weekly_left,
                short_reset_ms: start_ms + short_left,
            }
        })
        .collect();
    let run_ms = u64::from(config.days.max(1)) * DAY_MS;
    let units: f64 = specs.iter().map(|s| s.available(run_ms)).sum();
    let scale = demand / (config.load.max(0.01) * units);
    for s in &mut specs {
        s.weekly_cap *= scale;
        s.short_cap *= scale;
        s.weekly_used *= scale;
        s.short_used *= scale;
    }
    specs
}

/// Sessions and their turns; sessions start on a working-day curve, some in bursts.
fn sessions(config: &SimConfig, rng: &mut SimRng, horizon_ms: u64) -> (Vec<Session>, Vec<Turn>) {
    let n = config.sessions;
    let sessions: Vec<Session> = (0..n)
        .map(|_| {
            let draw = rng.unit();
            let kind = if draw < config.session_id_share {
                SessionKind::SessionId
            } else if draw < config.session_id_share + config.stateless_share {
                SessionKind::Stateless
            } else {
                SessionKind::Derived
            };
            Session {
                kind,
                tag: rng.next_u64(),
            }
        })
        .collect();

    // Start times: bursty sessions share an anchor (4-16 sessions within 5 seconds).
    let mut starts = vec![0u64; n];
    let mut burst: Option<(u64, u64)> = None;
    for start in &mut starts {
        if rng.chance(config.burst_share) {
            let (anchor, left) = match burst {
                Some((anchor, left)) if left > 0 => (anchor, left),
                _ => (working_time(rng, horizon_ms), 4 + rng.below(13)),
            };
            burst = Some((anchor, left - 1));
            *start = anchor + rng.below(5_000);
        } else {
            *start = working_time(rng, horizon_ms);
        }
    }

    let start_ms = START_UNIX_SECS * 1000;
    let mean = f64::from(config.mean_turns.max(1));
    let mut turns = Vec::new();
    for (session, offset) in starts.into_iter().enumerate() {
        let count = (1.0 + rng.exponential(mean - 1.0).floor()).min(4.0 * mean) as u32;
        let mut at = offset;
        for index in 0..count {
            let tokens = rng
                .log_normal(config.median_turn_tokens, 0.8)
                .clamp(1_000.0, 400_000.0)
                .round() as u64;
            // A few seconds to first token, then about 800 tokens a second.
            let duration_ms = 3_000 + tokens * 1_000 / 800;
            if at >= horizon_ms {
                break;
            }
            turns.push(Turn {
                session,
                index,
                start_ms: start_ms + at,
                duration_ms,
                tokens,
                seed: rng.next_u64(),
                nonce: rng.next_u64(),
            });
            at += duration_ms + (rng.exponential(config.mean_think_secs) * 1_000.0) as u64;
        }
    }
    (sessions, turns)
}

/// A start time within the horizon, denser in working hours (07:00-21:00, peak at 14:00).
fn working_time(rng: &mut SimRng, horizon_ms: u64) -> u64 {
    let days = (horizon_ms / DAY_MS).max(1);
    let day = rng.below(days);
    loop {
        let hour = rng.range(0.0, 24.0);
        let weight = if (7.0..21.0).contains(&hour) {
            0.2 + 0.8 * (std::f64::consts::PI * (hour - 7.0) / 14.0).sin()
        } else {
            0.2
        };
        if rng.chance(weight) {
            return day * DAY_MS + (hour * HOUR_MS) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_workload_and_calibrated_capacity() {
        let config = SimConfig::small(3);
        let a = Workload::generate(&config);
        assert_eq!(a, Workload::generate(&config));
        assert_ne!(a, Workload::generate(&SimConfig::small(4)));
        let load = a.demand_tokens / a.available_capacity();
        assert!((load - config.load).abs() < 1e-9, "{load}");
        assert!(a.turns.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    }

    #[test]
    fn requests_carry_the_continuity_keys() {
        let w = Workload::generate(&SimConfig::small(5));
        let now = SystemTime::UNIX_EPOCH;
        let key_of = |kind: SessionKind| {
            let turns: Vec<&Turn> = w
                .turns
                .iter()
                .filter(|t| w.sessions[t.session].kind == kind)
                .collect();
            let first = turns[0];
            let next = turns
                .iter()
                .find(|t| t.session == first.session && t.index > 0);
            let key = |t: &Turn| w.request(t, now).unwrap().facts.continuity_key;
            (key(first), next.map(|t| key(t)))
        };
        let (first, next) = key_of(SessionKind::SessionId);
        assert!(first.as_deref().unwrap().starts_with("session-id:"));
        assert_eq!(next, Some(first));
        // Without a session id, the gateway's derived one (from the thread fingerprint).
        let (first, next) = key_of(SessionKind::Derived);
        assert!(first.as_deref().unwrap().starts_with("upstream_session:"));
        assert_eq!(next, Some(first));
        let (first, next) = key_of(SessionKind::Stateless);
        assert!(next.is_none() || next != Some(first));
    }
}
