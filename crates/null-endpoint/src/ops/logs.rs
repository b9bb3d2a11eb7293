//! CloudWatch Logs: PutLogEvents (awsJson 1.1), with the rules on which a call fails whole
//! (order, span, size, count) and the ranges of events it rejects while storing the rest
//! (too new, too old, older than the group's retention), judged by a clock a test sets.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use super::{Ctx, Operations, Reply};
use crate::protocol::json::{JSON_11, error, ok};
use crate::{Api, NullEndpoint};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// CloudWatch Logs PutLogEvents.
    pub const PutLogEvents: Self = Self("PutLogEvents");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[("Logs_20140328.PutLogEvents", put_log_events)],
    query: &[],
    cbor: &[],
};

/// The service's rules, as the PutLogEvents API reference gives them (checked 2026-12-05).
const MAX_EVENTS: usize = 10_000;
const MAX_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// What PutLogEvents judges events by.
#[derive(Debug, Default)]
pub(crate) struct LogsState {
    /// How far the endpoint's clock is ahead of this machine's, in milliseconds.
    clock_ahead_ms: AtomicI64,
    /// The log group's retention in days; 0 for none.
    retention_days: AtomicU64,
    /// Calls refused whole as invalid (`InvalidParameterException`).
    invalid: AtomicU64,
}

impl NullEndpoint {
    /// Sets the clock PutLogEvents judges events by: `ms` ahead of this machine's (behind,
    /// when negative).
    pub fn set_clock_ahead(&self, ms: i64) {
        self.counters
            .logs
            .clock_ahead_ms
            .store(ms, Ordering::Relaxed);
    }

    /// Sets the log group's retention: PutLogEvents rejects older events as expired.
    pub fn set_log_retention_days(&self, days: u64) {
        self.counters
            .logs
            .retention_days
            .store(days, Ordering::Relaxed);
    }

    /// PutLogEvents calls refused whole as invalid (out of order, spanning more than 24
    /// hours, too large): a correct client makes none.
    #[must_use]
    pub fn invalid_log_calls(&self) -> u64 {
        self.counters.logs.invalid.load(Ordering::Relaxed)
    }
}

/// A call refused whole as invalid: counted as a request that stored nothing.
fn invalid(ctx: &Ctx<'_>, why: &str) -> Reply {
    ctx.counters.logs.invalid.fetch_add(1, Ordering::Relaxed);
    ctx.counters.count(Api::PutLogEvents, 0, ctx.body_bytes);
    Reply::Refused(error(
        StatusCode::BAD_REQUEST,
        JSON_11,
        "InvalidParameterException",
        why,
    ))
}

pub(super) fn put_log_events(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let events = request["logEvents"].as_array().cloned().unwrap_or_default();
    let timed: Vec<(i64, &str)> = events
        .iter()
        .map(|e| {
            (
                e["timestamp"].as_i64().unwrap_or(i64::MIN),
                e["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let bytes: usize = timed.iter().map(|(_, m)| EVENT_OVERHEAD + m.len()).sum();
    if timed.is_empty() || timed.len() > MAX_EVENTS {
        return invalid(ctx, "between 1 and 10000 log events");
    }
    if bytes > MAX_BYTES {
        return invalid(ctx, "the batch is larger than 1048576 bytes");
    }
    if timed.iter().any(|(_, message)| message.is_empty()) {
        return invalid(ctx, "a log event's message is empty");
    }
    if timed.windows(2).any(|pair| pair[1].0 < pair[0].0) {
        return invalid(
            ctx,
            "Log events in a single PutLogEvents request must be in chronological order.",
        );
    }
    if ctx.over_rate(Api::PutLogEvents, timed.len()) {
        return Reply::Refused(error(
            StatusCode::BAD_REQUEST,
            JSON_11,
            "ThrottlingException",
            "Rate exceeded",
        ));
    }
    let state = &ctx.counters.logs;
    let now = now_ms() + state.clock_ahead_ms.load(Ordering::Relaxed);
    let retention = i64::try_from(state.retention_days.load(Ordering::Relaxed)).unwrap_or(0);
    let too_old = |t: i64| t < now - 14 * DAY_MS;
    let expired = |t: i64| retention > 0 && t < now - retention * DAY_MS;
    let too_new = |t: i64| t > now + 2 * HOUR_MS;
    // The events in range must span at most 24 hours.
    let kept: Vec<i64> = timed
        .iter()
        .map(|(t, _)| *t)
        .filter(|&t| !too_old(t) && !expired(t) && !too_new(t))
        .collect();
    if let (Some(first), Some(last)) = (kept.first(), kept.last())
        && last - first > DAY_MS
    {
        return invalid(
            ctx,
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        );
    }
    // Sorted, so the rejected events are a prefix (old, expired) and a suffix (new); the
    // ends are exclusive and the start inclusive, as the API reference gives them.
    let mut rejected = Map::new();
    let old_end = timed.iter().take_while(|(t, _)| too_old(*t)).count();
    let expired_end = timed
        .iter()
        .take_while(|(t, _)| expired(*t) || too_old(*t))
        .count();
    let new_start = timed.len() - timed.iter().rev().take_while(|(t, _)| too_new(*t)).count();
    if old_end > 0 {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(old_end));
    }
    if expired_end > old_end {
        rejected.insert("expiredLogEventEndIndex".into(), json!(expired_end));
    }
    if new_start < timed.len() {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(new_start));
    }
    let accepted: Vec<String> = timed[expired_end..new_start.max(expired_end)]
        .iter()
        .map(|(_, message)| (*message).to_owned())
        .collect();
    ctx.record(Api::PutLogEvents, accepted, timed.len());
    let mut body = json!({"nextSequenceToken": "0"});
    if !rejected.is_empty() {
        body["rejectedLogEventsInfo"] = Value::Object(rejected);
    }
    Reply::Answer(ok(JSON_11, &body))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
