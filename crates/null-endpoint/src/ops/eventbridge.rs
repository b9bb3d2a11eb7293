//! EventBridge: PutEvents (awsJson 1.1).

use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::json::{JSON_11, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// EventBridge PutEvents.
    pub const PutEvents: Self = Self("PutEvents");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[("AWSEvents.PutEvents", put_events)],
    query: &[],
    cbor: &[],
};

pub(super) fn put_events(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let (mut answers, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
    for entry in &entries {
        match ctx.refuse() {
            Some(sender_fault) => {
                failed += 1;
                let code = if sender_fault {
                    "InvalidArgument"
                } else {
                    "InternalFailure"
                };
                answers.push(json!({"ErrorCode": code, "ErrorMessage": "injected fault"}));
            }
            None => {
                accepted.push(entry["Detail"].as_str().unwrap_or_default().to_owned());
                answers.push(json!({"EventId": "e"}));
            }
        }
    }
    ctx.record(Api::PutEvents, accepted, entries.len());
    Reply::Answer(ok(
        JSON_11,
        &json!({"FailedEntryCount": failed, "Entries": answers}),
    ))
}
