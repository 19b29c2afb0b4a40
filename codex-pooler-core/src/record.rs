//! Request records: the metadata kept about each pooled request.
//!
//! A record holds identifiers, counts and timings. It never holds a body, a prompt, a header
//! value, a key or a token; the types here have no field that could carry one.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, KeyId, PoolId};

/// Token counts reported in `response.completed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cached_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
}

/// One pooled request, as metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When the request arrived.
    pub received_at: SystemTime,
    /// The key's pool.
    pub pool: PoolId,
    /// The Pool API key used.
    pub key: KeyId,
    /// The account that served the answer, if any.
    pub account: Option<AccountId>,
    /// The route class (`responses`, ...).
    pub route: String,
    /// The requested model.
    pub model: Option<String>,
    /// Whether the client asked for streaming.
    pub stream: bool,
    /// HTTP status sent to the client.
    pub status: u16,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Time from arrival to the end of the response body, in milliseconds.
    pub latency_ms: u64,
    /// Token usage, when the upstream reported it.
    pub usage: Option<TokenUsage>,
    /// The pooler's error code, when it produced the error.
    pub error_code: Option<String>,
    /// Exclusion reason codes with account ids (`3:quota_exhausted,5:account_paused`).
    pub exclusions: Option<String>,
    /// How the response ended: `completed`, `client_closed`, `upstream_error`.
    pub end: String,
}
