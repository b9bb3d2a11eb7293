//! A local endpoint on 127.0.0.1 that answers the AWS batch APIs (and their single-record
//! calls) with success, after an optional latency, and counts the requests and entries it
//! received. The AWS emulators are far too slow to measure a client against; this answers as
//! fast as the machine allows, so a benchmark measures the client.
//!
//! Operations: SQS `SendMessageBatch`, `SendMessage`, `GetQueueUrl` (awsJson 1.0), Kinesis
//! `PutRecords`, `PutRecord` (awsJson 1.1), DynamoDB `BatchWriteItem`, `PutItem` (awsJson 1.0)
//! and CloudWatch `PutMetricData` (rpcv2Cbor, gzip-compressed bodies included).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use null_endpoint::{Api, NullEndpoint};
//!
//! let endpoint = NullEndpoint::start(Duration::from_millis(20)).await?;
//! // point an SDK client at endpoint.url() ...
//! let counts = endpoint.counts(Api::SendMessageBatch);
//! println!("{} requests, {} entries", counts.requests, counts.entries);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The operations the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Api {
    /// SQS SendMessageBatch.
    SendMessageBatch,
    /// SQS SendMessage.
    SendMessage,
    /// Kinesis PutRecords.
    PutRecords,
    /// Kinesis PutRecord.
    PutRecord,
    /// DynamoDB BatchWriteItem.
    BatchWriteItem,
    /// DynamoDB PutItem.
    PutItem,
    /// CloudWatch PutMetricData.
    PutMetricData,
}

impl Api {
    const ALL: [Self; 7] = [
        Self::SendMessageBatch,
        Self::SendMessage,
        Self::PutRecords,
        Self::PutRecord,
        Self::BatchWriteItem,
        Self::PutItem,
        Self::PutMetricData,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|api| *api == self).unwrap_or(0)
    }
}

/// Requests and entries received by one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Requests answered.
    pub requests: u64,
    /// Entries in them (records, messages, items, metrics).
    pub entries: u64,
    /// The largest request body, uncompressed, in bytes.
    pub max_body_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: [AtomicU64; 7],
    entries: [AtomicU64; 7],
    max_body_bytes: [AtomicU64; 7],
}

/// A running endpoint. Dropping it stops the server.
#[derive(Debug)]
pub struct NullEndpoint {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
}

impl NullEndpoint {
    /// Starts the endpoint on a free port of 127.0.0.1; every answer waits `latency` first.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start(latency: Duration) -> std::io::Result<Self> {
        Self::start_on(0, latency).await
    }

    /// Starts the endpoint on `port` of 127.0.0.1 (0: any free port).
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub async fn start_on(port: u16, latency: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let state = Arc::clone(&counters);
        tokio::spawn(async move {
            let mut stopped = stopped;
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.changed() => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, latency, request).await) }
                    });
                    // A client that hangs up mid-request is no concern of the endpoint.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            counters,
            stop,
        })
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What one operation received so far.
    #[must_use]
    pub fn counts(&self, api: Api) -> Counts {
        let i = api.index();
        Counts {
            requests: self.counters.requests[i].load(Ordering::Relaxed),
            entries: self.counters.entries[i].load(Ordering::Relaxed),
            max_body_bytes: self.counters.max_body_bytes[i].load(Ordering::Relaxed),
        }
    }
}

impl Drop for NullEndpoint {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert("content-type", value);
    }
    if content_type == "application/cbor" {
        headers.insert(
            "smithy-protocol",
            hyper::header::HeaderValue::from_static("rpc-v2-cbor"),
        );
    }
    response
}

fn json_response(content_type: &str, body: &Value) -> Response<Full<Bytes>> {
    respond(StatusCode::OK, content_type, body.to_string().into_bytes())
}

async fn answer(
    counters: &Counters,
    latency: Duration,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let gzip = request
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let path = request.uri().path().to_owned();
    let Ok(collected) = request.into_body().collect().await else {
        return respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            b"unreadable body".to_vec(),
        );
    };
    let mut body = collected.to_bytes().to_vec();
    if gzip {
        let mut plain = Vec::new();
        if flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut plain)
            .is_err()
        {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                b"bad gzip body".to_vec(),
            );
        }
        body = plain;
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let body_bytes = body.len() as u64;
    let count = |api: Api, entries: usize| {
        counters.requests[api.index()].fetch_add(1, Ordering::Relaxed);
        counters.entries[api.index()].fetch_add(entries as u64, Ordering::Relaxed);
        counters.max_body_bytes[api.index()].fetch_max(body_bytes, Ordering::Relaxed);
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let entries = |field: &str| json[field].as_array().map_or(0, Vec::len);
    const JSON_10: &str = "application/x-amz-json-1.0";
    const JSON_11: &str = "application/x-amz-json-1.1";
    match target.as_str() {
        "AmazonSQS.SendMessageBatch" => {
            let ids: Vec<Value> = json["Entries"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            json!({"Id": e["Id"], "MessageId": format!("m-{i}"),
                                   "MD5OfMessageBody": "00000000000000000000000000000000"})
                        })
                        .collect()
                })
                .unwrap_or_default();
            count(Api::SendMessageBatch, ids.len());
            json_response(JSON_10, &json!({"Successful": ids, "Failed": []}))
        }
        "AmazonSQS.SendMessage" => {
            count(Api::SendMessage, 1);
            json_response(
                JSON_10,
                &json!({"MessageId": "m", "MD5OfMessageBody": "00000000000000000000000000000000"}),
            )
        }
        "AmazonSQS.GetQueueUrl" => {
            let name = json["QueueName"].as_str().unwrap_or("queue");
            json_response(JSON_10, &json!({"QueueUrl": format!("http://127.0.0.1/000000000000/{name}")}))
        }
        "Kinesis_20131202.PutRecords" => {
            let n = entries("Records");
            count(Api::PutRecords, n);
            let records: Vec<Value> = (0..n)
                .map(|i| json!({"SequenceNumber": i.to_string(), "ShardId": "shardId-000000000000"}))
                .collect();
            json_response(JSON_11, &json!({"FailedRecordCount": 0, "Records": records}))
        }
        "Kinesis_20131202.PutRecord" => {
            count(Api::PutRecord, 1);
            json_response(JSON_11, &json!({"SequenceNumber": "1", "ShardId": "shardId-000000000000"}))
        }
        "DynamoDB_20120810.BatchWriteItem" => {
            let n = json["RequestItems"]
                .as_object()
                .map_or(0, |tables| tables.values().filter_map(Value::as_array).map(Vec::len).sum());
            count(Api::BatchWriteItem, n);
            json_response(JSON_10, &json!({"UnprocessedItems": {}}))
        }
        "DynamoDB_20120810.PutItem" => {
            count(Api::PutItem, 1);
            json_response(JSON_10, &json!({}))
        }
        _ if path.ends_with("/operation/PutMetricData") => {
            let metrics = ciborium::de::from_reader::<ciborium::Value, _>(body.as_slice())
                .ok()
                .and_then(|value| {
                    value.into_map().ok()?.into_iter().find_map(|(key, value)| {
                        (key.as_text() == Some("MetricData")).then(|| value.into_array().map_or(0, |a| a.len()))
                    })
                })
                .unwrap_or(0);
            count(Api::PutMetricData, metrics);
            // An empty CBOR map.
            respond(StatusCode::OK, "application/cbor", vec![0xa0])
        }
        _ => respond(
            StatusCode::BAD_REQUEST,
            JSON_10,
            json!({"__type": "UnknownOperationException", "message": format!("unknown operation `{target}` {path}")})
                .to_string()
                .into_bytes(),
        ),
    }
}
