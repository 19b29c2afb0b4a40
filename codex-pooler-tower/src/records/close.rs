//! [`close_record`]: the one place a request record ends.

use std::time::SystemTime;

use codex_pooler_core::error::ErrorCode;

use codex_pooler_core::record::{RecordEnd, RequestRecord};

use super::RecordSink;

/// Ends `record` at `now` with `end` (`completed`, `rejected`, `client_closed`, ...), logs the
/// one `request finished` line and hands the record to `sink`.
///
/// Every record closes here: HTTP answers at the end of their body, refusals at once, websocket
/// upgrades that open no session and each websocket turn.
pub(crate) fn close_record(
    mut record: RequestRecord,
    end: RecordEnd,
    now: SystemTime,
    sink: &dyn RecordSink,
) {
    record.finish(now, end);
    tracing::info!(
        pool = %record.pool,
        key = %record.key,
        account = record.account.map(|a| a.0),
        route = %record.route,
        model = record.model.as_deref().unwrap_or("-"),
        status = record.status,
        attempts = record.attempts,
        latency_ms = record.latency_ms,
        output_tokens = record.usage.map(|u| u.output_tokens),
        code = record.error_code.map(ErrorCode::as_str),
        dropped = record.dropped_parameters.as_deref(),
        end = %record.end,
        "request finished"
    );
    sink.submit(record);
}
