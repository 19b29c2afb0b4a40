//! Parsing `codex.rate_limits` stream events.

use std::time::{Duration, SystemTime};

use super::headers::parse_instant;
use super::{QuotaWindow, WindowSlot};

/// Reads the windows of a `codex.rate_limits` event (SSE data or websocket frame).
///
/// Each of `rate_limits.primary` / `rate_limits.secondary` may carry `used_percent`,
/// `window_minutes` and a reset as `reset_at` / `resets_at` (epoch or RFC 3339) or
/// `reset_after_seconds`.
pub fn windows_from_rate_limits_event(
    event: &serde_json::Value,
    now: SystemTime,
) -> Vec<QuotaWindow> {
    let Some(limits) = event.get("rate_limits") else {
        return Vec::new();
    };
    [
        (WindowSlot::Primary, "primary"),
        (WindowSlot::Secondary, "secondary"),
    ]
    .into_iter()
    .filter_map(|(slot, name)| {
        let w = limits.get(name)?;
        if w.is_null() {
            return None;
        }
        let used = w.get("used_percent").and_then(serde_json::Value::as_f64);
        let minutes = w
            .get("window_minutes")
            .and_then(serde_json::Value::as_u64)
            .and_then(|m| u32::try_from(m).ok());
        let resets_at = ["reset_at", "resets_at"]
            .iter()
            .find_map(|k| match w.get(*k)? {
                serde_json::Value::Number(n) => parse_instant(&n.to_string()),
                serde_json::Value::String(s) => parse_instant(s),
                _ => None,
            })
            .or_else(|| {
                w.get("reset_after_seconds")
                    .and_then(serde_json::Value::as_f64)
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| now + Duration::from_secs_f64(s))
            });
        (used.is_some() || minutes.is_some() || resets_at.is_some()).then_some(QuotaWindow {
            slot,
            used_percent: used.filter(|u| u.is_finite()).unwrap_or(0.0),
            window_minutes: minutes,
            resets_at,
            observed_at: now,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{from_unix_seconds, unix_seconds};

    #[test]
    fn reads_event_windows() {
        let now = from_unix_seconds(1_000);
        let event = serde_json::json!({
            "type": "codex.rate_limits",
            "plan_type": "plus",
            "rate_limits": {
                "primary": {"used_percent": 42.0, "window_minutes": 300, "reset_at": 4000},
                "secondary": {"used_percent": 7.5, "window_minutes": 10080, "reset_after_seconds": 60}
            }
        });
        let w = windows_from_rate_limits_event(&event, now);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].used_percent, 42.0);
        assert_eq!(unix_seconds(w[0].resets_at.unwrap()), 4_000);
        assert_eq!(unix_seconds(w[1].resets_at.unwrap()), 1_060);
        assert!(windows_from_rate_limits_event(&serde_json::json!({}), now).is_empty());
    }
}
