//! The client side of the opening handshake: is this a websocket upgrade, which model does it
//! mean, and the `101 Switching Protocols` that answers it.

use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::dispatch::ROUTE_RECEIPT_HEADER;
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION};
use http::header::{HeaderValue, UPGRADE};
use http::{HeaderMap, Response, StatusCode, Uri};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::upstream::relay_upgrade_headers;

/// A valid client handshake: what the `101` must answer with.
#[derive(Debug, Clone)]
pub(crate) struct ClientHandshake {
    accept: HeaderValue,
}

impl ClientHandshake {
    /// Reads an RFC 6455 opening handshake: `Upgrade: websocket`, a `Connection` naming
    /// `upgrade`, `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`. `None` otherwise.
    pub(crate) fn read(headers: &HeaderMap) -> Option<Self> {
        let version_13 = headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v.as_bytes().trim_ascii() == b"13");
        if !(has_token(headers, &UPGRADE, "websocket")
            && has_token(headers, &CONNECTION, "upgrade")
            && version_13)
        {
            return None;
        }
        let key = headers.get(SEC_WEBSOCKET_KEY)?.as_bytes().trim_ascii();
        if key.is_empty() {
            return None;
        }
        // Base64 of SHA-1 output: always a valid header value.
        let accept = HeaderValue::try_from(derive_accept_key(key)).ok()?;
        Some(Self { accept })
    }

    /// The `101 Switching Protocols` answering this handshake, carrying the allowlisted headers
    /// of the upstream `101` (turn state, model, ETag, quota, message size limit; see
    /// [`relay_upgrade_headers`]) and the routing receipt.
    ///
    /// No extension or subprotocol is negotiated: frames are relayed as they are.
    pub(crate) fn switching_protocols(
        &self,
        upstream: &HeaderMap,
        receipt: Option<HeaderValue>,
    ) -> Response<PoolBody> {
        let mut response = Response::new(full(bytes::Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        relay_upgrade_headers(upstream, headers);
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, self.accept.clone());
        if let Some(receipt) = receipt {
            headers.insert(ROUTE_RECEIPT_HEADER, receipt);
        }
        response
    }
}

/// Whether a comma-separated header lists `token` (ASCII case-insensitive).
fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The model a websocket session is for, as far as the upgrade request tells.
///
/// The frames name their model only after the upgrade, so the account is chosen from hints:
/// a `model` query parameter, `x-codex-routing-hint: model=...` (ChatGPT auth), then the `model`
/// of the JSON in `x-codex-turn-metadata` (every Codex CLI upgrade sends it).
pub(crate) fn model_hint(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "model")
            .map(|(_, v)| v.to_owned())
    });
    let from_hint = || {
        let hint = headers.get("x-codex-routing-hint")?.to_str().ok()?;
        hint.split([';', ','])
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k.trim() == "model")
            .map(|(_, v)| v.trim().to_owned())
    };
    let from_metadata = || {
        let raw = headers.get("x-codex-turn-metadata")?.as_bytes();
        let metadata: serde_json::Value = serde_json::from_slice(raw).ok()?;
        metadata.get("model")?.as_str().map(str::to_owned)
    };
    from_query
        .or_else(from_hint)
        .or_else(from_metadata)
        .filter(|m| codex_pooler_core::request::is_model_name(m) && !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    const VALID: &[(&str, &str)] = &[
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn reads_a_valid_handshake_and_answers_rfc_accept() {
        let hs = ClientHandshake::read(&headers(VALID)).unwrap();
        // The example of RFC 6455 section 1.3.
        assert_eq!(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let mut upstream = headers(&[
            ("x-codex-turn-state", "ts-1"),
            ("x-codex-primary-used-percent", "12.0"),
            ("openai-model", "gpt-5.1-codex"),
            ("x-models-etag", "e1"),
            ("set-cookie", "a=b"),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("x-codex-websocket-max-message-bytes", "16777216"),
            ("x-openai-account-id", "acct-upstream"),
            ("chatgpt-account-id", "acct-upstream"),
            ("x-codex-account-email", "owner@example.com"),
            ("x-codex-pooler-route", "forged"),
        ]);
        upstream.insert("x-reasoning-included", "true".parse().unwrap());
        let response = hs.switching_protocols(&upstream, Some("strategy=x".parse().unwrap()));
        assert_eq!(response.status(), 101);
        let h = response.headers();
        assert_eq!(h["x-codex-turn-state"], "ts-1");
        assert_eq!(h["x-codex-primary-used-percent"], "12.0");
        assert_eq!(h["openai-model"], "gpt-5.1-codex");
        assert_eq!(h["x-models-etag"], "e1");
        assert_eq!(h["x-reasoning-included"], "true");
        assert_eq!(h[ROUTE_RECEIPT_HEADER], "strategy=x");
        assert_eq!(h["x-codex-websocket-max-message-bytes"], "16777216");
        for dropped in [
            "set-cookie",
            "sec-websocket-extensions",
            "x-openai-account-id",
            "chatgpt-account-id",
            "x-codex-account-email",
        ] {
            assert!(!h.contains_key(dropped), "{dropped}");
        }
        assert_eq!(h.get_all(ROUTE_RECEIPT_HEADER).iter().count(), 1);
    }

    #[test]
    fn refuses_incomplete_handshakes() {
        for missing in 0..VALID.len() {
            let partial: Vec<_> = VALID
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != missing)
                .map(|(_, p)| *p)
                .collect();
            assert!(ClientHandshake::read(&headers(&partial)).is_none());
        }
        let mut v8 = VALID.to_vec();
        v8[2] = ("sec-websocket-version", "8");
        assert!(ClientHandshake::read(&headers(&v8)).is_none());
    }

    #[test]
    fn model_hints_in_order() {
        let meta = r#"{"session_id":"s","model":"gpt-5.1-codex","request_kind":"prewarm"}"#;
        let uri: Uri = "/v1/responses".parse().unwrap();
        let h = headers(&[("x-codex-turn-metadata", meta)]);
        assert_eq!(model_hint(&uri, &h).as_deref(), Some("gpt-5.1-codex"));
        let h = headers(&[
            ("x-codex-turn-metadata", meta),
            ("x-codex-routing-hint", "model=gpt-5-codex"),
        ]);
        assert_eq!(model_hint(&uri, &h).as_deref(), Some("gpt-5-codex"));
        let uri: Uri = "/v1/responses?model=o3&x=1".parse().unwrap();
        assert_eq!(model_hint(&uri, &h).as_deref(), Some("o3"));
        assert_eq!(
            model_hint(&"/v1/responses".parse().unwrap(), &HeaderMap::new()),
            None
        );
    }
}
