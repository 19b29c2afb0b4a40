//! Times and UTC days as the store's JSON shows them: RFC 3339 and `YYYY-MM-DD`.

use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use super::convert::millis;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// `t` as RFC 3339 in UTC with milliseconds (`2026-12-03T14:33:01.123Z`).
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde `serialize_with` for a time as [`rfc3339`].
pub(crate) fn serialize<S: Serializer>(t: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*t))
}

/// Reads an RFC 3339 time (`2026-12-03T00:00:00Z`, any offset).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| SystemTime::from(t.with_timezone(&Utc)))
}

/// A UTC calendar day, as days since 1970-01-01; serialized as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDay(pub i64);

impl UtcDay {
    /// The UTC day `t` falls on.
    pub fn of(t: SystemTime) -> Self {
        Self::of_millis(millis(t))
    }

    /// The UTC day of a unix-millisecond time.
    pub(crate) fn of_millis(ms: i64) -> Self {
        Self(ms.div_euclid(DAY_MS))
    }

    /// Today, in UTC.
    pub fn today() -> Self {
        Self::of(SystemTime::now())
    }

    /// The day `days` days before this one.
    pub fn minus(self, days: i64) -> Self {
        Self(self.0.saturating_sub(days))
    }
}

impl std::fmt::Display for UtcDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let date = i32::try_from(self.0)
            .ok()
            .and_then(|d| d.checked_add(719_163))
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        match date {
            Some(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            None => write!(f, "day {}", self.0),
        }
    }
}

impl Serialize for UtcDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn days_and_times_read_as_calendar_dates() {
        assert_eq!(UtcDay(0).to_string(), "1970-01-01");
        assert_eq!(UtcDay(-1).to_string(), "1969-12-31");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_308_381_123);
        assert_eq!(rfc3339(t), "2026-12-03T14:33:01.123Z");
        assert_eq!(UtcDay::of(t).to_string(), "2026-12-03");
        assert_eq!(parse_rfc3339("2026-12-03T15:33:01.123+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03"), None);
        assert_eq!(UtcDay::of_millis(-1), UtcDay(-1));
    }
}
