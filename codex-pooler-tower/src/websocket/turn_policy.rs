//! [`govern_turn`]: a client's `response.create` frame under the session key's policy, as HTTP
//! bodies are in `key_policy/`.

use codex_pooler_core::error::PoolerError;
use serde_json::json;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::frames::{self, TurnStart};
use super::relay::Session;
use crate::key_policy::{govern_body, rules_for};

/// What to do with a client text frame.
#[derive(Debug)]
pub(crate) enum TurnVerdict {
    /// Forward this frame (the client's, or rewritten by a rule); a turn starts when it has a
    /// [`TurnStart`].
    Forward(Utf8Bytes, Option<TurnStart>),
    /// Do not forward; answer the client with this `error` frame. The turn is refused.
    Refuse(Utf8Bytes, TurnStart, PoolerError),
}

/// Applies the key's model and effort rules to a `response.create` frame and admits the turn
/// under the key's limits; any other frame is forwarded as it is.
pub(crate) fn govern_turn(session: &Session, text: Utf8Bytes) -> TurnVerdict {
    let Some(turn) = frames::turn_start(text.as_str()) else {
        return TurnVerdict::Forward(text, None);
    };
    let shared = &session.shared;
    let snapshot = shared.snapshot.load();
    let Some(policy) = rules_for(&snapshot, session.ctx.key) else {
        return TurnVerdict::Forward(text, Some(turn));
    };
    let now = shared.clock.now();
    let raw = text.as_str().as_bytes();
    match govern_body(policy, session.ctx.key, raw, true, &shared.live, now) {
        Ok(None) => TurnVerdict::Forward(text, Some(turn)),
        Ok(Some(body)) => match Utf8Bytes::try_from(body) {
            // The rewrite names the model the turn now runs on.
            Ok(rewritten) => {
                let turn = frames::turn_start(rewritten.as_str()).unwrap_or(turn);
                TurnVerdict::Forward(rewritten, Some(turn))
            }
            Err(_) => TurnVerdict::Forward(text, Some(turn)),
        },
        Err(error) => TurnVerdict::Refuse(error_frame(&error), turn, error),
    }
}

/// The `error` frame a refused turn gets: the HTTP status and the OpenAI-shaped error, as the
/// backend sends its own errors over the socket.
fn error_frame(error: &PoolerError) -> Utf8Bytes {
    let mut frame = json!({
        "type": "error",
        "status": error.status().as_u16(),
        "error": error.body()["error"],
    });
    if let Some(after) = error.retry_after() {
        frame["headers"] = json!({ "retry-after": after.as_secs().max(1).to_string() });
    }
    Utf8Bytes::from(frame.to_string())
}
