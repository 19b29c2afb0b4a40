//! `POST /v1/audio/transcriptions` → the backend's `POST /backend-api/transcribe`, and its
//! `{"text": …}` back in the shape the client asked for.
//!
//! The client's multipart form is read ([`Transcription::from_form`]):
//!
//! - `file` (required): the audio, sent upstream as is;
//! - `model` (required): `gpt-4o-transcribe` or its alias `gpt-transcribe` ([`MODELS`]);
//!   any other is 400 `invalid_request` naming `model`;
//! - `language` and `prompt`: passed on;
//! - `response_format`: `json` (default) or `text`; others are 400 naming it;
//! - `temperature`: dropped (the backend takes none).
//!
//! Any other field is 400 `unsupported_parameter` naming it. Upstream gets a new form with
//! only `file`, `language` and `prompt` ([`Transcription::to_upstream`]); its answer becomes
//! `{"text": …}` (language-detection and other fields are left out) or, for `text`, the bare
//! text ([`Transcription::answer`]).

use bytes::Bytes;
use serde_json::{Value, json};

use super::multipart::{Form, FormWriter, Part};
use crate::error::{ErrorCode, ErrorType, PoolerError};

/// The transcription models, the first being the one the backend runs.
pub const MODELS: [&str; 2] = ["gpt-4o-transcribe", "gpt-transcribe"];

/// The boundary of the form sent upstream. Audio that happens to contain it only breaks its
/// own request (upstream then reads a truncated file); nothing else rides in the form.
const BOUNDARY: &str = "codex-pooler-transcribe-7f3a9c1e";

/// How the client wants the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// `{"text": …}`.
    Json,
    /// The text alone, `text/plain`.
    Text,
}

/// A validated transcription request.
#[derive(Debug, Clone)]
pub struct Transcription {
    file: Part,
    language: Option<String>,
    prompt: Option<String>,
    /// The answer's format.
    pub format: TextFormat,
}

impl Transcription {
    /// Reads and checks the client's form.
    pub fn from_form(form: &Form) -> Result<Self, PoolerError> {
        let mut file = None;
        let mut model = None;
        let mut language = None;
        let mut prompt = None;
        let mut format = TextFormat::Json;
        for part in &form.parts {
            match part.name.as_str() {
                "file" => file = Some(part.clone()),
                "model" => model = Some(part.text()?.to_owned()),
                "language" => language = Some(part.text()?.to_owned()),
                "prompt" => prompt = Some(part.text()?.to_owned()),
                "temperature" => {}
                "response_format" => {
                    format = match part.text()? {
                        "json" => TextFormat::Json,
                        "text" => TextFormat::Text,
                        _ => {
                            return Err(PoolerError::invalid_request(
                                "response_format must be json or text",
                            )
                            .with_param("response_format"));
                        }
                    };
                }
                other => {
                    return Err(PoolerError::new(
                        http::StatusCode::BAD_REQUEST,
                        ErrorType::InvalidRequestError,
                        ErrorCode::UnsupportedParameter,
                        format!("Unsupported parameter: {other}"),
                    )
                    .with_param(other.to_owned()));
                }
            }
        }
        if !model.as_deref().is_some_and(|m| MODELS.contains(&m)) {
            return Err(PoolerError::invalid_request(format!(
                "model must be one of {}",
                MODELS.join(", ")
            ))
            .with_param("model"));
        }
        let file = file
            .filter(|f| !f.data.is_empty())
            .ok_or_else(|| PoolerError::invalid_request("file is required").with_param("file"))?;
        Ok(Self {
            file,
            language: language.filter(|l| !l.is_empty()),
            prompt: prompt.filter(|p| !p.is_empty()),
            format,
        })
    }

    /// The `Content-Type` and body sent to `/backend-api/transcribe`.
    pub fn to_upstream(&self) -> (String, Bytes) {
        let mut form = FormWriter::new(BOUNDARY);
        let filename = self.file.filename.as_deref().unwrap_or("audio");
        let kind = self
            .file
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        form.file("file", filename, kind, &self.file.data);
        if let Some(language) = &self.language {
            form.text("language", language);
        }
        if let Some(prompt) = &self.prompt {
            form.text("prompt", prompt);
        }
        (form.content_type(), form.finish())
    }

    /// The client's answer (`Content-Type`, body) from upstream's JSON; 502 `upstream_error`
    /// when it has no `text`.
    pub fn answer(&self, upstream: &[u8]) -> Result<(&'static str, Bytes), PoolerError> {
        let text = serde_json::from_slice::<Value>(upstream)
            .ok()
            .and_then(|v| v.get("text").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| PoolerError::upstream_error(None))?;
        Ok(match self.format {
            TextFormat::Json => (
                "application/json",
                Bytes::from(json!({ "text": text }).to_string()),
            ),
            TextFormat::Text => ("text/plain; charset=utf-8", Bytes::from(text)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)], file: Option<&[u8]>) -> Form {
        let mut writer = FormWriter::new("b");
        for (name, value) in fields {
            writer.text(name, value);
        }
        if let Some(data) = file {
            writer.file("file", "a.wav", "audio/wav", data);
        }
        let content_type = writer.content_type();
        Form::parse(Some(&content_type), &writer.finish()).unwrap()
    }

    #[test]
    fn a_request_goes_upstream_with_file_language_and_prompt_only() {
        let request = Transcription::from_form(&form(
            &[
                ("model", "gpt-transcribe"),
                ("language", "fr"),
                ("prompt", "names: Ada"),
                ("temperature", "0.2"),
                ("response_format", "text"),
            ],
            Some(b"RIFFWAVE"),
        ))
        .unwrap();
        assert_eq!(request.format, TextFormat::Text);
        let (content_type, body) = request.to_upstream();
        let sent = Form::parse(Some(&content_type), &body).unwrap();
        let names: Vec<&str> = sent.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["file", "language", "prompt"]);
        assert_eq!(&sent.get("file").unwrap().data[..], b"RIFFWAVE");
        let (kind, text) = request
            .answer(br#"{"text":"bonjour","language":"fr"}"#)
            .unwrap();
        assert_eq!(
            (kind, &text[..]),
            ("text/plain; charset=utf-8", &b"bonjour"[..])
        );
    }

    #[test]
    fn the_json_answer_keeps_only_the_text() {
        let request =
            Transcription::from_form(&form(&[("model", "gpt-4o-transcribe")], Some(b"x"))).unwrap();
        let (kind, body) = request.answer(br#"{"text":"hi","language":"en"}"#).unwrap();
        assert_eq!(
            (kind, &body[..]),
            ("application/json", &br#"{"text":"hi"}"#[..])
        );
        assert_eq!(
            request.answer(b"{}").unwrap_err().code().as_str(),
            "upstream_error"
        );
    }

    #[test]
    fn refusals_name_their_field() {
        let cases = [
            (
                form(&[("model", "whisper-1")], Some(b"x")),
                "invalid_request",
                "model",
            ),
            (form(&[], Some(b"x")), "invalid_request", "model"),
            (
                form(&[("model", "gpt-transcribe")], None),
                "invalid_request",
                "file",
            ),
            (
                form(
                    &[("model", "gpt-transcribe"), ("response_format", "srt")],
                    Some(b"x"),
                ),
                "invalid_request",
                "response_format",
            ),
            (
                form(
                    &[("model", "gpt-transcribe"), ("stream", "true")],
                    Some(b"x"),
                ),
                "unsupported_parameter",
                "stream",
            ),
        ];
        for (form, code, param) in cases {
            let err = Transcription::from_form(&form).unwrap_err();
            assert_eq!(err.status().as_u16(), 400);
            assert_eq!(err.code().as_str(), code, "{param}");
            assert_eq!(err.body()["error"]["param"], param);
        }
        let err =
            Transcription::from_form(&form(&[("model", "whisper-1")], Some(b"x"))).unwrap_err();
        assert_eq!(
            err.body(),
            json!({"error": {
                "message": "model must be one of gpt-4o-transcribe, gpt-transcribe",
                "type": "invalid_request_error",
                "code": "invalid_request",
                "param": "model",
            }})
        );
    }
}
