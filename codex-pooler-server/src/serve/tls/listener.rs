//! A TLS listener for `axum::serve`.
//!
//! Handshakes run in their own tasks, so one slow or silent client cannot hold up the accept
//! loop; finished streams queue in a channel that [`Listener::accept`] reads. Dropping the
//! listener (which `axum::serve` does when graceful shutdown begins) stops accepting.

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::TlsConfig;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const READY_QUEUE: usize = 64;

/// Accepts TCP connections (with `TCP_NODELAY`), completes their TLS handshakes and yields the
/// TLS streams.
#[derive(Debug)]
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on the bound `tcp` listener.
    pub(crate) fn new(tcp: TcpListener, config: &TlsConfig) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(config.server_config()),
            tx,
        ));
        Ok(Self {
            ready,
            local_addr,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped (or panics); either way
            // there is nothing more to accept.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        // axum's TcpListener accept retries (and backs off on errors like EMFILE) for us.
        let (stream, peer) = tokio::select! {
            accepted = Listener::accept(&mut tcp) => accepted,
            () = ready.closed() => return,
        };
        // Streams are many small writes: without TCP_NODELAY, Nagle's algorithm and the
        // client's delayed ACK hold each SSE event back by tens of milliseconds.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    // A closed channel means the server is shutting down: drop the stream.
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}
