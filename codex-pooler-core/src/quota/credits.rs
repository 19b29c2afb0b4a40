//! Credits: the balance that lets an account keep working after its long window is used up.

use http::HeaderMap;
use serde_json::Value;

/// An account's credit status, as sent in `x-codex-credits-*` headers, `codex.rate_limits`
/// events and the usage API's `credits` object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credits {
    /// Whether the account has credits left.
    pub has_credits: bool,
    /// Whether its credits are unlimited.
    pub unlimited: bool,
    /// The balance, kept as sent (upstream sends a decimal string).
    pub balance: Option<String>,
}

impl Credits {
    /// Whether these credits keep the account working past a full weekly (or monthly) window.
    pub(crate) fn cover_long_windows(&self) -> bool {
        self.unlimited || self.has_credits
    }

    /// The balance as a number, when it parses.
    #[cfg(test)]
    pub(crate) fn balance_value(&self) -> Option<f64> {
        self.balance
            .as_deref()
            .and_then(|b| b.trim().parse::<f64>().ok())
            .filter(|b| b.is_finite())
    }
}

/// Reads `x-codex-credits-has-credits`, `x-codex-credits-unlimited` and
/// `x-codex-credits-balance`.
///
/// Like the Codex CLI, both flags must be present (`true`/`false`/`1`/`0`) or there is no
/// credits snapshot; the balance is optional.
pub(crate) fn credits_from_headers(headers: &HeaderMap) -> Option<Credits> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let has_credits = get("x-codex-credits-has-credits").and_then(parse_flag)?;
    let unlimited = get("x-codex-credits-unlimited").and_then(parse_flag)?;
    let balance = get("x-codex-credits-balance")
        .filter(|b| !b.is_empty())
        .map(str::to_owned);
    Some(Credits {
        has_credits,
        unlimited,
        balance,
    })
}

/// Reads a JSON `credits` object (`has_credits`, `unlimited`, `balance`); `None` unless it is an
/// object with at least one of the two flags.
pub(crate) fn credits_from_json(value: &Value) -> Option<Credits> {
    let object = value.as_object()?;
    let flag = |name: &str| match object.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|n| n != 0.0),
        Value::String(s) => parse_flag(s.trim()),
        _ => None,
    };
    let (has_credits, unlimited) = (flag("has_credits"), flag("unlimited"));
    if has_credits.is_none() && unlimited.is_none() {
        return None;
    }
    let balance = match object.get("balance") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Some(Credits {
        has_credits: has_credits.unwrap_or(false),
        unlimited: unlimited.unwrap_or(false),
        balance,
    })
}

fn parse_flag(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") || v == "1" {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") || v == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_credit_headers() {
        let c = credits_from_headers(&headers(&[
            ("x-codex-credits-has-credits", "True"),
            ("x-codex-credits-unlimited", "0"),
            ("x-codex-credits-balance", " 12.5 "),
        ]))
        .unwrap();
        assert!(c.has_credits && !c.unlimited && c.cover_long_windows());
        assert_eq!(c.balance_value(), Some(12.5));
        // Both flags are required.
        assert!(credits_from_headers(&headers(&[("x-codex-credits-has-credits", "1")])).is_none());
        assert!(
            credits_from_headers(&headers(&[
                ("x-codex-credits-has-credits", "maybe"),
                ("x-codex-credits-unlimited", "false"),
            ]))
            .is_none()
        );
    }

    #[test]
    fn reads_credit_json() {
        let c = credits_from_json(&serde_json::json!({"unlimited": true, "balance": 3})).unwrap();
        assert!(c.unlimited && !c.has_credits && c.cover_long_windows());
        assert_eq!(c.balance.as_deref(), Some("3"));
        let none =
            credits_from_json(&serde_json::json!({"has_credits": false, "balance": "0"})).unwrap();
        assert!(!none.cover_long_windows());
        assert!(credits_from_json(&serde_json::json!({"balance": "5"})).is_none());
        assert!(credits_from_json(&serde_json::json!(null)).is_none());
    }
}
