//! [`RecordWriter`]: batches records into the store off the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::PoolStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::RecordSink;

/// How the writer batches.
#[derive(Debug, Clone, Copy)]
pub struct RecordWriterConfig {
    /// Records buffered between the request path and the writer; beyond it records are dropped
    /// (and counted) rather than slowing requests down.
    pub queue_capacity: usize,
    /// The most records per store call.
    pub max_batch: usize,
    /// How long a partial batch may wait.
    pub flush_interval: Duration,
}

impl Default for RecordWriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 65_536,
            max_batch: 512,
            flush_interval: Duration::from_millis(250),
        }
    }
}

#[derive(Debug)]
enum Message {
    Record(Box<RequestRecord>),
    /// Write everything queued so far, then stop.
    Shutdown,
}

/// A [`RecordSink`] that queues records and writes them to a store in batches.
///
/// Call [`RecordWriter::shutdown`] before exiting: it closes the queue and waits until every
/// queued record has been written.
#[derive(Debug)]
pub struct RecordWriter {
    tx: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl RecordWriter {
    /// Starts the background writer on the current tokio runtime.
    pub fn spawn(store: Arc<dyn PoolStore>, config: RecordWriterConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let task = tokio::spawn(run(store, rx, config));
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// The drop count itself, for metrics read at scrape time.
    pub(crate) fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting records once all senders are gone and waits for the queue to drain.
    ///
    /// Records submitted after this call are dropped.
    pub async fn shutdown(&self) {
        let task = self.task.lock().await.take();
        if let Some(task) = task {
            // Queued behind every accepted record, so the writer has seen them all when it stops.
            let _ = self.tx.send(Message::Shutdown).await;
            let _ = task.await;
        }
    }
}

impl RecordSink for RecordWriter {
    fn submit(&self, record: RequestRecord) {
        if self.tx.try_send(Message::Record(Box::new(record))).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run(
    store: Arc<dyn PoolStore>,
    mut rx: mpsc::Receiver<Message>,
    config: RecordWriterConfig,
) {
    let mut batch = Vec::with_capacity(config.max_batch);
    let mut stop = false;
    while !stop {
        match rx.recv().await {
            Some(Message::Record(r)) => batch.push(*r),
            Some(Message::Shutdown) | None => stop = true,
        }
        let deadline = tokio::time::sleep(config.flush_interval);
        tokio::pin!(deadline);
        while !stop && batch.len() < config.max_batch {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(Message::Record(r)) => batch.push(*r),
                    Some(Message::Shutdown) | None => stop = true,
                },
                () = &mut deadline => break,
            }
        }
        write(&*store, &mut batch, config.max_batch).await;
    }
}

async fn write(store: &dyn PoolStore, batch: &mut Vec<RequestRecord>, max: usize) {
    for chunk in batch.chunks(max.max(1)) {
        if let Err(err) = store.insert_records(chunk).await {
            tracing::warn!(error = %err, records = chunk.len(), "could not write request records");
        }
    }
    batch.clear();
}
