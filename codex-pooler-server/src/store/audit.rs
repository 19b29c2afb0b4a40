//! Audit events: appended by every configuration change, listed newest first.

use codex_pooler_core::model::PoolId;
use codex_pooler_core::store::StoreError;
use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::SqlStore;
use super::convert::{bad, millis, now_millis, time};
use super::entity::audit_event;
use super::error::backend;
use crate::audit::{Actor, ActorKind, AuditEvent, AuditQuery, NewAuditEvent, Outcome};
use crate::operators::OperatorId;

impl SqlStore {
    /// Appends an event.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn append_audit(&self, event: NewAuditEvent) -> Result<i64, StoreError> {
        let row = audit_event::ActiveModel {
            id: ActiveValue::NotSet,
            at_ms: ActiveValue::Set(now_millis()),
            actor_kind: ActiveValue::Set(event.actor.kind.as_str().to_owned()),
            actor_operator_id: ActiveValue::Set(event.actor.operator.map(|o| o.0)),
            actor_name: ActiveValue::Set(event.actor.name),
            action: ActiveValue::Set(event.action),
            target_kind: ActiveValue::Set(event.target_kind),
            target_id: ActiveValue::Set(event.target_id),
            pool_id: ActiveValue::Set(event.pool.map(|p| p.0)),
            outcome: ActiveValue::Set(event.outcome.as_str().to_owned()),
            detail: ActiveValue::Set(event.detail),
        };
        let inserted = audit_event::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(inserted.last_insert_id)
    }

    /// Events matching `query`, newest first. A scoped query sees only events of its pools.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut find = audit_event::Entity::find().order_by_desc(audit_event::Column::Id);
        if let Some(pools) = &query.pools {
            find = find.filter(audit_event::Column::PoolId.is_in(pools.iter().map(|p| p.0)));
        }
        if let Some(action) = &query.action {
            find = find.filter(audit_event::Column::Action.eq(action.as_str()));
        }
        if let Some(operator) = query.operator {
            find = find.filter(audit_event::Column::ActorOperatorId.eq(operator.0));
        }
        if let Some(since) = query.since {
            find = find.filter(audit_event::Column::AtMs.gte(millis(since)));
        }
        if let Some(until) = query.until {
            find = find.filter(audit_event::Column::AtMs.lt(millis(until)));
        }
        if let Some(before) = query.before_id {
            find = find.filter(audit_event::Column::Id.lt(before));
        }
        find.limit(query.limit)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// One event, if `pools` (a scoped admin's, or `None` for all) lets it be seen.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn audit_event(
        &self,
        id: i64,
        pools: Option<&[PoolId]>,
    ) -> Result<Option<AuditEvent>, StoreError> {
        let mut find = audit_event::Entity::find_by_id(id);
        if let Some(pools) = pools {
            find = find.filter(audit_event::Column::PoolId.is_in(pools.iter().map(|p| p.0)));
        }
        find.one(&self.db)
            .await
            .map_err(backend)?
            .map(from_row)
            .transpose()
    }
}

fn from_row(row: audit_event::Model) -> Result<AuditEvent, StoreError> {
    let kind = ActorKind::parse(&row.actor_kind)
        .ok_or_else(|| bad("audit_events.actor_kind", &row.actor_kind, "is unknown"))?;
    let outcome = Outcome::parse(&row.outcome)
        .ok_or_else(|| bad("audit_events.outcome", &row.outcome, "is unknown"))?;
    Ok(AuditEvent {
        id: row.id,
        at: time("audit_events.at_ms", row.at_ms)?,
        event: NewAuditEvent {
            actor: Actor {
                kind,
                operator: row.actor_operator_id.map(OperatorId),
                name: row.actor_name,
            },
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            pool: row.pool_id.map(PoolId),
            outcome,
            detail: row.detail,
        },
    })
}
