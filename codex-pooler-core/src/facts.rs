//! Request facts: what routing needs to know about a request, read once from its head and body.
//!
//! Only identifiers and flags are kept (model, stream flag, continuity keys, file ids). Prompt
//! text is never copied out of the body: the first input items are hashed in place.

use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::continuity::ContinuityKeys;

/// What the router knows about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The requested model.
    pub model: Option<String>,
    /// Whether the client asked for a streamed answer.
    pub stream: bool,
    /// The strongest soft continuity key (session header, prompt cache key, or a hash of the
    /// first input items), used by strategies to keep a thread on one account.
    pub continuity_key: Option<String>,
    /// Every continuity signal the request carries.
    pub continuity: ContinuityKeys,
    /// Whether the request asks for compaction (a trailing `compaction_trigger` item, or the
    /// `/responses/compact` route); compaction is never retried on another account.
    pub compaction: bool,
}

/// Session headers clients send, strongest first (the turn state is handled separately).
const SESSION_HEADERS: &[&str] = &[
    "session-id",
    "session_id",
    "x-session-id",
    "thread-id",
    "conversation_id",
    "x-codex-conversation-id",
    "x-session-affinity",
];

#[derive(Deserialize)]
struct BodyHead<'a> {
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    prompt_cache_key: Option<String>,
    previous_response_id: Option<String>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ItemType<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    role: Option<&'a str>,
}

/// Why a body could not be read for facts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FactsError {
    /// The body is not a JSON object.
    #[error("request body is not a JSON object")]
    NotJsonObject,
    /// The `model` is longer than [`MAX_MODEL_LEN`] or holds a character model names never
    /// have; it is never logged or recorded.
    #[error("model name is too long or holds characters model names never have")]
    InvalidModel,
}

/// The longest model name accepted, in bytes.
pub const MAX_MODEL_LEN: usize = 128;

/// Whether `model` can be a model name: at most [`MAX_MODEL_LEN`] bytes of ASCII letters,
/// digits and `.` `_` `-` `:` `/` `+`. Client text of any other shape is refused before it can
/// reach a log line or a request record.
pub fn is_model_name(model: &str) -> bool {
    model.len() <= MAX_MODEL_LEN
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/+".contains(&b))
}

impl RequestFacts {
    /// Reads facts from a JSON request body and its headers.
    ///
    /// Only `model`, `stream`, `prompt_cache_key`, `previous_response_id` and the shape of
    /// `input` are looked at; input items are neither copied nor kept.
    pub fn from_json(headers: &HeaderMap, body: &[u8]) -> Result<Self, FactsError> {
        let head: BodyHead<'_> =
            serde_json::from_slice(body).map_err(|_| FactsError::NotJsonObject)?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let session = SESSION_HEADERS
            .iter()
            .find_map(|name| header(name).map(|v| format!("{name}:{v}")));
        let mut keys = ContinuityKeys {
            session,
            turn_state: header("x-codex-turn-state").map(str::to_owned),
            previous_response_id: head
                .previous_response_id
                .filter(|id| !id.is_empty())
                .or_else(|| header("x-codex-previous-response-id").map(str::to_owned)),
            prompt_cache_key: head.prompt_cache_key.filter(|k| !k.is_empty()),
            file_ids: file_ids(body),
            derived: None,
        };
        let mut compaction = false;
        if let Some(input) = head.input {
            let (derived, trailing_compaction) = scan_input(input);
            keys.derived = derived;
            compaction = trailing_compaction;
        }
        let model = head.model.filter(|m| !m.is_empty());
        if model.as_deref().is_some_and(|m| !is_model_name(m)) {
            return Err(FactsError::InvalidModel);
        }
        Ok(Self {
            model,
            stream: head.stream.unwrap_or(false),
            continuity_key: keys.soft_key(),
            continuity: keys,
            compaction,
        })
    }
}

/// Hashes the first input items (a stable thread fingerprint) and tells whether the last item is
/// a `compaction_trigger`.
fn scan_input(input: &RawValue) -> (Option<String>, bool) {
    let raw = input.get();
    if raw.starts_with('"') {
        return (
            Some(format!("input:{:016x}", fingerprint(raw.as_bytes()))),
            false,
        );
    }
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) else {
        return (None, false);
    };
    let trailing_compaction = items
        .last()
        .and_then(|last| serde_json::from_str::<ItemType<'_>>(last.get()).ok())
        .is_some_and(|t| t.kind == Some("compaction_trigger"));
    // A thread is identified by its first message after the system/developer preamble: it
    // does not change as the conversation grows, and differs between conversations.
    let opening = items.iter().find(|item| {
        serde_json::from_str::<ItemType<'_>>(item.get())
            .map_or(true, |t| !matches!(t.role, Some("system" | "developer")))
    });
    let derived = opening
        .or_else(|| items.first())
        .map(|item| format!("input:{:016x}", fingerprint(item.get().as_bytes())));
    (derived, trailing_compaction)
}

/// File ids referenced anywhere in the body (`"file_id":"..."`).
///
/// Text inside JSON strings has its quotes escaped, so only real `file_id` keys match.
fn file_ids(body: &[u8]) -> Vec<String> {
    const NEEDLE: &[u8] = b"\"file_id\":\"";
    let mut ids = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, NEEDLE) {
        rest = &rest[at + NEEDLE.len()..];
        let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
        if let Ok(id) = std::str::from_utf8(&rest[..end])
            && !id.is_empty()
            && id.len() <= 256
            && !ids.iter().any(|known| known == id)
        {
            ids.push(id.to_owned());
        }
        rest = &rest[end..];
    }
    ids
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// 64-bit FNV-1a: stable across processes and releases.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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
        assert_eq!(f.continuity.prompt_cache_key.as_deref(), Some("p"));
    }

    #[test]
    fn falls_back_to_prompt_cache_key_then_input_hash() {
        let f = RequestFacts::from_json(
            &HeaderMap::new(),
            br#"{"model":"m","prompt_cache_key":"t1"}"#,
        )
        .unwrap();
        assert_eq!(f.continuity_key.as_deref(), Some("prompt_cache_key:t1"));
        assert!(!f.stream);

        let turn1 = br#"{"model":"m","input":[{"type":"message","role":"system","content":"be brief"},{"type":"message","role":"user","content":"hi"}]}"#;
        let turn2 = br#"{"model":"m","input":[{"type":"message","role":"system","content":"be brief"},{"type":"message","role":"user","content":"hi"},{"type":"message","role":"assistant","content":"yo"},{"type":"message","role":"user","content":"more"}]}"#;
        let other = br#"{"model":"m","input":[{"type":"message","role":"system","content":"be brief"},{"type":"message","role":"user","content":"bye"}]}"#;
        let key = |b: &[u8]| {
            RequestFacts::from_json(&HeaderMap::new(), b)
                .unwrap()
                .continuity_key
        };
        assert!(key(turn1).is_some());
        assert_eq!(key(turn1), key(turn2), "a thread keeps its derived key");
        assert_ne!(key(turn1), key(other));
        let text = RequestFacts::from_json(&HeaderMap::new(), br#"{"model":"m","input":"hello"}"#)
            .unwrap();
        assert!(text.continuity_key.unwrap().starts_with("input:"));
    }

    #[test]
    fn reads_hard_continuity_and_compaction() {
        let mut headers = HeaderMap::new();
        headers.insert("x-codex-turn-state", "ts-1".parse().unwrap());
        let f = RequestFacts::from_json(
            &headers,
            br#"{"model":"m","previous_response_id":"resp_9","input":[{"type":"message","content":[{"type":"input_file","file_id":"file-abc"},{"type":"input_text","text":"quote \"file_id\":\"nope\""}]},{"type":"compaction_trigger"}]}"#,
        )
        .unwrap();
        assert_eq!(f.continuity.turn_state.as_deref(), Some("ts-1"));
        assert_eq!(f.continuity.previous_response_id.as_deref(), Some("resp_9"));
        assert_eq!(f.continuity.file_ids, ["file-abc"]);
        assert!(f.compaction);
    }

    #[test]
    fn refuses_model_names_of_no_model_shape() {
        let long = format!(r#"{{"model":"{}"}}"#, "m".repeat(MAX_MODEL_LEN + 1));
        let spaced = r#"{"model":"gpt-5 please summarise my secret plan"}"#;
        for body in [long.as_str(), spaced] {
            assert_eq!(
                RequestFacts::from_json(&HeaderMap::new(), body.as_bytes()),
                Err(FactsError::InvalidModel)
            );
        }
        assert!(is_model_name("gpt-5.1-codex-max"));
        assert!(is_model_name(&"m".repeat(MAX_MODEL_LEN)));
        assert!(!is_model_name("gpt\u{e9}"));
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
