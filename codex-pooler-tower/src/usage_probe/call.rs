//! One authenticated `GET` of a backend path for an account (`/wham/usage`, `/codex/models`,
//! `/wham/accounts/check`): a small hyper client, the request it sends and the call itself, with
//! [unauthorized recovery](crate::upstream::recovery).

use std::time::Duration;

use bytes::Bytes;
use codex_pooler_core::model::UpstreamAccount;
use http::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::upstream::connector::https_client;
use crate::upstream::recovery::{Recovered, TokenAnswer, with_recovery};
use crate::upstream::{AccessToken, CredentialSource};
use crate::workspace::WorkspaceRoutes;

/// The usage endpoint, under an account's base URL.
pub const USAGE_PATH: &str = "/backend-api/wham/usage";

/// The largest usage body read (payloads are a few hundred bytes).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The probe's HTTP client: hyper over rustls (ring), like the upstream client.
pub(crate) type ProbeClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a call produced no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The token or account id cannot be a header value.
    InvalidHeader,
    /// Connecting or talking to upstream failed, or the body was too large.
    Transport,
    /// The call took longer than its timeout.
    Timeout,
}

/// An answer: the status, and the body when the status is a success.
pub(crate) type Answer = Result<(StatusCode, Bytes), CallError>;

impl TokenAnswer for Answer {
    type Evidence = ();

    fn is_unauthorized(&self) -> bool {
        matches!(self, Ok((StatusCode::UNAUTHORIZED, _)))
    }

    fn into_evidence(self) {}
}

/// `GET uri` for `account`, each attempt bounded by `timeout`, retried once with a refreshed
/// token after a 401 (`rediscover` hears of the refresh).
pub(crate) async fn get(
    client: &ProbeClient,
    credentials: &dyn CredentialSource,
    account: &UpstreamAccount,
    uri: &Uri,
    timeout: Duration,
    rediscover: Option<&WorkspaceRoutes>,
) -> Recovered<Answer> {
    with_recovery(credentials, account, rediscover, |token| {
        let request = usage_request(uri.clone(), account, &token);
        async move {
            let request = request.ok_or(CallError::InvalidHeader)?;
            tokio::time::timeout(timeout, send(client, request))
                .await
                .map_err(|_| CallError::Timeout)?
        }
    })
    .await
}

/// Builds the probe client with the default TLS roots.
pub(crate) fn default_client() -> ProbeClient {
    https_client(None, 8)
}

/// Builds the probe client with a custom TLS configuration (for a private CA).
pub(crate) fn client_with_tls(tls: rustls::ClientConfig) -> ProbeClient {
    https_client(Some(tls), 8)
}

/// The usage URI for `account`, under its own base URL or `default_base_url`.
pub(crate) fn usage_uri(account: &UpstreamAccount, default_base_url: &str) -> Option<Uri> {
    let base = account
        .base_url
        .as_deref()
        .unwrap_or(default_base_url)
        .trim_end_matches('/');
    format!("{base}{USAGE_PATH}").parse().ok()
}

/// The GET request, with the account's bearer token and `chatgpt-account-id`.
///
/// The account id header is left out when it is empty or a local placeholder (`email_...`,
/// `local_...`), which upstream would reject. `None` when a value cannot be a header.
pub(crate) fn usage_request(
    uri: Uri,
    account: &UpstreamAccount,
    token: &AccessToken,
) -> Option<Request<Empty<Bytes>>> {
    let mut request = Request::new(Empty::new());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {}", token.expose())).ok()?,
    );
    let id = account.chatgpt_account_id.trim();
    if !is_placeholder_account_id(id) {
        headers.insert("chatgpt-account-id", HeaderValue::try_from(id).ok()?);
    }
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    Some(request)
}

/// Whether `id` is empty or a local placeholder (`email_...`, `local_...`) rather than a ChatGPT
/// account id upstream knows.
pub(crate) fn is_placeholder_account_id(id: &str) -> bool {
    let id = id.trim();
    id.is_empty() || id.starts_with("email_") || id.starts_with("local_")
}

/// Sends `request`; reads the body only on success, up to [`MAX_BODY_BYTES`].
pub(crate) async fn send(
    client: &ProbeClient,
    request: Request<Empty<Bytes>>,
) -> Result<(StatusCode, Bytes), CallError> {
    let response = client
        .request(request)
        .await
        .map_err(|_| CallError::Transport)?;
    let status = response.status();
    if !status.is_success() {
        return Ok((status, Bytes::new()));
    }
    let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| CallError::Transport)?
        .to_bytes();
    Ok((status, body))
}
