//! Pool API keys: the credentials clients present. Only a keyed hash of the secret is kept.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{KeyPolicy, PoolId, UnknownVariant};

/// A Pool API key's store identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub i64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a key is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Accepted.
    Active,
    /// Temporarily refused; can be resumed.
    Paused,
    /// Permanently refused.
    Revoked,
}

impl KeyStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Revoked => "revoked",
        }
    }
}

impl FromStr for KeyStatus {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "revoked" => Ok(Self::Revoked),
            other => Err(UnknownVariant::new("key status", other)),
        }
    }
}

/// A Pool API key as stored: a public prefix to find it by and a keyed hash of the whole key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolApiKey {
    /// Store identifier.
    pub id: KeyId,
    /// The pool the key draws from.
    pub pool: PoolId,
    /// Operator-chosen name.
    pub name: String,
    /// The public prefix that identifies the key (also shown in listings).
    pub prefix: String,
    /// Keyed hash (HMAC-SHA256) of the full key.
    pub hash: [u8; 32],
    /// The version of the hashing key that made `hash` (the version of the secret key it was
    /// derived from).
    pub key_version: u32,
    /// Whether the key is accepted.
    pub status: KeyStatus,
    /// When the key stops being accepted, if ever.
    pub expires_at: Option<SystemTime>,
    /// What the key's requests may ask for, and how many.
    #[serde(default)]
    pub policy: KeyPolicy,
    /// The secret the key had before its last rotation, still accepted until its grace period
    /// ends; `None` when the key was never rotated or was rotated without grace.
    #[serde(default)]
    pub previous: Option<PreviousSecret>,
}

/// A rotated key's old secret during its grace period: accepted beside the new one until
/// [`until`](Self::until), then refused like any wrong secret (`invalid_api_key`).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// Keyed hash (HMAC-SHA256) of the old key.
    pub hash: [u8; 32],
    /// The version of the hashing key that made `hash`.
    pub key_version: u32,
    /// When the old secret stops being accepted.
    pub until: SystemTime,
}

impl PreviousSecret {
    /// Whether the old secret is still accepted at `now`.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        now < self.until
    }
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("key_version", &self.key_version)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl PoolApiKey {
    /// Whether the key has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The old secret of a rotation, while it is still accepted at `now`.
    pub fn previous_at(&self, now: SystemTime) -> Option<&PreviousSecret> {
        self.previous.as_ref().filter(|p| p.is_valid_at(now))
    }
}

// The hash is not secret on its own, but it has no business in logs either.
impl fmt::Debug for PoolApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolApiKey")
            .field("id", &self.id)
            .field("pool", &self.pool)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("key_version", &self.key_version)
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .field("policy", &self.policy)
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}
