//! The handle a test holds on a running fake backend.

use std::io;
use std::net::SocketAddr;

use tokio::task::JoinHandle;

use super::config::{FakeAccount, FakeConfig};
use super::seen::SeenRequest;
use super::state::FakeState;

/// A fake backend serving on loopback; dropping the handle shuts it down.
#[derive(Debug)]
pub struct FakeUpstreamHandle {
    addr: SocketAddr,
    state: FakeState,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl FakeUpstreamHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        state: FakeState,
        task: JoinHandle<io::Result<()>>,
    ) -> Self {
        Self {
            addr,
            state,
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash. The Codex backend lives under
    /// `/backend-api/codex` and `/backend-api/wham` below it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the fake listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state shared with the server, for anything the shortcuts below do not cover.
    pub fn state(&self) -> &FakeState {
        &self.state
    }

    /// Every request received so far, oldest first.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.state.seen()
    }

    /// Pongs the fake's websocket pings got back so far.
    pub fn pongs_received(&self) -> u64 {
        self.state.pongs_received()
    }

    /// Ends the lifetime of every open websocket (see
    /// [`FakeState::end_websocket_lifetimes`]).
    pub fn end_websocket_lifetimes(&self) {
        self.state.end_websocket_lifetimes();
    }

    /// Forgets the requests received so far.
    pub fn clear_seen(&self) {
        self.state.clear_seen();
    }

    /// Changes one account in place; later requests see the change. Returns `false` if there is no
    /// account `chatgpt_account_id`.
    pub fn set_account(
        &self,
        chatgpt_account_id: &str,
        change: impl FnOnce(&mut FakeAccount),
    ) -> bool {
        self.state.set_account(chatgpt_account_id, change)
    }

    /// Changes the whole configuration in place (pacing, answer text, account list...).
    pub fn update_config(&self, change: impl FnOnce(&mut FakeConfig)) {
        self.state.update_config(change);
    }

    /// Stops accepting connections and ends every open stream (stalled ones included) with an
    /// error; idempotent. Dropping the handle does the same.
    pub fn shutdown(&self) {
        self.state.shutdown();
    }

    /// Shuts down and waits until the server has closed every connection.
    pub async fn stopped(mut self) -> io::Result<()> {
        self.state.shutdown();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for FakeUpstreamHandle {
    fn drop(&mut self) {
        self.state.shutdown();
    }
}
