//! [`KeyTotals`]: what each Pool API key has used since the process started, in memory.
//!
//! Every finished request record adds one request and upstream's token counts to its key.
//! `GET /v1/usage` answers from here (and from the key meter for the limits' current use),
//! with no store round trip. Like the key meter, the totals are per process: a restart or
//! another replica starts from zero.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

pub use crate::key_meter::MeterUse;
use crate::model::KeyId;
use crate::record::TokenUsage;

/// One key's requests and tokens since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyTotals {
    /// Requests of the key that ended (served, failed upstream or refused by the gateway).
    pub request_count: u64,
    /// Input tokens upstream reported.
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache (part of `input_tokens`).
    pub cached_input_tokens: u64,
    /// Output tokens upstream reported.
    pub output_tokens: u64,
    /// Total tokens upstream reported.
    pub total_tokens: u64,
}

impl KeyTotals {
    fn add(&mut self, usage: Option<&TokenUsage>) {
        self.request_count = self.request_count.saturating_add(1);
        if let Some(u) = usage {
            self.input_tokens = self.input_tokens.saturating_add(u.input_tokens);
            self.cached_input_tokens = self
                .cached_input_tokens
                .saturating_add(u.cached_input_tokens);
            self.output_tokens = self.output_tokens.saturating_add(u.output_tokens);
            self.total_tokens = self.total_tokens.saturating_add(u.total_tokens);
        }
    }
}

/// The totals of every key that has made a request.
#[derive(Debug, Default)]
pub(crate) struct KeyTotalsBook {
    keys: Mutex<HashMap<KeyId, KeyTotals>>,
}

impl KeyTotalsBook {
    /// Adds one ended request of `key` with the usage upstream reported, if any.
    pub(crate) fn add(&self, key: KeyId, usage: Option<&TokenUsage>) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.entry(key).or_default().add(usage);
    }

    /// `key`'s totals (zero for a key that has made no request).
    pub(crate) fn get(&self, key: KeyId) -> KeyTotals {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(&key).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_tokens_add_up_per_key() {
        let book = KeyTotalsBook::default();
        let usage = TokenUsage {
            input_tokens: 10,
            cached_input_tokens: 4,
            output_tokens: 5,
            reasoning_tokens: 1,
            total_tokens: 15,
        };
        book.add(KeyId(1), Some(&usage));
        book.add(KeyId(1), None);
        book.add(KeyId(2), Some(&usage));
        assert_eq!(
            book.get(KeyId(1)),
            KeyTotals {
                request_count: 2,
                input_tokens: 10,
                cached_input_tokens: 4,
                output_tokens: 5,
                total_tokens: 15,
            }
        );
        assert_eq!(book.get(KeyId(2)).request_count, 1);
        assert_eq!(book.get(KeyId(3)), KeyTotals::default());
    }
}
