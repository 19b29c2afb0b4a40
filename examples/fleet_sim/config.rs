//! [`SimConfig`]: the knobs of one simulation.

use codex_pooler_core::dispatch::DispatchConfig;

/// What to simulate. Every figure is a function of this and nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of every random draw (accounts, workload, per-request seeds).
    pub seed: u64,
    /// Upstream accounts in the pool.
    pub accounts: usize,
    /// Client sessions over the whole run.
    pub sessions: usize,
    /// Simulated days; sessions start within them.
    pub days: u32,
    /// Mean turns per session (geometric, at least one, at most four times the mean).
    pub mean_turns: u32,
    /// Share of sessions sending a `session-id` header.
    pub session_id_share: f64,
    /// Share of sessions with no id and a different first input item on every turn (stateless
    /// API calls). The rest have no id but a stable first input item (the derived key applies).
    pub stateless_share: f64,
    /// Demand over the run as a multiple of the weekly-window capacity the pool has over the run
    /// (what is left of each account's current window plus every window starting in the run):
    /// above 1 the pool must run dry at some point.
    pub load: f64,
    /// Share of sessions that start in bursts (several sessions within seconds).
    pub burst_share: f64,
    /// Median tokens of one turn (log-normal).
    pub median_turn_tokens: f64,
    /// Mean think time between turns of a session, in seconds (exponential).
    pub mean_think_secs: f64,
    /// How often the gateway's usage probe reads each account, in minutes (0: never), as the
    /// server's `--usage-probe-interval-secs` does.
    pub probe_minutes: u32,
    /// Accounts one request may try (the planner's attempt budget).
    pub max_attempts: usize,
    /// How long the dispatcher waits for busy accounts (the gateway's default unless set).
    pub dispatch: DispatchConfig,
    /// Whether sessions with a session id talk over a websocket (one upstream socket on one
    /// account for as long as it serves them) instead of HTTP.
    pub websocket: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 12,
            sessions: 1500,
            days: 7,
            mean_turns: 40,
            session_id_share: 0.6,
            stateless_share: 0.1,
            load: 1.0,
            burst_share: 0.25,
            median_turn_tokens: 30_000.0,
            mean_think_secs: 60.0,
            probe_minutes: 5,
            max_attempts: codex_pooler_core::plan::DEFAULT_MAX_ATTEMPTS,
            dispatch: DispatchConfig::default(),
            websocket: false,
        }
    }
}

impl SimConfig {
    /// A configuration small enough for a debug-build test: 6 accounts, 160 sessions, 3 days.
    pub fn small(seed: u64) -> Self {
        Self {
            seed,
            accounts: 6,
            sessions: 160,
            days: 3,
            mean_turns: 25,
            ..Self::default()
        }
    }

    /// Share of sessions with neither a session id nor a stable first item.
    pub fn derived_share(&self) -> f64 {
        (1.0 - self.session_id_share - self.stateless_share).max(0.0)
    }
}
