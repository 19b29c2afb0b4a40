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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts a task's stop: dropped when the task's future is dropped.
    struct Stopped(Arc<AtomicUsize>);

    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn one_signal_stops_every_task_and_drain_awaits_them() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut drain = Drain::new();
        for name in ["a", "b", "c"] {
            let guard = Stopped(Arc::clone(&stopped));
            drain.spawn(name, async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(stopped.load(Ordering::SeqCst), 0);
        drain.drain().await;
        assert_eq!(stopped.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn dropping_the_drain_stops_the_tasks() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let mut drain = Drain::new();
        let guard = Stopped(Arc::clone(&stopped));
        drain.spawn("a", async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        drop(drain);
        tokio::task::yield_now().await;
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    }
}
