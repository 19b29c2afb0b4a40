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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use codex_pooler_core::model::{Snapshot, SnapshotHandle};
    use codex_pooler_core::store::StoreState;
    use codex_pooler_tower::Pooler;
    use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
    use codex_pooler_tower::keys::KeyHasher;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::admin::AdminState;
    use crate::mcp::{McpSettings, router};
    use crate::operators::{NewOperator, OperatorTokenMaterial, Role, TokenKind};
    use crate::store::{NewOperatorToken, SqlStore};

    async fn state() -> AdminState {
        let key = SealingKey::from_bytes([3; 32], 1);
        let hasher = KeyHasher::from_sealing_key(&key);
        let pooler = Pooler::builder(
            SnapshotHandle::new(Snapshot::build(StoreState::default())),
            hasher.clone(),
        )
        .build();
        AdminState {
            store: Arc::new(SqlStore::connect("sqlite::memory:").await.unwrap()),
            hasher,
            sealer: Arc::new(SecretSealer::new(vec![key], 1).unwrap()),
            pooler,
            login_issuer: "http://127.0.0.1:9".to_owned(),
            logins: crate::admin::device_logins::DeviceLogins::default(),
        }
    }

    /// A token of `kind` for a new owner, expiring at `expires_at`.
    async fn token(
        state: &AdminState,
        name: &str,
        kind: TokenKind,
        expires_at: SystemTime,
    ) -> String {
        let operator = state
            .store
            .create_operator(NewOperator {
                name: name.to_owned(),
                role: Role::Owner,
                pools: vec![],
            })
            .await
            .unwrap();
        let generated = OperatorTokenMaterial::generate(kind);
        state
            .store
            .create_operator_token(NewOperatorToken {
                operator: operator.id,
                kind,
                label: "test".to_owned(),
                prefix: generated.prefix,
                hash: state.hasher.hash(generated.plaintext.expose()),
                key_version: state.hasher.key_version(),
                expires_at: Some(expires_at),
            })
            .await
            .unwrap();
        generated.plaintext.expose().to_owned()
    }

    async fn initialize(state: &AdminState, token: &str) -> (StatusCode, String) {
        let request = Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
            ))
            .unwrap();
        let response = router(state.clone(), &McpSettings::default())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn an_expired_mcp_token_is_refused_and_a_live_one_is_not() {
        let state = state().await;
        let past = SystemTime::now() - Duration::from_secs(60);
        let expired = token(&state, "late", TokenKind::Mcp, past).await;
        let (status, body) = initialize(&state, &expired).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            r#"{"error":{"code":"token_expired","message":"this operator token has expired"}}"#
        );

        let future = SystemTime::now() + Duration::from_secs(3600);
        let live = token(&state, "early", TokenKind::Mcp, future).await;
        let (status, body) = initialize(&state, &live).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("codex-pooler"), "{body}");

        let api = token(&state, "rest", TokenKind::Api, future).await;
        let (status, body) = initialize(&state, &api).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            r#"{"error":{"code":"invalid_token","message":"the bearer credential is not a valid operator mcp token"}}"#
        );
    }
}
