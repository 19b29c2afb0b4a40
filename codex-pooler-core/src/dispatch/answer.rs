//! Reading an upstream answer: whether to move on, its error body, and what a success teaches
//! the continuity book.

use std::time::SystemTime;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;

use super::ERROR_BODY_LIMIT;
use crate::body::PoolBody;
use crate::live::LiveState;

/// After a successful answer: the request's soft keys now point at `account`, and a turn state
/// it issued keeps the rest of the turn there.
pub(super) fn learn_continuity(
    live: &LiveState,
    request: &crate::request::PoolRequest,
    account: crate::model::AccountId,
    headers: &http::HeaderMap,
    now: SystemTime,
) {
    let pool = request.ctx.pool;
    live.continuity
        .remember(pool, &request.facts.continuity, account, now);
    if let Some(state) = headers
        .get("x-codex-turn-state")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    {
        live.continuity.learn_turn_state(pool, state, account, now);
    }
}

/// Whether an upstream status moves the request to the next candidate.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Reads up to [`ERROR_BODY_LIMIT`] bytes of an error body; a longer or broken body reads as
/// empty (it is then not evidence of anything).
pub(super) async fn read_error_body(mut body: PoolBody) -> Bytes {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Bytes::new();
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > ERROR_BODY_LIMIT {
                return Bytes::new();
            }
            buf.extend_from_slice(&data);
        }
    }
    buf.freeze()
}
