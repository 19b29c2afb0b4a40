//! Audit events for CLI changes: each command that changes configuration is described before it
//! runs and recorded, with its outcome, after.

use crate::audit::{Actor, NewAuditEvent};
use crate::cli::{
    Command, KeysCommand, OperatorsCommand, PoolsCommand, TokensCommand, UpstreamsCommand,
};
use crate::store::SqlStore;

/// The audit event of `command`, or `None` for commands that change nothing (lists, `serve`).
pub fn describe(command: &Command) -> Option<NewAuditEvent> {
    let (action, kind, target) = match command {
        Command::Pools { command } => match command {
            PoolsCommand::Create { slug, .. } => ("pool.create", "pool", slug.clone()),
            PoolsCommand::SetStrategy { slug, .. } => ("pool.set_strategy", "pool", slug.clone()),
            PoolsCommand::SetV1 { slug, .. } => ("pool.set_v1", "pool", slug.clone()),
            PoolsCommand::Disable { slug, .. } => ("pool.disable", "pool", slug.clone()),
            PoolsCommand::Enable { slug, .. } => ("pool.enable", "pool", slug.clone()),
            PoolsCommand::Archive { slug, .. } => ("pool.archive", "pool", slug.clone()),
            PoolsCommand::SetWaits { slug, .. } => ("pool.set_waits", "pool", slug.clone()),
            PoolsCommand::List { .. } => return None,
        },
        Command::Upstreams { command } => match command {
            UpstreamsCommand::Import { pool, .. } => ("account.import", "pool", pool.clone()),
            UpstreamsCommand::Login { pool, .. } => ("account.login", "pool", pool.clone()),
            UpstreamsCommand::Pause { id } => ("account.pause", "account", id.to_string()),
            UpstreamsCommand::Resume { id } => ("account.resume", "account", id.to_string()),
            UpstreamsCommand::Remove { id, .. } => ("account.remove", "account", id.to_string()),
            UpstreamsCommand::Assign { id, .. } => ("account.assign", "account", id.to_string()),
            UpstreamsCommand::Unassign { id, .. } => {
                ("account.unassign", "account", id.to_string())
            }
            UpstreamsCommand::List { .. }
            | UpstreamsCommand::Quota { .. }
            | UpstreamsCommand::Explain { .. } => return None,
        },
        Command::Keys { command } => match command {
            KeysCommand::Create { pool, .. } => ("key.create", "pool", pool.clone()),
            KeysCommand::SetPolicy { key, .. } => ("key.set_policy", "key", key.clone()),
            KeysCommand::Pause { key } => ("key.pause", "key", key.clone()),
            KeysCommand::Resume { key } => ("key.resume", "key", key.clone()),
            KeysCommand::Revoke { key } => ("key.revoke", "key", key.clone()),
            KeysCommand::Rotate { key, .. } => ("key.rotate", "key", key.clone()),
            KeysCommand::List { .. } => return None,
        },
        Command::Operators { command } => match command {
            OperatorsCommand::CreateOwner { name, .. } => {
                ("operator.create_owner", "operator", name.clone())
            }
            OperatorsCommand::CreateAdmin { name, .. } => {
                ("operator.create_admin", "operator", name.clone())
            }
            OperatorsCommand::SetPools { name, .. } => {
                ("operator.set_pools", "operator", name.clone())
            }
            OperatorsCommand::Disable { name } => ("operator.disable", "operator", name.clone()),
            OperatorsCommand::Enable { name } => ("operator.enable", "operator", name.clone()),
            OperatorsCommand::Tokens { command } => match command {
                TokensCommand::Create { operator, .. } => {
                    ("token.create", "operator", operator.clone())
                }
                TokensCommand::Revoke { operator, .. } => {
                    ("token.revoke", "operator", operator.clone())
                }
                TokensCommand::List { .. } => return None,
            },
            OperatorsCommand::List { .. } => return None,
        },
        Command::Records { .. }
        | Command::Usage(_)
        | Command::Secrets { .. }
        | Command::Serve(_)
        | Command::Openapi
        | Command::FakeUpstream { .. } => return None,
    };
    Some(NewAuditEvent::new(Actor::cli(), action, kind, Some(target)))
}

/// Appends `event` with the command's outcome. A store that cannot take it is reported on
/// stderr; the command's own result stands.
pub async fn record<T, E: std::fmt::Display>(
    store: &SqlStore,
    event: NewAuditEvent,
    result: &Result<T, E>,
) {
    let event = match result {
        Ok(_) => event,
        Err(err) => event.failed(err.to_string()),
    };
    if let Err(err) = store.append_audit(event).await {
        eprintln!("warning: the change was not written to the audit log: {err}");
    }
}
