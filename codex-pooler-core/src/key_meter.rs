//! The key meter: per-key request and token counts behind [`KeyLimits`], in memory.
//!
//! Requests are counted exactly over a sliding 60 seconds (the admission times of the last
//! `requests_per_minute` requests). Tokens are counted in hourly buckets over a rolling 24
//! hours and 7 days, charged when a request's record closes with upstream's usage. A request is
//! admitted while the key is under each limit; the one that reaches a token limit still runs
//! (its size is known only afterwards), the next is refused until buckets age out.
//!
//! The meter is per process: with several replicas each one meters what it serves.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::clock::unix_seconds;
use crate::error::PoolerError;
use crate::model::{KeyId, KeyLimits};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR_SECS: i64 = 3_600;
const DAY_HOURS: i64 = 24;
const WEEK_HOURS: i64 = 24 * 7;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// `requests_per_minute`.
    Requests { limit: u32, retry_after: Duration },
    /// `tokens_per_day` or `tokens_per_week`.
    Tokens {
        limit: u64,
        window: &'static str,
        retry_after: Duration,
    },
    /// `input_tokens_per_request`: waiting does not help.
    RequestTooLarge { estimate: u64, limit: u64 },
}

impl LimitHit {
    pub(crate) fn into_error(self) -> PoolerError {
        match self {
            Self::Requests { limit, retry_after } => PoolerError::rate_limited(
                crate::error::ErrorType::Requests,
                format!("this key allows {limit} requests per minute"),
                Some(retry_after),
            ),
            Self::Tokens {
                limit,
                window,
                retry_after,
            } => PoolerError::rate_limited(
                crate::error::ErrorType::Tokens,
                format!("this key has used its {limit} tokens per {window}"),
                Some(retry_after),
            ),
            Self::RequestTooLarge { estimate, limit } => PoolerError::rate_limited(
                crate::error::ErrorType::Tokens,
                format!(
                    "request too large: about {estimate} input tokens, and this key allows \
                     {limit} per request"
                ),
                None,
            ),
        }
    }
}

/// What one key has used.
#[derive(Debug, Default)]
struct KeyUse {
    /// Admission times within the last minute, oldest first.
    requests: VecDeque<SystemTime>,
    /// `(hour since the epoch, tokens)`, oldest first, at most a week.
    hours: VecDeque<(i64, u64)>,
}

impl KeyUse {
    fn tokens_since(&self, first_hour: i64) -> (u64, Option<i64>) {
        let mut oldest = None;
        let mut sum = 0u64;
        for &(hour, tokens) in self.hours.iter().filter(|(h, _)| *h >= first_hour) {
            oldest.get_or_insert(hour);
            sum = sum.saturating_add(tokens);
        }
        (sum, oldest)
    }

    fn prune(&mut self, now: SystemTime) {
        while self
            .requests
            .front()
            .is_some_and(|at| now.duration_since(*at).unwrap_or_default() >= MINUTE)
        {
            self.requests.pop_front();
        }
        let first = hour_of(now) - WEEK_HOURS + 1;
        while self.hours.front().is_some_and(|(h, _)| *h < first) {
            self.hours.pop_front();
        }
    }
}

/// What a key has used of its limits right now, as `GET /v1/usage` shows it.
///
/// Only keys with limits are metered: a key without any reads all zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeterUse {
    /// Requests admitted in the last 60 seconds.
    pub requests_last_minute: u64,
    /// Tokens charged in the current and previous 23 hours.
    pub tokens_last_day: u64,
    /// Tokens charged in the current and previous 167 hours.
    pub tokens_last_week: u64,
}

/// Per-key usage.
#[derive(Debug, Default)]
pub(crate) struct KeyMeter {
    keys: Mutex<HashMap<KeyId, KeyUse>>,
}

impl KeyMeter {
    /// Admits one request of `key` whose body is `body_len` bytes, counting it, or names the
    /// limit that refuses it.
    pub(crate) fn admit(
        &self,
        key: KeyId,
        limits: &KeyLimits,
        body_len: usize,
        now: SystemTime,
    ) -> Result<(), LimitHit> {
        if limits.is_unlimited() {
            return Ok(());
        }
        if let Some(limit) = limits.input_tokens_per_request {
            let estimate = (body_len as u64).div_ceil(4);
            if estimate > limit {
                return Err(LimitHit::RequestTooLarge { estimate, limit });
            }
        }
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let used = keys.entry(key).or_default();
        used.prune(now);
        let hour = hour_of(now);
        for (limit, hours, window) in [
            (limits.tokens_per_day, DAY_HOURS, "day"),
            (limits.tokens_per_week, WEEK_HOURS, "week"),
        ] {
            let Some(limit) = limit else { continue };
            let (sum, oldest) = used.tokens_since(hour - hours + 1);
            if sum >= limit {
                let frees_at = (oldest.unwrap_or(hour) + hours) * HOUR_SECS;
                let retry_after = secs_until(frees_at, now);
                return Err(LimitHit::Tokens {
                    limit,
                    window,
                    retry_after,
                });
            }
        }
        if let Some(limit) = limits.requests_per_minute {
            if used.requests.len() >= limit as usize {
                let oldest = used.requests.front().copied().unwrap_or(now);
                let retry_after = (oldest + MINUTE)
                    .duration_since(now)
                    .unwrap_or_default()
                    .max(Duration::from_secs(1));
                return Err(LimitHit::Requests { limit, retry_after });
            }
            used.requests.push_back(now);
        }
        Ok(())
    }

    /// Charges `tokens` to `key` at `now`. Only keys the meter admitted under limits are
    /// tracked: every other key's usage is dropped here, so keys without limits cost nothing.
    pub(crate) fn charge(&self, key: KeyId, tokens: u64, now: SystemTime) {
        if tokens == 0 {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let Some(used) = keys.get_mut(&key) else {
            return;
        };
        let hour = hour_of(now);
        match used.hours.back_mut() {
            Some((h, sum)) if *h == hour => *sum = sum.saturating_add(tokens),
            _ => used.hours.push_back((hour, tokens)),
        }
        used.prune(now);
    }
}

impl KeyMeter {
    /// What `key` has used at `now`, over the windows its limits are checked on.
    pub(crate) fn current(&self, key: KeyId, now: SystemTime) -> MeterUse {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let Some(used) = keys.get_mut(&key) else {
            return MeterUse::default();
        };
        used.prune(now);
        let hour = hour_of(now);
        MeterUse {
            requests_last_minute: used.requests.len() as u64,
            tokens_last_day: used.tokens_since(hour - DAY_HOURS + 1).0,
            tokens_last_week: used.tokens_since(hour - WEEK_HOURS + 1).0,
        }
    }
}

fn hour_of(at: SystemTime) -> i64 {
    unix_seconds(at).div_euclid(HOUR_SECS)
}

/// Whole seconds from `now` to the unix second `at`, at least one.
fn secs_until(at: i64, now: SystemTime) -> Duration {
    Duration::from_secs(u64::try_from(at - unix_seconds(now)).unwrap_or(0).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    const KEY: KeyId = KeyId(7);
    const T0: i64 = 1_800_000_000;

    fn at(s: i64) -> SystemTime {
        from_unix_seconds(T0 + s)
    }

    #[test]
    fn requests_per_minute_slide_with_the_oldest_admission() {
        let meter = KeyMeter::default();
        let limits = KeyLimits {
            requests_per_minute: Some(2),
            ..KeyLimits::default()
        };
        assert!(meter.admit(KEY, &limits, 10, at(0)).is_ok());
        assert!(meter.admit(KEY, &limits, 10, at(20)).is_ok());
        assert_eq!(
            meter.admit(KEY, &limits, 10, at(30)),
            Err(LimitHit::Requests {
                limit: 2,
                retry_after: Duration::from_secs(30)
            })
        );
        // Refusals are not counted: the first admission leaves at 60 s.
        assert!(meter.admit(KEY, &limits, 10, at(60)).is_ok());
        assert!(meter.admit(KEY, &limits, 10, at(61)).is_err());
        // Another key has its own count.
        assert!(meter.admit(KeyId(8), &limits, 10, at(61)).is_ok());
    }

    #[test]
    fn token_limits_refuse_once_reached_until_the_hours_age_out() {
        let meter = KeyMeter::default();
        let limits = KeyLimits {
            tokens_per_day: Some(1_000),
            tokens_per_week: Some(1_500),
            ..KeyLimits::default()
        };
        assert!(meter.admit(KEY, &limits, 10, at(0)).is_ok());
        meter.charge(KEY, 999, at(5));
        assert!(meter.admit(KEY, &limits, 10, at(10)).is_ok());
        meter.charge(KEY, 1, at(10));
        let hit = meter.admit(KEY, &limits, 10, at(100)).unwrap_err();
        let hour_start = hour_of(at(0)) * HOUR_SECS;
        let expected = (hour_start + 24 * HOUR_SECS) - (T0 + 100);
        assert_eq!(
            hit,
            LimitHit::Tokens {
                limit: 1_000,
                window: "day",
                retry_after: Duration::from_secs(expected as u64)
            }
        );
        // A day later the daily count is free, the weekly one still holds 1000 of 1500.
        assert!(meter.admit(KEY, &limits, 10, at(25 * 3_600)).is_ok());
        meter.charge(KEY, 600, at(25 * 3_600));
        assert!(matches!(
            meter.admit(KEY, &limits, 10, at(26 * 3_600)),
            Err(LimitHit::Tokens { window: "week", .. })
        ));
        assert!(meter.admit(KEY, &limits, 10, at(8 * 24 * 3_600)).is_ok());
    }

    #[test]
    fn the_input_estimate_is_a_quarter_of_the_body_and_is_never_retryable() {
        let meter = KeyMeter::default();
        let limits = KeyLimits {
            input_tokens_per_request: Some(100),
            ..KeyLimits::default()
        };
        assert!(meter.admit(KEY, &limits, 400, at(0)).is_ok());
        let hit = meter.admit(KEY, &limits, 401, at(0)).unwrap_err();
        assert_eq!(
            hit,
            LimitHit::RequestTooLarge {
                estimate: 101,
                limit: 100
            }
        );
        let error = hit.into_error();
        assert_eq!(error.status().as_u16(), 429);
        assert_eq!(error.retry_after(), None);
        assert_eq!(error.body()["error"]["type"], "tokens");
    }

    #[test]
    fn current_use_reads_the_limit_windows() {
        let meter = KeyMeter::default();
        let limits = KeyLimits {
            requests_per_minute: Some(10),
            tokens_per_day: Some(1_000),
            ..KeyLimits::default()
        };
        assert_eq!(meter.current(KEY, at(0)), MeterUse::default());
        assert!(meter.admit(KEY, &limits, 10, at(0)).is_ok());
        assert!(meter.admit(KEY, &limits, 10, at(30)).is_ok());
        meter.charge(KEY, 40, at(31));
        assert_eq!(
            meter.current(KEY, at(61)),
            MeterUse {
                requests_last_minute: 1,
                tokens_last_day: 40,
                tokens_last_week: 40,
            }
        );
        let later = meter.current(KEY, at(2 * 24 * 3_600));
        assert_eq!((later.tokens_last_day, later.tokens_last_week), (0, 40));
    }

    #[test]
    fn unlimited_keys_are_not_tracked() {
        let meter = KeyMeter::default();
        assert!(
            meter
                .admit(KEY, &KeyLimits::default(), 1 << 30, at(0))
                .is_ok()
        );
        meter.charge(KEY, 500, at(1));
        assert!(meter.keys.lock().unwrap().is_empty());
    }
}
