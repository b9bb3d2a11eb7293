//! DynamoDB: BatchWriteItem, PutItem, DescribeTable (awsJson 1.0), with a table's write
//! capacity.

use std::sync::atomic::Ordering;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::json::{self, JSON_10, error, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// DynamoDB BatchWriteItem.
    pub const BatchWriteItem: Self = Self("BatchWriteItem");
    /// DynamoDB PutItem.
    pub const PutItem: Self = Self("PutItem");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[
        ("DynamoDB_20120810.BatchWriteItem", batch_write_item),
        ("DynamoDB_20120810.PutItem", put_item),
        ("DynamoDB_20120810.DescribeTable", describe_table),
    ],
    query: &[],
    cbor: &[],
};

pub(super) fn batch_write_item(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let mut unprocessed = serde_json::Map::new();
    let (mut accepted, mut sent, mut over_capacity) = (Vec::new(), 0_usize, 0_usize);
    let tables = request["RequestItems"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (table, writes) in tables {
        let mut left = Vec::new();
        for write in writes.as_array().cloned().unwrap_or_default() {
            sent += 1;
            let text = write.to_string();
            if ctx.refuse().is_some() {
                left.push(write);
            } else if ctx
                .quotas()
                .and_then(|quotas| quotas.take_write(text.len()))
                == Some(false)
            {
                over_capacity += 1;
                left.push(write);
            } else {
                accepted.push(text);
            }
        }
        if !left.is_empty() {
            unprocessed.insert(table, Value::Array(left));
        }
    }
    // DynamoDB refuses the whole request when none of its writes fits the capacity.
    if over_capacity > 0 && over_capacity == sent {
        ctx.refused_whole(Api::BatchWriteItem, sent);
        return Reply::Refused(json::throttled("ProvisionedThroughputExceededException"));
    }
    ctx.counters
        .refused_for_capacity
        .fetch_add(over_capacity as u64, Ordering::Relaxed);
    ctx.record(Api::BatchWriteItem, accepted, sent);
    Reply::Answer(ok(JSON_10, &json!({"UnprocessedItems": unprocessed})))
}

pub(super) fn put_item(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    ctx.record(Api::PutItem, vec![request["Item"].to_string()], 1);
    Reply::Answer(ok(JSON_10, &json!({})))
}

pub(super) fn describe_table(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    // Without a write capacity the table takes any rate: it has nothing to describe, so
    // DescribeTable is refused as an IAM policy without dynamodb:DescribeTable would be.
    let units = ctx
        .quotas()
        .map_or(0.0, crate::capacity::Quotas::write_capacity_units);
    if units <= 0.0 {
        let message = "DescribeTable is not served without a DynamoDB write capacity";
        return Reply::Refused(error(
            StatusCode::BAD_REQUEST,
            JSON_10,
            "AccessDeniedException",
            message,
        ));
    }
    let name = request["TableName"].as_str().unwrap_or_default();
    Reply::Answer(ok(
        JSON_10,
        &json!({"Table": {
            "TableName": name,
            "TableStatus": "ACTIVE",
            "BillingModeSummary": {"BillingMode": "PROVISIONED"},
            "ProvisionedThroughput": {"ReadCapacityUnits": units, "WriteCapacityUnits": units,
                                      "NumberOfDecreasesToday": 0}
        }}),
    ))
}
