//! Writing a stream's frames at the configured pace, and stalling or breaking it on demand.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use tokio::sync::watch;

use super::state::shut_down;

/// How fast frames go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pacing {
    /// Largest write, in bytes; `None` writes each frame whole.
    pub(crate) chunk_size: Option<usize>,
    /// Pause between consecutive writes.
    pub(crate) chunk_delay: Duration,
}

/// How a stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// All frames are written and the body ends cleanly.
    Complete,
    /// After this many frames, nothing more is written and the body stays open.
    StallAfter(usize),
    /// After this many frames, the body fails, which closes the connection mid-body.
    BreakAfter(usize),
}

impl Ending {
    /// The ending for these settings: the earlier of stall and break wins (break on a tie), and
    /// both always cut before the last of `frames` frames, so the terminal event never goes out.
    pub(crate) fn choose(
        stall_after: Option<usize>,
        break_after: Option<usize>,
        frames: usize,
    ) -> Self {
        let last = frames.saturating_sub(1);
        match (stall_after, break_after) {
            (Some(stall), Some(brk)) if stall < brk => Self::StallAfter(stall.min(last)),
            (_, Some(brk)) => Self::BreakAfter(brk.min(last)),
            (Some(stall), None) => Self::StallAfter(stall.min(last)),
            (None, None) => Self::Complete,
        }
    }
}

/// Why a stream stopped before its end; hyper aborts the connection on either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StreamFault {
    /// `break_after_events` was reached.
    #[error("fake upstream broke the stream on purpose")]
    Broken,
    /// The fake shut down while the stream was open.
    #[error("fake upstream shut down mid-stream")]
    ShutDown,
}

#[derive(Debug)]
enum Step {
    Write(Bytes),
    Stall,
    Break,
}

#[derive(Debug)]
struct Feed {
    steps: VecDeque<Step>,
    delay: Duration,
    written: bool,
    shutdown: watch::Receiver<bool>,
}

/// A response body writing `frames` incrementally, as `pacing` and `ending` say. Open streams end
/// with [`StreamFault::ShutDown`] as soon as `shutdown` turns true.
pub(crate) fn paced_body(
    frames: Vec<Bytes>,
    pacing: Pacing,
    ending: Ending,
    shutdown: watch::Receiver<bool>,
) -> Body {
    let (kept, last) = match ending {
        Ending::Complete => (frames.len(), None),
        Ending::StallAfter(n) => (n, Some(Step::Stall)),
        Ending::BreakAfter(n) => (n, Some(Step::Break)),
    };
    let mut steps: VecDeque<Step> = frames
        .into_iter()
        .take(kept)
        .flat_map(|frame| chunks(frame, pacing.chunk_size))
        .map(Step::Write)
        .collect();
    steps.extend(last);
    let feed = Feed {
        steps,
        delay: pacing.chunk_delay,
        written: false,
        shutdown,
    };
    Body::from_stream(futures_util::stream::unfold(feed, next_write))
}

/// `frame` split into pieces of at most `size` bytes (zero-copy).
fn chunks(frame: Bytes, size: Option<usize>) -> Vec<Bytes> {
    match size {
        Some(size) if size > 0 && frame.len() > size => (0..frame.len())
            .step_by(size)
            .map(|start| frame.slice(start..(start + size).min(frame.len())))
            .collect(),
        _ => vec![frame],
    }
}

async fn next_write(mut feed: Feed) -> Option<(Result<Bytes, StreamFault>, Feed)> {
    let step = feed.steps.pop_front()?;
    if matches!(step, Step::Write(_) | Step::Break) && feed.written && !feed.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(feed.delay) => {}
            () = shut_down(&mut feed.shutdown) => {
                feed.steps.clear();
                return Some((Err(StreamFault::ShutDown), feed));
            }
        }
    }
    let item = match step {
        Step::Write(bytes) => {
            feed.written = true;
            Ok(bytes)
        }
        Step::Stall => {
            shut_down(&mut feed.shutdown).await;
            Err(StreamFault::ShutDown)
        }
        Step::Break => {
            // hyper drops its unflushed write buffer when a body fails; returning `Pending` once
            // lets it flush the events already written, so the client sees them before the break.
            tokio::task::yield_now().await;
            Err(StreamFault::Broken)
        }
    };
    Some((item, feed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_frames() {
        let frame = Bytes::from_static(b"abcdefg");
        assert_eq!(chunks(frame.clone(), Some(3)), ["abc", "def", "g"]);
        assert_eq!(chunks(frame.clone(), None), ["abcdefg"]);
        assert_eq!(chunks(frame, Some(0)), ["abcdefg"]);
    }

    #[test]
    fn cuts_always_spare_the_last_frame() {
        assert_eq!(Ending::choose(None, None, 6), Ending::Complete);
        assert_eq!(Ending::choose(Some(10), None, 6), Ending::StallAfter(5));
        assert_eq!(Ending::choose(None, Some(2), 6), Ending::BreakAfter(2));
        assert_eq!(Ending::choose(Some(1), Some(2), 6), Ending::StallAfter(1));
        assert_eq!(Ending::choose(Some(2), Some(2), 6), Ending::BreakAfter(2));
    }
}
