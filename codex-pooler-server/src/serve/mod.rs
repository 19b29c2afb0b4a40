//! `codex-pooler serve`: the gateway process.

mod app;
mod demo;
mod refresh;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use codex_pooler_core::clock::SystemClock;
use codex_pooler_core::dispatch::DispatchConfig;
use codex_pooler_core::store::PoolStore;
use codex_pooler_tower::catalog_sync::CatalogSync;
use codex_pooler_tower::records::{RecordWriter, RecordWriterConfig};
use codex_pooler_tower::usage_probe::UsageProbe;
use codex_pooler_tower::websocket::WebsocketSettings;
use codex_pooler_tower::workspace::{WorkspaceDiscovery, WorkspaceRoutes};
use codex_pooler_tower::{ConfigSync, Pooler};
use tokio::net::TcpListener;

pub use app::router;
pub use tls::{TlsConfig, TlsError};

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
    demo_place: Option<&demo::DemoPlace>,
) -> Result<(), ServerError> {
    // A bad certificate stops the server before anything else starts.
    let tls = tls_config(&args)?;
    let store = settings.open_store().await?;
    let dyn_store: Arc<dyn PoolStore> = store.clone();
    let demo_state = match demo_place {
        Some(_) => Some(demo::checked_state(&*dyn_store).await?),
        None => None,
    };
    let (sealer, hasher) = settings.crypto(&store).await?;
    let demo = match &demo_state {
        Some(state) => Some(demo::prepare(&*dyn_store, state, &sealer, &hasher).await?),
        None => None,
    };
    let upstream_base_url = args.upstream_base_url.clone();

    let sync = ConfigSync::load(Arc::clone(&dyn_store), sealer).await?;
    let reload = sync.spawn(Duration::from_millis(args.reload_interval_ms.max(50)));
    let credentials = refresh::credentials(settings, &args, &sync, Arc::clone(&dyn_store))?;
    let refresher = credentials.spawn_maintenance(sync.snapshot());
    let writer = Arc::new(RecordWriter::spawn(
        Arc::clone(&dyn_store),
        RecordWriterConfig::default(),
    ));
    let mut websocket = WebsocketSettings::default();
    websocket.idle_timeout = Duration::from_secs(args.websocket_idle_secs.max(1));
    // Workspace routing: discovered per account in the background, followed by model traffic.
    let routes = WorkspaceRoutes::new();
    let discovery = WorkspaceDiscovery::new(
        sync.snapshot(),
        credentials.clone(),
        routes.clone(),
        &upstream_base_url,
    )
    .spawn();
    let pooler = Pooler::builder(sync.snapshot(), hasher)
        .credentials(credentials.clone())
        .workspace_routes(routes.clone())
        .records(writer.clone())
        .upstream_base_url(upstream_base_url.clone())
        .websocket(websocket)
        .dispatch(DispatchConfig {
            busy_wait: Duration::from_secs(args.busy_wait_secs),
            pin_wait: Duration::from_secs(args.pin_wait_secs),
        })
        .build();
    let catalog = CatalogSync::new(
        sync.snapshot(),
        credentials.clone(),
        Arc::clone(pooler.live()),
        &upstream_base_url,
        Arc::new(SystemClock),
    )
    .workspace_routes(routes.clone())
    .spawn();
    let probe = (args.usage_probe_interval_secs > 0).then(|| {
        UsageProbe::new(
            sync.snapshot(),
            credentials.clone(),
            Arc::clone(pooler.live()),
            &upstream_base_url,
            Arc::new(SystemClock),
        )
        .interval(Duration::from_secs(args.usage_probe_interval_secs))
        .workspace_routes(routes.clone())
        .spawn()
    });
    let app = router(store, pooler);

    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| ServerError::io(format!("binding {}", args.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::io("reading the bound address", e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "codex-pooler listening");
    println!("codex-pooler listening on {scheme}://{addr}");
    if let (Some(demo), Some(place)) = (&demo, demo_place) {
        demo.print_welcome(&format!("{scheme}://{addr}"), place);
    }

    let served = match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, &config)
                .map_err(|e| ServerError::io("starting the TLS listener", e))?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
        }
        None => {
            // Streams are many small writes: without TCP_NODELAY, Nagle's algorithm and the
            // client's delayed ACK hold each SSE event back by tens of milliseconds.
            let listener = listener.tap_io(|tcp| {
                if let Err(err) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %err, "could not set TCP_NODELAY");
                }
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
        }
    }
    .map_err(|e| ServerError::io("serving", e));
    reload.abort();
    refresher.abort();
    credentials.settle(Duration::from_secs(10)).await;
    catalog.abort();
    discovery.abort();
    if let Some(probe) = probe {
        probe.abort();
    }
    writer.shutdown().await;
    if let Some(demo) = demo {
        demo.shutdown();
    }
    tracing::info!("codex-pooler stopped");
    served
}

/// The TLS configuration of `--tls-cert` and `--tls-key`: both (HTTPS) or neither (HTTP).
fn tls_config(args: &ServeArgs) -> Result<Option<TlsConfig>, ServerError> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsConfig::load(cert, key)?)),
        (None, None) => Ok(None),
        _ => Err(ServerError::Usage(
            "--tls-cert and --tls-key go together: give both or neither".to_owned(),
        )),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
