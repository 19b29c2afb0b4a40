//! Header discipline: what crosses the gateway in each direction.
//!
//! Towards upstream only an allowlist of client headers is copied (session and thread ids,
//! Codex metadata, client identity); credentials, cookies, hop-by-hop and encoding headers never
//! are. Back to the client, hop-by-hop headers and cookies are dropped; the Codex headers the CLI
//! reads (`x-codex-turn-state`, `openai-model`, the quota headers) pass unchanged.

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue};

/// Client headers copied to upstream by exact name.
const FORWARDED: &[&str] = &[
    "accept",
    "session-id",
    "session_id",
    "thread-id",
    "conversation_id",
    "x-client-request-id",
    "originator",
    "user-agent",
    "version",
    "openai-beta",
    "x-openai-subagent",
];

/// The Codex CLI version the gateway presents when a client sends no identity of its own.
pub const DEFAULT_CLIENT_VERSION: &str = "0.169.0";

/// Copies the allowed client headers from `client` into `out`, then supplies the Codex client
/// identity (`originator`, `user-agent`, `version`) upstream expects when the client sent none.
///
/// Allowed: the names in the list above and every `x-codex-*` header.
pub fn forward_request_headers(client: &HeaderMap, out: &mut HeaderMap) {
    for (name, value) in client {
        let n = name.as_str();
        if FORWARDED.contains(&n) || n.starts_with("x-codex-") {
            out.append(name.clone(), value.clone());
        }
    }
    let identity = [
        ("originator", "codex_cli_rs"),
        ("user-agent", concat!("codex_cli_rs/", "0.169.0")),
        ("version", DEFAULT_CLIENT_VERSION),
    ];
    for (name, value) in identity {
        if !out.contains_key(name) {
            out.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
    }
}

/// Response headers never passed back to the client.
const DROPPED: &[HeaderName] = &[
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::SET_COOKIE,
    header::PROXY_AUTHENTICATE,
    header::TRAILER,
    header::TE,
    header::ALT_SVC,
];

/// Removes hop-by-hop headers and cookies from an upstream response.
pub fn filter_response_headers(headers: &mut HeaderMap) {
    for name in DROPPED {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("cf-cache-status");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_only_the_allowlist() {
        let mut client = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer sk-cxp-secret"),
            ("cookie", "a=b"),
            ("session-id", "s1"),
            ("x-codex-turn-state", "ts"),
            ("x-codex-window-id", "w:0"),
            ("originator", "codex_exec"),
            ("content-encoding", "zstd"),
            ("chatgpt-account-id", "client-chosen"),
            ("x-forwarded-for", "1.2.3.4"),
        ] {
            client.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let mut out = HeaderMap::new();
        forward_request_headers(&client, &mut out);
        let mut names: Vec<_> = out.keys().map(|k| k.as_str().to_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "originator",
                "session-id",
                "user-agent",
                "version",
                "x-codex-turn-state",
                "x-codex-window-id"
            ]
        );
        // The client's own identity is kept; what it did not send is supplied.
        assert_eq!(out["originator"], "codex_exec");
        assert_eq!(out["user-agent"], "codex_cli_rs/0.169.0");
        assert_eq!(out["version"], DEFAULT_CLIENT_VERSION);
    }

    #[test]
    fn drops_hop_by_hop_and_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::SET_COOKIE, "x=y".parse().unwrap());
        h.insert(header::CONNECTION, "keep-alive".parse().unwrap());
        h.insert("x-codex-turn-state", "t".parse().unwrap());
        h.insert("openai-model", "gpt-5.1-codex".parse().unwrap());
        filter_response_headers(&mut h);
        assert_eq!(h.len(), 2);
        assert_eq!(h["openai-model"], "gpt-5.1-codex");
    }
}
