//! `POST /v1/images/generations` and `/v1/images/edits` → one Codex Responses turn with the
//! hosted `image_generation` tool, and its stream → the OpenAI images answer.
//!
//! The Codex backend makes images only as a tool of a model turn, so a request becomes:
//!
//! ```json
//! {"model": "<a model of the pool>", "instructions": "…",
//!  "input": [{"type": "message", "role": "user", "content": [
//!     {"type": "input_text", "text": "<prompt>"}, {"type": "input_image", "image_url": "data:…"}]}],
//!  "tools": [{"type": "image_generation", "model": "gpt-image-1", "size": "1024x1024", …}],
//!  "tool_choice": {"type": "image_generation"}, "parallel_tool_calls": false,
//!  "store": false, "stream": true}
//! ```
//!
//! Accepted fields ([`ImageRequest::from_fields`]): `prompt` (required), `model` (one of
//! [`IMAGE_MODELS`], default `gpt-image-1`), `n` (only 1), `size` ([`SIZES`]), `quality`
//! (`auto|low|medium|high`), `background` (`auto|transparent|opaque`), `output_format`
//! (`png|jpeg|webp`), `output_compression` (0–100), `moderation` (`auto|low`),
//! `response_format` (only `b64_json`: the backend hands back bytes, never a URL), and for
//! edits `input_fidelity` (`low|high`). `user` is dropped. Anything else is 400
//! `unsupported_parameter` naming it; a bad value is 400 `invalid_request` naming the field.
//!
//! Edits ([`ImageRequest::from_form`]) take the image files as `image` (or `image[]`) parts,
//! sent as `input_image` data URLs in order; a `mask` part goes last, and the prompt says so.
//!
//! [`ImageCollector`] reads the upstream events: the `image_generation_call` item of
//! `response.output_item.done` gives `b64_json` (and `revised_prompt`, `size`, `quality`,
//! `background`, `output_format`), `response.completed` the `usage`. A failed turn, or one
//! without an image, is 502 `image_generation_failed` (upstream's message is not passed on).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::multipart::{Form, Part};
use crate::error::{ErrorCode, ErrorType, PoolerError};

/// The image models the tool takes.
pub const IMAGE_MODELS: [&str; 4] = [
    "gpt-image-1",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "gpt-image-2",
];

/// The model used when the request names none.
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-1";

/// The sizes the tool takes.
pub const SIZES: [&str; 4] = ["auto", "1024x1024", "1024x1536", "1536x1024"];

/// The image types an edit may send.
const IMAGE_TYPES: [&str; 3] = ["image/png", "image/jpeg", "image/webp"];

/// What the turn is told, so it calls the tool with the prompt as given.
const INSTRUCTIONS: &str = "Generate the image the user describes with the image_generation tool, following the prompt exactly.";

/// What the prompt gains when a mask is sent.
const MASK_NOTE: &str =
    "\n\nThe last image is a mask: edit only the areas where it is transparent.";

/// Which of the two routes a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageRoute {
    /// `/v1/images/generations`.
    Generations,
    /// `/v1/images/edits`.
    Edits,
}

/// A validated images request, ready to become a Codex turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    prompt: String,
    tool: Map<String, Value>,
    images: Vec<String>,
    mask: Option<String>,
}

impl ImageRequest {
    /// A generations (JSON) request; `route` says which fields apply.
    pub fn from_fields(
        route: ImageRoute,
        fields: &Map<String, Value>,
    ) -> Result<Self, PoolerError> {
        let mut tool = Map::new();
        tool.insert("type".to_owned(), "image_generation".into());
        let mut prompt = None;
        for (name, value) in fields {
            match name.as_str() {
                "prompt" => prompt = Some(text(value, "prompt")?.to_owned()),
                "model" => {
                    let model = text(value, "model")?;
                    if !IMAGE_MODELS.contains(&model) {
                        return Err(bad(
                            "model",
                            &format!("model must be one of {}", IMAGE_MODELS.join(", ")),
                        ));
                    }
                    tool.insert("model".to_owned(), model.into());
                }
                "n" => {
                    if number(value, "n")? != 1 {
                        return Err(bad("n", "only n = 1 is supported"));
                    }
                }
                "size" => choice(&mut tool, "size", value, &SIZES)?,
                "quality" => choice(
                    &mut tool,
                    "quality",
                    value,
                    &["auto", "low", "medium", "high"],
                )?,
                "background" => {
                    choice(
                        &mut tool,
                        "background",
                        value,
                        &["auto", "transparent", "opaque"],
                    )?;
                }
                "output_format" => {
                    choice(&mut tool, "output_format", value, &["png", "jpeg", "webp"])?
                }
                "moderation" => choice(&mut tool, "moderation", value, &["auto", "low"])?,
                "input_fidelity" if route == ImageRoute::Edits => {
                    choice(&mut tool, "input_fidelity", value, &["low", "high"])?;
                }
                "output_compression" => {
                    let level = number(value, "output_compression")?;
                    if level > 100 {
                        return Err(bad("output_compression", "expected 0 to 100"));
                    }
                    tool.insert("output_compression".to_owned(), level.into());
                }
                "response_format" => {
                    if text(value, "response_format")? != "b64_json" {
                        return Err(unsupported(
                            "response_format",
                            "response_format must be b64_json: images are returned as base64, never as URLs",
                        ));
                    }
                }
                "user" => {}
                other => {
                    return Err(unsupported(
                        other,
                        &format!("Unsupported parameter: {other}"),
                    ));
                }
            }
        }
        let prompt = prompt
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| bad("prompt", "prompt is required"))?;
        tool.entry("model")
            .or_insert_with(|| DEFAULT_IMAGE_MODEL.into());
        Ok(Self {
            prompt,
            tool,
            images: Vec::new(),
            mask: None,
        })
    }

    /// An edits (multipart) request: the text fields as for generations, `image`/`image[]`
    /// files, and an optional `mask` file.
    pub fn from_form(form: &Form) -> Result<Self, PoolerError> {
        let mut fields = Map::new();
        let mut images = Vec::new();
        let mut mask = None;
        for part in &form.parts {
            match part.name.as_str() {
                "image" | "image[]" => images.push(data_url(part, "image")?),
                "mask" => mask = Some(data_url(part, "mask")?),
                name => {
                    fields.insert(name.to_owned(), part.text()?.into());
                }
            }
        }
        if images.is_empty() {
            return Err(bad("image", "at least one image file is required"));
        }
        let mut request = Self::from_fields(ImageRoute::Edits, &fields)?;
        request.images = images;
        request.mask = mask;
        Ok(request)
    }

    /// The Codex Responses body for this request, run on `host_model`.
    pub fn to_codex(&self, host_model: &str) -> Value {
        let mut prompt = self.prompt.clone();
        if self.mask.is_some() {
            prompt.push_str(MASK_NOTE);
        }
        let mut content = vec![json!({"type": "input_text", "text": prompt})];
        for url in self.images.iter().chain(&self.mask) {
            content.push(json!({"type": "input_image", "image_url": url}));
        }
        json!({
            "model": host_model,
            "instructions": INSTRUCTIONS,
            "input": [{"type": "message", "role": "user", "content": content}],
            "tools": [self.tool],
            "tool_choice": {"type": "image_generation"},
            "parallel_tool_calls": false,
            "store": false,
            "stream": true,
        })
    }
}

fn text<'a>(value: &'a Value, param: &'static str) -> Result<&'a str, PoolerError> {
    value
        .as_str()
        .ok_or_else(|| bad(param, &format!("{param} must be a string")))
}

/// A whole number, sent as a JSON number or (multipart) as text.
fn number(value: &Value, param: &'static str) -> Result<u64, PoolerError> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad(param, &format!("{param} must be a whole number")))
}

fn choice(
    tool: &mut Map<String, Value>,
    param: &'static str,
    value: &Value,
    allowed: &[&str],
) -> Result<(), PoolerError> {
    let got = text(value, param)?;
    if !allowed.contains(&got) {
        return Err(bad(
            param,
            &format!("{param} must be one of {}", allowed.join(", ")),
        ));
    }
    tool.insert(param.to_owned(), got.into());
    Ok(())
}

/// An image part as a `data:` URL; only PNG, JPEG and WebP are taken.
fn data_url(part: &Part, param: &'static str) -> Result<String, PoolerError> {
    let by_name = part.filename.as_deref().and_then(|name| {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            _ => return None,
        })
    });
    let sent = part
        .content_type
        .as_deref()
        .filter(|t| *t != "application/octet-stream");
    let kind = sent
        .or(by_name)
        .filter(|t| IMAGE_TYPES.contains(t))
        .ok_or_else(|| bad(param, &format!("{param} must be a PNG, JPEG or WebP file")))?;
    if part.data.is_empty() {
        return Err(bad(param, &format!("{param} is empty")));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&part.data);
    Ok(format!("data:{kind};base64,{encoded}"))
}

fn bad(param: &'static str, message: &str) -> PoolerError {
    PoolerError::invalid_request(message).with_param(param)
}

fn unsupported(param: &str, message: &str) -> PoolerError {
    PoolerError::new(
        http::StatusCode::BAD_REQUEST,
        ErrorType::InvalidRequestError,
        ErrorCode::UnsupportedParameter,
        message,
    )
    .with_param(param.to_owned())
}

/// Reads a turn's events into the images answer.
#[derive(Debug, Default)]
pub struct ImageCollector {
    image: Option<Map<String, Value>>,
    usage: Option<Value>,
    failed: bool,
}

impl ImageCollector {
    /// A collector that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one upstream event.
    pub fn on_event(&mut self, event: &Value) {
        match event.get("type").and_then(Value::as_str) {
            Some("response.output_item.done") => {
                let Some(item) = event.get("item").and_then(Value::as_object) else {
                    return;
                };
                let is_image =
                    item.get("type").and_then(Value::as_str) == Some("image_generation_call");
                if is_image && item.get("result").is_some_and(Value::is_string) {
                    self.image = Some(item.clone());
                }
            }
            Some("response.completed") => {
                self.usage = event.pointer("/response/usage").cloned();
            }
            Some("response.failed" | "response.incomplete" | "error") => self.failed = true,
            _ => {}
        }
    }

    /// The answer, created at unix second `created`; 502 `image_generation_failed` without an
    /// image.
    pub fn finish(self, created: i64) -> Result<Value, PoolerError> {
        let image = self
            .image
            .filter(|_| !self.failed)
            .ok_or_else(PoolerError::image_generation_failed)?;
        let mut data = json!({"b64_json": image.get("result")});
        if let Some(revised) = image.get("revised_prompt").filter(|v| v.is_string()) {
            data["revised_prompt"] = revised.clone();
        }
        let mut answer = json!({"created": created, "data": [data]});
        for field in ["background", "output_format", "quality", "size"] {
            if let Some(value) = image.get(field).filter(|v| v.is_string()) {
                answer[field] = value.clone();
            }
        }
        if let Some(usage) = self.usage.as_ref().and_then(Value::as_object) {
            let mut out = Map::new();
            for field in ["input_tokens", "output_tokens", "total_tokens"] {
                if let Some(n) = usage.get(field).filter(|v| v.is_u64()) {
                    out.insert(field.to_owned(), n.clone());
                }
            }
            answer["usage"] = Value::Object(out);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::translate::multipart::FormWriter;

    fn fields(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            panic!("not an object")
        };
        map
    }

    fn generation(value: Value) -> Result<Value, PoolerError> {
        ImageRequest::from_fields(ImageRoute::Generations, &fields(value))
            .map(|r| r.to_codex("gpt-5.4"))
    }

    #[test]
    fn a_generation_becomes_a_forced_image_tool_turn() {
        let body = generation(
            json!({"prompt": "a cat", "model": "gpt-image-1.5", "size": "1024x1536",
            "quality": "high", "background": "transparent", "n": 1, "response_format": "b64_json",
            "user": "u-1"}),
        )
        .unwrap();
        assert_eq!(body["model"], "gpt-5.4");
        assert_eq!(
            (body["store"].clone(), body["stream"].clone()),
            (json!(false), json!(true))
        );
        assert_eq!(body["tool_choice"], json!({"type": "image_generation"}));
        assert_eq!(
            body["tools"],
            json!([{"type": "image_generation", "model": "gpt-image-1.5", "size": "1024x1536",
                "quality": "high", "background": "transparent"}])
        );
        assert_eq!(
            body["input"][0]["content"],
            json!([{"type": "input_text", "text": "a cat"}])
        );
        assert!(body.get("user").is_none());
        let plain = generation(json!({"prompt": "a dog"})).unwrap();
        assert_eq!(plain["tools"][0]["model"], DEFAULT_IMAGE_MODEL);
    }

    #[test]
    fn bad_values_and_unknown_fields_are_typed_400s() {
        let cases = [
            (
                json!({"prompt": "x", "model": "dall-e-3"}),
                "invalid_request",
                "model",
            ),
            (
                json!({"prompt": "x", "size": "256x256"}),
                "invalid_request",
                "size",
            ),
            (
                json!({"prompt": "x", "quality": "hd"}),
                "invalid_request",
                "quality",
            ),
            (
                json!({"prompt": "x", "background": "clear"}),
                "invalid_request",
                "background",
            ),
            (json!({"prompt": "x", "n": 2}), "invalid_request", "n"),
            (
                json!({"prompt": "x", "output_compression": 101}),
                "invalid_request",
                "output_compression",
            ),
            (
                json!({"prompt": "x", "response_format": "url"}),
                "unsupported_parameter",
                "response_format",
            ),
            (
                json!({"prompt": "x", "style": "vivid"}),
                "unsupported_parameter",
                "style",
            ),
            (
                json!({"prompt": "x", "input_fidelity": "high"}),
                "unsupported_parameter",
                "input_fidelity",
            ),
            (json!({"prompt": "  "}), "invalid_request", "prompt"),
            (json!({"model": "gpt-image-1"}), "invalid_request", "prompt"),
        ];
        for (body, code, param) in cases {
            let err = generation(body.clone()).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{body}");
            assert_eq!(err.code().as_str(), code, "{body}");
            assert_eq!(err.body()["error"]["param"], param, "{body}");
        }
        let url = generation(json!({"prompt": "x", "response_format": "url"})).unwrap_err();
        assert_eq!(
            url.body(),
            json!({"error": {
                "message": "response_format must be b64_json: images are returned as base64, never as URLs",
                "type": "invalid_request_error",
                "code": "unsupported_parameter",
                "param": "response_format",
            }})
        );
    }

    #[test]
    fn an_edit_sends_its_images_in_order_with_the_mask_last() {
        let mut writer = FormWriter::new("xyz");
        writer
            .text("prompt", "make it blue")
            .text("input_fidelity", "high")
            .text("n", "1")
            .file("image[]", "a.png", "image/png", b"AAA")
            .file("mask", "m.png", "application/octet-stream", b"MMM")
            .file("image[]", "b.jpg", "image/jpeg", b"BBB");
        let content_type = writer.content_type();
        let form = Form::parse(Some(&content_type), &writer.finish()).unwrap();
        let body = ImageRequest::from_form(&form).unwrap().to_codex("m");
        let content = body["input"][0]["content"].as_array().unwrap();
        let urls: Vec<&str> = content[1..]
            .iter()
            .map(|c| c["image_url"].as_str().unwrap())
            .collect();
        assert_eq!(
            urls,
            [
                "data:image/png;base64,QUFB",
                "data:image/jpeg;base64,QkJC",
                "data:image/png;base64,TU1N"
            ]
        );
        assert!(content[0]["text"].as_str().unwrap().ends_with(MASK_NOTE));
        assert_eq!(body["tools"][0]["input_fidelity"], "high");

        let mut no_image = FormWriter::new("xyz");
        no_image.text("prompt", "p");
        let content_type = no_image.content_type();
        let form = Form::parse(Some(&content_type), &no_image.finish()).unwrap();
        assert_eq!(
            ImageRequest::from_form(&form).unwrap_err().body()["error"]["param"],
            "image"
        );

        let mut not_image = FormWriter::new("xyz");
        not_image
            .text("prompt", "p")
            .file("image", "a.gif", "image/gif", b"G");
        let content_type = not_image.content_type();
        let form = Form::parse(Some(&content_type), &not_image.finish()).unwrap();
        assert_eq!(
            ImageRequest::from_form(&form).unwrap_err().body()["error"]["param"],
            "image"
        );
        let _ = Bytes::new();
    }

    #[test]
    fn the_image_item_and_usage_make_the_answer() {
        let mut collector = ImageCollector::new();
        collector.on_event(&json!({"type": "response.output_item.done", "item": {
            "type": "image_generation_call", "id": "ig_1", "status": "completed", "result": "QUJD",
            "revised_prompt": "a cat, painted", "size": "1024x1024", "quality": "high",
            "background": "opaque", "output_format": "png"}}));
        collector.on_event(
            &json!({"type": "response.completed", "response": {"usage": {
            "input_tokens": 10, "output_tokens": 20, "total_tokens": 30,
            "input_tokens_details": {"cached_tokens": 0}}}}),
        );
        assert_eq!(
            collector.finish(1_700_000_000).unwrap(),
            json!({"created": 1_700_000_000,
                "data": [{"b64_json": "QUJD", "revised_prompt": "a cat, painted"}],
                "background": "opaque", "output_format": "png", "quality": "high", "size": "1024x1024",
                "usage": {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}})
        );
    }

    #[test]
    fn a_failed_turn_or_no_image_is_image_generation_failed() {
        let expected = json!({"error": {
            "message": "image generation failed upstream",
            "type": "server_error",
            "code": "image_generation_failed",
            "param": null,
        }});
        let mut failed = ImageCollector::new();
        failed.on_event(&json!({"type": "response.output_item.done", "item": {
            "type": "image_generation_call", "result": "QUJD"}}));
        failed.on_event(
            &json!({"type": "response.failed", "response": {"error": {"message": "secret"}}}),
        );
        let err = failed.finish(0).unwrap_err();
        assert_eq!(err.status().as_u16(), 502);
        assert_eq!(err.body(), expected);
        let mut text_only = ImageCollector::new();
        text_only.on_event(&json!({"type": "response.completed", "response": {}}));
        assert_eq!(text_only.finish(0).unwrap_err().body(), expected);
    }
}
