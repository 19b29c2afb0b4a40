//! Reading an upstream answer: whether to move on, and its error body.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;

use super::ERROR_BODY_LIMIT;
use crate::body::PoolBody;

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
