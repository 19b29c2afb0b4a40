//! An account's quota as the backend reports it: `x-codex-*` headers and the `/wham/usage` payload.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::config::FakeAccount;

/// Length of the third window, in minutes: 30 days.
pub(crate) const TERTIARY_WINDOW_MINUTES: u64 = 43_200;
/// Seconds until the third window resets: 20 days.
const TERTIARY_RESET_AFTER_SECONDS: u64 = 20 * 86_400;
/// Length of the secondary (weekly) window, in minutes.
pub(crate) const SECONDARY_WINDOW_MINUTES: u64 = 10_080;

/// One account's quota at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuotaSnapshot {
    plan_type: String,
    limit_reached: bool,
    primary: Window,
    secondary: Window,
    tertiary: Option<Window>,
}

#[derive(Debug, Clone, PartialEq)]
struct Window {
    used_percent: f64,
    minutes: u64,
    reset_after_seconds: u64,
    reset_at: u64,
}

impl QuotaSnapshot {
    /// The account's quota now. An exhausted account shows its primary window at 100%.
    pub(crate) fn of(account: &FakeAccount) -> Self {
        let now = epoch_seconds();
        let primary_used = if account.usage_limit_reached {
            100.0
        } else {
            account.primary_used_percent
        };
        Self {
            plan_type: account.plan_type.clone(),
            limit_reached: account.usage_limit_reached,
            primary: Window {
                used_percent: primary_used,
                minutes: account.primary_window_minutes,
                reset_after_seconds: account.primary_reset_after_seconds,
                reset_at: now + account.primary_reset_after_seconds,
            },
            secondary: Window {
                used_percent: account.secondary_used_percent,
                minutes: SECONDARY_WINDOW_MINUTES,
                reset_after_seconds: account.secondary_reset_after_seconds,
                reset_at: now + account.secondary_reset_after_seconds,
            },
            tertiary: account.tertiary_used_percent.map(|used_percent| Window {
                used_percent,
                minutes: TERTIARY_WINDOW_MINUTES,
                reset_after_seconds: TERTIARY_RESET_AFTER_SECONDS,
                reset_at: now + TERTIARY_RESET_AFTER_SECONDS,
            }),
        }
    }

    /// Epoch seconds at which the primary window resets.
    pub(crate) fn primary_reset_at(&self) -> u64 {
        self.primary.reset_at
    }

    /// Seconds until the primary window resets.
    pub(crate) fn primary_reset_after_seconds(&self) -> u64 {
        self.primary.reset_after_seconds
    }

    /// The third window as a `codex.rate_limits` event's `rate_limits.tertiary` (`null`: none).
    pub(crate) fn tertiary_event_window(&self) -> Value {
        self.tertiary.as_ref().map_or(Value::Null, |w| {
            json!({
                "used_percent": w.used_percent,
                "window_minutes": w.minutes,
                "reset_at": w.reset_at,
            })
        })
    }

    /// The `x-codex-primary-*`, `x-codex-secondary-*` and `x-codex-credits-*` response headers.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (family, window) in [("primary", &self.primary), ("secondary", &self.secondary)] {
            // `{:?}` keeps a decimal point ("100.0"), as the real backend's values have.
            insert(
                &mut headers,
                format!("x-codex-{family}-used-percent"),
                format!("{:?}", window.used_percent),
            );
            insert(
                &mut headers,
                format!("x-codex-{family}-window-minutes"),
                window.minutes.to_string(),
            );
            insert(
                &mut headers,
                format!("x-codex-{family}-reset-at"),
                window.reset_at.to_string(),
            );
        }
        insert(
            &mut headers,
            "x-codex-credits-has-credits".to_owned(),
            "false".to_owned(),
        );
        insert(
            &mut headers,
            "x-codex-credits-unlimited".to_owned(),
            "false".to_owned(),
        );
        insert(
            &mut headers,
            "x-codex-credits-balance".to_owned(),
            "0".to_owned(),
        );
        if self.limit_reached {
            insert(
                &mut headers,
                "x-codex-active-limit".to_owned(),
                "codex".to_owned(),
            );
        }
        headers
    }

    /// The `GET /wham/usage` payload (`RateLimitStatusPayload`). Percentages are integers there:
    /// the CLI deserializes them as `i32`.
    pub(crate) fn usage_payload(&self) -> Value {
        let mut payload = json!({
            "plan_type": self.plan_type,
            "rate_limit": {
                "allowed": !self.limit_reached,
                "limit_reached": self.limit_reached,
                "primary_window": self.primary.usage_window(),
                "secondary_window": self.secondary.usage_window(),
            },
            "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
        });
        if let Some(tertiary) = &self.tertiary {
            payload["rate_limit"]["tertiary_window"] = tertiary.usage_window();
        }
        payload
    }
}

impl Window {
    fn usage_window(&self) -> Value {
        json!({
            "used_percent": self.used_percent.round() as i64,
            "limit_window_seconds": self.minutes * 60,
            "reset_after_seconds": self.reset_after_seconds,
            "reset_at": self.reset_at,
        })
    }
}

fn insert(headers: &mut HeaderMap, name: String, value: String) {
    // Names and values here are built from ASCII literals and numbers, so they always parse.
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
        headers.insert(name, value);
    }
}

/// Seconds since the Unix epoch by the wall clock (reset times are wall-clock instants).
pub(crate) fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_account_reports_full_primary_window() {
        let mut account = FakeAccount::new("acc", "tok", "a");
        account.primary_used_percent = 12.5;
        let headers = QuotaSnapshot::of(&account).headers();
        assert_eq!(headers["x-codex-primary-used-percent"], "12.5");
        assert_eq!(headers["x-codex-secondary-window-minutes"], "10080");
        account.usage_limit_reached = true;
        let snapshot = QuotaSnapshot::of(&account);
        assert_eq!(snapshot.headers()["x-codex-primary-used-percent"], "100.0");
        let usage = snapshot.usage_payload();
        assert_eq!(usage["rate_limit"]["primary_window"]["used_percent"], 100);
        assert_eq!(usage["rate_limit"]["allowed"], false);
    }
}
