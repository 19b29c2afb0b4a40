//! Request facts: what routing needs to know about a request, read once from its head and body.
//!
//! Only identifiers and flags are kept (model, stream flag, continuity keys). Prompt text is
//! never copied out of the body.

use http::HeaderMap;
use serde::Deserialize;

/// What the router knows about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The requested model.
    pub model: Option<String>,
    /// Whether the client asked for a streamed answer.
    pub stream: bool,
    /// The strongest continuity key the client sent, used to keep a thread on one account.
    pub continuity_key: Option<String>,
}

/// Session headers clients send, strongest first.
const SESSION_HEADERS: &[&str] = &[
    "x-codex-turn-state",
    "session-id",
    "session_id",
    "thread-id",
    "conversation_id",
    "x-session-affinity",
];

#[derive(Deserialize)]
struct BodyHead {
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    prompt_cache_key: Option<String>,
}

/// Why a body could not be read for facts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FactsError {
    /// The body is not a JSON object.
    #[error("request body is not a JSON object")]
    NotJsonObject,
}

impl RequestFacts {
    /// Reads facts from a JSON request body and its headers.
    ///
    /// Unknown fields are skipped without being kept; only `model`, `stream` and
    /// `prompt_cache_key` are looked at.
    pub fn from_json(headers: &HeaderMap, body: &[u8]) -> Result<Self, FactsError> {
        let head: BodyHead = serde_json::from_slice(body).map_err(|_| FactsError::NotJsonObject)?;
        let continuity_key = SESSION_HEADERS
            .iter()
            .find_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{name}:{v}"))
            })
            .or_else(|| {
                head.prompt_cache_key
                    .filter(|k| !k.is_empty())
                    .map(|k| format!("prompt_cache_key:{k}"))
            });
        Ok(Self {
            model: head.model.filter(|m| !m.is_empty()),
            stream: head.stream.unwrap_or(false),
            continuity_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_model_stream_and_session() {
        let mut headers = HeaderMap::new();
        headers.insert("session-id", "abc".parse().unwrap());
        let f = RequestFacts::from_json(
            &headers,
            br#"{"model":"gpt-5.1-codex","stream":true,"input":[{"type":"message"}],"prompt_cache_key":"p"}"#,
        )
        .unwrap();
        assert_eq!(f.model.as_deref(), Some("gpt-5.1-codex"));
        assert!(f.stream);
        assert_eq!(f.continuity_key.as_deref(), Some("session-id:abc"));
    }

    #[test]
    fn falls_back_to_prompt_cache_key() {
        let f = RequestFacts::from_json(
            &HeaderMap::new(),
            br#"{"model":"m","prompt_cache_key":"t1"}"#,
        )
        .unwrap();
        assert_eq!(f.continuity_key.as_deref(), Some("prompt_cache_key:t1"));
        assert!(!f.stream);
    }

    #[test]
    fn rejects_non_objects() {
        assert_eq!(
            RequestFacts::from_json(&HeaderMap::new(), b"[1,2]"),
            Err(FactsError::NotJsonObject)
        );
        assert_eq!(
            RequestFacts::from_json(&HeaderMap::new(), b"not json"),
            Err(FactsError::NotJsonObject)
        );
    }
}
