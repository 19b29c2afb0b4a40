//! [`TurnLedger`]: one request record per `response.create` turn of a websocket session.
//!
//! A Responses websocket carries one response at a time: each `response.create` the client sends
//! is answered by events ending in `response.completed` (or `failed`, `incomplete`, an `error`
//! frame) before the next one. The ledger opens a record when a turn starts and closes the
//! oldest open one at each terminal event; turns still open when the socket ends are closed with
//! the session's end.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::error::{ErrorCode, PoolerError};
use codex_pooler_core::record::{RecordEnd, RequestRecord, TokenUsage};
use codex_pooler_core::request::RouteClass;

use super::frames::TurnStart;
use crate::records::{RecordSink, close_record};

/// The route class of websocket turns in request records.
pub(crate) const WEBSOCKET_ROUTE: RouteClass = RouteClass::ResponsesWebsocket;

/// Open turns of one session and where their records go.
#[derive(Debug)]
pub(crate) struct TurnLedger {
    template: RequestRecord,
    open: VecDeque<RequestRecord>,
    sink: Arc<dyn RecordSink>,
    clock: Arc<dyn Clock>,
    turns: u64,
}

impl TurnLedger {
    /// A ledger whose records copy `template` (pool, key, account, attempts, exclusions). The
    /// first turn keeps the template's attempts and exclusions (the upgrade's routing); later
    /// turns count one attempt each.
    pub(crate) fn new(
        template: RequestRecord,
        sink: Arc<dyn RecordSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            template,
            open: VecDeque::new(),
            sink,
            clock,
            turns: 0,
        }
    }

    /// Turns started so far.
    pub(crate) fn turns(&self) -> u64 {
        self.turns
    }

    /// Whether a turn is waiting for its terminal event.
    pub(crate) fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// A `response.create` arrived from the client.
    pub(crate) fn start(&mut self, turn: TurnStart) {
        let mut record = self.template.clone();
        record.received_at = self.clock.now();
        record.model = turn.model.or(record.model);
        record.stream = turn.stream;
        if self.turns > 0 {
            record.attempts = 1;
            record.exclusions = None;
        }
        self.turns += 1;
        self.open.push_back(record);
    }

    /// A `response.create` the gateway refused (the key's policy) without sending it upstream.
    pub(crate) fn refuse(&mut self, turn: TurnStart, error: &PoolerError) {
        self.start(turn);
        if let Some(mut record) = self.open.pop_back() {
            record.status = error.status().as_u16();
            self.submit(record, RecordEnd::Rejected, Some(error.code()));
        }
    }

    /// The oldest open turn ended with `status` and `end`.
    pub(crate) fn finish(&mut self, status: u16, end: RecordEnd, usage: Option<TokenUsage>) {
        if let Some(mut record) = self.open.pop_front() {
            record.status = status;
            record.usage = usage;
            self.submit(record, end, None);
        }
    }

    /// The session ended: every open turn ends with `end` (and the pooler's `error_code`, when
    /// the pooler closed the session).
    pub(crate) fn close_all(&mut self, end: RecordEnd, error_code: Option<ErrorCode>) {
        while let Some(record) = self.open.pop_front() {
            self.submit(record, end, error_code);
        }
    }

    fn submit(&self, mut record: RequestRecord, end: RecordEnd, error_code: Option<ErrorCode>) {
        record.error_code = error_code;
        close_record(record, end, self.clock.now(), self.sink.as_ref());
    }
}

impl Drop for TurnLedger {
    fn drop(&mut self) {
        self.close_all(RecordEnd::ClientClosed, None);
    }
}

/// A record template for a session: everything but the per-turn fields.
pub(crate) fn template(
    ctx: codex_pooler_core::request::PoolContext,
    model: Option<String>,
    received_at: SystemTime,
) -> RequestRecord {
    RequestRecord::new(received_at, ctx.pool, ctx.key, WEBSOCKET_ROUTE, model, true)
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::{SystemClock, from_unix_seconds};
    use codex_pooler_core::model::{AccountId, KeyId, PoolId};
    use codex_pooler_core::request::PoolContext;

    use super::*;
    use crate::testing::CollectingSink;

    #[test]
    fn one_record_per_turn() {
        let sink = Arc::new(CollectingSink::new());
        let ctx = PoolContext {
            pool: PoolId(1),
            key: KeyId(2),
        };
        let mut base = template(ctx, Some("m".to_owned()), from_unix_seconds(1));
        base.account = Some(AccountId(3));
        base.attempts = 2;
        base.exclusions = Some("4:account_paused".to_owned());
        let mut ledger = TurnLedger::new(base, sink.clone(), Arc::new(SystemClock));
        let start = |model: Option<&str>| TurnStart {
            model: model.map(str::to_owned),
            stream: true,
        };
        ledger.start(start(None));
        let usage = TokenUsage {
            output_tokens: 5,
            ..TokenUsage::default()
        };
        ledger.finish(200, RecordEnd::Completed, Some(usage));
        ledger.start(start(Some("other")));
        ledger.finish(429, RecordEnd::UpstreamError, None);
        ledger.start(start(None));
        assert!(ledger.has_open());
        assert_eq!(ledger.turns(), 3);
        drop(ledger);

        let records = sink.records();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].route, WEBSOCKET_ROUTE);
        assert_eq!(records[0].model.as_deref(), Some("m"));
        assert_eq!(records[0].attempts, 2);
        assert_eq!(records[0].usage.unwrap().output_tokens, 5);
        assert_eq!(records[0].end, "completed");
        assert_eq!(records[1].model.as_deref(), Some("other"));
        assert_eq!(records[1].status, 429);
        assert_eq!(records[1].attempts, 1);
        assert_eq!(records[1].exclusions, None);
        assert_eq!(records[2].end, "client_closed");
        assert!(records.iter().all(|r| r.account == Some(AccountId(3))));
    }
}
