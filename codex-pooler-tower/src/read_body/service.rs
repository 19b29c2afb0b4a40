//! [`ReadBody`]: the request body, limited and decoded, as bytes.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::PoolBody;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::CONTENT_ENCODING;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::collect_limited;
use crate::decode::{BodyLimits, decode_body};
use crate::records::refuse;

/// Reads the body whole up to [`BodyLimits::max_wire_bytes`] and decodes its
/// `Content-Encoding`; the inner service gets the decoded bytes (headers unchanged). A body too
/// large, unreadable, of an unknown encoding or decoding past its caps is refused here.
#[derive(Debug, Clone)]
pub(crate) struct ReadBody<S> {
    inner: S,
    limits: BodyLimits,
}

impl<S> ReadBody<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, limits: BodyLimits) -> Self {
        Self { inner, limits }
    }
}

impl<S, B> Service<Request<B>> for ReadBody<S>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service goes into the future; the clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limits = self.limits;
        async move {
            let (parts, body) = request.into_parts();
            let read = collect_limited(body, limits.max_wire_bytes)
                .await
                .and_then(|wire| decode_body(parts.headers.get(CONTENT_ENCODING), wire, limits));
            match read {
                Ok(bytes) => inner.call(Request::from_parts(parts, bytes)).await,
                Err(err) => Ok(refuse(&err)),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use http_body_util::{BodyExt, Full};
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::records::Refusal;

    /// Reads `body` sent with `encoding`; the inner service echoes the bytes it got.
    async fn read(body: Vec<u8>, encoding: Option<&str>) -> Response<PoolBody> {
        let inner = service_fn(|request: Request<Bytes>| async move {
            Ok::<_, Infallible>(Response::new(codex_pooler_core::body::full(
                request.into_body(),
            )))
        });
        let limits = BodyLimits {
            max_wire_bytes: 64,
            ..BodyLimits::default()
        };
        let mut request = Request::new(Full::new(Bytes::from(body)));
        if let Some(encoding) = encoding {
            request
                .headers_mut()
                .insert(CONTENT_ENCODING, encoding.parse().unwrap());
        }
        ReadBody::new(inner, limits).oneshot(request).await.unwrap()
    }

    fn refusal(response: &Response<PoolBody>) -> Option<&'static str> {
        response.extensions().get::<Refusal>().map(|r| r.0.as_str())
    }

    #[tokio::test]
    async fn a_body_over_the_wire_limit_is_refused() {
        let response = read(vec![b'x'; 65], None).await;
        assert_eq!(response.status().as_u16(), 413);
        assert_eq!(refusal(&response), Some("request_too_large"));
    }

    #[tokio::test]
    async fn an_unknown_encoding_is_refused() {
        let response = read(b"{}".to_vec(), Some("br")).await;
        assert_eq!(refusal(&response), Some("unsupported_content_encoding"));
    }

    #[tokio::test]
    async fn gzip_is_decoded_for_the_inner_service() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(br#"{"model":"m"}"#).unwrap();
        let response = read(gz.finish().unwrap(), Some("gzip")).await;
        assert_eq!(refusal(&response), None);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, r#"{"model":"m"}"#);
    }
}
