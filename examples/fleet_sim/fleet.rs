//! The far side: simulated upstream accounts, their plans, quota windows and stream caps.
//!
//! Each account has a 5-hour and a weekly window on a fixed schedule (staggered per account).
//! A turn is charged to both windows when it is admitted; used percentages may pass 100 because a
//! turn admitted just under the limit is served whole, as upstream does.

use std::time::{SystemTime, UNIX_EPOCH};

use codex_pooler_core::model::AccountId;

use super::workload::START_UNIX_SECS;

/// Minutes of the short window.
pub const SHORT_MINUTES: u32 = 300;
/// Minutes of the weekly window.
pub const WEEKLY_MINUTES: u32 = 10_080;
/// The 5-hour capacity as a share of the weekly capacity, for every plan.
pub const SHORT_SHARE: f64 = 0.22;

/// A ChatGPT plan, as far as capacity goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Plan {
    /// ChatGPT Plus: one unit of weekly capacity, 6 concurrent streams.
    Plus,
    /// ChatGPT Team (one seat): 1.25 units, 6 streams.
    Team,
    /// ChatGPT Pro: 6 units, 10 streams.
    Pro,
}

impl Plan {
    /// How plans are handed out to accounts, in order, repeating.
    pub const PATTERN: [Self; 8] = [
        Self::Plus,
        Self::Team,
        Self::Plus,
        Self::Pro,
        Self::Plus,
        Self::Team,
        Self::Plus,
        Self::Plus,
    ];

    /// The plan name upstream reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Plus => "plus",
            Self::Team => "team",
            Self::Pro => "pro",
        }
    }

    /// Weekly capacity relative to Plus.
    pub const fn weekly_units(self) -> f64 {
        match self {
            Self::Plus => 1.0,
            Self::Team => 1.25,
            Self::Pro => 6.0,
        }
    }

    /// Streams upstream lets one account hold open; one more gets a code-less 429.
    pub const fn concurrency(self) -> usize {
        match self {
            Self::Plus | Self::Team => 6,
            Self::Pro => 10,
        }
    }
}

/// One simulated account as configured at the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSpec {
    /// The store id the gateway knows it by.
    pub id: AccountId,
    /// Its plan.
    pub plan: Plan,
    /// Tokens per weekly window.
    pub weekly_cap: f64,
    /// Tokens per 5-hour window.
    pub short_cap: f64,
    /// Tokens already used in the weekly window at the start.
    pub weekly_used: f64,
    /// Tokens already used in the 5-hour window at the start.
    pub short_used: f64,
    /// When the weekly window first resets (Unix milliseconds).
    pub weekly_reset_ms: u64,
    /// When the 5-hour window first resets (Unix milliseconds).
    pub short_reset_ms: u64,
}

impl AccountSpec {
    /// Tokens the account can serve over a run of `run_ms` from the start, as far as its
    /// weekly windows allow: what is left of its current window plus every window that starts
    /// during the run, each capped by what the 5-hour windows overlapping it let through.
    pub fn available(&self, run_ms: u64) -> f64 {
        let week_ms = u64::from(WEEKLY_MINUTES) * 60_000;
        let short_ms = u64::from(SHORT_MINUTES) * 60_000;
        let start_ms = START_UNIX_SECS * 1000;
        let end_ms = start_ms + run_ms;
        // 5-hour windows overlapping [from, to): one, plus one per reset inside the interval.
        let short_windows = |from: u64, to: u64| {
            let first_reset = if self.short_reset_ms > from {
                self.short_reset_ms
            } else {
                let behind = (from - self.short_reset_ms) / short_ms + 1;
                self.short_reset_ms + behind * short_ms
            };
            let resets = if first_reset < to {
                (to - first_reset).div_ceil(short_ms)
            } else {
                0
            };
            // A count of windows: exact in f64.
            (resets + 1) as f64
        };
        let first_end = self.weekly_reset_ms.min(end_ms);
        let short_left = (self.short_cap - self.short_used).max(0.0);
        let first_bound = short_left + self.short_cap * (short_windows(start_ms, first_end) - 1.0);
        let mut total = (self.weekly_cap - self.weekly_used)
            .max(0.0)
            .min(first_bound);
        let mut from = first_end;
        while from < end_ms {
            let to = (from + week_ms).min(end_ms);
            total += self
                .weekly_cap
                .min(self.short_cap * short_windows(from, to));
            from = to;
        }
        total
    }
}

/// A quota window with its true usage.
#[derive(Debug, Clone)]
struct Window {
    cap: f64,
    used: f64,
    minutes: u32,
    resets_at_ms: u64,
    /// Resets since the start.
    resets: u64,
    /// Tokens left unused at those resets.
    expired: f64,
}

impl Window {
    fn roll(&mut self, now_ms: u64) {
        if now_ms >= self.resets_at_ms {
            let len = u64::from(self.minutes) * 60_000;
            let periods = (now_ms - self.resets_at_ms) / len + 1;
            self.resets_at_ms += periods * len;
            self.resets += periods;
            // Whole windows that passed unused count in full.
            self.expired += (self.cap - self.used).max(0.0) + self.cap * (periods - 1) as f64;
            self.used = 0.0;
        }
    }

    fn exhausted(&self) -> bool {
        self.used >= self.cap
    }

    fn remaining(&self) -> f64 {
        (self.cap - self.used).max(0.0)
    }

    /// Used percent rounded down to a tenth, so a window reads 100 only when it is full.
    fn used_percent(&self) -> f64 {
        (self.used / self.cap * 1000.0).floor() / 10.0
    }

    fn reset_secs(&self) -> u64 {
        self.resets_at_ms.div_ceil(1000)
    }
}

/// How upstream answers one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Answer {
    /// Admitted and charged.
    Served,
    /// `usage_limit_reached`, until the given Unix second.
    UsageLimited {
        /// When the account is usable again.
        resets_at: u64,
    },
    /// Code-less 429: too many open streams on the account.
    TooManyStreams,
}

/// What one account did over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountTally {
    /// Its plan.
    pub plan: Plan,
    /// Tokens served.
    pub tokens: f64,
    /// Its weekly-window tokens over the run ([`AccountSpec::available`]).
    pub capacity: f64,
}

#[derive(Debug, Clone)]
struct Account {
    spec: AccountSpec,
    short: Window,
    weekly: Window,
    /// End times (Unix ms) of the streams it is serving.
    streams: Vec<u64>,
    served_tokens: f64,
}

impl Account {
    fn new(spec: &AccountSpec) -> Self {
        Self {
            short: Window {
                cap: spec.short_cap,
                used: spec.short_used,
                minutes: SHORT_MINUTES,
                resets_at_ms: spec.short_reset_ms,
                resets: 0,
                expired: 0.0,
            },
            weekly: Window {
                cap: spec.weekly_cap,
                used: spec.weekly_used,
                minutes: WEEKLY_MINUTES,
                resets_at_ms: spec.weekly_reset_ms,
                resets: 0,
                expired: 0.0,
            },
            streams: Vec::new(),
            served_tokens: 0.0,
            spec: spec.clone(),
        }
    }

    fn roll(&mut self, now_ms: u64) {
        self.short.roll(now_ms);
        self.weekly.roll(now_ms);
        self.streams.retain(|end| *end > now_ms);
    }

    fn windows(&self) -> [&Window; 2] {
        [&self.short, &self.weekly]
    }
}

/// The pool's quota at one instant, relative to the weekly-window tokens it has had since the
/// start (per account, what was left of its window at the start plus every window begun since).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PoolState {
    /// Share of those tokens served.
    pub(crate) spent: f64,
    /// Tokens served over the tokens the windows let the pool serve by now (the weekly quota
    /// so far, each window capped by the 5-hour windows overlapping it).
    pub(crate) spent_of_reachable: f64,
    /// Share of those tokens left unused when their window reset.
    pub(crate) expired: f64,
    /// Whether some account has quota left in both windows.
    pub(crate) any_quota: bool,
    /// Whether some account would admit a turn now: quota left in both windows and a free
    /// stream slot.
    pub(crate) any_headroom: bool,
}

/// Every simulated account: the true state upstream keeps.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    accounts: Vec<Account>,
}

impl Fleet {
    pub(crate) fn new(specs: &[AccountSpec]) -> Self {
        Self {
            accounts: specs.iter().map(Account::new).collect(),
        }
    }

    fn account(&mut self, id: AccountId, now_ms: u64) -> Option<&mut Account> {
        let account = self.accounts.iter_mut().find(|a| a.spec.id == id)?;
        account.roll(now_ms);
        Some(account)
    }

    /// Admits and charges a turn of `tokens` lasting `duration_ms`, or says why not.
    pub(crate) fn admit(
        &mut self,
        id: AccountId,
        tokens: f64,
        duration_ms: u64,
        now_ms: u64,
    ) -> Option<Answer> {
        let account = self.account(id, now_ms)?;
        let exhausted = account.windows().into_iter().filter(|w| w.exhausted());
        if let Some(resets_at) = exhausted.map(Window::reset_secs).max() {
            return Some(Answer::UsageLimited { resets_at });
        }
        if account.streams.len() >= account.spec.plan.concurrency() {
            return Some(Answer::TooManyStreams);
        }
        account.short.used += tokens;
        account.weekly.used += tokens;
        account.served_tokens += tokens;
        account.streams.push(now_ms + duration_ms);
        Some(Answer::Served)
    }

    /// The `x-codex-*` quota headers of an answer from `id` (none for an unknown account).
    pub(crate) fn quota_headers(&mut self, id: AccountId, now_ms: u64) -> Vec<(String, String)> {
        let Some(account) = self.account(id, now_ms) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(6);
        for (slot, w) in ["primary", "secondary"].into_iter().zip(account.windows()) {
            let prefix = format!("x-codex-{slot}");
            out.push((
                format!("{prefix}-used-percent"),
                format!("{:.1}", w.used_percent()),
            ));
            out.push((format!("{prefix}-window-minutes"), w.minutes.to_string()));
            out.push((format!("{prefix}-reset-at"), w.reset_secs().to_string()));
        }
        out
    }

    /// The `wham/usage` payload of `id`, as the gateway's usage probe reads it.
    pub(crate) fn usage_payload(&mut self, id: AccountId, now_ms: u64) -> Option<Vec<u8>> {
        let account = self.account(id, now_ms)?;
        let window = |w: &Window| {
            serde_json::json!({
                "used_percent": w.used_percent(),
                "limit_window_seconds": u64::from(w.minutes) * 60,
                "reset_at": w.reset_secs(),
            })
        };
        let reached = account.windows().into_iter().any(Window::exhausted);
        let payload = serde_json::json!({
            "plan_type": account.spec.plan.as_str(),
            "rate_limit": {
                "allowed": !reached,
                "limit_reached": reached,
                "primary_window": window(&account.short),
                "secondary_window": window(&account.weekly),
            },
        });
        serde_json::to_vec(&payload).ok()
    }

    /// The pool at `now_ms`, as far as quota goes.
    pub(crate) fn state(&mut self, now_ms: u64) -> PoolState {
        let (mut spent, mut expired, mut had) = (0.0, 0.0, 0.0);
        let (mut any_quota, mut any) = (false, false);
        for account in &mut self.accounts {
            account.roll(now_ms);
            let spec = &account.spec;
            // A count of resets: exact in f64.
            had += (spec.weekly_cap - spec.weekly_used).max(0.0)
                + spec.weekly_cap * account.weekly.resets as f64;
            spent += account.served_tokens;
            expired += account.weekly.expired;
            let left = account.short.remaining().min(account.weekly.remaining());
            any_quota |= left > 0.0;
            any |= left > 0.0 && account.streams.len() < spec.plan.concurrency();
        }
        let share = |x: f64| if had > 0.0 { x / had } else { 0.0 };
        // What the windows let the pool serve by now: the weekly quota so far, each window
        // capped by the 5-hour windows overlapping it.
        let start_ms = START_UNIX_SECS * 1000;
        let reachable: f64 = self
            .accounts
            .iter()
            .map(|a| a.spec.available(now_ms.saturating_sub(start_ms)))
            .sum();
        PoolState {
            spent: share(spent),
            spent_of_reachable: if reachable > 0.0 {
                spent / reachable
            } else {
                0.0
            },
            expired: share(expired),
            any_quota,
            any_headroom: any,
        }
    }

    /// Tokens served per account, with what it had over a run of `run_ms`.
    pub(crate) fn tallies(&self, run_ms: u64) -> Vec<AccountTally> {
        self.accounts
            .iter()
            .map(|a| AccountTally {
                plan: a.spec.plan,
                tokens: a.served_tokens,
                capacity: a.spec.available(run_ms),
            })
            .collect()
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AccountSpec {
        AccountSpec {
            id: AccountId(1),
            plan: Plan::Plus,
            weekly_cap: 1000.0,
            short_cap: 220.0,
            weekly_used: 0.0,
            short_used: 200.0,
            weekly_reset_ms: 7 * 86_400_000,
            short_reset_ms: 3_600_000,
        }
    }

    #[test]
    fn charges_limits_and_resets() {
        let mut fleet = Fleet::new(&[spec()]);
        let id = AccountId(1);
        assert_eq!(fleet.admit(id, 50.0, 1_000, 0), Some(Answer::Served));
        // 250 of 220 used: limited until the short window resets.
        assert_eq!(
            fleet.admit(id, 1.0, 1_000, 10),
            Some(Answer::UsageLimited { resets_at: 3_600 })
        );
        let headers = fleet.quota_headers(id, 10);
        assert_eq!(
            headers[0],
            ("x-codex-primary-used-percent".into(), "113.6".into())
        );
        assert_eq!(
            headers[2],
            ("x-codex-primary-reset-at".into(), "3600".into())
        );
        // After the reset it serves again, and the next reset is a window later.
        assert_eq!(fleet.admit(id, 1.0, 1_000, 3_600_000), Some(Answer::Served));
        assert_eq!(fleet.quota_headers(id, 3_600_000)[2].1, "21600");
        assert_eq!(fleet.admit(AccountId(9), 1.0, 1, 0), None);
    }

    #[test]
    fn caps_open_streams() {
        let mut fleet = Fleet::new(&[AccountSpec {
            short_used: 0.0,
            ..spec()
        }]);
        let id = AccountId(1);
        for _ in 0..Plan::Plus.concurrency() {
            assert_eq!(fleet.admit(id, 1.0, 5_000, 0), Some(Answer::Served));
        }
        assert_eq!(fleet.admit(id, 1.0, 5_000, 1), Some(Answer::TooManyStreams));
        // Streams that ended free their slot.
        assert_eq!(fleet.admit(id, 1.0, 5_000, 5_000), Some(Answer::Served));
    }
}
