//! [`UpstreamClient`]: sends one attempt to one upstream Codex account.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::request::UpstreamCall;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use super::connector::https_client;
use super::headers::supply_session_id;
use super::recovery::{TokenAnswer, with_recovery};
use super::{AccessToken, CredentialError, CredentialSource, forward_request_headers};
use crate::workspace::{ROUTING_OVERRIDE_HEADER, WorkspaceRoutes};

/// The origin of the ChatGPT Codex backend.
pub const DEFAULT_UPSTREAM_BASE_URL: &str = "https://chatgpt.com";

/// Why an attempt could not be sent or answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No credential for the account.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The account's base URL does not form a valid URI.
    #[error("invalid upstream url for account {account}")]
    InvalidUrl {
        /// The account id.
        account: i64,
    },
    /// The request has no upstream path (a finalize request without a validated file id).
    #[error("the request has no upstream path")]
    NoUpstreamPath,
    /// A header value could not be encoded.
    #[error("invalid upstream header value")]
    InvalidHeader,
    /// Connecting or talking to upstream failed.
    #[error("upstream transport error: {0}")]
    Transport(#[source] hyper_util::client::legacy::Error),
}

/// The HTTP client for upstream Codex accounts: a pooled hyper client over rustls (ring).
///
/// For each [`UpstreamCall`] it sends `POST {base}/backend-api/codex/responses` with the
/// account's `Authorization: Bearer` token and `chatgpt-account-id`, the allowed client headers
/// and the request body unchanged, and returns the response head with its body still streaming.
/// `{base}` is the account's discovered workspace origin for model traffic (with
/// `x-openai-account-routing-override` when discovery named one, see
/// [`workspace`](crate::workspace)), else its configured base URL. A 401 refreshes the token
/// once and retries once on the same account.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: Arc<dyn CredentialSource>,
    default_base_url: Arc<str>,
    routes: WorkspaceRoutes,
}

impl UpstreamClient {
    /// A client using `credentials`, sending accounts without their own base URL to
    /// `default_base_url`.
    pub fn new(credentials: Arc<dyn CredentialSource>, default_base_url: &str) -> Self {
        Self::build(credentials, default_base_url, None)
    }

    /// Like [`UpstreamClient::new`] with a custom TLS configuration (for a private CA).
    pub fn with_tls_config(
        credentials: Arc<dyn CredentialSource>,
        default_base_url: &str,
        tls: rustls::ClientConfig,
    ) -> Self {
        Self::build(credentials, default_base_url, Some(tls))
    }

    fn build(
        credentials: Arc<dyn CredentialSource>,
        default_base_url: &str,
        tls: Option<rustls::ClientConfig>,
    ) -> Self {
        Self {
            // Many concurrent streams per upstream origin: keep plenty of connections warm.
            client: https_client(tls, 256),
            credentials,
            default_base_url: default_base_url.trim_end_matches('/').into(),
            routes: WorkspaceRoutes::default(),
        }
    }

    /// Sends each account's model traffic (responses, compaction) where `routes` says, with its
    /// routing override (default: an empty cache, every account on its configured base).
    #[must_use]
    pub fn with_workspace_routes(mut self, routes: WorkspaceRoutes) -> Self {
        self.routes = routes;
        self
    }

    async fn send(self, call: UpstreamCall) -> Result<http::Response<PoolBody>, UpstreamError> {
        // Upstream refusing the token: one refresh and one retry on the same account, before
        // the dispatcher moves on (an error here makes it fail over).
        let recovered = with_recovery(
            &*self.credentials,
            &call.account,
            Some(&self.routes),
            |token| {
                let call = &call;
                let this = &self;
                async move { this.attempt(call, &token).await }
            },
        )
        .await;
        Ok(recovered.answer??.map(boxed))
    }

    /// Sends `call` once, with `token`.
    async fn attempt(&self, call: &UpstreamCall, token: &AccessToken) -> Attempted {
        let account = &call.account;
        let configured = account
            .base_url
            .as_deref()
            .unwrap_or(&self.default_base_url)
            .trim_end_matches('/');
        // Model traffic follows the account's discovered workspace route; the other routes
        // (files, images, transcription) stay on the configured base, as the Codex CLI's do.
        let route = call
            .request
            .route
            .class
            .is_model_turn()
            .then(|| self.routes.get(account.id))
            .flatten()
            .unwrap_or_default();
        let base = route.base(configured);
        // Built by the gateway from the route class (and a validated file id), never copied
        // from the client's path or query.
        let path = call
            .request
            .upstream_path()
            .ok_or(UpstreamError::NoUpstreamPath)?;
        let uri: Uri = format!("{base}{path}")
            .parse()
            .map_err(|_| UpstreamError::InvalidUrl {
                account: account.id.0,
            })?;

        let mut headers = HeaderMap::with_capacity(call.request.headers.len() + 4);
        forward_request_headers(&call.request.headers, &mut headers);
        supply_session_id(
            call.request.facts.continuity.upstream_session.as_deref(),
            &mut headers,
        );
        if let Some(routing) = route.routing_override {
            headers.insert(ROUTING_OVERRIDE_HEADER, routing.header_value());
        }
        let bearer = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| UpstreamError::InvalidHeader)?;
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(
            "chatgpt-account-id",
            HeaderValue::try_from(account.chatgpt_account_id.as_str())
                .map_err(|_| UpstreamError::InvalidHeader)?,
        );
        // JSON unless the client sent something else (multipart audio for transcription).
        let content_type = call
            .request
            .headers
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_TYPE, content_type);

        let mut request = Request::new(Full::new(call.request.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        self.client
            .request(request)
            .await
            .map_err(UpstreamError::Transport)
    }
}

/// One attempt's answer: the response head with its body still streaming.
type Attempted = Result<http::Response<hyper::body::Incoming>, UpstreamError>;

impl TokenAnswer for Attempted {
    type Evidence = ();

    fn is_unauthorized(&self) -> bool {
        matches!(self, Ok(response) if response.status() == StatusCode::UNAUTHORIZED)
    }

    /// The refused response is dropped before the retry, freeing its connection.
    fn into_evidence(self) {}
}

impl Service<UpstreamCall> for UpstreamClient {
    type Response = http::Response<PoolBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The hyper client queues internally; it is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: UpstreamCall) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.send(call).await.map_err(Into::into) })
    }
}
