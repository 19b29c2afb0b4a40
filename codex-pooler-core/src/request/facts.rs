//! Request facts: what routing needs to know about a request, read once from its head and body.
//!
//! Only identifiers and flags are kept (model, stream flag, continuity keys, file ids). Prompt
//! text is never copied out of the body: the first input items are hashed in place.

use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::continuity::{ContinuityKeys, SessionIds};
use crate::error::PoolerError;
use crate::request::PoolContext;

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
    instructions: Option<&'a RawValue>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    /// The history and notes tools' `context: {session_id, current_agent_name}`.
    context: Option<ToolContext>,
}

#[derive(Deserialize)]
struct ToolContext {
    session_id: Option<String>,
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
    /// A continuity id (a session or thread header, the turn state, `previous_response_id`,
    /// `prompt_cache_key`) is longer than [`MAX_CLIENT_ID_LEN`] or holds a character ids never
    /// have. `param` names the header or body field; the value is never logged or recorded.
    #[error("{param} is too long or holds characters ids never have")]
    InvalidId {
        /// The header or body field that holds the value.
        param: &'static str,
    },
}

impl From<FactsError> for PoolerError {
    fn from(err: FactsError) -> Self {
        match err {
            FactsError::NotJsonObject => {
                PoolerError::invalid_request("the request body must be a JSON object")
            }
            FactsError::InvalidModel => PoolerError::invalid_request(
                "the model name is too long or holds characters model names never have",
            )
            .with_param("model"),
            FactsError::InvalidId { param } => PoolerError::invalid_request(format!(
                "{param} must be at most {MAX_CLIENT_ID_LEN} bytes of visible ASCII"
            ))
            .with_param(param),
        }
    }
}

/// The longest model name accepted, in bytes.
pub const MAX_MODEL_LEN: usize = 128;

/// The longest continuity id accepted (session and thread headers, turn state,
/// `previous_response_id`, `prompt_cache_key`), in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 256;

/// Headers holding continuity ids besides the [`SESSION_HEADERS`]: the other ids the gateway
/// routes on or forwards.
const OTHER_ID_HEADERS: &[&str] = &[
    "x-codex-session-id",
    "x-codex-turn-state",
    "x-codex-previous-response-id",
    "x-codex-window-id",
    "x-codex-parent-thread-id",
    "x-client-request-id",
];

/// Whether `id` can be a continuity id: at most [`MAX_CLIENT_ID_LEN`] bytes of visible ASCII
/// (no spaces, no control characters). Ids the Codex CLI and the SDKs send are UUIDs or short
/// opaque tokens; anything else is refused before it can be logged, recorded or forwarded.
pub(crate) fn is_client_id(id: &str) -> bool {
    id.len() <= MAX_CLIENT_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks every continuity-id header of a request against the id rule (at most [`MAX_CLIENT_ID_LEN`] bytes of visible ASCII); the first one of
/// another shape is named in the error.
pub fn check_id_headers(headers: &HeaderMap) -> Result<(), FactsError> {
    for name in SESSION_HEADERS.iter().chain(OTHER_ID_HEADERS) {
        for value in headers.get_all(*name) {
            let ok = value.to_str().is_ok_and(|v| is_client_id(v.trim()));
            if !ok {
                return Err(FactsError::InvalidId { param: name });
            }
        }
    }
    Ok(())
}

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
        check_id_headers(headers)?;
        let context_session = head
            .context
            .and_then(|c| c.session_id)
            .filter(|s| !s.is_empty());
        for (param, id) in [
            ("previous_response_id", &head.previous_response_id),
            ("prompt_cache_key", &head.prompt_cache_key),
            ("context.session_id", &context_session),
        ] {
            if id.as_deref().is_some_and(|id| !is_client_id(id)) {
                return Err(FactsError::InvalidId { param });
            }
        }
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
            upstream_session: None,
            context_session,
        };
        let mut compaction = false;
        if let Some(input) = head.input {
            let (derived, trailing_compaction) = scan_input(head.instructions, input);
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

impl RequestFacts {
    /// Fills in the upstream session id derived for a request of `ctx` whose client sent none
    /// (see [`SessionIds`]), and makes it the routing continuity key: every turn of the thread
    /// then reaches the same upstream cache shard and, while it can, the same account.
    pub fn derive_session(&mut self, ids: &SessionIds, ctx: PoolContext) {
        ids.fill(ctx, &mut self.continuity);
        self.continuity_key = self.continuity.soft_key();
    }
}

/// Hashes `instructions` and the first input item (a stable thread fingerprint) and tells
/// whether the last item is a `compaction_trigger`.
fn scan_input(instructions: Option<&RawValue>, input: &RawValue) -> (Option<String>, bool) {
    // Instructions are the same for every turn of a thread; they tell threads of different
    // system prompts with the same opening message apart.
    let seed = instructions.map_or(FNV_OFFSET, |i| {
        fingerprint_from(fingerprint_from(FNV_OFFSET, i.get().as_bytes()), b"\0")
    });
    let thread = |item: &str| format!("input:{:016x}", fingerprint_from(seed, item.as_bytes()));
    let raw = input.get();
    if raw.starts_with('"') {
        return (Some(thread(raw)), false);
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
        .map(|item| thread(item.get()));
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

/// The 64-bit FNV-1a offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a of `bytes`, continuing from `h`: stable across processes and releases.
fn fingerprint_from(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
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
        // The instructions are part of the thread's fingerprint.
        let briefly = br#"{"model":"m","instructions":"be brief","input":[{"type":"message","role":"user","content":"hi"}]}"#;
        let briefly2 = br#"{"model":"m","instructions":"be brief","input":[{"type":"message","role":"user","content":"hi"},{"type":"message","role":"user","content":"more"}]}"#;
        let verbose = br#"{"model":"m","instructions":"be verbose","input":[{"type":"message","role":"user","content":"hi"}]}"#;
        assert_eq!(key(briefly), key(briefly2));
        assert_ne!(key(briefly), key(verbose));
        assert!(
            f.continuity.upstream_session.is_none(),
            "derived later, per key"
        );
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
    fn refuses_ids_of_no_id_shape() {
        let long = "s".repeat(MAX_CLIENT_ID_LEN + 1);
        for (name, value) in [
            ("session-id", long.as_str()),
            ("x-codex-turn-state", "has space"),
            ("thread-id", long.as_str()),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(name, value.parse().unwrap());
            let Err(FactsError::InvalidId { param }) =
                RequestFacts::from_json(&headers, br#"{"model":"m"}"#)
            else {
                panic!("{name} of {} bytes was accepted", value.len());
            };
            assert_eq!(param, name);
        }
        let body = format!(r#"{{"model":"m","prompt_cache_key":"{long}"}}"#);
        assert_eq!(
            RequestFacts::from_json(&HeaderMap::new(), body.as_bytes()),
            Err(FactsError::InvalidId {
                param: "prompt_cache_key"
            })
        );
        let mut headers = HeaderMap::new();
        let uuid = "019a4e2b-7c1d-7f00-8a00-0123456789ab";
        headers.insert("session-id", uuid.parse().unwrap());
        headers.insert(
            "x-codex-turn-state",
            "s".repeat(MAX_CLIENT_ID_LEN).parse().unwrap(),
        );
        let facts = RequestFacts::from_json(&headers, br#"{"model":"m"}"#).unwrap();
        assert_eq!(
            facts.continuity.session.as_deref(),
            Some(&*format!("session-id:{uuid}"))
        );
    }

    #[test]
    fn a_derived_session_becomes_the_continuity_key() {
        let ids = SessionIds::new([3; 32]);
        let ctx = |key| PoolContext {
            pool: crate::model::PoolId(1),
            key: crate::model::KeyId(key),
        };
        let body = br#"{"model":"m","prompt_cache_key":"t1"}"#;
        let mut f = RequestFacts::from_json(&HeaderMap::new(), body).unwrap();
        f.derive_session(&ids, ctx(1));
        let id = f.continuity.upstream_session.clone().unwrap();
        assert_eq!(f.continuity_key, Some(format!("upstream_session:{id}")));
        let mut other_key = RequestFacts::from_json(&HeaderMap::new(), body).unwrap();
        other_key.derive_session(&ids, ctx(2));
        assert_ne!(other_key.continuity_key, f.continuity_key);
        // A client's own session header is kept, and nothing is derived.
        let mut headers = HeaderMap::new();
        headers.insert("session-id", "abc".parse().unwrap());
        let mut own = RequestFacts::from_json(&headers, body).unwrap();
        own.derive_session(&ids, ctx(1));
        assert_eq!(own.continuity.upstream_session, None);
        assert_eq!(own.continuity_key.as_deref(), Some("session-id:abc"));
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
