//! awsJson 1.0 and 1.1 answers.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Answer, respond};

/// awsJson 1.0: SQS, DynamoDB, boto3's CloudWatch.
pub(crate) const JSON_10: &str = "application/x-amz-json-1.0";
/// awsJson 1.1: Kinesis, Firehose, EventBridge.
pub(crate) const JSON_11: &str = "application/x-amz-json-1.1";

/// A success with `body`.
pub(crate) fn ok(content_type: &str, body: &Value) -> Answer {
    respond(StatusCode::OK, content_type, body.to_string().into_bytes())
}

/// An error: its code in `__type`.
pub(crate) fn error(status: StatusCode, content_type: &str, code: &str, message: &str) -> Answer {
    let body = json!({"__type": code, "message": message});
    respond(status, content_type, body.to_string().into_bytes())
}

/// A request refused for a quota: `code` (throttling), in awsJson 1.0.
pub(crate) fn throttled(code: &str) -> Answer {
    error(StatusCode::BAD_REQUEST, JSON_10, code, "Rate exceeded")
}
