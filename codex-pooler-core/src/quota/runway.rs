//! Quota runway: how long a pool's quota lasts at its recent spend rate.
//!
//! Per pool and window kind (`short`, the 5-hour window; `weekly`; `monthly` when some account
//! reports one), over the pool's routable accounts that have a reading of that window whose
//! reset is ahead (past freshness too: used percent only grows until the reset):
//!
//! - `capacity = 100 × accounts` used-percent points; an account's `used` is its window's used
//!   percent (clamped to 0-100; 100 while the account is exhausted for any reason, since it
//!   cannot spend what is left);
//! - `headroom H = capacity − Σ used`;
//! - spend rate `R = Σ rate`, each account's recent rate in points per hour
//!   ([`SpendHistory`](super::history), over [`SPEND_LOOKBACK`](super::SPEND_LOOKBACK));
//!   accounts with no measurable rate count 0, and when no account has one, `R` is unknown;
//! - the pool is treated as one reservoir, since the planner moves requests to whichever
//!   account has room: it drains at `R` and, at each account's reset `r`, gets back what that
//!   account used by then, `min(100, used + rate × (r − now))` for the first reset and
//!   `min(100, rate × window)` for each later one (one every window length);
//! - `H(t) = min(capacity, H − R·(t − now) + Σ gains of resets ≤ t)`; the pool runs dry at the
//!   first `t` with `H(t) = 0`.
//!
//! The projection looks two window lengths ahead (the longest of the pool's accounts): a pool
//! not dry by then is `sustained`. `R = 0` is `idle` and an unknown `R` is `unknown`; neither
//! has a dry time.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::WindowKind;
use crate::model::PoolId;

/// How many resets of one account the projection walks at most.
const MAX_RESETS: usize = 64;

/// How many window lengths the projection looks ahead.
const HORIZON_WINDOWS: u32 = 2;

/// A window's nominal length in minutes when a reading does not report it.
pub(crate) const fn nominal_minutes(kind: WindowKind) -> u32 {
    match kind {
        WindowKind::Short => 300,
        WindowKind::Weekly => 10_080,
        WindowKind::Monthly => 43_200,
    }
}

/// One account's window, as the projection reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunwayAccount {
    /// Percent used, 0-100.
    pub used_percent: f64,
    /// When the window resets, when known.
    pub resets_at: Option<SystemTime>,
    /// The window's length.
    pub window: Duration,
    /// Its recent spend, in used-percent points per hour, when known.
    pub rate_per_hour: Option<f64>,
}

/// Where a pool's window is heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outlook {
    /// It runs dry at the projected time.
    RunsDry,
    /// Resets give back at least what is spent: not dry within the projection's horizon.
    Sustained,
    /// Nothing is being spent.
    Idle,
    /// No account's spend rate is known (or no account has a reading).
    Unknown,
}

/// The projection of one window over a set of accounts (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// `100 × accounts`.
    pub capacity_points: f64,
    /// What is left now.
    pub headroom_points: f64,
    /// The pool's spend, in points per hour; `None` when unknown.
    pub spend_points_per_hour: Option<f64>,
    /// How many accounts had a measurable rate.
    pub accounts_with_rate: usize,
    /// The soonest reset after `now`.
    pub next_reset: Option<SystemTime>,
    /// When the pool runs dry, for [`Outlook::RunsDry`].
    pub dry_at: Option<SystemTime>,
    /// The outlook.
    pub outlook: Outlook,
}

/// Projects `accounts`' window from `now` (see the module docs for the formula).
pub fn project(accounts: &[RunwayAccount], now: SystemTime) -> Projection {
    let capacity = 100.0 * accounts.len() as f64;
    let used: f64 = accounts
        .iter()
        .map(|a| a.used_percent.clamp(0.0, 100.0))
        .sum();
    let headroom = (capacity - used).max(0.0);
    let accounts_with_rate = accounts
        .iter()
        .filter(|a| a.rate_per_hour.is_some())
        .count();
    let spend: f64 = accounts
        .iter()
        .filter_map(|a| a.rate_per_hour)
        .map(|r| r.max(0.0))
        .sum();
    let mut projection = Projection {
        capacity_points: capacity,
        headroom_points: headroom,
        spend_points_per_hour: (accounts_with_rate > 0).then_some(spend),
        accounts_with_rate,
        next_reset: accounts
            .iter()
            .filter_map(|a| a.resets_at)
            .filter(|at| *at > now)
            .min(),
        dry_at: None,
        outlook: Outlook::Unknown,
    };
    if accounts_with_rate == 0 {
        return projection;
    }
    if spend <= 0.0 {
        projection.outlook = Outlook::Idle;
        return projection;
    }
    let longest = accounts.iter().map(|a| a.window).max().unwrap_or_default();
    let horizon = now + longest.saturating_mul(HORIZON_WINDOWS);
    let mut events = resets(accounts, now, horizon);
    events.sort_by_key(|(at, _)| *at);
    let hours = |from: SystemTime, to: SystemTime| {
        to.duration_since(from).unwrap_or_default().as_secs_f64() / 3600.0
    };
    let dry_after = |from: SystemTime, left: f64| {
        Duration::try_from_secs_f64(left / spend * 3600.0)
            .ok()
            .and_then(|d| from.checked_add(d))
    };
    let (mut left, mut t) = (headroom, now);
    for (at, gain) in events {
        let need = spend * hours(t, at);
        if need >= left {
            projection.dry_at = dry_after(t, left);
            break;
        }
        left = (left - need + gain).min(capacity);
        t = at;
    }
    let dry_at = projection.dry_at.or_else(|| dry_after(t, left));
    match dry_at {
        Some(at) if at <= horizon => {
            projection.dry_at = Some(at);
            projection.outlook = Outlook::RunsDry;
        }
        _ => {
            projection.dry_at = None;
            projection.outlook = Outlook::Sustained;
        }
    }
    projection
}

/// Every reset of `accounts` after `now` up to `horizon`, with what it gives back.
fn resets(
    accounts: &[RunwayAccount],
    now: SystemTime,
    horizon: SystemTime,
) -> Vec<(SystemTime, f64)> {
    let mut events = Vec::new();
    for a in accounts {
        let Some(mut at) = a.resets_at.filter(|at| *at > now) else {
            continue;
        };
        let rate = a.rate_per_hour.unwrap_or(0.0).max(0.0);
        let (mut used, mut since) = (a.used_percent.clamp(0.0, 100.0), now);
        for _ in 0..MAX_RESETS {
            if at > horizon {
                break;
            }
            let spent = rate * at.duration_since(since).unwrap_or_default().as_secs_f64() / 3600.0;
            events.push((at, (used + spent).min(100.0)));
            (used, since) = (0.0, at);
            if a.window.is_zero() {
                break;
            }
            at += a.window;
        }
    }
    events
}

/// One window of a pool's runway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowRunway {
    /// `short` (the 5-hour window), `weekly` or `monthly`.
    pub window: &'static str,
    /// Routable accounts with a reading of this window.
    pub accounts: usize,
    /// Routable accounts without one (left out of the figures).
    pub accounts_without_evidence: usize,
    /// Accounts whose spend rate is known.
    pub accounts_with_rate: usize,
    /// `100 × accounts` used-percent points.
    pub capacity_points: f64,
    /// Points left now.
    pub headroom_points: f64,
    /// Headroom as a percent of capacity (0 with no account).
    pub headroom_percent: f64,
    /// The recent spend rate in points per hour; `None` when unknown.
    pub spend_points_per_hour: Option<f64>,
    /// The soonest reset (Unix milliseconds).
    pub next_reset_at_ms: Option<i64>,
    /// When the pool runs dry at that rate (Unix milliseconds); `None` unless `runs_dry`.
    pub dry_at_ms: Option<i64>,
    /// Seconds until then.
    pub time_to_dry_seconds: Option<u64>,
    /// `runs_dry`, `sustained`, `idle` or `unknown`.
    pub outlook: Outlook,
}

impl WindowRunway {
    /// The report of `projection` for window `kind`, made at `now`.
    pub fn new(
        kind: WindowKind,
        projection: &Projection,
        accounts: usize,
        without_evidence: usize,
        now: SystemTime,
    ) -> Self {
        let ms = crate::clock::unix_millis;
        Self {
            window: kind.as_str(),
            accounts,
            accounts_without_evidence: without_evidence,
            accounts_with_rate: projection.accounts_with_rate,
            capacity_points: projection.capacity_points,
            headroom_points: projection.headroom_points,
            headroom_percent: if projection.capacity_points > 0.0 {
                projection.headroom_points / projection.capacity_points * 100.0
            } else {
                0.0
            },
            spend_points_per_hour: projection.spend_points_per_hour,
            next_reset_at_ms: projection.next_reset.map(ms),
            dry_at_ms: projection.dry_at.map(ms),
            time_to_dry_seconds: projection
                .dry_at
                .map(|at| at.duration_since(now).unwrap_or_default().as_secs()),
            outlook: projection.outlook,
        }
    }
}

/// A pool's quota runway, per window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolRunway {
    /// The pool.
    pub pool: PoolId,
    /// Its slug.
    pub slug: String,
    /// Short and weekly always, monthly when some account reports one.
    pub windows: Vec<WindowRunway>,
    /// When this was computed (Unix milliseconds).
    pub evaluated_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    const HOUR: u64 = 3600;

    fn account(
        used: f64,
        reset_in_h: Option<u64>,
        window_h: u64,
        rate: Option<f64>,
    ) -> RunwayAccount {
        RunwayAccount {
            used_percent: used,
            resets_at: reset_in_h
                .map(|h| from_unix_seconds(1_000_000) + Duration::from_secs(h * HOUR)),
            window: Duration::from_secs(window_h * HOUR),
            rate_per_hour: rate,
        }
    }

    #[test]
    fn steady_spend_runs_dry_at_headroom_over_rate() {
        let now = from_unix_seconds(1_000_000);
        // Weekly windows resetting in 6 days; 100 points left, 20 an hour.
        let p = project(
            &[
                account(50.0, Some(144), 168, Some(10.0)),
                account(50.0, Some(150), 168, Some(10.0)),
            ],
            now,
        );
        assert_eq!(p.outlook, Outlook::RunsDry);
        assert_eq!(p.headroom_points, 100.0);
        assert_eq!(p.capacity_points, 200.0);
        assert_eq!(p.spend_points_per_hour, Some(20.0));
        assert_eq!(p.dry_at, Some(now + Duration::from_secs(5 * HOUR)));
        assert_eq!(p.next_reset, Some(now + Duration::from_secs(144 * HOUR)));
        let report = WindowRunway::new(WindowKind::Weekly, &p, 2, 1, now);
        assert_eq!(report.time_to_dry_seconds, Some(5 * HOUR));
        assert_eq!(report.headroom_percent, 50.0);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            serde_json::json!({
                "window": "weekly", "accounts": 2, "accounts_without_evidence": 1,
                "accounts_with_rate": 2, "capacity_points": 200.0, "headroom_points": 100.0,
                "headroom_percent": 50.0, "spend_points_per_hour": 20.0,
                "next_reset_at_ms": 1_518_400_000_i64, "dry_at_ms": 1_018_000_000_i64,
                "time_to_dry_seconds": 18_000, "outlook": "runs_dry",
            })
        );
    }

    #[test]
    fn a_reset_before_running_dry_pushes_the_dry_time_out() {
        let now = from_unix_seconds(1_000_000);
        // 20 points left at 40 an hour: dry in 30 minutes without a reset.
        let without = project(
            &[
                account(90.0, None, 5, Some(20.0)),
                account(90.0, None, 5, Some(20.0)),
            ],
            now,
        );
        assert_eq!(without.dry_at, Some(now + Duration::from_secs(HOUR / 2)));
        // The first account resets in 15 minutes, giving back 95 points: 20 − 10 + 95 = 105
        // left at 15 min, dry 105/40 h = 2 h 37.5 min later, before the second reset (3 h).
        let mut first = account(90.0, None, 5, Some(20.0));
        first.resets_at = Some(now + Duration::from_secs(HOUR / 4));
        let with = project(&[first, account(90.0, Some(3), 5, Some(20.0))], now);
        assert_eq!(with.outlook, Outlook::RunsDry);
        assert_eq!(
            with.dry_at,
            Some(
                now + Duration::from_secs(HOUR / 4)
                    + Duration::from_secs_f64(105.0 / 40.0 * 3600.0)
            )
        );
        // Slow enough that each window's resets give back what it spends: sustained.
        let slow = project(
            &[
                account(85.0, Some(1), 5, Some(10.0)),
                account(85.0, Some(4), 5, Some(10.0)),
            ],
            now,
        );
        assert_eq!(slow.outlook, Outlook::Sustained);
        assert_eq!(slow.dry_at, None);
    }

    #[test]
    fn zero_or_unknown_rate_has_no_dry_time() {
        let now = from_unix_seconds(1_000_000);
        let idle = project(&[account(40.0, Some(2), 5, Some(0.0))], now);
        assert_eq!((idle.outlook, idle.dry_at), (Outlook::Idle, None));
        assert_eq!(idle.spend_points_per_hour, Some(0.0));
        let unknown = project(&[account(40.0, Some(2), 5, None)], now);
        assert_eq!((unknown.outlook, unknown.dry_at), (Outlook::Unknown, None));
        assert_eq!(unknown.spend_points_per_hour, None);
        let empty = project(&[], now);
        assert_eq!(
            (empty.outlook, empty.capacity_points),
            (Outlook::Unknown, 0.0)
        );
        assert_eq!(
            WindowRunway::new(WindowKind::Short, &empty, 0, 0, now).headroom_percent,
            0.0
        );
        // Nothing left: dry now.
        let full = project(&[account(100.0, Some(2), 5, Some(5.0))], now);
        assert_eq!((full.outlook, full.dry_at), (Outlook::RunsDry, Some(now)));
    }
}
