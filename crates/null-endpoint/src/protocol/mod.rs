//! The wire protocols the endpoint speaks: how a request is read, and how an answer and an
//! error are written, in awsJson (SQS, Kinesis, DynamoDB, Firehose, EventBridge, boto3's
//! CloudWatch), the query protocol (SNS) and rpcv2Cbor (the Rust SDK's CloudWatch).

pub(crate) mod cbor;
pub(crate) mod json;
pub(crate) mod query;

use std::io::Read;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

/// An answer.
pub(crate) type Answer = Response<Full<Bytes>>;

/// How a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// awsJson: the operation in `x-amz-target`.
    Json,
    /// The query protocol: a form with an `Action`.
    Query,
    /// rpcv2Cbor: the operation at the end of the path.
    Cbor,
}

/// A request as read off the wire.
pub(crate) struct Call {
    pub(crate) protocol: Protocol,
    /// The operation: `AmazonSQS.SendMessageBatch`, the query `Action`, or the CBOR path's
    /// last part.
    pub(crate) operation: String,
    pub(crate) path: String,
    /// The body, un-gzipped.
    pub(crate) body: Vec<u8>,
}

impl Call {
    /// Reads a request; an unreadable one is answered at once.
    pub(crate) async fn read(request: Request<Incoming>) -> Result<Self, Answer> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let target = header("x-amz-target");
        let gzip = header("content-encoding").eq_ignore_ascii_case("gzip");
        let form = header("content-type").starts_with("application/x-www-form-urlencoded");
        let path = request.uri().path().to_owned();
        let Ok(collected) = request.into_body().collect().await else {
            return Err(plain(StatusCode::BAD_REQUEST, "unreadable body"));
        };
        let mut body = collected.to_bytes().to_vec();
        if gzip {
            let mut plain_body = Vec::new();
            if flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut plain_body)
                .is_err()
            {
                return Err(plain(StatusCode::BAD_REQUEST, "bad gzip body"));
            }
            body = plain_body;
        }
        let (protocol, operation) = if form {
            let action = url::form_urlencoded::parse(&body)
                .find(|(key, _)| key == "Action")
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            (Protocol::Query, action)
        } else if let Some(operation) = path.rsplit_once("/operation/").map(|(_, op)| op) {
            (Protocol::Cbor, operation.to_owned())
        } else {
            (Protocol::Json, target)
        };
        Ok(Self {
            protocol,
            operation,
            path,
            body,
        })
    }
}

/// An answer with `body` of `content_type`.
pub(crate) fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert("content-type", value);
    }
    if content_type == cbor::CONTENT_TYPE {
        headers.insert(
            "smithy-protocol",
            hyper::header::HeaderValue::from_static("rpc-v2-cbor"),
        );
    }
    response
}

fn plain(status: StatusCode, text: &str) -> Answer {
    respond(status, "text/plain", text.as_bytes().to_vec())
}

/// The error answer of an injected fault, as each protocol writes one: JSON callers get the
/// code, query callers (SNS) an XML error, CBOR callers a bare status (retryable or not by
/// its class).
pub(crate) fn fault(protocol: Protocol, status: StatusCode, code: &str) -> Answer {
    match protocol {
        Protocol::Query => {
            let code = if code == "ThrottlingException" {
                "Throttling"
            } else {
                code
            };
            query::error(status, code)
        }
        Protocol::Cbor => {
            let status = if status == StatusCode::BAD_REQUEST {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                status
            };
            respond(status, cbor::CONTENT_TYPE, cbor::EMPTY_MAP.to_vec())
        }
        Protocol::Json => json::error(status, json::JSON_10, code, "injected fault"),
    }
}
