//! A user message's content as Responses input parts: a string or `text` parts →
//! `input_text`; `image_url` (a URL string or `{url, detail}`) → `input_image`; `file`
//! (`{file_id}` or `{filename, file_data}`) → `input_file`. Audio parts are refused: the
//! backend has no audio input.

use serde_json::{Map, Value, json};

use crate::error::PoolerError;
use crate::translate::fields::invalid;

/// The `type` of a content part, or `""`.
pub(super) fn part_type(part: &Value) -> &str {
    part.get("type").and_then(Value::as_str).unwrap_or("")
}

/// A user message's content as Responses input parts.
pub(super) fn user_content(content: Option<&Value>, i: usize) -> Result<Value, PoolerError> {
    let parts = match content {
        Some(Value::String(text)) => return Ok(json!([{"type": "input_text", "text": text}])),
        Some(Value::Array(parts)) => parts,
        _ => {
            return Err(invalid(
                format!("messages[{i}].content"),
                "`content` must be a string or an array of parts",
            ));
        }
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let param = || format!("messages[{i}].content[{j}]");
        let mapped = match part_type(part) {
            "text" => part
                .get("text")
                .and_then(Value::as_str)
                .map(|text| json!({"type": "input_text", "text": text})),
            "image_url" => image(part.get("image_url")),
            "file" => file(part.get("file")),
            "input_audio" => {
                return Err(invalid(param(), "audio input is not supported"));
            }
            _ => {
                return Err(invalid(
                    param(),
                    "a part must be `text`, `image_url` or `file`",
                ));
            }
        };
        out.push(mapped.ok_or_else(|| invalid(param(), "this part is missing its content"))?);
    }
    Ok(Value::Array(out))
}

/// An `image_url` part (a URL string or `{url, detail}`) as an `input_image` part.
fn image(image: Option<&Value>) -> Option<Value> {
    let (url, detail) = match image? {
        Value::String(url) => (url.as_str(), None),
        Value::Object(image) => (
            image.get("url").and_then(Value::as_str)?,
            image.get("detail").filter(|d| d.is_string()),
        ),
        _ => return None,
    };
    let mut part = json!({"type": "input_image", "image_url": url});
    if let (Some(detail), Value::Object(part)) = (detail, &mut part) {
        part.insert("detail".into(), detail.clone());
    }
    Some(part)
}

/// A `file` part (`{file_id}` or `{filename, file_data}`) as an `input_file` part.
fn file(file: Option<&Value>) -> Option<Value> {
    let file = file?.as_object()?;
    let mut part = Map::new();
    part.insert("type".into(), "input_file".into());
    for name in ["file_id", "filename", "file_data"] {
        if let Some(value) = file.get(name).filter(|v| v.is_string()) {
            part.insert(name.into(), value.clone());
        }
    }
    let has_content = part.contains_key("file_id") || part.contains_key("file_data");
    has_content.then_some(Value::Object(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_parts_become_input_parts() {
        let out = user_content(Some(&json!([
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": "https://x/a.png"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
            {"type": "file", "file": {"file_id": "file-1"}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,AA"}},
        ])), 0)
        .unwrap();
        assert_eq!(
            out,
            json!([
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "https://x/a.png"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
                {"type": "input_file", "file_id": "file-1"},
                {"type": "input_file", "filename": "a.pdf",
                    "file_data": "data:application/pdf;base64,AA"},
            ])
        );
    }
}
