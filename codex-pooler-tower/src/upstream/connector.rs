//! The one way this crate opens outbound HTTP connections: hyper-util's pooled client over
//! rustls with the ring provider, HTTP/1.1 and HTTP/2, `TCP_NODELAY`, a 10 s connect timeout.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A pooled client over rustls: `tls` when given (for a private CA), else the webpki roots.
/// `max_idle_per_host` bounds the idle connections kept per origin.
pub(crate) fn https_client<B>(
    tls: Option<rustls::ClientConfig>,
    max_idle_per_host: usize,
) -> Client<HttpsConnector<HttpConnector>, B>
where
    B: http_body::Body + Send,
    B::Data: Send,
{
    let builder = match tls {
        Some(tls) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls),
        // Invariant: the ring provider supports rustls' safe default protocol versions, the only
        // way this builder step can fail.
        None => hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports the default TLS versions"),
    };
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = builder
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(max_idle_per_host)
        .build(https)
}
