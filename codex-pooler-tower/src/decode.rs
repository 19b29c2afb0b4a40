//! Request body decoding: `Content-Encoding: zstd` and `gzip`, with size and ratio caps.
//!
//! The Codex CLI's built-in provider compresses request bodies with zstd. A compressed body is a
//! cheap way to make a server allocate a lot, so decoding stops at an absolute size and at a
//! maximum expansion ratio, whichever comes first.

use std::io::Read;

use bytes::Bytes;
use codex_pooler_core::error::PoolerError;
use http::HeaderValue;

/// Limits on request bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The most bytes accepted on the wire.
    pub max_wire_bytes: usize,
    /// The most bytes a compressed body may decode to.
    pub max_decoded_bytes: usize,
    /// The most a compressed body may expand (decoded / wire).
    pub max_ratio: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_wire_bytes: 32 * 1024 * 1024,
            max_decoded_bytes: 64 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Decodes `wire` according to its `Content-Encoding`.
pub fn decode_body(
    encoding: Option<&HeaderValue>,
    wire: Bytes,
    limits: BodyLimits,
) -> Result<Bytes, PoolerError> {
    let encoding = match encoding.map(|v| v.to_str().map(|s| s.trim().to_ascii_lowercase())) {
        None => return Ok(wire),
        Some(Ok(e)) => e,
        Some(Err(_)) => return Err(PoolerError::unsupported_encoding("<non-ascii>")),
    };
    let cap = limits
        .max_decoded_bytes
        .min(wire.len().saturating_mul(limits.max_ratio).max(1024));
    match encoding.as_str() {
        "" | "identity" => Ok(wire),
        "zstd" => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(&wire[..])
                .map_err(|_| PoolerError::invalid_request("request body is not valid zstd"))?;
            read_capped(decoder, cap, "zstd")
        }
        "gzip" | "x-gzip" => read_capped(flate2::read::GzDecoder::new(&wire[..]), cap, "gzip"),
        other => Err(PoolerError::unsupported_encoding(other)),
    }
}

fn read_capped(reader: impl Read, cap: usize, name: &str) -> Result<Bytes, PoolerError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| PoolerError::invalid_request(format!("request body is not valid {name}")))?;
    if out.len() > cap {
        return Err(PoolerError::body_too_large(cap));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zstd(data: &[u8]) -> Bytes {
        Bytes::from(ruzstd::encoding::compress_to_vec(
            data,
            ruzstd::encoding::CompressionLevel::Fastest,
        ))
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn decodes_zstd_and_gzip() {
        let body = br#"{"model":"gpt-5.1-codex","input":[]}"#;
        let z = HeaderValue::from_static("zstd");
        let g = HeaderValue::from_static("gzip");
        let l = BodyLimits::default();
        assert_eq!(decode_body(Some(&z), zstd(body), l).unwrap(), &body[..]);
        assert_eq!(decode_body(Some(&g), gzip(body), l).unwrap(), &body[..]);
        assert_eq!(
            decode_body(None, Bytes::from_static(body), l).unwrap(),
            &body[..]
        );
    }

    #[test]
    fn refuses_bombs_garbage_and_unknown_encodings() {
        let l = BodyLimits {
            max_wire_bytes: 1 << 20,
            max_decoded_bytes: 1 << 20,
            max_ratio: 10,
        };
        let bomb = vec![b'a'; 4 << 20];
        let err = decode_body(Some(&HeaderValue::from_static("zstd")), zstd(&bomb), l).unwrap_err();
        assert_eq!(err.code(), "request_too_large");
        let err = decode_body(Some(&HeaderValue::from_static("gzip")), gzip(&bomb), l).unwrap_err();
        assert_eq!(err.code(), "request_too_large");
        let err = decode_body(
            Some(&HeaderValue::from_static("zstd")),
            Bytes::from_static(b"nope"),
            l,
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        let err = decode_body(
            Some(&HeaderValue::from_static("br")),
            Bytes::from_static(b"x"),
            l,
        )
        .unwrap_err();
        assert_eq!(err.code(), "unsupported_content_encoding");
    }
}
