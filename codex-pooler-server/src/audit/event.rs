//! One audit event.

use std::time::SystemTime;

use codex_pooler_core::model::PoolId;

use crate::operators::{Operator, OperatorId};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An operator, through the REST API.
    Operator,
    /// Someone on the host, through the `codex-pooler` CLI.
    Cli,
    /// The gateway itself (a background job).
    System,
}

impl ActorKind {
    /// The stable spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }

    /// Parses a stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Self::Operator),
            "cli" => Some(Self::Cli),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// Who acted, with their name at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// The operator, when an operator acted.
    pub operator: Option<OperatorId>,
    /// The operator's name, or the host user running the CLI.
    pub name: Option<String>,
}

impl Actor {
    /// An operator acting through the REST API.
    pub fn operator(operator: &Operator) -> Self {
        Self {
            kind: ActorKind::Operator,
            operator: Some(operator.id),
            name: Some(operator.name.clone()),
        }
    }

    /// The CLI, named after the host user when the environment says who that is.
    pub fn cli() -> Self {
        Self {
            kind: ActorKind::Cli,
            operator: None,
            name: std::env::var("USER").ok().filter(|u| !u.is_empty()),
        }
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was refused or failed; nothing changed.
    Failure,
}

impl Outcome {
    /// The stable spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// Parses a stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Who acted.
    pub actor: Actor,
    /// What was done, as `<target kind>.<verb>` (`pool.create`, `key.rotate`).
    pub action: String,
    /// What kind of thing it was done to (`pool`, `account`, `key`, `operator`, `token`).
    pub target_kind: String,
    /// Which one (an id or slug), when known.
    pub target_id: Option<String>,
    /// The pool it concerns, so pool-scoped admins see it.
    pub pool: Option<PoolId>,
    /// How it ended.
    pub outcome: Outcome,
    /// Metadata-only detail: an error message or the names of changed fields, never a value
    /// that could be secret.
    pub detail: Option<String>,
}

impl NewAuditEvent {
    /// A successful `action` by `actor` on `target_kind` `target_id`.
    pub fn new(
        actor: Actor,
        action: impl Into<String>,
        target_kind: impl Into<String>,
        target_id: Option<String>,
    ) -> Self {
        Self {
            actor,
            action: action.into(),
            target_kind: target_kind.into(),
            target_id,
            pool: None,
            outcome: Outcome::Success,
            detail: None,
        }
    }

    /// The pool the event concerns.
    #[must_use]
    pub fn in_pool(mut self, pool: PoolId) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Marks the event failed, with what went wrong.
    #[must_use]
    pub fn failed(mut self, detail: impl Into<String>) -> Self {
        self.outcome = Outcome::Failure;
        self.detail = Some(detail.into());
        self
    }

    /// Adds metadata-only detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Store identifier; larger is newer.
    pub id: i64,
    /// When it happened.
    pub at: SystemTime,
    /// The event.
    pub event: NewAuditEvent,
}

/// Which events to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only these pools' events (a scoped admin); `None` for every event.
    pub pools: Option<Vec<PoolId>>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this operator's actions.
    pub operator: Option<OperatorId>,
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
    /// Only events older than this id (the cursor).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u64,
}
