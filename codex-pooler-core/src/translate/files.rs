//! `/v1/files` uploads onto the backend file flow, and the OpenAI `file` object.
//!
//! A `POST /v1/files` form (`file`, `purpose`) becomes the backend's creation request
//! `{file_name, file_size, use_case: "codex"}` ([`FileUpload::create_body`]); the gateway then
//! PUTs the bytes to the `upload_url` the backend answered ([`CreatedFile::parse`]) and
//! finalizes the upload ([`finalized`]). What the client gets back is a [`FileObject`].

use bytes::Bytes;
use serde_json::{Value, json};

use super::multipart::Form;
use crate::error::PoolerError;

/// The `purpose` values the OpenAI API accepts for an upload.
pub const PURPOSES: &[&str] = &[
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];

/// How long the gateway keeps an upload's metadata (24 h, as the backend keeps the file).
pub const FILE_TTL_SECS: i64 = 24 * 60 * 60;

/// A validated `/v1/files` upload.
#[derive(Debug, Clone)]
pub struct FileUpload {
    /// The file's name (the part's `filename`, else `upload`).
    pub filename: String,
    /// The part's `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub data: Bytes,
    /// The OpenAI purpose, one of [`PURPOSES`].
    pub purpose: String,
}

impl FileUpload {
    /// Reads and checks the client's form: a non-empty `file` part and a known `purpose`.
    pub fn from_form(form: &Form) -> Result<Self, PoolerError> {
        let purpose = form.text("purpose")?;
        let Some(purpose) = purpose.filter(|p| PURPOSES.contains(p)) else {
            return Err(PoolerError::invalid_request(format!(
                "purpose must be one of {}",
                PURPOSES.join(", ")
            ))
            .with_param("purpose"));
        };
        let file = form
            .get("file")
            .filter(|f| !f.data.is_empty())
            .ok_or_else(|| PoolerError::invalid_request("file is required").with_param("file"))?;
        Ok(Self {
            filename: file
                .filename
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "upload".to_owned()),
            content_type: file.content_type.clone(),
            data: file.data.clone(),
            purpose: purpose.to_owned(),
        })
    }

    /// The body of `POST /backend-api/files`.
    pub fn create_body(&self) -> Bytes {
        Bytes::from(
            json!({
                "file_name": self.filename,
                "file_size": self.data.len(),
                "use_case": "codex",
            })
            .to_string(),
        )
    }
}

/// The backend's answer to a file creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedFile {
    /// The backend file id.
    pub file_id: String,
    /// Where the bytes go (a pre-signed URL: no credentials are sent to it).
    pub upload_url: String,
}

impl CreatedFile {
    /// Reads `{file_id, upload_url}`; anything else is 502 `upstream_error`.
    pub fn parse(answer: &[u8]) -> Result<Self, PoolerError> {
        let value: Value =
            serde_json::from_slice(answer).map_err(|_| PoolerError::upstream_error(None))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match (field("file_id"), field("upload_url")) {
            (Some(file_id), Some(upload_url)) => Ok(Self {
                file_id,
                upload_url,
            }),
            _ => Err(PoolerError::upstream_error(None)),
        }
    }
}

/// Whether the backend's finalize answer says the upload is done (`{"status":"success"}`);
/// anything else (`retry`, an unreadable body) is 502 `upstream_error`.
pub fn finalized(answer: &[u8]) -> Result<(), PoolerError> {
    let status = serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_owned));
    match status.as_deref() {
        Some("success") => Ok(()),
        _ => Err(PoolerError::upstream_error(None)),
    }
}

/// The OpenAI `file` object the gateway answers and lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileObject {
    /// The backend file id.
    pub id: String,
    /// The file's size.
    pub bytes: usize,
    /// When it was uploaded (Unix seconds).
    pub created_at: i64,
    /// The file's name.
    pub filename: String,
    /// The OpenAI purpose.
    pub purpose: String,
}

impl FileObject {
    /// When the file's metadata (and the backend's file) expires (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.created_at.saturating_add(FILE_TTL_SECS)
    }

    /// `{id, object: "file", bytes, created_at, filename, purpose, status: "processed",
    /// expires_at}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::multipart::FormWriter;

    fn form(purpose: Option<&str>, file: Option<&[u8]>) -> Form {
        let mut writer = FormWriter::new("b");
        if let Some(purpose) = purpose {
            writer.text("purpose", purpose);
        }
        if let Some(data) = file {
            writer.file("file", "notes.txt", "text/plain", data);
        }
        let content_type = writer.content_type();
        Form::parse(Some(&content_type), &writer.finish()).unwrap()
    }

    #[test]
    fn reads_a_user_data_upload() {
        let upload = FileUpload::from_form(&form(Some("user_data"), Some(b"hello"))).unwrap();
        assert_eq!(upload.filename, "notes.txt");
        assert_eq!(upload.purpose, "user_data");
        let body: Value = serde_json::from_slice(&upload.create_body()).unwrap();
        assert_eq!(
            body,
            json!({"file_name": "notes.txt", "file_size": 5, "use_case": "codex"})
        );
    }

    #[test]
    fn refuses_an_unknown_purpose_and_a_missing_file() {
        let err = FileUpload::from_form(&form(Some("nonsense"), Some(b"x"))).unwrap_err();
        assert_eq!(
            err.body(),
            json!({"error": {
                "message": "purpose must be one of assistants, batch, fine-tune, vision, user_data, evals",
                "type": "invalid_request_error", "code": "invalid_request", "param": "purpose"}})
        );
        let err = FileUpload::from_form(&form(None, Some(b"x"))).unwrap_err();
        assert_eq!(err.body()["error"]["param"], "purpose");
        let err = FileUpload::from_form(&form(Some("vision"), None)).unwrap_err();
        assert_eq!(
            err.body(),
            json!({"error": {"message": "file is required",
                "type": "invalid_request_error", "code": "invalid_request", "param": "file"}})
        );
    }

    #[test]
    fn reads_the_backend_answers() {
        let created = CreatedFile::parse(br#"{"file_id":"file_1","upload_url":"http://h/u"}"#);
        assert_eq!(
            created.unwrap(),
            CreatedFile {
                file_id: "file_1".into(),
                upload_url: "http://h/u".into()
            }
        );
        let err = CreatedFile::parse(br#"{"file_id":"file_1"}"#).unwrap_err();
        assert_eq!(err.code().as_str(), "upstream_error");
        assert!(finalized(br#"{"status":"success"}"#).is_ok());
        assert_eq!(
            finalized(br#"{"status":"retry"}"#)
                .unwrap_err()
                .code()
                .as_str(),
            "upstream_error"
        );
    }

    #[test]
    fn the_file_object_expires_a_day_after_upload() {
        let file = FileObject {
            id: "file_1".into(),
            bytes: 5,
            created_at: 1_000,
            filename: "a.txt".into(),
            purpose: "user_data".into(),
        };
        assert_eq!(file.to_json()["expires_at"], 1_000 + 86_400);
        assert_eq!(file.to_json()["status"], "processed");
    }
}
