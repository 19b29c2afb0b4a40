//! Operators, their roles and their tokens, as stored.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use codex_pooler_core::model::PoolId;
use serde::{Deserialize, Serialize};

use super::Scope;

/// An operator's store identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OperatorId(pub i64);

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An operator token's store identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TokenId(pub i64);

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored spelling that names no known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

impl UnknownValue {
    fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.to_owned(),
        }
    }
}

/// Generates `as_str`, `FromStr` and `Display` for a fieldless enum with stable spellings.
macro_rules! spelled {
    ($ty:ident, $what:literal, { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            /// The stable spelling, as stored and sent in API answers.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s,)+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok(Self::$variant),)+
                    other => Err(UnknownValue::new($what, other)),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: every pool, every account, operators and their tokens.
    Owner,
    /// Only the pools assigned to them: their accounts, keys, records and usage.
    Admin,
}

spelled!(Role, "role", { Owner => "owner", Admin => "admin" });

/// Whether an operator may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorStatus {
    /// Tokens work.
    Active,
    /// Every token of the operator is refused.
    Disabled,
}

spelled!(OperatorStatus, "operator status", { Active => "active", Disabled => "disabled" });

/// Which surface a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The operator REST API under `/admin/api/v1`.
    Api,
    /// The read-only MCP endpoint `/mcp`.
    Mcp,
}

spelled!(TokenKind, "token kind", { Api => "api", Mcp => "mcp" });

/// A stored operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Store identifier.
    pub id: OperatorId,
    /// Unique name.
    pub name: String,
    /// What the operator may do.
    pub role: Role,
    /// Whether the operator's tokens work.
    pub status: OperatorStatus,
    /// The pools an admin is scoped to (empty for an owner, who sees every pool).
    pub pools: Vec<PoolId>,
    /// Whether a dashboard password is set (the hash itself never leaves the store).
    pub has_password: bool,
    /// When the operator was created.
    pub created_at: SystemTime,
}

impl Operator {
    /// What the operator may see and change.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Owner => Scope::All,
            Role::Admin => Scope::Pools(self.pools.iter().copied().collect()),
        }
    }
}

/// What a new operator is.
#[derive(Debug, Clone)]
pub struct NewOperator {
    /// Unique name.
    pub name: String,
    /// Owner or admin.
    pub role: Role,
    /// An admin's pools.
    pub pools: Vec<PoolId>,
}

/// A stored operator token: its metadata, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorToken {
    /// Store identifier.
    pub id: TokenId,
    /// Whose token it is.
    pub operator: OperatorId,
    /// Which surface it opens.
    pub kind: TokenKind,
    /// A label chosen by its creator.
    pub label: String,
    /// The public prefix, shown in lists so a token can be recognised.
    pub prefix: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
}

impl OperatorToken {
    /// Whether the token opens its surface at `now`.
    pub fn is_usable(&self, now: SystemTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}
