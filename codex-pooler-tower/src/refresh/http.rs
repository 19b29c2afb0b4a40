//! [`OAuthHttp`]: the small HTTP client for the OAuth endpoints (token refresh, device login).
//!
//! Built like the upstream client (hyper-util over rustls with ring, webpki roots), but it sends
//! short request bodies and reads short answers whole, with a deadline.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use super::RefreshError;
use crate::upstream::connector::https_client;

/// The largest answer read from an OAuth endpoint (token answers are a few KiB).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long one OAuth call may take by default.
pub const DEFAULT_OAUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// The `originator` the Codex CLI sends to the auth server.
const ORIGINATOR: &str = "codex_cli_rs";

/// The `User-Agent` sent to the auth server (the Codex CLI's product token).
const CLIENT_USER_AGENT: &str = "codex_cli_rs/0.169.0 (codex-pooler)";

/// JSON bodies.
pub(crate) const JSON: &str = "application/json";

/// Form bodies.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// A pooled HTTPS client for the auth server.
#[derive(Clone, Debug)]
pub(crate) struct OAuthHttp {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl OAuthHttp {
    /// A client trusting the webpki roots.
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            client: https_client(None, 4),
            timeout,
        }
    }

    /// A client with a custom TLS configuration (for a private CA).
    pub(crate) fn with_tls_config(tls: rustls::ClientConfig, timeout: Duration) -> Self {
        Self {
            client: https_client(Some(tls), 4),
            timeout,
        }
    }

    /// The same client with another deadline.
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// POSTs `body` as `content_type` and reads the whole answer, within the deadline.
    pub(crate) async fn post(
        &self,
        uri: &Uri,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), RefreshError> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(ACCEPT, HeaderValue::from_static(JSON));
        headers.insert("originator", HeaderValue::from_static(ORIGINATOR));
        headers.insert(USER_AGENT, HeaderValue::from_static(CLIENT_USER_AGENT));
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| RefreshError::Transport(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| RefreshError::Transport(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| RefreshError::Timeout(self.timeout))?
    }
}

/// Parses an endpoint URL: an absolute `http` or `https` URI.
pub(crate) fn parse_endpoint(url: &str) -> Option<Uri> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    (scheme_ok && uri.host().is_some()).then_some(uri)
}
