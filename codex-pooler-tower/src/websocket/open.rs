//! Opening a session: plan the account and open its upstream websocket through the pooler's
//! Plan and Dispatch stack, then answer `101`.

use std::sync::Arc;
use std::time::SystemTime;

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::PoolId;
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::record::{RecordEnd, RequestRecord};
use codex_pooler_core::request::Route;
use codex_pooler_core::request::{FactsError, RequestFacts};
use codex_pooler_core::request::{PoolContext, PoolRequest};
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::upgrade::OnUpgrade;

use tower::ServiceExt;

use super::connect::OpenedSocket;
use super::handshake::{ClientHandshake, model_hint};
use super::key_watch::SessionKey;
use super::relay::{self, Session};
use super::turns::{self, TurnLedger};
use crate::keys::parse_pool_key;
use crate::pooler::Shared;
use crate::records::close_record;

/// Answers an authenticated websocket upgrade on `/responses`.
///
/// 1. Anything but a valid RFC 6455 handshake on a connection that can be upgraded: `426`.
/// 2. Plan the session like an HTTP request whose model comes from the upgrade's hints; a
///    rejection answers its own error.
/// 3. Open the upstream websocket through `Dispatch`, as an HTTP request is sent: each candidate
///    in turn, moving on after a connect error, a 429 or a 5xx, waiting for accounts upstream
///    refused for concurrency; any other refusal (426, 404, ...) stops there.
/// 4. No candidate opened: `426`, so the Codex CLI falls back to HTTP.
/// 5. Otherwise answer `101` with upstream's Codex headers and relay frames in a task of its
///    own for the socket's life, holding the account's concurrency slot.
pub(crate) async fn upgrade<B>(
    shared: Arc<Shared>,
    ctx: PoolContext,
    route: Route,
    mut request: Request<B>,
    received_at: SystemTime,
) -> Response<PoolBody> {
    let Some(handshake) = ClientHandshake::read(request.headers()) else {
        return PoolerError::websocket_unsupported().to_response();
    };
    // Absent when the server under the pooler cannot hand the connection over (HTTP/2, or a
    // server without upgrade support).
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return PoolerError::websocket_unsupported().to_response();
    };
    let Some(key_prefix) = key_prefix(request.headers()) else {
        return PoolerError::invalid_api_key().to_response();
    };
    // The hash the client's secret matched (a rotated key's old one during its grace).
    let matched = request
        .extensions()
        .get::<crate::auth::MatchedSecret>()
        .map(|m| m.0);
    let (parts, body) = request.into_parts();
    drop(body);
    let snapshot = shared.snapshot.load();
    let model =
        model_hint(&parts.uri, &parts.headers).or_else(|| pool_default_model(&snapshot, ctx.pool));
    drop(snapshot);
    let mut template = turns::template(ctx, model.clone(), received_at);
    let facts = match session_facts(&parts.headers, model.as_deref()) {
        Ok(facts) => facts,
        Err(err) => {
            let error = PoolerError::from(err);
            reject(&shared, template, &error, 0);
            return error.to_response();
        }
    };
    let client_headers = parts.headers.clone();
    let pool_request = PoolRequest::new(ctx, route, facts, received_at)
        .with_method(parts.method)
        .with_headers(parts.headers)
        .with_seed(rand::random());
    // The same Plan and Dispatch as HTTP requests, over the websocket connector: busy
    // accounts are waited for and fresh plans asked for the same way.
    let outcome = match shared
        .websocket
        .pipeline
        .clone()
        .oneshot(pool_request)
        .await
    {
        Ok(outcome) => outcome,
        Err(never) => match never {},
    };
    template.set_exclusions(&outcome.exclusions);
    let Some(receipt) = outcome.receipt.as_ref() else {
        // Not planned: the rejection's own error.
        let error = outcome
            .error
            .unwrap_or_else(PoolerError::upstream_unavailable);
        reject(&shared, template, &error, 0);
        return error.to_response();
    };
    let receipt = receipt.header_value(&shared.handles);
    let socket = (outcome.response.status() == StatusCode::SWITCHING_PROTOCOLS)
        .then(|| outcome.response.extensions().get::<OpenedSocket>()?.take())
        .flatten();
    let attempts = outcome.attempts.len();
    let (Some(socket), Some(account), Some(guard)) = (socket, outcome.served_by, outcome.guard)
    else {
        // No account's websocket opened: a refusal of websockets (426, 404) or of the request
        // would be the same on every account; HTTP, where the client falls back, will say why.
        let error = PoolerError::websocket_unsupported();
        reject(&shared, template, &error, attempts);
        return error.to_response();
    };
    let headers = outcome.response.into_parts().0.headers;
    template.account = Some(account.id);
    template.status = StatusCode::OK.as_u16();
    template.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    let ledger = TurnLedger::new(
        template,
        Arc::clone(&shared.records),
        Arc::clone(&shared.clock),
    );
    let mut response =
        handshake.switching_protocols(&headers, HeaderValue::from_str(&receipt).ok());
    shared.models_etags.rewrite(
        response.headers_mut(),
        &shared.snapshot,
        &shared.live,
        ctx.pool,
    );
    let client_message_limit = shared.websocket.settings.client_message_limit(&headers);
    let key = SessionKey {
        hash: matched.or_else(|| shared.snapshot.load().key(ctx.key).map(|k| k.hash)),
        prefix: key_prefix,
        id: ctx.key,
        pool: ctx.pool,
    };
    let session = Session {
        client_message_limit,
        shared,
        ctx,
        key,
        account: account.id,
        ledger,
        guard,
        client_headers,
        upstream_opened: tokio::time::Instant::now(),
        reconnects: 0,
        in_flight: None,
        transcript: super::transcript::Transcript::default(),
    };
    let open = session
        .shared
        .metrics
        .as_ref()
        .map(|m| m.open_stream(crate::metrics::StreamKind::Websocket));
    tokio::spawn(async move {
        let _open = open;
        relay::run(session, on_upgrade, socket).await;
    });
    response
}

/// Routing facts of a session: its headers (session ids, turn state) and the hinted model. A
/// continuity-id header of no id shape refuses the upgrade.
fn session_facts(headers: &HeaderMap, model: Option<&str>) -> Result<RequestFacts, FactsError> {
    let body = serde_json::json!({ "model": model, "stream": true }).to_string();
    RequestFacts::from_json(headers, body.as_bytes())
}

/// Without a hint, the first model listed by a routable account of the pool (then by any).
fn pool_default_model(snapshot: &Snapshot, pool: PoolId) -> Option<String> {
    let accounts = snapshot.pool_accounts(pool);
    accounts
        .iter()
        .filter(|a| a.lifecycle.is_routable())
        .chain(accounts.iter())
        .find_map(|a| a.models.first().cloned())
}

/// The public prefix of the presented Pool API key (already authenticated).
fn key_prefix(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    parse_pool_key(token.trim())
        .ok()
        .map(|key| key.prefix.to_owned())
}

/// The record of an upgrade that did not open a session.
fn reject(shared: &Shared, mut record: RequestRecord, error: &PoolerError, attempts: usize) {
    record.status = error.status().as_u16();
    record.error_code = Some(error.code());
    record.attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    close_record(
        record,
        RecordEnd::Rejected,
        shared.clock.now(),
        shared.records.as_ref(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_facts_carry_model_and_session() {
        let mut headers = HeaderMap::new();
        headers.insert("session-id", "s-1".parse().unwrap());
        headers.insert("x-codex-turn-state", "ts".parse().unwrap());
        let facts = session_facts(&headers, Some("gpt-5.1-codex")).unwrap();
        assert_eq!(facts.model.as_deref(), Some("gpt-5.1-codex"));
        assert!(facts.stream);
        assert_eq!(facts.continuity.session.as_deref(), Some("session-id:s-1"));
        assert_eq!(facts.continuity.turn_state.as_deref(), Some("ts"));
        assert_eq!(session_facts(&HeaderMap::new(), None).unwrap().model, None);
        headers.insert("session-id", "s".repeat(10 * 1024).parse().unwrap());
        assert_eq!(
            session_facts(&headers, None),
            Err(FactsError::InvalidId {
                param: "session-id"
            })
        );
    }

    #[test]
    fn key_prefix_needs_a_bearer_pool_key() {
        let mut headers = HeaderMap::new();
        assert_eq!(key_prefix(&headers), None);
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(key_prefix(&headers), None);
    }
}
