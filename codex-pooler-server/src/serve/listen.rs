//! Listening: the TLS choice of `--tls-cert`/`--tls-key`, the bound address, `axum::serve`
//! until SIGINT or SIGTERM.

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use super::tls::{self, TlsConfig};
use crate::cli::ServeArgs;
use crate::error::ServerError;

/// The TLS configuration of `--tls-cert` and `--tls-key`: both (HTTPS) or neither (HTTP).
pub(crate) fn tls_config(args: &ServeArgs) -> Result<Option<TlsConfig>, ServerError> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsConfig::load(cert, key)?)),
        (None, None) => Ok(None),
        _ => Err(ServerError::Usage(
            "--tls-cert and --tls-key go together: give both or neither".to_owned(),
        )),
    }
}

/// Binds `--listen`, announces the origin (then calls `listening` with it), and serves `app`
/// until SIGINT or SIGTERM, letting requests in flight finish.
pub(crate) async fn serve(
    args: &ServeArgs,
    tls: Option<TlsConfig>,
    app: Router,
    listening: impl FnOnce(&str),
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| ServerError::io(format!("binding {}", args.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::io("reading the bound address", e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "codex-pooler listening");
    println!("codex-pooler listening on {scheme}://{addr}");
    listening(&format!("{scheme}://{addr}"));

    match tls {
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
    .map_err(|e| ServerError::io("serving", e))
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
