//! Kinesis: PutRecords, PutRecord, ListShards (awsJson 1.1), with per-shard quotas.

use std::sync::atomic::Ordering;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::protocol::json::{JSON_11, error, ok};
use crate::{Api, PUT_PAYLOAD_UNIT, shard_range};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// Kinesis PutRecords.
    pub const PutRecords: Self = Self("PutRecords");
    /// Kinesis PutRecord.
    pub const PutRecord: Self = Self("PutRecord");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[
        ("Kinesis_20131202.PutRecords", put_records),
        ("Kinesis_20131202.PutRecord", put_record),
        ("Kinesis_20131202.ListShards", list_shards),
    ],
    query: &[],
    cbor: &[],
};

const PTE: &str = "ProvisionedThroughputExceededException";

pub(super) fn put_records(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let entries = request["Records"].as_array().cloned().unwrap_or_default();
    let (mut results, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
    for (i, entry) in entries.iter().enumerate() {
        if ctx.refuse().is_some() {
            failed += 1;
            results.push(json!({"ErrorCode": PTE, "ErrorMessage": "injected fault"}));
            continue;
        }
        let data = entry["Data"].as_str().unwrap_or_default();
        let key = entry["PartitionKey"].as_str().unwrap_or_default();
        let size = base64_len(data) + key.len();
        let explicit = entry["ExplicitHashKey"].as_str();
        let (shard, fits) = ctx
            .quotas()
            .and_then(|quotas| quotas.take_record(key, explicit, size))
            .unwrap_or((0, true));
        let shard_id = format!("shardId-{shard:012}");
        if fits {
            bill(ctx, size as u64);
            accepted.push(data.to_owned());
            results.push(json!({"SequenceNumber": i.to_string(), "ShardId": shard_id}));
        } else {
            failed += 1;
            ctx.counters
                .refused_for_capacity
                .fetch_add(1, Ordering::Relaxed);
            let message = format!("Rate exceeded for shard {shard_id}");
            results.push(json!({"ErrorCode": PTE, "ErrorMessage": message}));
        }
    }
    ctx.record(Api::PutRecords, accepted, entries.len());
    Reply::Answer(ok(
        JSON_11,
        &json!({"FailedRecordCount": failed, "Records": results}),
    ))
}

/// Counts a stored record of `size` bytes in both billing modes.
fn bill(ctx: &Ctx<'_>, size: u64) {
    let [records, units, kib] = &ctx.counters.kinesis_billing;
    records.fetch_add(1, Ordering::Relaxed);
    units.fetch_add(size.div_ceil(PUT_PAYLOAD_UNIT).max(1), Ordering::Relaxed);
    kib.fetch_add(size.div_ceil(1_024).max(1), Ordering::Relaxed);
}

pub(super) fn put_record(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let data = request["Data"].as_str().unwrap_or_default().to_owned();
    ctx.record(Api::PutRecord, vec![data], 1);
    Reply::Answer(ok(
        JSON_11,
        &json!({"SequenceNumber": "1", "ShardId": "shardId-000000000000"}),
    ))
}

pub(super) fn list_shards(ctx: &mut Ctx<'_>, _request: &Value) -> Reply {
    // Without a Kinesis quota the stream takes any rate: it has no shards to pace to, so
    // ListShards is refused as an IAM policy without kinesis:ListShards would be.
    let open = ctx
        .quotas()
        .map_or(0..0, crate::capacity::Quotas::open_shards);
    if open.is_empty() {
        let message = "ListShards is not served without a Kinesis quota";
        return Reply::Refused(error(
            StatusCode::BAD_REQUEST,
            JSON_11,
            "AccessDeniedException",
            message,
        ));
    }
    let count = open.len();
    let shards: Vec<Value> = open
        .enumerate()
        .map(|(index, id)| {
            let (start, end) = shard_range(index, count);
            json!({"ShardId": format!("shardId-{id:012}"),
                   "HashKeyRange": {"StartingHashKey": start.to_string(),
                                    "EndingHashKey": end.to_string()},
                   "SequenceNumberRange": {"StartingSequenceNumber": "0"}})
        })
        .collect();
    Reply::Answer(ok(JSON_11, &json!({"Shards": shards})))
}

/// Bytes encoded by a base64 text.
fn base64_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}
