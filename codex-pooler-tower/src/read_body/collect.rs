//! [`collect_limited`]: a body read whole, up to a limit.

use bytes::{Bytes, BytesMut};
use codex_pooler_core::BoxError;
use codex_pooler_core::error::PoolerError;
use http_body::Body;
use http_body_util::BodyExt;

/// Reads `body` whole, refusing with `body_too_large` past `limit` bytes (at once when its size
/// hint already says so) and `invalid_request` when it cannot be read.
pub(crate) async fn collect_limited<B>(body: B, limit: usize) -> Result<Bytes, PoolerError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if body
        .size_hint()
        .exact()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(PoolerError::body_too_large(limit));
    }
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|_| PoolerError::invalid_request("the request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(PoolerError::body_too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
