//! Named limit families: metered limits beside the account's own windows (per model or feature).
//!
//! They arrive as `x-<family>-{primary,secondary}-*` headers with `x-<family>-limit-name`, as
//! `codex.rate_limits` events carrying a `metered_limit_name`, and as the usage API's
//! `additional_rate_limits`. They are kept for operators; routing does not weigh them yet.

use std::collections::BTreeSet;
use std::time::SystemTime;

use http::HeaderMap;

use super::headers::window_from_headers;
use super::{QuotaWindow, WindowSlot};

/// The id of the account's own limit family (`x-codex-primary-*`).
pub(crate) const ACCOUNT_LIMIT_ID: &str = "codex";

/// One metered limit family and its windows.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedLimit {
    /// The normalized limit id (`codex_bengalfox`): lowercase, `_` for `-`.
    pub id: String,
    /// The human name upstream gives it (often a model name), when sent.
    pub name: Option<String>,
    /// Its windows.
    pub windows: Vec<QuotaWindow>,
}

/// Normalizes a limit id as the Codex CLI does: trimmed, lowercase, `-` as `_`.
pub(crate) fn normalize_limit_id(id: &str) -> String {
    id.trim().to_ascii_lowercase().replace('-', "_")
}

/// Reads every `x-<family>-{primary,secondary}-*` family other than the account's own.
///
/// A family is found by its `-primary-used-percent` or `-secondary-used-percent` header; it is
/// kept when at least one window parses.
pub(crate) fn named_limits_from_headers(headers: &HeaderMap, now: SystemTime) -> Vec<NamedLimit> {
    let families: BTreeSet<String> = headers
        .keys()
        .filter_map(|name| {
            let name = name.as_str();
            let stem = name
                .strip_suffix("-primary-used-percent")
                .or_else(|| name.strip_suffix("-secondary-used-percent"))?;
            let family = stem.strip_prefix("x-")?;
            (normalize_limit_id(family) != ACCOUNT_LIMIT_ID && !family.is_empty())
                .then(|| family.to_owned())
        })
        .collect();
    families
        .into_iter()
        .filter_map(|family| {
            let prefix = format!("x-{family}");
            let windows: Vec<QuotaWindow> = [
                (WindowSlot::Primary, "primary"),
                (WindowSlot::Secondary, "secondary"),
            ]
            .into_iter()
            .filter_map(|(slot, name)| {
                window_from_headers(headers, slot, &format!("{prefix}-{name}"), now)
            })
            .collect();
            if windows.is_empty() {
                return None;
            }
            let name = headers
                .get(format!("{prefix}-limit-name"))
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            Some(NamedLimit {
                id: normalize_limit_id(&family),
                name,
                windows,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    #[test]
    fn reads_extra_families_only() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-codex-primary-used-percent", "10"),
            ("x-codex-secondary-used-percent", "20"),
            ("x-codex-bengalfox-primary-used-percent", "80"),
            ("x-codex-bengalfox-primary-window-minutes", "300"),
            ("x-codex-bengalfox-limit-name", "gpt-5.2-codex-sonic"),
            ("x-codex-other-secondary-used-percent", "55.5"),
            ("x-codex-broken-primary-used-percent", "lots"),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        let now = from_unix_seconds(1_000);
        let limits = named_limits_from_headers(&h, now);
        assert_eq!(limits.len(), 2);
        assert_eq!(limits[0].id, "codex_bengalfox");
        assert_eq!(limits[0].name.as_deref(), Some("gpt-5.2-codex-sonic"));
        assert_eq!(limits[0].windows[0].used_percent, 80.0);
        assert_eq!(limits[1].id, "codex_other");
        assert_eq!(limits[1].windows[0].slot, WindowSlot::Secondary);
        assert!(named_limits_from_headers(&HeaderMap::new(), now).is_empty());
    }
}
