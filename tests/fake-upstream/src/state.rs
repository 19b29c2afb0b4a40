//! The shared, mutable state behind one fake backend: configuration, request log, shutdown signal.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::config::{FakeAccount, FakeConfig};
use super::context::NotesStore;
use super::seen::SeenRequest;
use super::stream_slot::StreamSlot;

/// The most requests kept in the log of seen requests (oldest dropped first).
pub(super) const SEEN_CAPACITY: usize = 4096;

/// The state a fake backend's router serves from; cheap to clone (all clones share it).
#[derive(Debug, Clone)]
pub struct FakeState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Mutex<FakeConfig>,
    seen: Mutex<VecDeque<SeenRequest>>,
    next_id: AtomicU64,
    shutdown: watch::Sender<bool>,
    /// `/responses` answers streaming now, per `chatgpt-account-id`.
    streams: Arc<Mutex<HashMap<String, usize>>>,
    /// Pongs received on websockets, all sockets together.
    pongs: AtomicU64,
    /// Bumped to end the lifetime of every websocket open at that moment.
    lifetime_epoch: AtomicU64,
    /// Notes written through the history and notes tools, per account and session.
    notes: NotesStore,
    /// Files created through `/backend-api/files`: their bytes once PUT to `upload_url`.
    uploads: Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl FakeState {
    /// Fresh state serving `config`, with an empty request log.
    pub fn new(config: FakeConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                seen: Mutex::new(VecDeque::new()),
                next_id: AtomicU64::new(1),
                shutdown,
                streams: Arc::default(),
                pongs: AtomicU64::new(0),
                lifetime_epoch: AtomicU64::new(0),
                notes: NotesStore::default(),
                uploads: Mutex::default(),
            }),
        }
    }

    /// Takes one of the account's stream slots, or `None` when it already streams `max` answers.
    /// The slot is given back when the returned guard is dropped (with the answer's body).
    pub(crate) fn open_stream(&self, account: &str, max: Option<usize>) -> Option<StreamSlot> {
        let mut streams = lock(&self.inner.streams);
        let open = streams.entry(account.to_owned()).or_insert(0);
        if max.is_some_and(|max| *open >= max) {
            return None;
        }
        *open += 1;
        drop(streams);
        Some(StreamSlot::new(Arc::clone(&self.inner.streams), account))
    }

    /// Remembers a created file, its bytes not uploaded yet.
    pub(crate) fn create_upload(&self, id: &str) {
        lock(&self.inner.uploads).insert(id.to_owned(), None);
    }

    /// Stores the bytes PUT for created file `id`; `false` when no such file was created.
    pub(crate) fn store_upload(&self, id: &str, bytes: Vec<u8>) -> bool {
        match lock(&self.inner.uploads).get_mut(id) {
            Some(slot) => {
                *slot = Some(bytes);
                true
            }
            None => false,
        }
    }

    /// The bytes PUT to file `id`'s `upload_url`, if any were.
    pub fn uploaded(&self, id: &str) -> Option<Vec<u8>> {
        lock(&self.inner.uploads).get(id).cloned().flatten()
    }

    /// Pongs received on websockets so far (answers to the pings of
    /// [`FakeConfig::websocket_ping_interval`]).
    pub fn pongs_received(&self) -> u64 {
        self.inner.pongs.load(Ordering::SeqCst)
    }

    pub(crate) fn count_pong(&self) {
        self.inner.pongs.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends the lifetime of every websocket open now: each refuses its next `response.create`
    /// with `websocket_connection_limit_reached`, as after
    /// [`FakeConfig::websocket_lifetime`]. Sockets opened later are not affected.
    pub fn end_websocket_lifetimes(&self) {
        self.inner.lifetime_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The current lifetime epoch: a socket opened in an older one has outlived its lifetime.
    pub(crate) fn lifetime_epoch(&self) -> u64 {
        self.inner.lifetime_epoch.load(Ordering::SeqCst)
    }

    /// The notes of the history and notes tools.
    pub(crate) fn notes(&self) -> &NotesStore {
        &self.inner.notes
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> FakeConfig {
        lock(&self.inner.config).clone()
    }

    /// Changes the configuration in place (pacing, text, accounts...); later requests see it.
    pub fn update_config(&self, change: impl FnOnce(&mut FakeConfig)) {
        change(&mut lock(&self.inner.config));
    }

    /// A copy of the account named `chatgpt_account_id`, if there is one.
    pub fn account(&self, chatgpt_account_id: &str) -> Option<FakeAccount> {
        lock(&self.inner.config)
            .account(chatgpt_account_id)
            .cloned()
    }

    /// Changes one account in place; returns `false` (and does nothing) if there is no such account.
    pub fn set_account(
        &self,
        chatgpt_account_id: &str,
        change: impl FnOnce(&mut FakeAccount),
    ) -> bool {
        let mut config = lock(&self.inner.config);
        match config
            .accounts
            .iter_mut()
            .find(|a| a.chatgpt_account_id == chatgpt_account_id)
        {
            Some(account) => {
                change(account);
                true
            }
            None => false,
        }
    }

    /// Every request received so far, oldest first.
    pub fn seen(&self) -> Vec<SeenRequest> {
        lock(&self.inner.seen).iter().cloned().collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_seen(&self) {
        lock(&self.inner.seen).clear();
    }

    /// Asks the server and every open stream to stop; idempotent.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Whether [`shutdown`](Self::shutdown) has been called.
    pub fn is_shut_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }

    pub(crate) fn record(&self, request: SeenRequest) {
        let mut seen = lock(&self.inner.seen);
        // Bounded, so long demo and benchmark runs do not grow without limit; tests look at
        // far fewer requests than this.
        if seen.len() >= SEEN_CAPACITY {
            seen.pop_front();
        }
        seen.push_back(request);
    }

    /// A number unique within this fake, used to build response, item and request ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }
}

/// Resolves once `signal` says the fake is shutting down (or its sender is gone).
pub(crate) async fn shut_down(signal: &mut watch::Receiver<bool>) {
    // An error means the sender was dropped: nobody can ask for shutdown any more, so treat it
    // as one rather than hang forever.
    let _ = signal.wait_for(|down| *down).await;
}

/// Locks a mutex, ignoring poisoning: the data here stays consistent even if a test panicked.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
