//! An incremental scanner for the few SSE events the pooler learns from.

use std::time::SystemTime;

use codex_pooler_core::quota::{QuotaWindow, windows_from_rate_limits_event};
use codex_pooler_core::record::TokenUsage;

/// The largest `data:` line kept for parsing. `response.completed` repeats the whole response,
/// so it can be long; past this the event is skipped rather than buffered without bound.
const MAX_CAPTURED_LINE: usize = 4 * 1024 * 1024;

/// Events whose `data:` lines are parsed; every other line is passed over without being kept.
const INTERESTING: &[&str] = &[
    "response.created",
    "response.completed",
    "response.failed",
    "codex.rate_limits",
];

/// What the scanner learned from one event.
#[derive(Debug, Clone, PartialEq)]
pub enum SseSignal {
    /// `response.completed`, with its token usage when present.
    Completed(Option<TokenUsage>),
    /// `response.failed`.
    Failed,
    /// `codex.rate_limits` quota windows.
    RateLimits(Vec<QuotaWindow>),
    /// `response.created`: the id of the response being produced.
    Created(String),
}

/// The current event's name, as far as it matters.
#[derive(Debug, Clone, Copy, Default)]
enum Event {
    /// No `event:` line yet: the data's own `type` decides.
    #[default]
    Unnamed,
    /// One of [`INTERESTING`].
    Interesting(&'static str),
    /// Any other event: its data is not kept.
    Other,
}

#[derive(Debug, Default)]
enum Line {
    /// At the start of a line, collecting enough bytes to know its field.
    #[default]
    Start,
    /// Inside an `event:` line.
    Event,
    /// Inside a `data:` line worth keeping.
    Capture,
    /// Inside a line that is not kept.
    Skip,
}

/// Scans SSE bytes as they pass, keeping only interesting events' data lines.
#[derive(Debug, Default)]
pub struct SseScanner {
    state: Line,
    buf: Vec<u8>,
    event: Event,
}

impl SseScanner {
    /// A scanner at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk; returns what completed events said.
    pub fn feed(&mut self, mut chunk: &[u8], now: SystemTime) -> Vec<SseSignal> {
        let mut signals = Vec::new();
        while !chunk.is_empty() {
            let (segment, rest, line_end) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &[][..], false),
            };
            chunk = rest;
            self.take(segment);
            if line_end && let Some(signal) = self.end_line(now) {
                signals.push(signal);
            }
        }
        signals
    }

    fn take(&mut self, mut segment: &[u8]) {
        if let Line::Start = self.state {
            // Decide the field once the line has enough bytes ("event:" / "data:").
            let need = 6usize.saturating_sub(self.buf.len()).min(segment.len());
            self.buf.extend_from_slice(&segment[..need]);
            segment = &segment[need..];
            let head = self.buf.as_slice();
            if head.starts_with(b"event:") {
                self.state = Line::Event;
            } else if head.starts_with(b"data:") {
                self.state = match self.event {
                    Event::Other => Line::Skip,
                    Event::Unnamed | Event::Interesting(_) => Line::Capture,
                };
            } else if !(b"event:".starts_with(head) || b"data:".starts_with(head)) {
                self.state = Line::Skip;
            }
            if let Line::Skip = self.state {
                self.buf.clear();
            }
        }
        match self.state {
            Line::Event | Line::Capture | Line::Start => {
                if self.buf.len() + segment.len() > MAX_CAPTURED_LINE {
                    self.buf.clear();
                    self.state = Line::Skip;
                } else {
                    self.buf.extend_from_slice(segment);
                }
            }
            Line::Skip => {}
        }
    }

    fn end_line(&mut self, now: SystemTime) -> Option<SseSignal> {
        let state = std::mem::take(&mut self.state);
        // The line buffer is reused across lines: take it, read it, put it back empty.
        let mut buf = std::mem::take(&mut self.buf);
        let line = buf.strip_suffix(b"\r").unwrap_or(&buf);
        let signal = match state {
            Line::Event => {
                let name = line.strip_prefix(b"event:").unwrap_or_default();
                let name = std::str::from_utf8(name).unwrap_or_default().trim();
                self.event = INTERESTING
                    .iter()
                    .copied()
                    .find(|e| *e == name)
                    .map_or(Event::Other, Event::Interesting);
                None
            }
            Line::Capture => {
                let data = line.strip_prefix(b"data:").unwrap_or_default();
                let named = match self.event {
                    Event::Interesting(name) => Some(name),
                    Event::Unnamed | Event::Other => None,
                };
                parse_data(data, named, now)
            }
            Line::Start if line.is_empty() => {
                // A blank line ends the event.
                self.event = Event::Unnamed;
                None
            }
            Line::Start | Line::Skip => None,
        };
        // A huge captured line gives its memory back rather than keep it for the stream's life.
        if buf.capacity() > 64 * 1024 {
            buf = Vec::new();
        }
        buf.clear();
        self.buf = buf;
        signal
    }
}

/// The fields of an event the scanner reads; everything else (the response's output, which
/// `response.completed` repeats in full) is skipped by the parser without being built.
#[derive(serde::Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    response: Option<ResponseHead>,
}

#[derive(serde::Deserialize)]
struct ResponseHead {
    id: Option<String>,
    usage: Option<serde_json::Value>,
}

fn parse_data(data: &[u8], event: Option<&'static str>, now: SystemTime) -> Option<SseSignal> {
    let head: EventHead<'_> = serde_json::from_slice(data).ok()?;
    let kind = head.kind.as_deref().or(event)?;
    match kind {
        "response.created" => head.response.and_then(|r| r.id).map(SseSignal::Created),
        "response.completed" => Some(SseSignal::Completed(
            head.response
                .and_then(|r| r.usage)
                .and_then(|u| TokenUsage::from_response_usage(&u)),
        )),
        "response.failed" => Some(SseSignal::Failed),
        // Rate-limit events are small: read them whole.
        "codex.rate_limits" => {
            let value: serde_json::Value = serde_json::from_slice(data).ok()?;
            Some(SseSignal::RateLimits(windows_from_rate_limits_event(
                &value, now,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::from_unix_seconds;

    use super::*;

    const STREAM: &str = concat!(
        "event: response.created\n",
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
        "event: response.output_text.delta\n",
        "data: {\"type\":\"response.output_text.delta\",\"delta\":\"SECRET PROMPT ECHO\"}\n\n",
        "event: codex.rate_limits\n",
        "data: {\"type\":\"codex.rate_limits\",\"rate_limits\":{\"primary\":{\"used_percent\":50,\"window_minutes\":300,\"reset_at\":9000}}}\n\n",
        "event: response.completed\n",
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"usage\":{\"input_tokens\":10,\"output_tokens\":5,\"total_tokens\":15}}}\n\n",
    );

    fn scan_in_chunks(size: usize) -> Vec<SseSignal> {
        let mut s = SseScanner::new();
        let now = from_unix_seconds(1);
        STREAM
            .as_bytes()
            .chunks(size)
            .flat_map(|c| s.feed(c, now))
            .collect()
    }

    #[test]
    fn finds_signals_whatever_the_chunking() {
        let whole = scan_in_chunks(STREAM.len());
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0], SseSignal::Created("resp_1".into()));
        assert!(matches!(&whole[1], SseSignal::RateLimits(w) if w.len() == 1));
        assert_eq!(
            whole[2],
            SseSignal::Completed(Some(TokenUsage {
                input_tokens: 10,
                output_tokens: 5,
                total_tokens: 15,
                ..TokenUsage::default()
            }))
        );
        for size in [1, 2, 3, 5, 7, 13, 64] {
            assert_eq!(scan_in_chunks(size), whole, "chunk size {size}");
        }
    }

    #[test]
    fn keeps_nothing_of_uninteresting_lines() {
        let mut s = SseScanner::new();
        let now = from_unix_seconds(1);
        s.feed(
            b"event: response.output_text.delta\ndata: {\"delta\":\"SECRET",
            now,
        );
        assert!(s.buf.is_empty(), "delta text must not be buffered");
    }

    #[test]
    fn data_without_event_line_is_read_by_type() {
        let mut s = SseScanner::new();
        let got = s.feed(
            b"data: {\"type\":\"response.failed\",\"response\":{}}\n\n",
            from_unix_seconds(1),
        );
        assert_eq!(got, vec![SseSignal::Failed]);
    }
}
