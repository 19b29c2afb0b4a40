//! Parsing the `x-codex-{primary,secondary}-*` quota headers.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::{QuotaWindow, WindowSlot};
use crate::clock::from_unix_seconds;

/// Reads the primary and secondary windows from upstream response headers.
///
/// A window is kept when any of used-percent, window-minutes or reset-at is present. Reset times
/// may be epoch seconds or RFC 3339; `*-reset-after-seconds` is used when no reset-at is sent.
pub fn windows_from_headers(headers: &HeaderMap, now: SystemTime) -> Vec<QuotaWindow> {
    [
        (WindowSlot::Primary, "x-codex-primary"),
        (WindowSlot::Secondary, "x-codex-secondary"),
    ]
    .into_iter()
    .filter_map(|(slot, prefix)| window_from_headers(headers, slot, prefix, now))
    .collect()
}

/// Reads one window of the header family `prefix` (for example `x-codex-primary`).
pub(crate) fn window_from_headers(
    headers: &HeaderMap,
    slot: WindowSlot,
    prefix: &str,
    now: SystemTime,
) -> Option<QuotaWindow> {
    let get = |suffix: &str| {
        headers
            .get(format!("{prefix}-{suffix}"))
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let used = get("used-percent").and_then(|v| v.parse::<f64>().ok());
    let minutes = get("window-minutes").and_then(|v| v.parse::<u32>().ok());
    let resets_at = get("reset-at").and_then(parse_instant).or_else(|| {
        get("reset-after-seconds")
            .and_then(|v| v.parse::<f64>().ok())
            .and_then(|s| after_seconds(now, s))
    });
    if used.is_none() && minutes.is_none() && resets_at.is_none() {
        return None;
    }
    Some(QuotaWindow {
        slot,
        used_percent: used.filter(|u| u.is_finite()).unwrap_or(0.0),
        window_minutes: minutes,
        resets_at,
        observed_at: now,
    })
}

/// Quota header names with no family or window in them.
const SINGLE_QUOTA_HEADERS: &[&str] = &[
    "x-codex-active-limit",
    "x-codex-rate-limit-reached-type",
    "x-codex-promo-message",
    "x-codex-credits-has-credits",
    "x-codex-credits-unlimited",
    "x-codex-credits-balance",
];

/// The fields of one window header family (`x-codex-primary-used-percent`, ...).
const WINDOW_FIELDS: &[&str] = &[
    "used-percent",
    "window-minutes",
    "reset-at",
    "reset-after-seconds",
    "over-secondary-limit-percent",
];

/// The longest metered limit name accepted in a header name (`x-codex-<limit>-...`).
const MAX_LIMIT_NAME: usize = 64;

/// Whether `name` (lowercase, as [`HeaderMap`] keeps names) is one of the Codex quota headers
/// the Codex CLI reads, matched by structure rather than by prefix:
///
/// - `x-codex-active-limit`, `x-codex-rate-limit-reached-type`, `x-codex-promo-message`;
/// - `x-codex-credits-{has-credits,unlimited,balance}`;
/// - `x-codex-{primary,secondary}-{used-percent,window-minutes,reset-at,reset-after-seconds}`
///   (and `x-codex-primary-over-secondary-limit-percent`);
/// - a metered family's `x-codex-<limit>-{primary,secondary}-<field>` and
///   `x-codex-<limit>-limit-name`, `<limit>` being ASCII lowercase letters, digits, `-` and `_`.
///
/// Every header [`windows_from_headers`] and the credit and named-limit readers read matches; a made-up
/// `x-codex-account-email` does not.
pub fn is_quota_header(name: &str) -> bool {
    if SINGLE_QUOTA_HEADERS.contains(&name) {
        return true;
    }
    let Some(rest) = name.strip_prefix("x-codex-") else {
        return false;
    };
    if is_window_field(rest) {
        return true;
    }
    let limit = rest.strip_suffix("-limit-name").or_else(|| {
        ["-primary-", "-secondary-"].iter().find_map(|window| {
            let (limit, field) = rest.split_once(window)?;
            WINDOW_FIELDS.contains(&field).then_some(limit)
        })
    });
    limit.is_some_and(|limit| {
        !limit.is_empty()
            && limit.len() <= MAX_LIMIT_NAME
            && limit
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

/// `{primary,secondary}-<field>`.
fn is_window_field(rest: &str) -> bool {
    ["primary-", "secondary-"].iter().any(|window| {
        rest.strip_prefix(window)
            .is_some_and(|field| WINDOW_FIELDS.contains(&field))
    })
}

/// The largest number of seconds read from upstream (about 3,000 years): anything larger is
/// garbage, and would overflow `Duration` or `SystemTime` arithmetic.
const MAX_SECONDS: f64 = 1e11;

/// Parses epoch seconds (integer or fractional) or an RFC 3339 UTC timestamp.
pub(crate) fn parse_instant(v: &str) -> Option<SystemTime> {
    if let Ok(secs) = v.trim().parse::<f64>() {
        return after_seconds(SystemTime::UNIX_EPOCH, secs);
    }
    parse_rfc3339(v.trim()).map(from_unix_seconds)
}

/// `base` plus `secs` seconds, for a finite, non-negative, plausible `secs`.
pub(crate) fn after_seconds(base: SystemTime, secs: f64) -> Option<SystemTime> {
    if !secs.is_finite() || !(0.0..=MAX_SECONDS).contains(&secs) {
        return None;
    }
    base.checked_add(Duration::from_secs_f64(secs))
}

/// A small RFC 3339 reader (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), enough for reset stamps.
fn parse_rfc3339(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| v.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &v[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let h = tz.get(1..3)?.parse::<i64>().ok()?;
            let m = tz.get(4..6)?.parse::<i64>().ok()?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::unix_seconds;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn quota_header_names_match_by_structure() {
        for name in [
            "x-codex-primary-used-percent",
            "x-codex-primary-window-minutes",
            "x-codex-primary-reset-at",
            "x-codex-primary-reset-after-seconds",
            "x-codex-primary-over-secondary-limit-percent",
            "x-codex-secondary-used-percent",
            "x-codex-secondary-window-minutes",
            "x-codex-secondary-reset-at",
            "x-codex-credits-has-credits",
            "x-codex-credits-unlimited",
            "x-codex-credits-balance",
            "x-codex-active-limit",
            "x-codex-rate-limit-reached-type",
            "x-codex-promo-message",
            "x-codex-bengalfox-primary-used-percent",
            "x-codex-bengalfox-secondary-reset-at",
            "x-codex-bengalfox-limit-name",
            "x-codex-gpt_5-2-codex-primary-window-minutes",
        ] {
            assert!(is_quota_header(name), "{name}");
        }
        for name in [
            "x-codex-account-email",
            "x-codex-account-id",
            "x-codex-authorization",
            "x-codex-anything",
            "x-codex-plan-type",
            "x-codex-turn-state",
            "x-codex-primary",
            "x-codex-primary-email",
            "x-codex--limit-name",
            "x-codex-limit-name",
            "x-codex-bengalfox-primary-account-id",
            "x-codex-bengal.fox-limit-name",
            "x-openai-account-id",
            "chatgpt-account-id",
            "x-primary-used-percent",
        ] {
            assert!(!is_quota_header(name), "{name}");
        }
        let long = format!("x-codex-{}-limit-name", "a".repeat(65));
        assert!(!is_quota_header(&long));
    }

    #[test]
    fn reads_both_windows() {
        let now = from_unix_seconds(1_800_000_000);
        let h = headers(&[
            ("x-codex-primary-used-percent", "100.0"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1800000600"),
            ("x-codex-secondary-used-percent", "12.5"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-at", "2027-01-01T00:00:00Z"),
        ]);
        let w = windows_from_headers(&h, now);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].slot, WindowSlot::Primary);
        assert!(w[0].is_exhausted_at(now));
        assert_eq!(unix_seconds(w[0].resets_at.unwrap()), 1_800_000_600);
        assert_eq!(unix_seconds(w[1].resets_at.unwrap()), 1_798_761_600);
        assert!(!w[1].is_exhausted_at(now));
    }

    #[test]
    fn reset_after_seconds_and_absent_windows() {
        let now = from_unix_seconds(1_000);
        let h = headers(&[
            ("x-codex-primary-used-percent", "5"),
            ("x-codex-primary-reset-after-seconds", "60"),
        ]);
        let w = windows_from_headers(&h, now);
        assert_eq!(w.len(), 1);
        assert_eq!(unix_seconds(w[0].resets_at.unwrap()), 1_060);
        assert!(windows_from_headers(&HeaderMap::new(), now).is_empty());
    }

    #[test]
    fn rfc3339_offsets_and_garbage() {
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-24T05:03:49.900588913Z"),
            Some(1_795_496_629)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert!(parse_instant("-5").is_none());
    }
}
