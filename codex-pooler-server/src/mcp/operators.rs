//! `list_operators` and `get_operator`: an owner sees every operator, an admin only themself.

use super::McpState;
use super::args::OperatorArg;
use crate::admin::operators::{OperatorView, pool_slugs};
use crate::admin::{ApiError, Caller};
use crate::operators::{OperatorId, Role};

/// The operators the caller may see.
pub(crate) async fn list(state: &McpState, caller: &Caller) -> Result<Vec<OperatorView>, ApiError> {
    let slugs = pool_slugs(&state.admin).await?;
    if caller.operator.role != Role::Owner {
        return Ok(vec![OperatorView::of(&caller.operator, &slugs)]);
    }
    let operators = state.admin.store.operators().await?;
    Ok(operators
        .iter()
        .map(|o| OperatorView::of(o, &slugs))
        .collect())
}

/// One operator the caller may see.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: OperatorArg,
) -> Result<OperatorView, ApiError> {
    let id = OperatorId(args.operator);
    let not_found = || ApiError::NotFound(format!("operator {id}"));
    let operator = if caller.operator.role == Role::Owner {
        state
            .admin
            .store
            .operator(id)
            .await?
            .ok_or_else(not_found)?
    } else if caller.operator.id == id {
        caller.operator.clone()
    } else {
        return Err(not_found());
    };
    let slugs = pool_slugs(&state.admin).await?;
    Ok(OperatorView::of(&operator, &slugs))
}
