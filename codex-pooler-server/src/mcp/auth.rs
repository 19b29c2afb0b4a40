//! The bearer check of every `/mcp` request: an operator MCP token, read from the store each
//! time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::admin::{AdminState, authenticate, bearer};
use crate::operators::TokenKind;

/// Lets the request through with its [`Caller`](crate::admin::Caller) in the extensions (where
/// the tools read it), or answers 401 with the REST API's error body.
pub(crate) async fn require_mcp_token(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match bearer(&parts) {
        Ok(presented) => authenticate(&state.store, &state.hasher, presented, TokenKind::Mcp).await,
        Err(err) => Err(err),
    };
    match caller {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(err) => err.into_response(),
    }
}
