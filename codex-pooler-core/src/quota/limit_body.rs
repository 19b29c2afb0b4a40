//! Parsing `usage_limit_reached` 429 bodies.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::headers::parse_instant;

/// An upstream statement that an account's usage limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageLimit {
    /// When the limit lifts, if the body said so.
    pub resets_at: Option<SystemTime>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    resets_at: Option<serde_json::Value>,
    resets_in_seconds: Option<f64>,
}

/// Reads a 429 body; `Some` when it says `usage_limit_reached` (as `type` or `code`).
///
/// `resets_at` may be epoch seconds or RFC 3339; `resets_in_seconds` is used when it is absent.
pub fn parse_usage_limit(body: &[u8], now: SystemTime) -> Option<UsageLimit> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let error = envelope.error?;
    let is_limit = [error.kind.as_deref(), error.code.as_deref()]
        .into_iter()
        .flatten()
        .any(|v| v == "usage_limit_reached");
    if !is_limit {
        return None;
    }
    let at = error.resets_at.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_f64().and_then(|s| parse_instant(&s.to_string())),
        serde_json::Value::String(s) => parse_instant(&s),
        _ => None,
    });
    let resets_at = at.or_else(|| {
        error
            .resets_in_seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| now + Duration::from_secs_f64(s))
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
    fn ignores_other_errors() {
        let now = from_unix_seconds(0);
        assert!(parse_usage_limit(br#"{"error":{"type":"rate_limit_exceeded"}}"#, now).is_none());
        assert!(parse_usage_limit(b"<html>", now).is_none());
    }
}
