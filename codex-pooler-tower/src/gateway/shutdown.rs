//! [`Drain`]: one shutdown signal for every background task of a gateway, and the wait for
//! them all.
//!
//! Each task runs until the signal fires and is then dropped at its next await point, the way
//! aborting it would, but every task is awaited before shutdown goes on to settle refreshes and
//! flush records. Dropping the [`Drain`] without draining fires the signal too.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinSet;

/// The background tasks of a gateway under one shutdown signal.
#[derive(Debug)]
pub(crate) struct Drain {
    signal: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Drain {
    /// No tasks yet, the signal not fired.
    pub(crate) fn new() -> Self {
        Self {
            signal: watch::Sender::new(false),
            tasks: JoinSet::new(),
        }
    }

    /// Runs `job` on the current runtime until the signal fires (or `job` ends).
    pub(crate) fn spawn(
        &mut self,
        name: &'static str,
        job: impl Future<Output = ()> + Send + 'static,
    ) {
        let mut stop = self.signal.subscribe();
        self.tasks.spawn(async move {
            tokio::select! {
                () = job => {}
                // Fired, or the sender is gone: stop either way.
                _ = stop.wait_for(|stop| *stop) => {}
            }
            tracing::debug!(task = name, "gateway task stopped");
        });
    }

    /// Fires the signal and waits until every task has stopped.
    pub(crate) async fn drain(mut self) {
        self.signal.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
