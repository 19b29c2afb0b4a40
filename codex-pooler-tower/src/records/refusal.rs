//! [`refuse`]: a pooler error as the answer of a layer that stops the request.

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::{ErrorCode, PoolerError};
use http::Response;

/// The error code of a request a layer refused, in the refusal's response extensions, so the
/// [`Record`](super::service::Record) layer above records why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) ErrorCode);

/// `error`'s response, marked as a refusal for the request record.
pub(crate) fn refuse(error: &PoolerError) -> Response<PoolBody> {
    let mut response = error.to_response();
    response.extensions_mut().insert(Refusal(error.code()));
    response
}
