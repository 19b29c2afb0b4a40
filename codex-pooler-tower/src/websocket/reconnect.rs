//! Moving a session to a fresh upstream socket on the same account, without the client noticing.
//!
//! The Codex backend ends a websocket after 60 minutes: the next `response.create` is answered
//! with a retryable `websocket_connection_limit_reached` `error` frame and the socket closes. A
//! session therefore changes sockets in two cases:
//! - **before the limit**: a turn starting on a socket older than
//!   [`WebsocketSettings::upstream_lifetime`](super::WebsocketSettings::upstream_lifetime) is
//!   sent on a fresh one;
//! - **on the limit**: a turn refused with that error before any of its output reached the
//!   client is sent again on a fresh socket, once (the error frame is not relayed).
//!
//! The fresh socket is opened by the same connector, for the same account, with the upgrade's
//! own headers (session ids, turn state, `x-codex-*`), after the old one is closed, so the
//! account's concurrency slot (held by the session) covers one socket at a time. A turn that
//! continues a response of the old socket is rewritten into one carrying its whole context
//! ([`Transcript::standalone`](super::transcript::Transcript::standalone)).

use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::connect::{ConnectError, UpstreamSocket};
use super::relay::Session;

/// The backend's error code for a socket past its lifetime.
pub(crate) const CONNECTION_LIMIT_CODE: &str = "websocket_connection_limit_reached";

/// The client turn sent upstream and not finished yet.
#[derive(Debug)]
pub(crate) struct InFlight {
    /// The frame as it went upstream (after the key's policy).
    pub(crate) frame: Utf8Bytes,
    /// Whether a frame of its answer (anything but `codex.rate_limits`) reached the client.
    pub(crate) answered: bool,
    /// Whether it was already sent again on a fresh socket.
    pub(crate) resent: bool,
}

impl InFlight {
    /// A turn just sent.
    pub(crate) fn new(frame: Utf8Bytes) -> Self {
        Self {
            frame,
            answered: false,
            resent: false,
        }
    }

    /// Whether a connection-limit refusal of this turn may be sent again unseen.
    pub(crate) fn may_resend(&self) -> bool {
        !self.answered && !self.resent
    }
}

/// Whether a socket opened at `opened` is due for a fresh one at `now`.
pub(crate) fn is_due(opened: Instant, lifetime: Duration, now: Instant) -> bool {
    now.saturating_duration_since(opened) >= lifetime
}

/// Whether an upstream text frame is the backend's connection-limit `error`.
pub(crate) fn is_connection_limit(text: &str) -> bool {
    if !text.contains(CONNECTION_LIMIT_CODE) {
        return false;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    value.get("type").and_then(serde_json::Value::as_str) == Some("error")
        && value
            .pointer("/error/code")
            .and_then(serde_json::Value::as_str)
            == Some(CONNECTION_LIMIT_CODE)
}

/// Why a session could not get a fresh upstream socket.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReopenError {
    /// The account was removed from the configuration.
    #[error("account {account} is no longer configured")]
    AccountGone {
        /// The account id.
        account: i64,
    },
    /// Upstream did not open a socket.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// Closes `old` and puts a fresh socket of the session's account in its place; learns quota from
/// the fresh `101`.
pub(crate) async fn reopen(
    session: &mut Session,
    old: &mut UpstreamSocket,
) -> Result<(), ReopenError> {
    super::relay::close(old, super::relay::close_frame_normal("reconnecting")).await;
    let shared = &session.shared;
    let account = shared
        .snapshot
        .load()
        .account(session.account)
        .cloned()
        .ok_or(ReopenError::AccountGone {
            account: session.account.0,
        })?;
    let connection = shared
        .websocket
        .connector
        .connect(&account, &session.client_headers)
        .await;
    let now = shared.clock.now();
    if let Some(refusal) = &connection.recovered {
        shared
            .live
            .observe_headers(account.id, &refusal.headers, now);
    }
    let (socket, headers) = connection.result?;
    shared.live.observe_headers(account.id, &headers, now);
    *old = socket;
    session.upstream_opened = Instant::now();
    session.reconnects += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_at_the_lifetime() {
        let opened = Instant::now();
        let lifetime = Duration::from_secs(55 * 60);
        assert!(!is_due(opened, lifetime, opened));
        assert!(!is_due(
            opened,
            lifetime,
            opened + lifetime - Duration::from_millis(1)
        ));
        assert!(is_due(opened, lifetime, opened + lifetime));
        // A clock read before the socket opened is never due.
        assert!(!is_due(opened + lifetime, lifetime, opened));
    }

    #[test]
    fn recognises_the_connection_limit_error_only() {
        let limit = r#"{"type":"error","status":400,"error":{"type":"invalid_request_error","code":"websocket_connection_limit_reached","message":"Responses websocket connection limit reached (60 minutes)."}}"#;
        assert!(is_connection_limit(limit));
        let other =
            r#"{"type":"error","status":400,"error":{"code":"previous_response_not_found"}}"#;
        assert!(!is_connection_limit(other));
        let delta =
            r#"{"type":"response.output_text.delta","delta":"websocket_connection_limit_reached"}"#;
        assert!(!is_connection_limit(delta));
    }

    #[test]
    fn a_turn_is_resent_once_and_only_unanswered() {
        let mut turn = InFlight::new(Utf8Bytes::from_static("{}"));
        assert!(turn.may_resend());
        turn.resent = true;
        assert!(!turn.may_resend());
        let mut answered = InFlight::new(Utf8Bytes::from_static("{}"));
        answered.answered = true;
        assert!(!answered.may_resend());
    }
}
