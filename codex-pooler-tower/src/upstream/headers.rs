//! Request header discipline: which client headers reach upstream.
//!
//! Towards upstream only an allowlist of client headers is copied, by exact name: session and
//! thread ids, the `x-codex-*` headers the Codex protocol defines, client identity. Everything
//! else stays behind: credentials, cookies, hop-by-hop and encoding headers, and any other
//! `x-codex-*` name a client makes up. What goes back to the client is in
//! [`response_headers`](super::response_headers).
//!
//! A model turn over HTTP whose client sent no session header gets the gateway's derived one as
//! `session-id` ([`supply_session_id`]). The websocket upgrade is left as the client sent it
//! (the Codex CLI always sends `session-id` there).

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};

/// Client headers copied to upstream, by exact (lowercase) name.
///
/// `accept-encoding` is left out on purpose: the Codex CLI sends `zstd,gzip` since 0.171, and
/// `chatgpt.com` then compresses its answers; the gateway reads them (quota headers aside, SSE
/// framing, usage and catalog bodies, `/v1` translation), so it asks for identity bodies and
/// the client gets them uncompressed (`tests/e2e/wire_0171.rs`).
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
    // The history and notes tools' headers, as the client sends them (0.169 and 0.171).
    "x-openai-encrypted-tool-arguments",
    "x-openai-tool-output-truncation-policy",
    // The Codex CLI's own headers (captures of 0.169 and 0.171, and the client's sources).
    "x-codex-beta-features",
    "x-codex-installation-id",
    "x-codex-parent-thread-id",
    "x-codex-routing-hint",
    "x-codex-turn-metadata",
    "x-codex-turn-state",
    "x-codex-window-id",
    "x-codex-ws-stream-request-start-ms",
    // Continuity ids some clients send; the gateway also routes on them.
    "x-codex-conversation-id",
    "x-codex-previous-response-id",
    "x-codex-session-id",
];

/// The Codex CLI version the gateway presents when a client sends no identity of its own.
pub const DEFAULT_CLIENT_VERSION: &str = "0.169.0";

/// The longest client identity value (`originator`, `user-agent`, `version`) forwarded, in bytes.
pub(crate) const MAX_IDENTITY_LEN: usize = 256;

/// Whether a client identity value is forwarded as sent: at most [`MAX_IDENTITY_LEN`] bytes of
/// visible ASCII and spaces. Any other value is dropped and the gateway's default identity
/// goes in its place, so no client text of arbitrary size rides on an account's requests.
fn is_identity(value: &HeaderValue) -> bool {
    value.len() <= MAX_IDENTITY_LEN && value.as_bytes().iter().all(|b| matches!(b, 0x20..=0x7e))
}

/// Copies the allowed client headers from `client` into `out`, then supplies the Codex client
/// identity (`originator`, `user-agent`, `version`) upstream expects when the client sent none
/// (or sent one of no identity shape: over 256 bytes, or not visible ASCII and spaces).
///
/// Allowed: the names in the list above, nothing by prefix.
pub fn forward_request_headers(client: &HeaderMap, out: &mut HeaderMap) {
    for (name, value) in client {
        if !FORWARDED.contains(&name.as_str()) {
            continue;
        }
        let identity = matches!(name.as_str(), "originator" | "user-agent" | "version");
        if identity && !is_identity(value) {
            continue;
        }
        out.append(name.clone(), value.clone());
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

/// Headers that name the thread's session to upstream.
const SESSION_NAMES: &[&str] = &[
    "session-id",
    "session_id",
    "thread-id",
    "conversation_id",
    "x-codex-session-id",
    "x-codex-conversation-id",
];

/// Sends `derived`, the session id the gateway derived for a thread whose client sent none
/// ([`SessionIds`](codex_pooler_core::live::SessionIds)), as `session-id`, the header the
/// Codex CLI sends and upstream keeps a thread's prompt cache shard by. A request already
/// carrying a session header upstream keeps it alone.
pub(crate) fn supply_session_id(derived: Option<&str>, out: &mut HeaderMap) {
    let Some(value) = derived.and_then(|d| HeaderValue::from_str(d).ok()) else {
        return;
    };
    if SESSION_NAMES.iter().any(|name| out.contains_key(*name)) {
        return;
    }
    out.insert(HeaderName::from_static("session-id"), value);
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
    fn a_derived_session_id_goes_up_only_without_a_client_one() {
        let derived = "0b6f5b8e-1d2c-8a3b-9c4d-5e6f708192a3";
        let mut out = HeaderMap::new();
        forward_request_headers(&HeaderMap::new(), &mut out);
        supply_session_id(Some(derived), &mut out);
        assert_eq!(out["session-id"], derived);
        assert!(!out.contains_key("session_id"));
        for name in [
            "session-id",
            "session_id",
            "x-codex-session-id",
            "thread-id",
        ] {
            let mut client = HeaderMap::new();
            client.insert(HeaderName::from_static(name), "client".parse().unwrap());
            let mut out = HeaderMap::new();
            forward_request_headers(&client, &mut out);
            supply_session_id(Some(derived), &mut out);
            assert_eq!(out[name], "client", "{name}");
            assert_eq!(
                out.get_all("session-id").iter().count(),
                usize::from(name == "session-id"),
                "{name}"
            );
        }
        let mut out = HeaderMap::new();
        supply_session_id(None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn an_identity_of_no_identity_shape_is_replaced() {
        let mut client = HeaderMap::new();
        let long = format!("UATEXT{}", "u".repeat(10 * 1024));
        client.insert("user-agent", long.parse().unwrap());
        client.insert(
            "originator",
            HeaderValue::from_bytes(b"codex\xffexec").unwrap(),
        );
        client.insert("version", "0.171.0".parse().unwrap());
        let mut out = HeaderMap::new();
        forward_request_headers(&client, &mut out);
        assert_eq!(out["user-agent"], "codex_cli_rs/0.169.0");
        assert_eq!(out["originator"], "codex_cli_rs");
        assert_eq!(out["version"], "0.171.0");
        let fits = "a".repeat(MAX_IDENTITY_LEN);
        client.insert("user-agent", fits.parse().unwrap());
        let mut out = HeaderMap::new();
        forward_request_headers(&client, &mut out);
        assert_eq!(out["user-agent"], fits.as_str());
    }

    #[test]
    fn made_up_codex_headers_stay_behind() {
        let mut client = HeaderMap::new();
        for (k, v) in [
            ("x-codex-authorization", "Bearer sk-cxp-other"),
            ("x-codex-anything", "x"),
            ("x-codex-account-id", "acct-chosen-by-client"),
            ("x-codex-pooler-route", "forged"),
            ("x-codex-turn-metadata", "{}"),
            ("x-codex-beta-features", "remote_compaction_v2"),
            ("x-codex-installation-id", "i-1"),
            ("x-codex-parent-thread-id", "t-0"),
            ("x-codex-routing-hint", "model=gpt-5.1-codex"),
            ("x-codex-ws-stream-request-start-ms", "1"),
            ("x-openai-subagent", "review"),
            ("x-openai-encrypted-tool-arguments", "true"),
            (
                "x-openai-tool-output-truncation-policy",
                r#"{"mode":"bytes","limit":4000}"#,
            ),
            ("accept-encoding", "zstd,gzip"),
            ("x-oai-attestation", "a"),
            ("openai-organization", "org-1"),
        ] {
            client.insert(HeaderName::from_static(k), v.parse().unwrap());
        }
        let mut out = HeaderMap::new();
        forward_request_headers(&client, &mut out);
        for name in [
            "x-codex-authorization",
            "x-codex-anything",
            "x-codex-account-id",
            "x-codex-pooler-route",
            "accept-encoding",
            "x-oai-attestation",
            "openai-organization",
        ] {
            assert!(!out.contains_key(name), "{name} was forwarded");
        }
        for name in [
            "x-codex-turn-metadata",
            "x-codex-beta-features",
            "x-codex-installation-id",
            "x-codex-parent-thread-id",
            "x-codex-routing-hint",
            "x-codex-ws-stream-request-start-ms",
            "x-openai-subagent",
            // The history and notes tools' headers, as the client sends them (0.169 and 0.171).
            "x-openai-encrypted-tool-arguments",
            "x-openai-tool-output-truncation-policy",
        ] {
            assert_eq!(out[name], client[name], "{name}");
        }
    }
}
