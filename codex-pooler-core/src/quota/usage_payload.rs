//! Parsing the `GET /backend-api/wham/usage` payload (the Codex `RateLimitStatusPayload`).
//!
//! ```json
//! {"plan_type": "plus",
//!  "rate_limit": {"allowed": true, "limit_reached": false,
//!                 "primary_window": {"used_percent": 42, "limit_window_seconds": 18000,
//!                                    "reset_after_seconds": 600, "reset_at": 1800000600},
//!                 "secondary_window": null},
//!  "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
//!  "additional_rate_limits": [{"limit_name": "...", "metered_feature": "...",
//!                              "rate_limit": {"primary_window": {...}}}]}
//! ```

use std::time::SystemTime;

use serde_json::Value;

use super::credits::credits_from_json;
use super::headers::{after_seconds, parse_instant};
use super::named::normalize_limit_id;
use super::{Credits, NamedLimit, QuotaWindow, UsageLimit, WindowSlot};

/// Why a usage payload could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsagePayloadError {
    /// The body is not JSON.
    #[error("usage payload is not json: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("usage payload is not a json object")]
    NotAnObject,
}

/// What the usage API said about one account at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSnapshot {
    /// The ChatGPT plan (`plus`, `pro`, `team`, ...), as sent.
    pub plan_type: Option<String>,
    /// `rate_limit.allowed`: whether upstream accepts requests from the account now.
    pub allowed: Option<bool>,
    /// `rate_limit.limit_reached`: whether a limit is reached.
    pub limit_reached: Option<bool>,
    /// The account windows (`primary_window`, `secondary_window`, `tertiary_window`).
    pub windows: Vec<QuotaWindow>,
    /// The credit status.
    pub credits: Option<Credits>,
    /// `additional_rate_limits`, kept for operators.
    pub named_limits: Vec<NamedLimit>,
    /// When the payload was read.
    pub observed_at: SystemTime,
}

impl UsageSnapshot {
    /// The limit this snapshot proves, if any: `limit_reached: true` while not `allowed: true`.
    ///
    /// The limit lasts until the latest future reset among the full windows, or among all
    /// windows when none reads 100% (upstream rounds percentages); without any reset time it has
    /// none, and the book applies its cooldown. An `allowed: true` account with
    /// `limit_reached: true` is working on credits and is not limited.
    pub fn limit(&self) -> Option<UsageLimit> {
        if self.limit_reached != Some(true) || self.allowed == Some(true) {
            return None;
        }
        let future_reset = |w: &&QuotaWindow| w.resets_at.filter(|at| *at > self.observed_at);
        let latest_full = self
            .windows
            .iter()
            .filter(|w| w.used_percent >= 100.0)
            .filter_map(|w| future_reset(&w))
            .max();
        let resets_at =
            latest_full.or_else(|| self.windows.iter().filter_map(|w| future_reset(&w)).max());
        Some(UsageLimit { resets_at })
    }

    /// Whether upstream says the account may be used without reporting any window.
    #[cfg(test)]
    pub(crate) fn allowed_without_windows(&self) -> bool {
        self.allowed == Some(true) && self.limit_reached != Some(true) && self.windows.is_empty()
    }
}

/// Parses a `wham/usage` body read at `now`.
///
/// Unknown or malformed fields are skipped rather than failing the whole payload: window minutes
/// are `ceil(limit_window_seconds / 60)` (so a 604 800-second primary is weekly), a reset is
/// `reset_at` (epoch or RFC 3339, `0` meaning none) or else `now + reset_after_seconds`.
pub fn parse_usage_payload(
    body: &[u8],
    now: SystemTime,
) -> Result<UsageSnapshot, UsagePayloadError> {
    let payload: Value = serde_json::from_slice(body)?;
    if !payload.is_object() {
        return Err(UsagePayloadError::NotAnObject);
    }
    let rate_limit = payload.get("rate_limit").unwrap_or(&Value::Null);
    let flag = |name: &str| rate_limit.get(name).and_then(Value::as_bool);
    let named_limits = payload
        .get("additional_rate_limits")
        .and_then(Value::as_array)
        .map(|limits| limits.iter().filter_map(|l| named_limit(l, now)).collect())
        .unwrap_or_default();
    Ok(UsageSnapshot {
        plan_type: payload
            .get("plan_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        allowed: flag("allowed"),
        limit_reached: flag("limit_reached"),
        windows: rate_limit_windows(rate_limit, now),
        credits: payload.get("credits").and_then(credits_from_json),
        named_limits,
        observed_at: now,
    })
}

fn named_limit(value: &Value, now: SystemTime) -> Option<NamedLimit> {
    let name = value.get("limit_name").and_then(Value::as_str);
    let id = value
        .get("metered_feature")
        .and_then(Value::as_str)
        .or(name)
        .map(normalize_limit_id)
        .filter(|id| !id.is_empty())?;
    let windows = rate_limit_windows(value.get("rate_limit")?, now);
    (!windows.is_empty()).then(|| NamedLimit {
        id,
        name: name.map(str::to_owned),
        windows,
    })
}

fn rate_limit_windows(rate_limit: &Value, now: SystemTime) -> Vec<QuotaWindow> {
    [
        (WindowSlot::Primary, "primary_window"),
        (WindowSlot::Secondary, "secondary_window"),
        (WindowSlot::Tertiary, "tertiary_window"),
    ]
    .into_iter()
    .filter_map(|(slot, name)| window(rate_limit.get(name)?, slot, now))
    .collect()
}

fn window(w: &Value, slot: WindowSlot, now: SystemTime) -> Option<QuotaWindow> {
    if !w.is_object() {
        return None;
    }
    let number = |name: &str| {
        match w.get(name)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|v| v.is_finite())
    };
    let used = number("used_percent");
    let minutes = number("limit_window_seconds")
        .filter(|s| *s > 0.0)
        .map(|s| (s / 60.0).ceil().min(f64::from(u32::MAX)) as u32);
    let reset_at = match w.get("reset_at") {
        Some(Value::String(s)) => parse_instant(s),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| *s > 0.0)
            .and_then(|s| after_seconds(SystemTime::UNIX_EPOCH, s)),
        _ => None,
    };
    let resets_at =
        reset_at.or_else(|| number("reset_after_seconds").and_then(|s| after_seconds(now, s)));
    (used.is_some() || minutes.is_some() || resets_at.is_some()).then_some(QuotaWindow {
        slot,
        used_percent: used.unwrap_or(0.0),
        window_minutes: minutes,
        resets_at,
        observed_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{from_unix_seconds, unix_seconds};
    use crate::quota::WindowKind;

    const NOW: i64 = 1_800_000_000;

    fn parse(json: &serde_json::Value) -> UsageSnapshot {
        parse_usage_payload(json.to_string().as_bytes(), from_unix_seconds(NOW)).unwrap()
    }

    #[test]
    fn reads_full_payload() {
        let s = parse(&serde_json::json!({
            "plan_type": "plus",
            "rate_limit": {
                "allowed": true,
                "limit_reached": false,
                "primary_window": {"used_percent": 42, "limit_window_seconds": 18000,
                                   "reset_after_seconds": 600, "reset_at": NOW + 600},
                "secondary_window": {"used_percent": 7.5, "limit_window_seconds": 604_799,
                                     "reset_after_seconds": 3600, "reset_at": 0}
            },
            "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
            "additional_rate_limits": [{
                "limit_name": "GPT-5.2-Codex-Sonic",
                "metered_feature": "codex_bengalfox",
                "rate_limit": {"primary_window": {"used_percent": 90, "limit_window_seconds": 18000}}
            }]
        }));
        assert_eq!(s.plan_type.as_deref(), Some("plus"));
        assert_eq!((s.allowed, s.limit_reached), (Some(true), Some(false)));
        assert_eq!(s.windows.len(), 2);
        assert_eq!(s.windows[0].window_minutes, Some(300));
        assert_eq!(s.windows[0].kind(), WindowKind::Short);
        assert_eq!(unix_seconds(s.windows[0].resets_at.unwrap()), NOW + 600);
        // ceil(604799 / 60) = 10080; `reset_at: 0` falls back on reset_after_seconds.
        assert_eq!(s.windows[1].window_minutes, Some(10_080));
        assert_eq!(unix_seconds(s.windows[1].resets_at.unwrap()), NOW + 3600);
        assert!(!s.credits.as_ref().unwrap().cover_long_windows());
        assert_eq!(s.named_limits[0].id, "codex_bengalfox");
        assert_eq!(s.limit(), None);
        assert!(!s.allowed_without_windows());
    }

    #[test]
    fn weekly_primary() {
        let s = parse(&serde_json::json!({
            "rate_limit": {"allowed": true, "limit_reached": false,
                           "primary_window": {"used_percent": 3, "limit_window_seconds": 604_800,
                                              "reset_at": NOW + 86_400},
                           "secondary_window": null}
        }));
        assert_eq!(s.windows.len(), 1);
        assert_eq!(s.windows[0].slot, WindowSlot::Primary);
        assert_eq!(s.windows[0].kind(), WindowKind::Weekly);
    }

    #[test]
    fn thirty_day_primary_and_a_third_window_are_classified_by_length() {
        // A free plan: its 30-day window in the primary slot; a plan with a third window.
        let s = parse(&serde_json::json!({
            "rate_limit": {"allowed": true, "limit_reached": false,
                           "primary_window": {"used_percent": 100, "limit_window_seconds": 2_592_000,
                                              "reset_at": NOW + 900_000},
                           "secondary_window": {"used_percent": 20, "limit_window_seconds": 18_000,
                                                "reset_at": NOW + 600},
                           "tertiary_window": {"used_percent": 55, "limit_window_seconds": 604_800,
                                               "reset_at": NOW + 86_400}}
        }));
        let kinds: Vec<_> = s.windows.iter().map(|w| (w.slot, w.kind())).collect();
        assert_eq!(
            kinds,
            [
                (WindowSlot::Primary, WindowKind::Monthly),
                (WindowSlot::Secondary, WindowKind::Short),
                (WindowSlot::Tertiary, WindowKind::Weekly),
            ]
        );
        assert_eq!(s.windows[2].used_percent, 55.0);
    }

    #[test]
    fn allowed_without_windows() {
        let s = parse(&serde_json::json!({
            "plan_type": "team",
            "rate_limit": {"allowed": true, "limit_reached": false,
                           "primary_window": null, "secondary_window": null}
        }));
        assert!(s.windows.is_empty());
        assert!(s.allowed_without_windows());
        assert_eq!(s.limit(), None);
    }

    #[test]
    fn limit_reached_lasts_until_latest_full_reset() {
        let s = parse(&serde_json::json!({
            "rate_limit": {"allowed": false, "limit_reached": true,
                           "primary_window": {"used_percent": 100, "limit_window_seconds": 18000,
                                              "reset_at": NOW + 600},
                           "secondary_window": {"used_percent": 40, "limit_window_seconds": 604800,
                                                "reset_at": NOW + 500_000}}
        }));
        assert_eq!(
            unix_seconds(s.limit().unwrap().resets_at.unwrap()),
            NOW + 600
        );
        // No window reads 100 (rounded): the latest reset of any window.
        let rounded = parse(&serde_json::json!({
            "rate_limit": {"allowed": false, "limit_reached": true,
                           "primary_window": {"used_percent": 99, "reset_at": NOW + 600},
                           "secondary_window": {"used_percent": 99, "reset_at": NOW + 9_000}}
        }));
        assert_eq!(
            unix_seconds(rounded.limit().unwrap().resets_at.unwrap()),
            NOW + 9_000
        );
        // No reset at all: a limit without a time.
        let bare = parse(&serde_json::json!({"rate_limit": {"limit_reached": true}}));
        assert_eq!(bare.limit(), Some(UsageLimit { resets_at: None }));
        // Allowed on credits: not a limit.
        let credits = parse(&serde_json::json!({
            "rate_limit": {"allowed": true, "limit_reached": true},
            "credits": {"has_credits": true, "unlimited": false}
        }));
        assert_eq!(credits.limit(), None);
    }

    #[test]
    fn rejects_non_objects_and_survives_garbage() {
        let now = from_unix_seconds(NOW);
        assert!(matches!(
            parse_usage_payload(b"[1,2]", now),
            Err(UsagePayloadError::NotAnObject)
        ));
        assert!(matches!(
            parse_usage_payload(b"<html>", now),
            Err(UsagePayloadError::Json(_))
        ));
        let garbage = parse(&serde_json::json!({
            "plan_type": 5,
            "rate_limit": {"allowed": "yes", "primary_window": {"used_percent": "NaN",
                           "limit_window_seconds": -5, "reset_at": 1e300, "reset_after_seconds": 1e300},
                           "secondary_window": [1]},
            "credits": "lots",
            "additional_rate_limits": {"not": "a list"}
        }));
        assert_eq!(garbage.plan_type, None);
        assert_eq!(garbage.allowed, None);
        assert!(garbage.windows.is_empty());
        assert_eq!(garbage.credits, None);
    }
}
