//! Request records: the metadata kept about each pooled request.
//!
//! A record holds identifiers, counts and timings. It never holds a body, a prompt, a header
//! value, a key or a token; the types here have no field that could carry one.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::eligibility::Exclusion;
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

impl RequestRecord {
    /// The record of a request on `route` that arrived at `received_at`: nothing decided yet
    /// (no account, status 0, no attempts).
    pub fn new(
        received_at: SystemTime,
        pool: PoolId,
        key: KeyId,
        route: &str,
        model: Option<String>,
        stream: bool,
    ) -> Self {
        Self {
            received_at,
            pool,
            key,
            account: None,
            route: route.to_owned(),
            model,
            stream,
            status: 0,
            attempts: 0,
            latency_ms: 0,
            usage: None,
            error_code: None,
            exclusions: None,
            end: String::new(),
        }
    }

    /// Closes the record at `now`: the latency since arrival, and how the response ended.
    pub fn finish(&mut self, now: SystemTime, end: &str) {
        let elapsed = now.duration_since(self.received_at).unwrap_or_default();
        self.latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        end.clone_into(&mut self.end);
    }

    /// Sets [`exclusions`](Self::exclusions) from the planner's: account ids with reason codes,
    /// none when no account was excluded.
    pub fn set_exclusions(&mut self, exclusions: &[(AccountId, Exclusion)]) {
        self.exclusions = (!exclusions.is_empty()).then(|| {
            exclusions
                .iter()
                .map(|(id, e)| format!("{id}:{}", e.reason_code()))
                .collect::<Vec<_>>()
                .join(",")
        });
    }
}

impl TokenUsage {
    /// Reads the `usage` object of a Responses API `response` (as in `response.completed`).
    pub fn from_response_usage(usage: &serde_json::Value) -> Option<Self> {
        let n = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_u64).unwrap_or(0);
        if !usage.is_object() {
            return None;
        }
        let input_tokens = n(usage.get("input_tokens"));
        let output_tokens = n(usage.get("output_tokens"));
        Some(Self {
            input_tokens,
            cached_input_tokens: n(usage.pointer("/input_tokens_details/cached_tokens")),
            output_tokens,
            reasoning_tokens: n(usage.pointer("/output_tokens_details/reasoning_tokens")),
            total_tokens: usage
                .get("total_tokens")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(input_tokens + output_tokens),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_from_completed_event() {
        let usage = serde_json::json!({
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 2},
            "total_tokens": 15
        });
        assert_eq!(
            TokenUsage::from_response_usage(&usage),
            Some(TokenUsage {
                input_tokens: 10,
                cached_input_tokens: 4,
                output_tokens: 5,
                reasoning_tokens: 2,
                total_tokens: 15
            })
        );
        assert_eq!(
            TokenUsage::from_response_usage(&serde_json::Value::Null),
            None
        );
    }
}
