//! [`Figures`]: what one strategy did with the workload.

use codex_pooler_core::model::AccountId;

use super::fleet::{AccountTally, PoolState};
use super::workload::{SessionKind, Turn, Workload};

/// Turns compared with the previous served turn of their session, and how many moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// Served turns whose session had an earlier served turn.
    pub compared: u64,
    /// Of those, turns served by another account than the previous one.
    pub switched: u64,
}

impl Switches {
    /// `switched / compared` (0 when nothing was compared).
    pub fn share(&self) -> f64 {
        ratio(self.switched, self.compared)
    }

    /// The share of compared turns served by the account that served the previous one: a
    /// proxy for prompt-cache hits (1 when nothing was compared).
    pub fn kept_share(&self) -> f64 {
        1.0 - self.share()
    }
}

/// Turns the dispatcher held back for a busy account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waits {
    /// Turns that waited at all.
    pub turns: u64,
    /// Their waits added up, in milliseconds.
    pub total_ms: u64,
    /// The longest wait, in milliseconds.
    pub max_ms: u64,
}

impl Waits {
    /// The mean wait of the turns that waited, in seconds.
    pub fn mean_secs(&self) -> f64 {
        ratio(self.total_ms, self.turns) / 1000.0
    }
}

/// The state of the pool when a client first got an exhaustion error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstError {
    /// When, in days since the start.
    pub day: f64,
    /// Share of the pool's quota spent by then: tokens served so far over the tokens the
    /// pool's windows let it serve so far (per account, what was left of its weekly window at
    /// the start plus every weekly window begun since, each capped by the 5-hour windows
    /// overlapping it). Quota that expired unused at a weekly reset, or a 5-hour window that
    /// refilled unused, is what keeps it below 1.
    pub quota_used: f64,
    /// Share of the weekly-window quota spent by then, not capping it by the 5-hour windows
    /// (so quota behind a full 5-hour window counts as unspent).
    pub weekly_quota_used: f64,
    /// Share of the weekly-window quota that had expired unused at a weekly reset by then.
    pub expired: f64,
}

/// What a client-visible error was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The pooler's own `usage_limit_reached` 429.
    PoolExhausted,
    /// The pooler's 503.
    Unavailable,
    /// An upstream `usage_limit_reached` 429 handed on.
    UpstreamLimit,
    /// An upstream code-less 429 (stream cap) handed on.
    UpstreamBusy,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether it tells the client the pool (as far as the request could tell) is out of quota.
    fn is_exhaustion(self) -> bool {
        matches!(
            self,
            Self::PoolExhausted | Self::Unavailable | Self::UpstreamLimit
        )
    }
}

/// Client-visible errors by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    /// The pooler's own `usage_limit_reached` 429 (the pool is exhausted as far as it knows).
    pub pool_exhausted: u64,
    /// The pooler's 503 (`no_eligible_account` and the like).
    pub unavailable: u64,
    /// An upstream `usage_limit_reached` 429 handed on (no candidate left to fail over to).
    pub upstream_limit: u64,
    /// An upstream code-less 429 (the account's stream cap) handed on.
    pub upstream_busy: u64,
    /// Anything else that was not a 2xx.
    pub other: u64,
    /// Of all the above, errors at a moment some account had quota left in both windows.
    pub with_quota: u64,
    /// Of those, errors at a moment some account would have served the turn (quota left and a
    /// free stream slot).
    pub with_headroom: u64,
}

impl Errors {
    /// Every client-visible error.
    pub fn total(&self) -> u64 {
        self.pool_exhausted
            + self.unavailable
            + self.upstream_limit
            + self.upstream_busy
            + self.other
    }
}

/// The figures of one strategy over one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The row label.
    pub label: String,
    /// Turns sent.
    pub turns: u64,
    /// Turns answered with a 2xx.
    pub served: u64,
    /// Turns answered with an error.
    pub errors: Errors,
    /// Upstream 429s the dispatcher failed over from (the client never saw them).
    pub retried_429: u64,
    /// Turns held back for a busy account.
    pub waits: Waits,
    /// Account switches per session kind, in [`SessionKind::ALL`] order.
    pub switches: [Switches; 3],
    /// The first client-visible exhaustion error (`usage_limit_reached` or 503), if any.
    pub first_error: Option<FirstError>,
    /// Why threads with a key (session id or derived) moved: reason and count, by count.
    pub moves: Vec<(&'static str, u64)>,
    /// Tokens served per account.
    pub accounts: Vec<AccountTally>,
}

impl Figures {
    /// The switch counts of one session kind.
    pub fn switches(&self, kind: SessionKind) -> Switches {
        self.switches[kind.index()]
    }

    /// Share of the pool's quota spent when the first client error came (1.0 without errors).
    pub fn quota_used_at_first_error(&self) -> f64 {
        self.first_error.map_or(1.0, |e| e.quota_used)
    }

    /// Tokens served over the weekly-window tokens the account had over the run, per account.
    pub fn utilization(&self) -> Vec<f64> {
        self.accounts
            .iter()
            .map(|a| {
                if a.capacity > 0.0 {
                    a.tokens / a.capacity
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Coefficient of variation of [`utilization`](Self::utilization) across accounts.
    pub fn utilization_cv(&self) -> f64 {
        let u = self.utilization();
        if u.is_empty() {
            return 0.0;
        }
        let n = u.len() as f64;
        let mean = u.iter().sum::<f64>() / n;
        let var = u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
    }

    /// Lowest and highest [`utilization`](Self::utilization).
    pub fn utilization_range(&self) -> (f64, f64) {
        let u = self.utilization();
        let min = u.iter().copied().fold(f64::INFINITY, f64::min);
        let max = u.iter().copied().fold(0.0, f64::max);
        (if min.is_finite() { min } else { 0.0 }, max)
    }
}

/// Running counts while a strategy is simulated.
#[derive(Debug)]
pub(crate) struct Tally {
    figures: Figures,
    last: Vec<Option<AccountId>>,
    kinds: Vec<SessionKind>,
}

impl Tally {
    pub(crate) fn new(label: &str, workload: &Workload) -> Self {
        Self {
            figures: Figures {
                label: label.to_owned(),
                turns: 0,
                served: 0,
                errors: Errors::default(),
                retried_429: 0,
                waits: Waits::default(),
                switches: [Switches::default(); 3],
                first_error: None,
                moves: Vec::new(),
                accounts: Vec::new(),
            },
            last: vec![None; workload.sessions.len()],
            kinds: workload.sessions.iter().map(|s| s.kind).collect(),
        }
    }

    /// A turn answered `ms` after it was sent (0: at once).
    pub(crate) fn waited(&mut self, ms: u64) {
        if ms > 0 {
            let w = &mut self.figures.waits;
            w.turns += 1;
            w.total_ms += ms;
            w.max_ms = w.max_ms.max(ms);
        }
    }

    pub(crate) fn retried(&mut self, upstream_429s: u64) {
        self.figures.retried_429 += upstream_429s;
    }

    /// A turn served by `account`; `why` tells why it would have moved, if it did.
    pub(crate) fn served(&mut self, turn: &Turn, account: AccountId, why: &'static str) {
        self.figures.turns += 1;
        self.figures.served += 1;
        let (Some(last), Some(kind)) = (
            self.last.get_mut(turn.session),
            self.kinds.get(turn.session),
        ) else {
            return;
        };
        if let Some(previous) = *last {
            let s = &mut self.figures.switches[kind.index()];
            s.compared += 1;
            s.switched += u64::from(previous != account);
            if previous != account && *kind != SessionKind::Stateless {
                match self.figures.moves.iter_mut().find(|(r, _)| *r == why) {
                    Some((_, n)) => *n += 1,
                    None => self.figures.moves.push((why, 1)),
                }
            }
        }
        *last = Some(account);
    }

    /// A turn answered with an error of `kind` on `day`, the pool being in state `pool`.
    pub(crate) fn failed(&mut self, kind: ErrorKind, day: f64, pool: PoolState) {
        self.figures.turns += 1;
        let e = &mut self.figures.errors;
        match kind {
            ErrorKind::PoolExhausted => e.pool_exhausted += 1,
            ErrorKind::Unavailable => e.unavailable += 1,
            ErrorKind::UpstreamLimit => e.upstream_limit += 1,
            ErrorKind::UpstreamBusy => e.upstream_busy += 1,
            ErrorKind::Other => e.other += 1,
        }
        e.with_quota += u64::from(pool.any_quota);
        e.with_headroom += u64::from(pool.any_headroom);
        if self.figures.first_error.is_none() && kind.is_exhaustion() {
            self.figures.first_error = Some(FirstError {
                day,
                // A turn admitted just under a limit is served whole: clamp the overshoot.
                quota_used: pool.spent_of_reachable.min(1.0),
                weekly_quota_used: pool.spent.min(1.0),
                expired: pool.expired,
            });
        }
    }

    pub(crate) fn finish(mut self, accounts: Vec<AccountTally>) -> Figures {
        self.figures.accounts = accounts;
        self.figures
            .moves
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        self.figures
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
