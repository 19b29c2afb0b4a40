//! Request records: the metadata kept about each pooled request.
//!
//! A record holds identifiers, counts and timings. It never holds a body, a prompt, a header
//! value, a key or a token; the types here have no field that could carry one.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::model::{AccountId, KeyId, PoolId, UnknownVariant};
use crate::plan::Exclusion;
use crate::request::RouteClass;

/// How a pooled request's response ended.
///
/// Typed inside the pooler; [`as_str`](Self::as_str) gives the string stored and logged, and
/// [`FromStr`](std::str::FromStr) reads it back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordEnd {
    /// Not closed yet (a record fresh from [`RequestRecord::new`]); stored as the empty string.
    #[default]
    Open,
    /// The whole answer reached the client (for SSE: `response.completed` was seen).
    Completed,
    /// The client went away before the answer ended.
    ClientClosed,
    /// The stream ended without `response.completed` or `response.failed`.
    Incomplete,
    /// The stream ended with `response.failed`.
    ResponseFailed,
    /// The upstream body or socket failed, or upstream answered with an error.
    UpstreamError,
    /// The pooler refused the request itself.
    Rejected,
}

impl RecordEnd {
    /// Every end.
    pub const ALL: [Self; 7] = [
        Self::Open,
        Self::Completed,
        Self::ClientClosed,
        Self::Incomplete,
        Self::ResponseFailed,
        Self::UpstreamError,
        Self::Rejected,
    ];

    /// The stable string, as stored and logged.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "",
            Self::Completed => "completed",
            Self::ClientClosed => "client_closed",
            Self::Incomplete => "incomplete",
            Self::ResponseFailed => "response_failed",
            Self::UpstreamError => "upstream_error",
            Self::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for RecordEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for RecordEnd {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::str::FromStr for RecordEnd {
    type Err = UnknownVariant;

    /// Reads back a stored [`as_str`](Self::as_str) end.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("record end", s))
    }
}

/// Serde through the stable strings, so serialized records read as they are stored.
macro_rules! serde_as_str {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_str!(RecordEnd, ErrorCode, RouteClass);

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
///
/// Built with [`RequestRecord::new`] and filled in as the request goes; other crates cannot
/// write it as a literal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    pub route: RouteClass,
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
    pub error_code: Option<ErrorCode>,
    /// Exclusion reason codes with account ids (`3:quota_exhausted,5:account_paused`).
    pub exclusions: Option<String>,
    /// The `/v1` parameters the translation dropped because the backend refuses them, by
    /// name only, comma-separated (`temperature,max_output_tokens`); never their values.
    pub dropped_parameters: Option<String>,
    /// How the response ended.
    pub end: RecordEnd,
}

impl RequestRecord {
    /// The record of a request on `route` that arrived at `received_at`: nothing decided yet
    /// (no account, status 0, no attempts).
    pub fn new(
        received_at: SystemTime,
        pool: PoolId,
        key: KeyId,
        route: RouteClass,
        model: Option<String>,
        stream: bool,
    ) -> Self {
        Self {
            received_at,
            pool,
            key,
            account: None,
            route,
            model,
            stream,
            status: 0,
            attempts: 0,
            latency_ms: 0,
            usage: None,
            error_code: None,
            exclusions: None,
            dropped_parameters: None,
            end: RecordEnd::Open,
        }
    }

    /// Closes the record at `now`: the latency since arrival, and how the response ended.
    pub fn finish(&mut self, now: SystemTime, end: RecordEnd) {
        let elapsed = now.duration_since(self.received_at).unwrap_or_default();
        self.latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.end = end;
    }

    /// Sets [`exclusions`](Self::exclusions) from the planner's: account ids with reason codes,
    /// none when no account was excluded.
    pub fn set_exclusions(&mut self, exclusions: &[(AccountId, Exclusion)]) {
        self.exclusions = (!exclusions.is_empty()).then(|| {
            exclusions
                .iter()
                .map(|(id, e)| format!("{id}:{}", e.reason()))
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
    fn codes_read_back_as_written() {
        for end in RecordEnd::ALL {
            assert_eq!(end.as_str().parse::<RecordEnd>(), Ok(end));
            let json = serde_json::to_string(&end).unwrap();
            assert_eq!(json, format!("\"{end}\""));
            assert_eq!(serde_json::from_str::<RecordEnd>(&json).unwrap(), end);
        }
        for class in RouteClass::ALL {
            assert_eq!(class.as_str().parse::<RouteClass>(), Ok(class));
        }
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        }
        assert!("finished".parse::<RecordEnd>().is_err());
    }

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
