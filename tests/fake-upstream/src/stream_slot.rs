//! [`StreamSlot`]: one answer streaming on an account, for the per-account stream cap
//! (`FakeAccount::max_streams`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::Frame;

use super::state::lock;

/// One answer streaming on an account; dropping it frees the account's stream slot.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    account: String,
}

impl StreamSlot {
    /// The slot the caller just counted in `streams` under `account`.
    pub(super) fn new(streams: Arc<Mutex<HashMap<String, usize>>>, account: &str) -> Self {
        Self {
            streams,
            account: account.to_owned(),
        }
    }

    /// `body`, holding this slot until its last frame has been produced (before the stream's
    /// end reaches the client, as upstream frees the slot when it finishes the answer).
    pub(crate) fn hold_until_end(self, body: Body) -> SlottedBody {
        SlottedBody {
            body,
            slot: Some(self),
        }
    }
}

/// A streaming answer holding its account's stream slot until it ends.
#[derive(Debug)]
pub(crate) struct SlottedBody {
    body: Body,
    slot: Option<StreamSlot>,
}

impl http_body::Body for SlottedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.slot = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(open) = lock(&self.streams).get_mut(&self.account) {
            *open = open.saturating_sub(1);
        }
    }
}
