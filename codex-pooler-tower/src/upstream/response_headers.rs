//! Response header discipline: which upstream headers reach the client.
//!
//! Back to the client only an allowlist of upstream headers passes, on HTTP answers, on the
//! websocket `101` and inside websocket frames that carry a `headers` object: what the Codex CLI
//! and the OpenAI SDKs read (content type, the model, turn state, request ids, error details,
//! the quota headers by structure). Anything else upstream adds, such as a header naming the
//! serving account, is dropped, so a new upstream header reaches clients only once it is listed
//! here. Framing (`content-length`, `transfer-encoding`) is hyper's; cookies and hop-by-hop
//! headers never pass. The gateway's own headers (the routing receipt, the pool's models ETag)
//! are set after filtering.

use codex_pooler_core::quota::is_quota_header;
use http::HeaderMap;
use http::header::HeaderName;

/// Upstream response headers passed on by exact (lowercase) name, besides the quota headers.
const RELAYED: &[&str] = &[
    "content-type",
    "content-encoding",
    "cache-control",
    "retry-after",
    "openai-model",
    "x-codex-turn-state",
    "x-models-etag",
    "x-reasoning-included",
    "x-codex-websocket-max-message-bytes",
    "x-request-id",
    "x-oai-request-id",
    "cf-ray",
    "x-openai-authorization-error",
    "x-error-json",
];

/// Headers about the body, meaningless on a `101`.
const REPRESENTATION: &[&str] = &["content-type", "content-encoding"];

/// Whether an upstream response header named `name` (lowercase) may reach the client.
pub fn is_relayed_response_header(name: &str) -> bool {
    RELAYED.contains(&name) || is_quota_header(name)
}

/// Removes every header not on the allowlist from an upstream HTTP response.
pub fn filter_response_headers(headers: &mut HeaderMap) {
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| !is_relayed_response_header(name.as_str()))
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(name);
    }
}

/// Copies the allowed headers of an upstream websocket `101` into the client's `101`.
pub(crate) fn relay_upgrade_headers(upstream: &HeaderMap, out: &mut HeaderMap) {
    for (name, value) in upstream {
        let n = name.as_str();
        if is_relayed_response_header(n) && !REPRESENTATION.contains(&n) {
            out.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the Codex CLI reads, then made-up headers naming the serving account.
    const LISTED: &[(&str, &str)] = &[
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("retry-after", "3"),
        ("openai-model", "gpt-5.1-codex"),
        ("x-codex-turn-state", "ts-1"),
        ("x-models-etag", "\"e1\""),
        ("x-reasoning-included", "true"),
        ("x-codex-websocket-max-message-bytes", "16777216"),
        ("x-request-id", "req-1"),
        ("x-oai-request-id", "oai-1"),
        ("x-openai-authorization-error", "missing"),
        ("x-error-json", "eyJlcnJvciI6e319"),
        ("x-codex-primary-used-percent", "12.0"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-at", "1800000000"),
        ("x-codex-secondary-used-percent", "3.0"),
        ("x-codex-credits-has-credits", "false"),
        ("x-codex-credits-unlimited", "false"),
        ("x-codex-credits-balance", "0"),
        ("x-codex-active-limit", "codex"),
        ("x-codex-rate-limit-reached-type", "rate_limit_reached"),
        ("x-codex-promo-message", "upgrade"),
        ("x-codex-bengalfox-primary-used-percent", "80"),
        ("x-codex-bengalfox-limit-name", "gpt-5.2-codex-sonic"),
    ];

    const ACCOUNT_IDENTIFYING: &[(&str, &str)] = &[
        ("x-openai-account-id", "acct-upstream"),
        ("chatgpt-account-id", "acct-upstream"),
        ("x-codex-account-email", "owner@example.com"),
        ("x-codex-plan-type", "pro"),
        ("x-codex-anything", "x"),
        ("openai-organization", "org-upstream"),
        ("x-codex-pooler-route", "forged"),
        ("set-cookie", "sid=secret"),
        ("connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("content-length", "12"),
        ("alt-svc", "h3=\":443\""),
        ("cf-cache-status", "DYNAMIC"),
        ("server", "cloudflare"),
        ("date", "Mon, 01 Jan 2026 00:00:00 GMT"),
    ];

    fn upstream() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in LISTED.iter().chain(ACCOUNT_IDENTIFYING) {
            h.append(HeaderName::from_static(k), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn http_answers_keep_only_the_allowlist() {
        let mut h = upstream();
        filter_response_headers(&mut h);
        for (name, value) in LISTED {
            assert_eq!(h[*name], *value, "{name}");
        }
        for (name, _) in ACCOUNT_IDENTIFYING {
            assert!(!h.contains_key(*name), "{name} reached the client");
        }
        assert_eq!(h.len(), LISTED.len());
    }

    #[test]
    fn the_websocket_101_keeps_only_the_allowlist() {
        let mut out = HeaderMap::new();
        relay_upgrade_headers(&upstream(), &mut out);
        for (name, value) in LISTED {
            if REPRESENTATION.contains(name) {
                assert!(!out.contains_key(*name), "{name}");
            } else {
                assert_eq!(out[*name], *value, "{name}");
            }
        }
        for (name, _) in ACCOUNT_IDENTIFYING {
            assert!(!out.contains_key(*name), "{name} reached the client");
        }
    }

    #[test]
    fn repeated_headers_pass_whole() {
        let mut h = HeaderMap::new();
        h.append("cache-control", "no-cache".parse().unwrap());
        h.append("cache-control", "no-store".parse().unwrap());
        h.append("x-openai-account-id", "a".parse().unwrap());
        filter_response_headers(&mut h);
        assert_eq!(h.get_all("cache-control").iter().count(), 2);
        assert_eq!(h.len(), 2);
    }
}
