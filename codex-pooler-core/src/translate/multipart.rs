//! `multipart/form-data` bodies (RFC 7578), read from and written to whole buffers.
//!
//! The `/v1` audio, image-edit and file uploads are multipart. Their bodies are already
//! buffered (and size-limited) by the gateway, so they are split here without streaming:
//! [`Form::parse`] reads the boundary from the `Content-Type`, each part's name, file name and
//! content type from its headers, and keeps its bytes as they are. [`FormWriter`] builds the
//! multipart bodies sent upstream.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::PoolerError;

/// The largest `/v1` upload the gateway takes (25 MiB: audio, image edits, files); a larger
/// one is 413 `request_too_large`.
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field name (`name="..."`).
    pub name: String,
    /// The file name of a file part (`filename="..."`).
    pub filename: Option<String>,
    /// The part's `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Bytes,
}

impl Part {
    /// The part's bytes as UTF-8 text, or a 400 naming the field.
    pub fn text(&self) -> Result<&str, PoolerError> {
        std::str::from_utf8(&self.data).map_err(|_| {
            PoolerError::invalid_request(format!("{} must be text", self.name))
                .with_param(self.name.clone())
        })
    }
}

/// A parsed form: its parts in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    /// Every part, in the order sent.
    pub parts: Vec<Part>,
}

impl Form {
    /// Parses `body` sent with `content_type` (which must be `multipart/form-data` with a
    /// boundary); a body over [`MAX_UPLOAD_BYTES`] is a 413 `request_too_large`, a malformed one
    /// a 400 `invalid_request`.
    pub fn parse(content_type: Option<&str>, body: &Bytes) -> Result<Self, PoolerError> {
        if body.len() > MAX_UPLOAD_BYTES {
            return Err(PoolerError::body_too_large(MAX_UPLOAD_BYTES));
        }
        let boundary = content_type
            .and_then(boundary_of)
            .ok_or_else(|| PoolerError::invalid_request("expected a multipart/form-data body"))?;
        let delimiter = format!("--{boundary}");
        let delimiter = delimiter.as_bytes();
        let malformed = || PoolerError::invalid_request("malformed multipart/form-data body");
        let mut rest = find(body, delimiter)
            .map(|at| body.slice(at + delimiter.len()..))
            .ok_or_else(malformed)?;
        let mut parts = Vec::new();
        loop {
            if rest.starts_with(b"--") {
                break;
            }
            let after_crlf = rest.strip_prefix(b"\r\n").ok_or_else(malformed)?.len();
            rest = rest.slice(rest.len() - after_crlf..);
            let head_end = find(&rest, b"\r\n\r\n").ok_or_else(malformed)?;
            let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| malformed())?;
            let content = rest.slice(head_end + 4..);
            let mut closing = Vec::with_capacity(delimiter.len() + 2);
            closing.extend_from_slice(b"\r\n");
            closing.extend_from_slice(delimiter);
            let end = find(&content, &closing).ok_or_else(malformed)?;
            parts.push(part(head, content.slice(..end)).ok_or_else(malformed)?);
            rest = content.slice(end + closing.len()..);
        }
        Ok(Self { parts })
    }

    /// The first part named `name`.
    pub fn get(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The text of the first part named `name`, if sent.
    pub fn text(&self, name: &str) -> Result<Option<&str>, PoolerError> {
        self.get(name).map(Part::text).transpose()
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary_of(content_type: &str) -> Option<&str> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// A part from its header block and bytes; `None` without a `form-data` disposition naming it.
fn part(head: &str, data: Bytes) -> Option<Part> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let (key, value) = line.split_once(':')?;
        let value = value.trim();
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            let mut params = value.split(';');
            if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
                return None;
            }
            for param in params {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
    }
    Some(Part {
        name: name?,
        filename,
        content_type,
        data,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Builds a `multipart/form-data` body.
#[derive(Debug)]
pub struct FormWriter {
    boundary: String,
    body: BytesMut,
}

impl FormWriter {
    /// An empty form with `boundary` (which must not occur in any part).
    pub fn new(boundary: impl Into<String>) -> Self {
        Self {
            boundary: boundary.into(),
            body: BytesMut::new(),
        }
    }

    /// The `Content-Type` header value of the body.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// Adds a text field.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.head(name, None, None);
        self.body.put_slice(value.as_bytes());
        self.body.put_slice(b"\r\n");
        self
    }

    /// Adds a file field.
    pub fn file(
        &mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> &mut Self {
        self.head(name, Some(filename), Some(content_type));
        self.body.put_slice(data);
        self.body.put_slice(b"\r\n");
        self
    }

    fn head(&mut self, name: &str, filename: Option<&str>, content_type: Option<&str>) {
        let clean = |s: &str| s.replace(['"', '\r', '\n'], "_");
        let mut head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{}\"",
            self.boundary,
            clean(name)
        );
        if let Some(filename) = filename {
            head.push_str(&format!("; filename=\"{}\"", clean(filename)));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("\r\nContent-Type: {}", clean(content_type)));
        }
        head.push_str("\r\n\r\n");
        self.body.put_slice(head.as_bytes());
    }

    /// The finished body.
    pub fn finish(mut self) -> Bytes {
        self.body
            .put_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        self.body.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_form_parses_back() {
        let mut writer = FormWriter::new("b0und");
        writer.text("model", "gpt-4o-transcribe").file(
            "file",
            "a.wav",
            "audio/wav",
            b"RIFF\r\n--b0un\x00WAVE",
        );
        let content_type = writer.content_type();
        let form = Form::parse(Some(&content_type), &writer.finish()).unwrap();
        assert_eq!(form.parts.len(), 2);
        assert_eq!(form.text("model").unwrap(), Some("gpt-4o-transcribe"));
        let file = form.get("file").unwrap();
        assert_eq!(file.filename.as_deref(), Some("a.wav"));
        assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
        assert_eq!(&file.data[..], b"RIFF\r\n--b0un\x00WAVE");
    }

    #[test]
    fn malformed_bodies_are_typed_400s() {
        let body =
            Bytes::from_static(b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end");
        for content_type in [
            None,
            Some("application/json"),
            Some("multipart/form-data"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let err = Form::parse(content_type, &body).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_request", "{content_type:?}");
        }
    }
}
