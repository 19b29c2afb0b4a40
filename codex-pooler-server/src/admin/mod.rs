//! The operator REST API under `/admin/api/v1`, described by OpenAPI.
//!
//! Every route takes `Authorization: Bearer <operator API token>` ([`Caller`]) and answers JSON;
//! errors are `{"error": {"code", "message"}}` ([`ApiError`]). An owner reaches everything; an
//! admin only their pools, and anything else answers 404 as if it did not exist. Every change
//! writes an audit event. The spec is served at `/openapi.json`, and a docs page at
//! `/admin/api/docs/` from files inside the binary.

pub mod accounts;
pub mod audit_events;
mod caller;
pub mod device_logins;
mod error;
mod extract;
pub mod keys;
pub mod lifecycle;
pub mod operators;
pub mod page;
pub mod pools;
pub mod records;
pub mod routing;
mod state;

use axum::Router;
use axum::http::Uri;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use caller::{Caller, authenticate, bearer};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use state::AdminState;

/// Where the API lives.
pub const API_PREFIX: &str = "/admin/api/v1";

/// The spec's fixed parts: title, version, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "codex-pooler operator API",
        description = "Manage pools, upstream accounts, Pool API keys and operators; read \
                       request records, usage and audit events. Authenticate with \
                       `Authorization: Bearer <operator API token>`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "pools", description = "Pools of upstream accounts"),
        (name = "accounts", description = "Upstream Codex accounts"),
        (name = "routing", description = "Routing explanations, dry runs and quota runways"),
        (name = "keys", description = "Pool API keys"),
        (name = "records", description = "Request records and daily usage"),
        (name = "operators", description = "Operators and their tokens"),
        (name = "audit", description = "Audit events"),
    )
)]
struct ApiDoc;

/// Adds the `operator_token` bearer scheme every route names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An operator API token (`cxp-op-...`)"))
                    .build(),
            ),
        );
    }
}

/// The API's routes with their spec, before state is given.
fn api() -> OpenApiRouter<AdminState> {
    let v1 = OpenApiRouter::new()
        .merge(pools::routes())
        .merge(accounts::routes())
        .merge(device_logins::routes())
        .merge(routing::routes())
        .merge(keys::routes())
        .merge(records::routes())
        .merge(lifecycle::routes())
        .merge(operators::routes())
        .merge(audit_events::routes());
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(API_PREFIX, v1)
}

/// The OpenAPI document (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut spec = api().into_openapi();
    spec.info.version = env!("CARGO_PKG_VERSION").to_owned();
    spec
}

/// The OpenAPI document as pretty JSON, as committed in `docs/openapi.json`.
///
/// # Errors
///
/// When serialization fails (it does not for a spec built from these routes).
pub fn openapi_json() -> Result<String, serde_json::Error> {
    openapi().to_pretty_json()
}

/// The operator API, `/openapi.json` and the docs page, as a router.
pub fn router(state: AdminState) -> Router {
    let (routes, _) = api().split_for_parts();
    let routes = routes
        .route(
            &format!("{API_PREFIX}/{{*rest}}"),
            axum::routing::any(unknown_route),
        )
        .with_state(state);
    routes.merge(SwaggerUi::new("/admin/api/docs").url("/openapi.json", openapi()))
}

/// Paths under the prefix that name no route: the API's own 404 body.
async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("route {}", uri.path()))
}
