//! [`SseBlocks`]: upstream SSE bytes as whole events, for the `/v1` translations that rewrite
//! them.

use bytes::{Buf, BytesMut};
use serde_json::Value;

/// The largest event block kept while it is incomplete. `response.completed` repeats the whole
/// response, so a block can be large; past this the stream is given up on rather than
/// buffered without bound.
pub(crate) const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// The upstream stream broke the SSE framing the translation relies on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// One event block grew past [`MAX_BLOCK_BYTES`].
    #[error("an upstream event is larger than {MAX_BLOCK_BYTES} bytes")]
    BlockTooLarge,
}

/// Splits SSE bytes into events and parses each one's `data` as JSON. Comments, `[DONE]` and
/// data of no JSON shape are skipped: the translations only act on Codex events.
#[derive(Debug, Default)]
pub(crate) struct SseBlocks {
    buffer: BytesMut,
    /// How far `buffer` is known to hold no block end, so a large event arriving in many
    /// chunks is searched once, not once per chunk.
    searched: usize,
}

impl SseBlocks {
    /// An empty parser.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds `chunk`; answers the events it completed, in order.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Value>, SseError> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, sep)) = block_end(&self.buffer, self.searched) {
            let block = self.buffer.split_to(end);
            self.buffer.advance(sep);
            self.searched = 0;
            if let Some(event) = parse_block(&block) {
                events.push(event);
            }
        }
        // A separator can straddle chunks: its first two bytes are searched again.
        self.searched = self.buffer.len().saturating_sub(2);
        if self.buffer.len() > MAX_BLOCK_BYTES {
            return Err(SseError::BlockTooLarge);
        }
        Ok(events)
    }

    /// The end of the stream: a last block without its blank line still counts.
    pub(crate) fn finish(&mut self) -> Option<Value> {
        let rest = std::mem::take(&mut self.buffer);
        self.searched = 0;
        parse_block(&rest)
    }
}

/// Where the first block ends and how long its separator (a blank line) is, searching from
/// `from`.
fn block_end(buffer: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 1 < buffer.len() {
        match (buffer[i], buffer[i + 1]) {
            (b'\n', b'\n') => return Some((i, 2)),
            (b'\n', b'\r') if buffer.get(i + 2) == Some(&b'\n') => return Some((i, 3)),
            _ => i += 1,
        }
    }
    None
}

/// The JSON of a block's `data` lines (joined with newlines, as SSE says).
fn parse_block(block: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(block).ok()?;
    let mut data = String::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if data.is_empty() || data == "[DONE]" {
        return None;
    }
    serde_json::from_str(&data).ok()
}

/// One event as SSE bytes: `event: <type>` (when it has one) and its JSON `data`.
pub(crate) fn encode(event: &Value) -> bytes::Bytes {
    let data = event.to_string();
    let mut out = String::with_capacity(data.len() + 48);
    if let Some(kind) = event.get("type").and_then(Value::as_str) {
        out.push_str("event: ");
        out.push_str(kind);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&data);
    out.push_str("\n\n");
    bytes::Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_split_across_chunks_come_out_whole() {
        let stream = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n: keepalive\n\nevent: x\r\ndata: {\"type\":\r\ndata: \"x\"}\r\n\r\ndata: [DONE]\n\n";
        let mut blocks = SseBlocks::new();
        let mut events = Vec::new();
        for chunk in stream.as_bytes().chunks(7) {
            events.extend(blocks.feed(chunk).unwrap());
        }
        assert_eq!(blocks.finish(), None);
        assert_eq!(
            events,
            vec![json!({"type": "response.created"}), json!({"type": "x"})]
        );
    }

    #[test]
    fn a_last_block_without_its_blank_line_counts() {
        let mut blocks = SseBlocks::new();
        assert!(blocks.feed(b"data: {\"type\":\"a\"}").unwrap().is_empty());
        assert_eq!(blocks.finish(), Some(json!({"type": "a"})));
    }

    #[test]
    fn an_endless_block_is_refused() {
        let mut blocks = SseBlocks::new();
        let big = vec![b'a'; MAX_BLOCK_BYTES + 1];
        assert_eq!(blocks.feed(&big), Err(SseError::BlockTooLarge));
    }

    #[test]
    fn encoding_names_the_event() {
        let bytes = encode(&json!({"type": "response.completed", "n": 1}));
        assert_eq!(
            &bytes[..],
            b"event: response.completed\ndata: {\"n\":1,\"type\":\"response.completed\"}\n\n"
        );
    }
}
