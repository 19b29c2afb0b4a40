//! Parsing `codex.rate_limits` stream events.

use std::time::SystemTime;

use serde_json::Value;

use super::headers::{after_seconds, parse_instant};
use super::named::{ACCOUNT_LIMIT_ID, normalize_limit_id};
#[cfg(test)]
use super::{Credits, NamedLimit, credits::credits_from_json};
use super::{QuotaWindow, WindowSlot};

/// Reads the account windows of a `codex.rate_limits` event (SSE data or websocket frame).
///
/// Each of `rate_limits.primary` / `secondary` / `tertiary` may carry `used_percent`,
/// `window_minutes` and a reset as `reset_at` / `resets_at` (epoch or RFC 3339) or
/// `reset_after_seconds`. An event about another limit family (a `metered_limit_name`,
/// `limit_name` or `limit_id` other than `codex`) has no account windows: read it with
/// `named_limit_from_rate_limits_event` (inside the crate).
pub fn windows_from_rate_limits_event(event: &Value, now: SystemTime) -> Vec<QuotaWindow> {
    if event_limit_id(event).is_some_and(|id| id != ACCOUNT_LIMIT_ID) {
        return Vec::new();
    }
    event_windows(event, now)
}

/// Reads the `credits` object of a `codex.rate_limits` event, when it has one.
#[cfg(test)]
pub(crate) fn credits_from_rate_limits_event(event: &Value) -> Option<Credits> {
    event.get("credits").and_then(credits_from_json)
}

/// Reads a `codex.rate_limits` event about a limit family other than the account's own.
#[cfg(test)]
pub(crate) fn named_limit_from_rate_limits_event(
    event: &Value,
    now: SystemTime,
) -> Option<NamedLimit> {
    let id = event_limit_id(event).filter(|id| id != ACCOUNT_LIMIT_ID)?;
    let windows = event_windows(event, now);
    (!windows.is_empty()).then(|| NamedLimit {
        name: event
            .get("limit_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        id,
        windows,
    })
}

fn event_limit_id(event: &Value) -> Option<String> {
    ["metered_limit_name", "limit_id", "limit_name"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .map(normalize_limit_id)
        .filter(|id| !id.is_empty())
}

fn event_windows(event: &Value, now: SystemTime) -> Vec<QuotaWindow> {
    let Some(limits) = event.get("rate_limits") else {
        return Vec::new();
    };
    [
        (WindowSlot::Primary, "primary"),
        (WindowSlot::Secondary, "secondary"),
        (WindowSlot::Tertiary, "tertiary"),
    ]
    .into_iter()
    .filter_map(|(slot, name)| json_window(limits.get(name)?, slot, now))
    .collect()
}

fn json_window(w: &Value, slot: WindowSlot, now: SystemTime) -> Option<QuotaWindow> {
    if !w.is_object() {
        return None;
    }
    let used = w.get("used_percent").and_then(Value::as_f64);
    let minutes = w
        .get("window_minutes")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok());
    let resets_at = ["reset_at", "resets_at"]
        .iter()
        .find_map(|k| match w.get(*k)? {
            Value::Number(n) => parse_instant(&n.to_string()),
            Value::String(s) => parse_instant(s),
            _ => None,
        })
        .or_else(|| {
            w.get("reset_after_seconds")
                .and_then(Value::as_f64)
                .and_then(|s| after_seconds(now, s))
        });
    (used.is_some() || minutes.is_some() || resets_at.is_some()).then_some(QuotaWindow {
        slot,
        used_percent: used.filter(|u| u.is_finite()).unwrap_or(0.0),
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

    #[test]
    fn reads_event_windows() {
        let now = from_unix_seconds(1_000);
        let event = serde_json::json!({
            "type": "codex.rate_limits",
            "plan_type": "plus",
            "rate_limits": {
                "primary": {"used_percent": 42.0, "window_minutes": 300, "reset_at": 4000},
                "secondary": {"used_percent": 7.5, "window_minutes": 10080, "reset_after_seconds": 60}
            },
            "credits": {"has_credits": true, "unlimited": false, "balance": "9.5"}
        });
        let w = windows_from_rate_limits_event(&event, now);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].used_percent, 42.0);
        assert_eq!(unix_seconds(w[0].resets_at.unwrap()), 4_000);
        assert_eq!(unix_seconds(w[1].resets_at.unwrap()), 1_060);
        assert!(windows_from_rate_limits_event(&serde_json::json!({}), now).is_empty());
        let credits = credits_from_rate_limits_event(&event).unwrap();
        assert_eq!(credits.balance_value(), Some(9.5));
        assert!(named_limit_from_rate_limits_event(&event, now).is_none());
    }

    #[test]
    fn weekly_window_in_primary_slot() {
        let now = from_unix_seconds(1_000);
        let event = serde_json::json!({
            "type": "codex.rate_limits",
            "rate_limits": {"primary": {"used_percent": 5, "window_minutes": 10080}, "secondary": null}
        });
        let w = windows_from_rate_limits_event(&event, now);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind(), WindowKind::Weekly);
    }

    #[test]
    fn a_thirty_day_primary_and_a_third_window() {
        let now = from_unix_seconds(1_000);
        let event = serde_json::json!({
            "type": "codex.rate_limits",
            "rate_limits": {
                "primary": {"used_percent": 100, "window_minutes": 43_200, "reset_at": 900_000},
                "secondary": null,
                "tertiary": {"used_percent": 12, "window_minutes": 10_080}
            }
        });
        let kinds: Vec<_> = windows_from_rate_limits_event(&event, now)
            .iter()
            .map(|w| (w.slot, w.kind(), w.used_percent))
            .collect();
        assert_eq!(
            kinds,
            [
                (WindowSlot::Primary, WindowKind::Monthly, 100.0),
                (WindowSlot::Tertiary, WindowKind::Weekly, 12.0),
            ]
        );
    }

    #[test]
    fn other_families_are_not_account_windows() {
        let now = from_unix_seconds(1_000);
        let event = serde_json::json!({
            "type": "codex.rate_limits",
            "metered_limit_name": "codex-bengalfox",
            "rate_limits": {"primary": {"used_percent": 100.0, "window_minutes": 300}}
        });
        assert!(windows_from_rate_limits_event(&event, now).is_empty());
        let named = named_limit_from_rate_limits_event(&event, now).unwrap();
        assert_eq!(named.id, "codex_bengalfox");
        assert_eq!(named.windows[0].used_percent, 100.0);
        // `codex` itself is the account family.
        let own = serde_json::json!({
            "limit_id": "codex",
            "rate_limits": {"primary": {"used_percent": 1.0}}
        });
        assert_eq!(windows_from_rate_limits_event(&own, now).len(), 1);
    }
}
