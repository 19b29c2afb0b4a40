//! Times in operator API answers: RFC 3339 in UTC, to the millisecond.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat};

/// `t` as RFC 3339 (`2026-12-03T14:29:24.000Z`).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let ms = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time given in a query.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    let ms = u64::try_from(t.timestamp_millis()).ok()?;
    UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_to_the_millisecond() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_796_300_964_123);
        let s = rfc3339(t);
        assert_eq!(s, "2026-12-03T12:29:24.123Z");
        assert_eq!(parse_rfc3339(&s), Some(t));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
