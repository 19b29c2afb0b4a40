//! Test doubles for tests of this crate and of crates built on it: unsigned JWTs and a record
//! sink that keeps what it is given.
//!
//! Behind the `testing` feature (and always in this crate's own unit tests); the test kit
//! (`codex-pooler-test-kit`) re-exports it.

use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_pooler_core::record::RequestRecord;
use serde_json::Value;

use crate::records::RecordSink;

/// An unsigned JWT (header `RS256`, signature `fakesig`) around `claims`: what the gateway
/// reads from ChatGPT tokens without checking signatures.
///
/// ```
/// let token = codex_pooler_tower::testing::fake_jwt(&serde_json::json!({"exp": 1}));
/// assert_eq!(token.split('.').count(), 3);
/// ```
pub fn fake_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.fakesig")
}

/// A [`RecordSink`] that keeps every record, in order.
#[derive(Debug, Default)]
pub struct CollectingSink(Mutex<Vec<RequestRecord>>);

impl CollectingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records submitted so far, oldest first.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl RecordSink for CollectingSink {
    fn submit(&self, record: RequestRecord) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }
}
