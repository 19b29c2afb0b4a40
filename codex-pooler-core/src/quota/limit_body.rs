//! Parsing `usage_limit_reached` 429 bodies.

use std::time::SystemTime;

use serde_json::Value;

use super::headers::{after_seconds, parse_instant};

/// An upstream statement that an account's usage limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageLimit {
    /// When the limit lifts, if the body said so.
    pub resets_at: Option<SystemTime>,
}

/// Reads a 429 body; `Some` when it says `usage_limit_reached` (as `type` or `code`, inside
/// `error` or at the top level).
///
/// `resets_at` may be epoch seconds or RFC 3339; `resets_in_seconds` is used when it is absent.
/// Without either, the limit has no reset time and the book applies
/// its untimed-limit cooldown.
pub fn parse_usage_limit(body: &[u8], now: SystemTime) -> Option<UsageLimit> {
    let envelope: Value = serde_json::from_slice(body).ok()?;
    let error = envelope
        .get("error")
        .filter(|e| e.is_object())
        .unwrap_or(&envelope);
    let is_limit = ["type", "code"]
        .iter()
        .filter_map(|k| error.get(*k).and_then(Value::as_str))
        .any(|v| v == "usage_limit_reached");
    if !is_limit {
        return None;
    }
    let at = error.get("resets_at").and_then(|v| match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(|s| after_seconds(SystemTime::UNIX_EPOCH, s)),
        Value::String(s) => parse_instant(s),
        _ => None,
    });
    let resets_at = at.or_else(|| {
        let secs = match error.get("resets_in_seconds")? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        secs.and_then(|s| after_seconds(now, s))
    });
    Some(UsageLimit { resets_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{from_unix_seconds, unix_seconds};

    #[test]
    fn reads_resets_at_or_resets_in() {
        let now = from_unix_seconds(1_000);
        let a = parse_usage_limit(
            br#"{"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":5000}}"#,
            now,
        )
        .unwrap();
        assert_eq!(unix_seconds(a.resets_at.unwrap()), 5_000);
        let b = parse_usage_limit(
            br#"{"error":{"code":"usage_limit_reached","resets_in_seconds":30}}"#,
            now,
        )
        .unwrap();
        assert_eq!(unix_seconds(b.resets_at.unwrap()), 1_030);
        let c = parse_usage_limit(br#"{"error":{"type":"usage_limit_reached"}}"#, now).unwrap();
        assert_eq!(c.resets_at, None);
    }

    #[test]
    fn top_level_and_string_forms() {
        let now = from_unix_seconds(1_000);
        let a = parse_usage_limit(
            br#"{"type":"usage_limit_reached","resets_at":"1970-01-01T01:00:00Z"}"#,
            now,
        )
        .unwrap();
        assert_eq!(unix_seconds(a.resets_at.unwrap()), 3_600);
        let b = parse_usage_limit(
            br#"{"error":{"type":"usage_limit_reached","resets_in_seconds":"90"}}"#,
            now,
        )
        .unwrap();
        assert_eq!(unix_seconds(b.resets_at.unwrap()), 1_090);
        // Absurd values are no reset time, not a panic.
        let c = parse_usage_limit(
            br#"{"error":{"type":"usage_limit_reached","resets_at":1e300,"resets_in_seconds":-1}}"#,
            now,
        )
        .unwrap();
        assert_eq!(c.resets_at, None);
    }

    #[test]
    fn ignores_other_errors() {
        let now = from_unix_seconds(0);
        assert!(parse_usage_limit(br#"{"error":{"type":"rate_limit_exceeded"}}"#, now).is_none());
        assert!(parse_usage_limit(b"<html>", now).is_none());
    }
}
