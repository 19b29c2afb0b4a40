//! `codex-pooler serve`: CLI and settings, then the library's gateway, then `axum::serve`.

mod app;
mod demo;
mod gateway;
mod listen;
mod tls;

pub use app::router;
pub use tls::{TlsConfig, TlsError};

use std::sync::Arc;

use crate::admin::AdminState;
use crate::cli::{GlobalArgs, ServeArgs};
use crate::error::ServerError;
use crate::settings::Settings;

/// Runs the gateway until SIGINT or SIGTERM, then drains and flushes request records.
///
/// With `--demo` use [`run_demo`]: this runs on the store `settings` name.
pub async fn run(settings: Settings, args: ServeArgs) -> Result<(), ServerError> {
    serve(&settings, args, None).await
}

/// Runs `serve --demo` on its own store: a throwaway directory removed when the demo stops,
/// or the store that `flags` (store flags given on the command line) name, which must hold no
/// account but the demo's.
pub async fn run_demo(flags: &GlobalArgs, args: ServeArgs) -> Result<(), ServerError> {
    let (place, settings) = demo::DemoPlace::choose(flags)?;
    let served = serve(&settings, args, Some(&place)).await;
    // Dropping the place removes a throwaway directory, database and key included.
    drop(place);
    served
}

async fn serve(
    settings: &Settings,
    args: ServeArgs,
    place: Option<&demo::DemoPlace>,
) -> Result<(), ServerError> {
    // A bad certificate stops the server before anything else starts.
    let tls = listen::tls_config(&args)?;
    let store = settings.open_store().await?;
    let demo_state = demo::checked(place, &*store).await?;
    let (sealer, hasher) = settings.crypto(&store).await?;
    let demo = demo::start(demo_state.as_ref(), &*store, &sealer, &hasher).await?;
    let admin_sealer = Arc::new(settings.sealer()?);
    let gateway = gateway::start(store.clone(), sealer, hasher.clone(), &args).await?;
    let app = router(AdminState {
        store,
        hasher,
        sealer: admin_sealer,
        pooler: gateway.pooler().clone(),
    });
    let welcome = |origin: &str| demo::welcome(demo.as_ref(), place, origin);
    let served = listen::serve(&args, tls, app, welcome).await;
    gateway.shutdown().await;
    demo::stop(demo);
    tracing::info!("codex-pooler stopped");
    served
}
