//! Firehose: PutRecordBatch, PutRecord (awsJson 1.1).

use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::json::{JSON_11, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// Firehose PutRecordBatch.
    pub const PutRecordBatch: Self = Self("PutRecordBatch");
    /// Firehose PutRecord.
    pub const FirehosePutRecord: Self = Self("Firehose.PutRecord");
}

/// The operations, by `x-amz-target`.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[
        ("Firehose_20150804.PutRecordBatch", put_record_batch),
        ("Firehose_20150804.PutRecord", put_record),
    ],
    query: &[],
    cbor: &[],
};

pub(super) fn put_record_batch(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    // Firehose refuses a record only for its own reasons, which a later attempt may get
    // past: no sender faults.
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    let (mut answers, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
    for record in &records {
        if ctx.refuse().is_some() {
            failed += 1;
            answers.push(json!({"ErrorCode": "ServiceUnavailableException",
                                "ErrorMessage": "injected fault"}));
        } else {
            accepted.push(record["Data"].as_str().unwrap_or_default().to_owned());
            answers.push(json!({"RecordId": "r"}));
        }
    }
    ctx.record(Api::PutRecordBatch, accepted, records.len());
    let body = json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": answers});
    Reply::Answer(ok(JSON_11, &body))
}

pub(super) fn put_record(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let data = request["Record"]["Data"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.record(Api::FirehosePutRecord, vec![data], 1);
    Reply::Answer(ok(JSON_11, &json!({"RecordId": "r", "Encrypted": false})))
}
