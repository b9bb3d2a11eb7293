//! SQS: SendMessageBatch, SendMessage, GetQueueAttributes, GetQueueUrl (awsJson 1.0).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::json::{self, JSON_10, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// SQS SendMessageBatch.
    pub const SendMessageBatch: Self = Self("SendMessageBatch");
    /// SQS SendMessage.
    pub const SendMessage: Self = Self("SendMessage");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[
        ("AmazonSQS.SendMessageBatch", send_message_batch),
        ("AmazonSQS.SendMessage", send_message),
        ("AmazonSQS.GetQueueAttributes", get_queue_attributes),
        ("AmazonSQS.GetQueueUrl", get_queue_url),
    ],
    query: &[],
    cbor: &[],
};

const MD5: &str = "00000000000000000000000000000000";

pub(super) fn send_message_batch(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    if ctx.over_rate(Api::SendMessageBatch, entries.len()) {
        return Reply::Refused(json::throttled("ThrottlingException"));
    }
    // A FIFO queue enqueues a batch's messages of one group in order: after a refused one,
    // the later ones of its group are refused too. It stores a deduplication id once and
    // answers repeats as sent (tracked with faults on, where repeats happen).
    let fifo = request["QueueUrl"]
        .as_str()
        .is_some_and(|url| url.ends_with(".fifo"));
    let mut failed_groups = HashSet::new();
    let (mut successful, mut failed, mut accepted) = (Vec::new(), Vec::new(), Vec::new());
    for (i, entry) in entries.iter().enumerate() {
        let body = entry["MessageBody"].as_str().unwrap_or_default();
        let group = entry["MessageGroupId"].as_str().unwrap_or_default();
        let refusal = if fifo && failed_groups.contains(group) {
            Some(false)
        } else {
            ctx.refuse()
        };
        if let Some(sender_fault) = refusal {
            if fifo {
                failed_groups.insert(group.to_owned());
            }
            let code = if sender_fault {
                "InvalidParameterValue"
            } else {
                "InternalError"
            };
            failed.push(
                json!({"Id": entry["Id"], "SenderFault": sender_fault, "Code": code,
                               "Message": "injected fault"}),
            );
            continue;
        }
        let dedup_id = entry["MessageDeduplicationId"].as_str().unwrap_or(body);
        if fifo && is_repeat(ctx, dedup_id) {
            ctx.counters.fifo_repeats.fetch_add(1, Ordering::Relaxed);
        } else {
            accepted.push(body.to_owned());
        }
        successful.push(json!({"Id": entry["Id"], "MessageId": format!("m-{i}"),
                               "MD5OfMessageBody": MD5}));
    }
    ctx.record(Api::SendMessageBatch, accepted, entries.len());
    Reply::Answer(ok(
        JSON_10,
        &json!({"Successful": successful, "Failed": failed}),
    ))
}

/// Whether a FIFO queue stored `dedup_id` already (tracked with faults on only).
fn is_repeat(ctx: &Ctx<'_>, dedup_id: &str) -> bool {
    if ctx.counters.faults_config.is_none() {
        return false;
    }
    let mut ids = ctx
        .counters
        .fifo_ids
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    !ids.insert(dedup_id.to_owned())
}

pub(super) fn send_message(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let body = request["MessageBody"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.record(Api::SendMessage, vec![body], 1);
    Reply::Answer(ok(
        JSON_10,
        &json!({"MessageId": "m", "MD5OfMessageBody": MD5}),
    ))
}

pub(super) fn get_queue_attributes(_ctx: &mut Ctx<'_>, _request: &Value) -> Reply {
    // A queue of the largest messages SQS takes.
    let attributes = json!({"Attributes": {"MaximumMessageSize": "1048576"}});
    Reply::Answer(ok(JSON_10, &attributes))
}

pub(super) fn get_queue_url(_ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let name = request["QueueName"].as_str().unwrap_or("queue");
    let url = format!("http://127.0.0.1/000000000000/{name}");
    Reply::Answer(ok(JSON_10, &json!({"QueueUrl": url})))
}
