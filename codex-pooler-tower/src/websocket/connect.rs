//! [`UpstreamConnector`]: opens the upstream websocket of one account; [`WebsocketUpstream`]:
//! the same as a service of the shape of the HTTP upstream client, for `Dispatch`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::UpstreamAccount;
use codex_pooler_core::request::UPSTREAM_RESPONSES_PATH;
use codex_pooler_core::request::UpstreamCall;
use codex_pooler_core::request::{BodyLen, HeaderNames};
use http::header::{AUTHORIZATION, HeaderValue};
use http::{HeaderMap, StatusCode};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream, tungstenite};

use super::WebsocketSettings;
use crate::upstream::recovery::{TokenAnswer, with_recovery};
use crate::upstream::{AccessToken, CredentialError, CredentialSource, forward_request_headers};
use crate::workspace::{ROUTING_OVERRIDE_HEADER, WorkspaceRoutes};

/// An open upstream websocket.
pub(crate) type UpstreamSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why an upstream websocket could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// No credential for the account.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The account's base URL does not form a websocket URL.
    #[error("invalid upstream websocket url for account {account}")]
    InvalidUrl {
        /// The account id.
        account: i64,
    },
    /// A header value could not be encoded.
    #[error("invalid upstream header value")]
    InvalidHeader,
    /// Connecting and the handshake took longer than the connect timeout.
    #[error("upstream websocket handshake timed out")]
    Timeout,
    /// Upstream answered the upgrade with something other than `101`.
    #[error("upstream refused the websocket upgrade with {}", refusal.status)]
    Refused {
        /// What it answered.
        refusal: Box<Refusal>,
    },
    /// Connecting, TLS or the handshake failed.
    #[error("upstream websocket transport error: {0}")]
    Transport(#[source] Box<tungstenite::Error>),
}

/// A non-`101` answer to the upgrade: kept only to learn quota evidence from it. `Debug` shows
/// header names and the body's length, no values.
pub(crate) struct Refusal {
    /// The status.
    pub(crate) status: StatusCode,
    /// The response headers (quota headers, ...).
    pub(crate) headers: HeaderMap,
    /// Whatever of the body arrived with the head.
    pub(crate) body: Bytes,
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusal")
            .field("status", &self.status)
            .field("headers", &HeaderNames(&self.headers))
            .field("body", &BodyLen(self.body.len()))
            .finish()
    }
}

/// Opens `GET {base}/backend-api/codex/responses` websockets for upstream accounts, over
/// rustls (ring), HTTP/1.1 only.
#[derive(Clone, Debug)]
pub(crate) struct UpstreamConnector {
    credentials: Arc<dyn CredentialSource>,
    default_base_url: Arc<str>,
    tls: Arc<rustls::ClientConfig>,
    settings: WebsocketSettings,
    routes: WorkspaceRoutes,
}

impl UpstreamConnector {
    /// A connector using `credentials`, sending accounts to their workspace route in `routes`,
    /// else their own base URL, else `default_base_url`, verifying TLS with `tls` (default: the
    /// webpki roots).
    pub(crate) fn new(
        credentials: Arc<dyn CredentialSource>,
        default_base_url: &str,
        tls: Option<rustls::ClientConfig>,
        settings: WebsocketSettings,
        routes: WorkspaceRoutes,
    ) -> Self {
        let mut tls = tls.unwrap_or_else(default_tls);
        // A websocket upgrade is an HTTP/1.1 exchange: never let ALPN pick h2.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            credentials,
            default_base_url: default_base_url.trim_end_matches('/').into(),
            tls: Arc::new(tls),
            settings,
            routes,
        }
    }

    /// Opens the account's websocket with the allowed client headers, its bearer token and
    /// `chatgpt-account-id`, at its discovered workspace origin with its routing override (else
    /// its configured base URL). A `401` refusal refreshes the token once and reconnects once.
    pub(crate) async fn connect(
        &self,
        account: &UpstreamAccount,
        client_headers: &HeaderMap,
    ) -> Connection {
        let recovered = with_recovery(&*self.credentials, account, Some(&self.routes), |token| {
            self.attempt(account, client_headers, token)
        })
        .await;
        Connection {
            result: recovered.answer.unwrap_or_else(|err| Err(err.into())),
            recovered: recovered.refused.flatten(),
        }
    }

    /// One upgrade with `token`.
    async fn attempt(
        &self,
        account: &UpstreamAccount,
        client_headers: &HeaderMap,
        token: AccessToken,
    ) -> Opened {
        let configured = account
            .base_url
            .as_deref()
            .unwrap_or(&self.default_base_url);
        let route = self.routes.get(account.id).unwrap_or_default();
        let invalid_url = || ConnectError::InvalidUrl {
            account: account.id.0,
        };
        let url = websocket_url(route.base(configured)).ok_or_else(invalid_url)?;
        let mut request = url.into_client_request().map_err(|_| invalid_url())?;
        let headers = request.headers_mut();
        forward_request_headers(client_headers, headers);
        if let Some(routing) = route.routing_override {
            headers.insert(ROUTING_OVERRIDE_HEADER, routing.header_value());
        }
        let bearer = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| ConnectError::InvalidHeader)?;
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(
            "chatgpt-account-id",
            HeaderValue::try_from(account.chatgpt_account_id.as_str())
                .map_err(|_| ConnectError::InvalidHeader)?,
        );

        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            // The upstream side: what upstream may send.
            Some(frame_config(self.settings.max_message_size)),
            true,
            Some(Connector::Rustls(Arc::clone(&self.tls))),
        );
        match tokio::time::timeout(self.settings.connect_timeout, connecting).await {
            Err(_) => Err(ConnectError::Timeout),
            Ok(Ok((socket, response))) => Ok((socket, response.into_parts().0.headers)),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let (parts, body) = response.into_parts();
                Err(ConnectError::Refused {
                    refusal: Box::new(Refusal {
                        status: parts.status,
                        headers: parts.headers,
                        body: body.map(Bytes::from).unwrap_or_default(),
                    }),
                })
            }
            Ok(Err(err)) => Err(ConnectError::Transport(Box::new(err))),
        }
    }
}

/// Messages and frames of up to `max` bytes (a session's client side takes
/// [`WebsocketSettings::client_message_limit`](super::WebsocketSettings::client_message_limit)).
pub(crate) fn frame_config(max: usize) -> WebSocketConfig {
    let max = Some(max);
    WebSocketConfig::default()
        .max_message_size(max)
        .max_frame_size(max)
}

/// One upgrade attempt: the socket and upstream's `101` headers, or why not.
pub(crate) type Opened = Result<(UpstreamSocket, HeaderMap), ConnectError>;

impl TokenAnswer for Opened {
    type Evidence = Option<Box<Refusal>>;

    fn is_unauthorized(&self) -> bool {
        matches!(self, Err(ConnectError::Refused { refusal }) if refusal.status == StatusCode::UNAUTHORIZED)
    }

    fn into_evidence(self) -> Self::Evidence {
        match self {
            Err(ConnectError::Refused { refusal }) => Some(refusal),
            _ => None,
        }
    }
}

/// What opening an account's websocket came to.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The open socket and upstream's `101` headers, or why there is none.
    pub(crate) result: Opened,
    /// A `401` refusal that led to a refresh (and a reconnect, unless the refresh failed): its
    /// headers and body are still quota evidence.
    pub(crate) recovered: Option<Box<Refusal>>,
}

/// The upstream socket of an opened websocket, carried in the extensions of the `101` answer
/// [`WebsocketUpstream`] gives. Taken once, by the session that relays it.
#[derive(Clone)]
pub(crate) struct OpenedSocket(Arc<Mutex<Option<UpstreamSocket>>>);

impl OpenedSocket {
    fn new(socket: UpstreamSocket) -> Self {
        Self(Arc::new(Mutex::new(Some(socket))))
    }

    /// The socket, unless it was taken already.
    pub(crate) fn take(&self) -> Option<UpstreamSocket> {
        self.0.lock().ok()?.take()
    }
}

/// Opens an account's upstream websocket as an answer to an [`UpstreamCall`]: a `101` with
/// upstream's headers and the socket in its extensions ([`OpenedSocket`]), upstream's refusal
/// as an HTTP answer (status, headers, body), or a [`ConnectError`] when nothing answered. The
/// same shape as the HTTP upstream client, so websocket opens go through the same `Dispatch`.
#[derive(Clone, Debug)]
pub(crate) struct WebsocketUpstream {
    connector: UpstreamConnector,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl WebsocketUpstream {
    /// Opens with `connector`, recording the evidence of a refresh's `401` into `live`.
    pub(crate) fn new(
        connector: UpstreamConnector,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            connector,
            live,
            clock,
        }
    }
}

impl tower::Service<UpstreamCall> for WebsocketUpstream {
    type Response = http::Response<PoolBody>;
    type Error = ConnectError;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<PoolBody>, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: UpstreamCall) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let connection = this
                .connector
                .connect(&call.account, &call.request.headers)
                .await;
            if let Some(refusal) = &connection.recovered {
                // The 401 that led to a refresh: its quota headers are evidence all the same.
                this.live
                    .observe_headers(call.account.id, &refusal.headers, this.clock.now());
            }
            match connection.result {
                Ok((socket, headers)) => {
                    let mut response = http::Response::new(full(Bytes::new()));
                    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                    *response.headers_mut() = headers;
                    response.extensions_mut().insert(OpenedSocket::new(socket));
                    Ok(response)
                }
                Err(ConnectError::Refused { refusal }) => {
                    tracing::debug!(account = %call.account.id, status = %refusal.status, "upstream refused the websocket");
                    let Refusal {
                        status,
                        headers,
                        body,
                    } = *refusal;
                    let mut response = http::Response::new(full(body));
                    *response.status_mut() = status;
                    *response.headers_mut() = headers;
                    Ok(response)
                }
                Err(err) => Err(err),
            }
        })
    }
}

/// `{base}/backend-api/codex/responses` with the scheme turned into `ws` / `wss`.
fn websocket_url(base: &str) -> Option<String> {
    let base = base.trim_end_matches('/');
    let (scheme, rest) = base.split_once("://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return None,
    };
    Some(format!("{scheme}://{rest}{UPSTREAM_RESPONSES_PATH}"))
}

/// TLS with the ring provider and the webpki roots, like the HTTP upstream client.
fn default_tls() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Invariant: the ring provider supports rustls' safe default protocol versions, the only
    // way this builder step can fail.
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls() {
        assert_eq!(
            websocket_url("https://chatgpt.com/").as_deref(),
            Some("wss://chatgpt.com/backend-api/codex/responses")
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:9").as_deref(),
            Some("ws://127.0.0.1:9/backend-api/codex/responses")
        );
        assert_eq!(websocket_url("ftp://x"), None);
        assert_eq!(websocket_url("chatgpt.com"), None);
    }

    #[test]
    fn refusals_debug_without_values() {
        let mut headers = HeaderMap::new();
        headers.insert("set-cookie", "sid=UPSTREAM-SECRET".parse().unwrap());
        let refusal = Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers,
            body: Bytes::from_static(b"BODY-MARKER"),
        };
        let shown = format!("{refusal:?}");
        assert!(
            shown.contains("set-cookie") && shown.contains("<11 bytes>"),
            "{shown}"
        );
        assert!(!shown.contains("UPSTREAM-SECRET") && !shown.contains("BODY-MARKER"));
    }

    #[test]
    fn default_tls_offers_http1_only() {
        let connector = UpstreamConnector::new(
            Arc::new(crate::upstream::StaticCredentials::new()),
            "https://chatgpt.com",
            None,
            WebsocketSettings::default(),
            WorkspaceRoutes::default(),
        );
        assert_eq!(connector.tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    /// An upstream at `addr` and a call for account 1 on it.
    fn service_and_call(
        addr: std::net::SocketAddr,
    ) -> (WebsocketUpstream, UpstreamCall, Arc<LiveState>) {
        use codex_pooler_core::model::{AccountId, KeyId, PoolId};
        use codex_pooler_core::request::{PoolContext, PoolRequest};
        use codex_pooler_core::request::{Route, RouteClass, RouteFamily};

        let credentials = crate::upstream::StaticCredentials::new();
        credentials.insert(AccountId(1), AccessToken::new("tok-1"));
        let connector = UpstreamConnector::new(
            Arc::new(credentials),
            &format!("http://{addr}"),
            None,
            WebsocketSettings::default(),
            WorkspaceRoutes::default(),
        );
        let live = Arc::new(LiveState::new());
        let clock: Arc<dyn Clock> = Arc::new(codex_pooler_core::clock::ManualClock::at_unix(1_000));
        let account = UpstreamAccount::new(AccountId(1), "acc-1")
            .with_chatgpt_account_id("workspace-1")
            .with_models(["m"]);
        let request = PoolRequest::new(
            PoolContext {
                pool: PoolId(1),
                key: KeyId(1),
            },
            Route {
                family: RouteFamily::CodexBackend,
                class: RouteClass::Responses,
            },
            Default::default(),
            std::time::SystemTime::UNIX_EPOCH,
        )
        .with_method(http::Method::GET)
        .with_seed(1);
        let call = UpstreamCall {
            account: Arc::new(account),
            request: Arc::new(request),
            attempt: 1,
        };
        (
            WebsocketUpstream::new(connector, Arc::clone(&live), clock),
            call,
            live,
        )
    }

    #[tokio::test]
    async fn an_opened_socket_rides_in_the_101s_extensions() {
        use tower::ServiceExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (service, call, _) = service_and_call(listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio_tungstenite::accept_async(stream).await.unwrap()
        });
        let response = service.oneshot(call).await.unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let opened = response.extensions().get::<OpenedSocket>().unwrap();
        assert!(opened.take().is_some());
        assert!(opened.take().is_none(), "the socket is taken once");
        drop(server.await.unwrap());
    }

    #[tokio::test]
    async fn a_refusal_is_an_http_answer_with_its_headers_and_body() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tower::ServiceExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (service, call, _) = service_and_call(listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            let body = r#"{"error":{"code":null}}"#;
            let answer = format!(
                "HTTP/1.1 429 Too Many Requests\r\nx-codex-primary-used-percent: 50\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        });
        let response = service.oneshot(call).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["x-codex-primary-used-percent"], "50");
        assert!(response.extensions().get::<OpenedSocket>().is_none());
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], br#"{"error":{"code":null}}"#);
    }
}
