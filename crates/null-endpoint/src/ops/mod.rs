//! The operations, one module a service, and the table that routes a call to its handler.
//!
//! A handler gets the request's decoded body and a [`Ctx`] (the counters, the quotas, the
//! request's fault draws) and returns a [`Reply`].

mod cloudwatch;
mod dynamodb;
mod eventbridge;
mod firehose;
mod kinesis;
mod logs;
mod sns;
mod sqs;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use hyper::StatusCode;
use serde_json::Value;

use crate::capacity::Quotas;
use crate::faults::Draw;
use crate::protocol::{Answer, Call, Protocol, json, query};
use crate::{Api, Counters, Counts};

pub(crate) use logs::LogsState;

/// What a handler answered.
pub(crate) enum Reply {
    /// An answer, which a lost-response fault may drop.
    Answer(Answer),
    /// A request refused whole before anything was stored (over a quota): never dropped.
    Refused(Answer),
}

/// What a handler works with: the endpoint's counters and quotas, and this request's
/// fault draws.
pub(crate) struct Ctx<'a> {
    pub(crate) counters: &'a Counters,
    pub(crate) draw: Option<&'a mut Draw>,
    /// The request body's size, for the largest body seen.
    pub(crate) body_bytes: u64,
}

impl Ctx<'_> {
    pub(crate) fn quotas(&self) -> Option<&Quotas> {
        self.counters.quotas.as_ref()
    }

    /// Counts a request of `api` with `sent` entries, and, with faults on, logs the entries
    /// it accepted.
    pub(crate) fn record(&self, api: Api, accepted: Vec<String>, sent: usize) {
        let counters = self.counters;
        counters.count(api, sent, self.body_bytes);
        if counters.faults_config.is_some() {
            let mut log = counters
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = tokio::time::Instant::now();
            log.extend(accepted.into_iter().map(|entry| (api, now, entry)));
        }
    }

    /// With faults on, whether to refuse one entry: `Some(sender fault?)`.
    pub(crate) fn refuse(&mut self) -> Option<bool> {
        let draw = self.draw.as_deref_mut()?;
        let faults = draw.faults.clone();
        if !draw.hit(faults.entry_failures) {
            return None;
        }
        self.counters.faults.fetch_add(1, Ordering::Relaxed);
        Some(draw.hit(faults.sender_faults))
    }

    /// Counts a request refused whole for a quota: a request, its entries refused.
    pub(crate) fn refused_whole(&self, api: Api, entries: usize) {
        self.counters.count(api, 0, 0);
        self.counters
            .refused_for_capacity
            .fetch_add(entries as u64, Ordering::Relaxed);
    }

    /// Whether a request of `api` is over its operation's request rate; counted as refused
    /// when it is.
    pub(crate) fn over_rate(&self, api: Api, entries: usize) -> bool {
        let fits = self.quotas().is_none_or(|quotas| quotas.take_request(api));
        if !fits {
            self.refused_whole(api, entries);
        }
        !fits
    }
}

type JsonHandler = fn(&mut Ctx<'_>, &Value) -> Reply;
type QueryHandler = fn(&mut Ctx<'_>, &HashMap<String, String>) -> Reply;
type CborHandler = fn(&mut Ctx<'_>, &[u8]) -> Reply;

/// A service's operations, by protocol: awsJson by `x-amz-target`, query by `Action`,
/// rpcv2Cbor by the path's last part.
pub(crate) struct Operations {
    json: &'static [(&'static str, JsonHandler)],
    query: &'static [(&'static str, QueryHandler)],
    cbor: &'static [(&'static str, CborHandler)],
}

/// Every service's operations.
const SERVICES: &[Operations] = &[
    sqs::OPERATIONS,
    kinesis::OPERATIONS,
    firehose::OPERATIONS,
    eventbridge::OPERATIONS,
    dynamodb::OPERATIONS,
    cloudwatch::OPERATIONS,
    sns::OPERATIONS,
    logs::OPERATIONS,
];

/// Answers `call` with its operation's handler.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, call: &Call) -> Reply {
    let operation = call.operation.as_str();
    let handled = match call.protocol {
        Protocol::Json => find(|ops| ops.json, operation).map(|handler| {
            let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
            handler(ctx, &body)
        }),
        Protocol::Query => {
            find(|ops| ops.query, operation).map(|handler| handler(ctx, &query::form(&call.body)))
        }
        Protocol::Cbor => find(|ops| ops.cbor, operation).map(|handler| handler(ctx, &call.body)),
    };
    handled.unwrap_or_else(|| {
        let answer = match call.protocol {
            Protocol::Query => query::error(StatusCode::BAD_REQUEST, "InvalidAction"),
            Protocol::Json | Protocol::Cbor => json::error(
                StatusCode::BAD_REQUEST,
                json::JSON_10,
                "UnknownOperationException",
                &format!("unknown operation `{}` {}", call.operation, call.path),
            ),
        };
        Reply::Answer(answer)
    })
}

/// The handler of `operation` in the services' tables of one protocol.
fn find<H: Copy + 'static>(
    table: impl Fn(&Operations) -> &'static [(&'static str, H)],
    operation: &str,
) -> Option<H> {
    SERVICES
        .iter()
        .flat_map(table)
        .find(|(name, _)| *name == operation)
        .map(|(_, handler)| *handler)
}

impl Counters {
    /// Counts a request of `api` with `entries` entries and a body of `body_bytes`.
    pub(crate) fn count(&self, api: Api, entries: usize, body_bytes: u64) {
        let mut counts = lock(&self.counts);
        let counts = counts.entry(api).or_default();
        counts.requests += 1;
        counts.entries += entries as u64;
        counts.max_body_bytes = counts.max_body_bytes.max(body_bytes);
    }

    /// What `api` received so far.
    pub(crate) fn counts_of(&self, api: Api) -> Counts {
        lock(&self.counts).get(&api).copied().unwrap_or_default()
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
