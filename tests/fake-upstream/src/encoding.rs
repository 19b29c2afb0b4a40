//! Compressed answers, as `chatgpt.com` gives them: a request whose `Accept-Encoding` offers
//! `gzip` gets its body gzip-encoded (`Content-Encoding: gzip`), streamed bodies included, each
//! written chunk flushed at once so an SSE stream keeps its pace. The Codex CLI sends
//! `Accept-Encoding: zstd,gzip` on every HTTP request since 0.171; a gateway that copies the
//! header upstream gets bodies it must decode before it can read them. The fake speaks gzip
//! only (no zstd encoder is in the dependency graph), which a client offering both accepts.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::StreamExt;

/// Middleware: gzip the answer when the request offers `gzip` and the answer has a body to
/// compress (not a `101`, a `204` or a `304`, and not already encoded).
pub(crate) async fn compress(request: Request, next: Next) -> Response {
    let wants_gzip = request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .any(offers_gzip);
    let response = next.run(request).await;
    let status = response.status();
    if !wants_gzip
        || response.headers().contains_key(CONTENT_ENCODING)
        || matches!(
            status,
            StatusCode::SWITCHING_PROTOCOLS | StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
        )
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, gzip_body(body))
}

/// Whether an `Accept-Encoding` value offers `gzip` with a non-zero weight.
fn offers_gzip(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').any(|offer| {
        let mut parts = offer.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// `body` gzip-encoded as it streams: each chunk is compressed and flushed on its own, and
/// the gzip trailer follows the last one. A read error of `body` ends the stream with it.
fn gzip_body(body: Body) -> Body {
    struct Encoding {
        chunks: axum::body::BodyDataStream,
        encoder: Option<GzEncoder<Vec<u8>>>,
    }
    let start = Encoding {
        chunks: body.into_data_stream(),
        encoder: Some(GzEncoder::new(Vec::new(), Compression::fast())),
    };
    let stream = futures_util::stream::unfold(start, |mut state| async move {
        let mut encoder = state.encoder.take()?;
        match state.chunks.next().await {
            Some(Ok(chunk)) => {
                let out = encoder
                    .write_all(&chunk)
                    .and_then(|()| encoder.flush())
                    .map(|()| Bytes::from(std::mem::take(encoder.get_mut())));
                state.encoder = Some(encoder);
                Some((out.map_err(axum::Error::new), state))
            }
            Some(Err(e)) => Some((Err(e), state)),
            None => Some((
                encoder.finish().map(Bytes::from).map_err(axum::Error::new),
                state,
            )),
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_offer() {
        for (value, gzip) in [
            ("zstd,gzip", true),
            ("gzip", true),
            ("br, GZIP;q=0.5", true),
            ("*", true),
            ("gzip;q=0", false),
            ("zstd", false),
            ("identity", false),
        ] {
            assert_eq!(
                offers_gzip(&HeaderValue::from_static(value)),
                gzip,
                "{value}"
            );
        }
    }
}
