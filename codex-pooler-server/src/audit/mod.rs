//! Audit events: every configuration change, from the REST API or the CLI, with who made it, what
//! it touched and how it ended. Events hold metadata only: never a secret, a token, a key or a
//! request body.

mod event;

pub use event::{Actor, ActorKind, AuditEvent, AuditQuery, NewAuditEvent, Outcome};
