//! A local endpoint on 127.0.0.1 that answers the AWS batch APIs (and their single-record
//! calls) with success, after an optional latency, and counts the requests and entries it
//! received. The AWS emulators are far too slow to measure a client against; this answers as
//! fast as the machine allows, so a benchmark measures the client.
//!
//! With a [`Capacity`], it enforces AWS's quotas instead of taking everything: per-shard
//! Kinesis rates, a table's write capacity units, request rates.
//!
//! Operations: SQS `SendMessageBatch`, `SendMessage`, `GetQueueUrl`, `GetQueueAttributes`
//! (awsJson 1.0), Kinesis `PutRecords`, `PutRecord`, `ListShards` (awsJson 1.1), DynamoDB
//! `BatchWriteItem`, `PutItem` (awsJson 1.0), Firehose `PutRecordBatch`, `PutRecord` and
//! EventBridge `PutEvents` (awsJson 1.1), SNS `PublishBatch`, `Publish` and
//! `GetTopicAttributes` (the query protocol), and CloudWatch `PutMetricData` (rpcv2Cbor as the Rust SDK sends it, awsJson 1.0
//! as boto3 does; gzip-compressed bodies included).
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

mod capacity;

use capacity::Quotas;
pub use capacity::{Capacity, hash_key, shard_of, shard_range};

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
    /// Firehose PutRecordBatch.
    PutRecordBatch,
    /// EventBridge PutEvents.
    PutEvents,
    /// SNS PublishBatch.
    PublishBatch,
    /// Firehose PutRecord.
    FirehosePutRecord,
    /// SNS Publish.
    Publish,
}

impl Api {
    const ALL: [Self; 12] = [
        Self::SendMessageBatch,
        Self::SendMessage,
        Self::PutRecords,
        Self::PutRecord,
        Self::BatchWriteItem,
        Self::PutItem,
        Self::PutMetricData,
        Self::PutRecordBatch,
        Self::PutEvents,
        Self::PublishBatch,
        Self::FirehosePutRecord,
        Self::Publish,
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

/// Faults the endpoint injects, each drawn at random (from `seed`) per request or per entry.
///
/// Entries refused inside a successful response are SQS entries failed with a server fault
/// (`InternalError`) or, for a `sender_faults` share of them, a sender fault
/// (`InvalidParameterValue`); Kinesis records failed with
/// `ProvisionedThroughputExceededException`; DynamoDB writes returned in `UnprocessedItems`.
/// A dropped request's entries are accepted and recorded before the connection is closed
/// without an answer, as when a response is lost: the client cannot know and may send them
/// again.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Seed of the random draws.
    pub seed: u64,
    /// Share of entries refused in an otherwise successful response.
    pub entry_failures: f64,
    /// Share of refused SQS entries that are sender faults (not retryable).
    pub sender_faults: f64,
    /// Share of requests answered with throttling.
    pub throttles: f64,
    /// Share of requests that start a throttling burst: that request and the
    /// `burst_length - 1` after it are answered with throttling.
    pub throttle_bursts: f64,
    /// Requests in a throttling burst.
    pub burst_length: u64,
    /// Share of requests answered with HTTP 500.
    pub server_errors: f64,
    /// Share of requests whose connection is closed after the entries were accepted.
    pub dropped: f64,
    /// Share of requests answered `slow_by` later.
    pub slow: f64,
    /// The extra delay of a slow answer.
    pub slow_by: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    requests: [AtomicU64; Api::ALL.len()],
    entries: [AtomicU64; Api::ALL.len()],
    max_body_bytes: [AtomicU64; Api::ALL.len()],
    served: AtomicU64,
    faults: AtomicU64,
    lost_responses: AtomicU64,
    /// Requests left in the current throttling burst.
    burst_left: AtomicU64,
    faults_config: Option<Faults>,
    /// Every entry accepted, per operation, in the order accepted, with when.
    accepted: Mutex<Vec<(Api, tokio::time::Instant, String)>>,
    /// Deduplication ids a FIFO queue has stored, and the repeats it absorbed.
    fifo_ids: Mutex<HashSet<String>>,
    fifo_repeats: AtomicU64,
    /// The quotas enforced, if any, and the entries refused for them.
    quotas: Option<Quotas>,
    refused_for_capacity: AtomicU64,
    /// Kinesis records stored and what they would be billed.
    kinesis_billing: [AtomicU64; 3],
}

/// What the Kinesis records stored so far would be billed, by the two capacity modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KinesisBilling {
    /// Kinesis records stored (an aggregated record counts once).
    pub records: u64,
    /// Provisioned mode: PUT payload units, each record rounded up to 25 KiB.
    pub put_payload_units: u64,
    /// On-demand mode: KiB of data ingested, each record rounded up to 1 KiB.
    pub on_demand_kib: u64,
}

/// One PUT payload unit. Source: Amazon Kinesis Data Streams pricing ("a record is counted
/// in 25 KB payload units"; on-demand: "each record rounded up to the nearest 1 KB");
/// checked 2026-12-04.
const PUT_PAYLOAD_UNIT: u64 = 25 * 1_024;

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

    /// Starts the endpoint on a free port of 127.0.0.1, injecting `faults`, and recording
    /// every entry it accepts (see [`accepted`](Self::accepted)).
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start_with_faults(latency: Duration, faults: Faults) -> std::io::Result<Self> {
        Self::serve(0, latency, Some(faults), None).await
    }

    /// Starts the endpoint on a free port of 127.0.0.1, enforcing `capacity` (and injecting
    /// `faults`, if any, recording every entry it accepts).
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start_with_capacity(
        latency: Duration,
        capacity: Capacity,
        faults: Option<Faults>,
    ) -> std::io::Result<Self> {
        Self::serve(0, latency, faults, Some(capacity)).await
    }

    /// Starts the endpoint on `port` of 127.0.0.1 (0: any free port).
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub async fn start_on(port: u16, latency: Duration) -> std::io::Result<Self> {
        Self::serve(port, latency, None, None).await
    }

    async fn serve(
        port: u16,
        latency: Duration,
        faults: Option<Faults>,
        capacity: Option<Capacity>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters {
            faults_config: faults,
            quotas: capacity.map(Quotas::new),
            ..Counters::default()
        });
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
                        // `Err` closes the connection without an answer.
                        async move { answer(&state, latency, request).await.ok_or(Dropped) }
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

impl NullEndpoint {
    /// The entries accepted so far by `api`, in order: SQS message bodies, Kinesis and
    /// Firehose data (as base64), DynamoDB items or keys (as JSON), CloudWatch metric names,
    /// EventBridge details. Recorded only when started with faults.
    #[must_use]
    pub fn accepted(&self, api: Api) -> Vec<String> {
        self.accepted_at(api)
            .into_iter()
            .map(|(_, entry)| entry)
            .collect()
    }

    /// As [`accepted`](Self::accepted), with the moment each entry was accepted.
    #[must_use]
    pub fn accepted_at(&self, api: Api) -> Vec<(tokio::time::Instant, String)> {
        let accepted = self
            .counters
            .accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        accepted
            .iter()
            .filter(|(a, _, _)| *a == api)
            .map(|(_, at, entry)| (*at, entry.clone()))
            .collect()
    }

    /// Faults injected so far: refused entries, throttled, failed, dropped and slow requests.
    #[must_use]
    pub fn faults_injected(&self) -> u64 {
        self.counters.faults.load(Ordering::Relaxed)
    }

    /// Requests whose entries were accepted but whose answer was dropped.
    #[must_use]
    pub fn lost_responses(&self) -> u64 {
        self.counters.lost_responses.load(Ordering::Relaxed)
    }

    /// Entries refused because a quota of the [`Capacity`] was used up (Kinesis records and
    /// DynamoDB writes one by one, SQS and CloudWatch requests with all their entries).
    #[must_use]
    pub fn refused_for_capacity(&self) -> u64 {
        self.counters.refused_for_capacity.load(Ordering::Relaxed)
    }

    /// What the Kinesis records stored so far would be billed.
    #[must_use]
    pub fn kinesis_billing(&self) -> KinesisBilling {
        let [records, units, kib] = &self.counters.kinesis_billing;
        KinesisBilling {
            records: records.load(Ordering::Relaxed),
            put_payload_units: units.load(Ordering::Relaxed),
            on_demand_kib: kib.load(Ordering::Relaxed),
        }
    }

    /// FIFO messages answered as sent but not stored again, because their deduplication id
    /// was already stored (as SQS does within its five-minute window).
    #[must_use]
    pub fn fifo_repeats_absorbed(&self) -> u64 {
        self.counters.fifo_repeats.load(Ordering::Relaxed)
    }
}

/// The error that closes a connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

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

/// An answer of the query protocol (SNS): `<{action}Response><{action}Result>{result}...`.
fn query_response(action: &str, result: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<{action}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><{action}Result>{result}\
         </{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    );
    respond(StatusCode::OK, "text/xml", body.into_bytes())
}

/// An error of the query protocol.
fn query_error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected fault</Message>\
         </Error><RequestId>r</RequestId></ErrorResponse>"
    );
    respond(status, "text/xml", body.into_bytes())
}

fn json_response(content_type: &str, body: &Value) -> Response<Full<Bytes>> {
    respond(StatusCode::OK, content_type, body.to_string().into_bytes())
}

/// A request's draws from the fault configuration.
struct Draw {
    rng: fastrand::Rng,
    faults: Faults,
}

impl Draw {
    fn hit(&mut self, share: f64) -> bool {
        share > 0.0 && self.rng.f64() < share
    }
}

async fn answer(
    counters: &Counters,
    latency: Duration,
    request: Request<Incoming>,
) -> Option<Response<Full<Bytes>>> {
    let served = counters.served.fetch_add(1, Ordering::Relaxed);
    let mut draw = counters.faults_config.clone().map(|faults| Draw {
        rng: fastrand::Rng::with_seed(faults.seed ^ served.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        faults,
    });
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
    let query = request.headers().get("content-type").is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    let Ok(collected) = request.into_body().collect().await else {
        return Some(respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            b"unreadable body".to_vec(),
        ));
    };
    let mut body = collected.to_bytes().to_vec();
    if gzip {
        let mut plain = Vec::new();
        if flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut plain)
            .is_err()
        {
            return Some(respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                b"bad gzip body".to_vec(),
            ));
        }
        body = plain;
    }
    let mut delay = latency;
    let cbor = path.ends_with("/operation/PutMetricData");
    let content_type = if cbor { "application/cbor" } else { JSON_10 };
    if let Some(draw) = draw.as_mut() {
        let faults = draw.faults.clone();
        if draw.hit(faults.slow) {
            counters.faults.fetch_add(1, Ordering::Relaxed);
            delay += faults.slow_by;
        }
        if draw.hit(faults.throttle_bursts) {
            counters
                .burst_left
                .fetch_max(faults.burst_length, Ordering::Relaxed);
        }
        let in_burst = counters
            .burst_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        let failure = if in_burst || draw.hit(faults.throttles) {
            Some((StatusCode::BAD_REQUEST, "ThrottlingException"))
        } else if draw.hit(faults.server_errors) {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"))
        } else {
            None
        };
        if let Some((status, code)) = failure {
            counters.faults.fetch_add(1, Ordering::Relaxed);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            // CBOR callers get a bare status (retryable or not by its class); JSON ones the
            // code; query-protocol ones (SNS) an XML error.
            if query {
                let code = if code == "ThrottlingException" {
                    "Throttling"
                } else {
                    code
                };
                return Some(query_error(status, code));
            }
            let body = if cbor {
                vec![0xa0]
            } else {
                json!({"__type": code, "message": "injected fault"})
                    .to_string()
                    .into_bytes()
            };
            let status = if cbor && status == StatusCode::BAD_REQUEST {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                status
            };
            return Some(respond(status, content_type, body));
        }
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body_bytes = body.len() as u64;
    let record = |api: Api, accepted: Vec<String>, sent: usize| {
        let i = api.index();
        counters.requests[i].fetch_add(1, Ordering::Relaxed);
        counters.entries[i].fetch_add(sent as u64, Ordering::Relaxed);
        counters.max_body_bytes[i].fetch_max(body_bytes, Ordering::Relaxed);
        if counters.faults_config.is_some() {
            let mut log = counters
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = tokio::time::Instant::now();
            log.extend(accepted.into_iter().map(|entry| (api, now, entry)));
        }
    };
    // Per-entry refusals, when faults are on: Some(sender fault?) for a refused entry.
    let mut refuse = |counters: &Counters| -> Option<bool> {
        let draw = draw.as_mut()?;
        let faults = draw.faults.clone();
        if !draw.hit(faults.entry_failures) {
            return None;
        }
        counters.faults.fetch_add(1, Ordering::Relaxed);
        Some(draw.hit(faults.sender_faults))
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let quotas = counters.quotas.as_ref();
    // A request refused whole for a quota counts as a request, its entries as refused.
    let refused_whole = |api: Api, entries: usize| {
        counters.requests[api.index()].fetch_add(1, Ordering::Relaxed);
        counters
            .refused_for_capacity
            .fetch_add(entries as u64, Ordering::Relaxed);
    };
    // A request over its operation's request rate is refused whole, with all its entries.
    let over_rate = |cloudwatch: bool, entries: usize| {
        let fits = quotas.is_none_or(|quotas| quotas.take_request(cloudwatch));
        (!fits).then(|| {
            let api = if cloudwatch {
                Api::PutMetricData
            } else {
                Api::SendMessageBatch
            };
            refused_whole(api, entries);
            throttled(cloudwatch, content_type, "ThrottlingException")
        })
    };
    let response = if query {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        match form.get("Action").map(String::as_str) {
            Some("PublishBatch") => {
                // Entries by their member number: `PublishBatchRequestEntries.member.N.Id`, ...
                let mut entries: BTreeMap<u32, (String, String)> = BTreeMap::new();
                for (key, value) in &form {
                    let Some(rest) = key.strip_prefix("PublishBatchRequestEntries.member.") else {
                        continue;
                    };
                    let Some((n, field)) = rest.split_once('.') else {
                        continue;
                    };
                    let Ok(n) = n.parse::<u32>() else { continue };
                    let entry = entries.entry(n).or_default();
                    match field {
                        "Id" => entry.0.clone_from(value),
                        "Message" => entry.1.clone_from(value),
                        _ => {}
                    }
                }
                let (mut successful, mut failed, mut accepted) =
                    (String::new(), String::new(), Vec::new());
                for (id, message) in entries.values() {
                    match refuse(counters) {
                        Some(sender_fault) => {
                            let code = if sender_fault {
                                "InvalidParameter"
                            } else {
                                "InternalError"
                            };
                            failed.push_str(&format!(
                                "<member><Id>{id}</Id><Code>{code}</Code><Message>injected fault</Message>\
                                 <SenderFault>{sender_fault}</SenderFault></member>"
                            ));
                        }
                        None => {
                            accepted.push(message.clone());
                            successful.push_str(&format!(
                                "<member><Id>{id}</Id><MessageId>m</MessageId></member>"
                            ));
                        }
                    }
                }
                record(Api::PublishBatch, accepted, entries.len());
                query_response(
                    "PublishBatch",
                    &format!("<Successful>{successful}</Successful><Failed>{failed}</Failed>"),
                )
            }
            Some("Publish") => {
                let message = form.get("Message").cloned().unwrap_or_default();
                record(Api::Publish, vec![message], 1);
                query_response("Publish", "<MessageId>m</MessageId>")
            }
            Some("GetTopicAttributes") => query_response(
                "GetTopicAttributes",
                "<Attributes><entry><key>MaximumMessageSize</key><value>262144</value></entry></Attributes>",
            ),
            _ => query_error(StatusCode::BAD_REQUEST, "InvalidAction"),
        }
    } else {
        match target.as_str() {
        "AmazonSQS.SendMessageBatch" => {
            let entries = json["Entries"].as_array().cloned().unwrap_or_default();
            if let Some(refusal) = over_rate(false, entries.len()) {
                return Some(refusal);
            }
            // A FIFO queue enqueues a batch's messages of one group in order: after a refused
            // one, the later ones of its group are refused too. It stores a deduplication id
            // once and answers repeats as sent (tracked with faults on, where repeats happen).
            let fifo = json["QueueUrl"].as_str().is_some_and(|url| url.ends_with(".fifo"));
            let mut failed_groups = HashSet::new();
            let (mut successful, mut failed, mut accepted) = (Vec::new(), Vec::new(), Vec::new());
            for (i, entry) in entries.iter().enumerate() {
                let body = entry["MessageBody"].as_str().unwrap_or_default();
                let group = entry["MessageGroupId"].as_str().unwrap_or_default();
                let refusal = if fifo && failed_groups.contains(group) {
                    Some(false)
                } else {
                    refuse(counters)
                };
                if let Some(sender_fault) = refusal {
                    if fifo {
                        failed_groups.insert(group.to_owned());
                    }
                    failed.push(json!({
                        "Id": entry["Id"],
                        "SenderFault": sender_fault,
                        "Code": if sender_fault { "InvalidParameterValue" } else { "InternalError" },
                        "Message": "injected fault",
                    }));
                    continue;
                }
                let repeat = fifo && counters.faults_config.is_some() && {
                    let id = entry["MessageDeduplicationId"].as_str().unwrap_or(body).to_owned();
                    let mut ids = counters.fifo_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    !ids.insert(id)
                };
                if repeat {
                    counters.fifo_repeats.fetch_add(1, Ordering::Relaxed);
                } else {
                    accepted.push(body.to_owned());
                }
                successful.push(json!({"Id": entry["Id"], "MessageId": format!("m-{i}"),
                                       "MD5OfMessageBody": "00000000000000000000000000000000"}));
            }
            record(Api::SendMessageBatch, accepted, entries.len());
            json_response(JSON_10, &json!({"Successful": successful, "Failed": failed}))
        }
        "AmazonSQS.SendMessage" => {
            let body = json["MessageBody"].as_str().unwrap_or_default().to_owned();
            record(Api::SendMessage, vec![body], 1);
            json_response(
                JSON_10,
                &json!({"MessageId": "m", "MD5OfMessageBody": "00000000000000000000000000000000"}),
            )
        }
        "AmazonSQS.GetQueueAttributes" => {
            // A queue of the largest messages SQS takes.
            json_response(JSON_10, &json!({"Attributes": {"MaximumMessageSize": "1048576"}}))
        }
        "AmazonSQS.GetQueueUrl" => {
            let name = json["QueueName"].as_str().unwrap_or("queue");
            json_response(JSON_10, &json!({"QueueUrl": format!("http://127.0.0.1/000000000000/{name}")}))
        }
        "Kinesis_20131202.PutRecords" => {
            let entries = json["Records"].as_array().cloned().unwrap_or_default();
            let (mut results, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
            for (i, entry) in entries.iter().enumerate() {
                if refuse(counters).is_some() {
                    failed += 1;
                    results.push(json!({"ErrorCode": "ProvisionedThroughputExceededException",
                                        "ErrorMessage": "injected fault"}));
                    continue;
                }
                let data = entry["Data"].as_str().unwrap_or_default();
                let key = entry["PartitionKey"].as_str().unwrap_or_default();
                let size = base64_len(data) + key.len();
                let (shard, fits) = quotas
                    .and_then(|quotas| quotas.take_record(key, entry["ExplicitHashKey"].as_str(), size))
                    .unwrap_or((0, true));
                let shard_id = format!("shardId-{shard:012}");
                if fits {
                    let [records, units, kib] = &counters.kinesis_billing;
                    records.fetch_add(1, Ordering::Relaxed);
                    units.fetch_add((size as u64).div_ceil(PUT_PAYLOAD_UNIT).max(1), Ordering::Relaxed);
                    kib.fetch_add((size as u64).div_ceil(1_024).max(1), Ordering::Relaxed);
                    accepted.push(data.to_owned());
                    results.push(json!({"SequenceNumber": i.to_string(), "ShardId": shard_id}));
                } else {
                    failed += 1;
                    counters.refused_for_capacity.fetch_add(1, Ordering::Relaxed);
                    results.push(json!({"ErrorCode": "ProvisionedThroughputExceededException",
                                        "ErrorMessage": format!("Rate exceeded for shard {shard_id}")}));
                }
            }
            record(Api::PutRecords, accepted, entries.len());
            json_response(JSON_11, &json!({"FailedRecordCount": failed, "Records": results}))
        }
        "Kinesis_20131202.ListShards" => {
            // Without a Kinesis quota the stream takes any rate: it has no shards to pace to,
            // so ListShards is refused as an IAM policy without kinesis:ListShards would be.
            let open = quotas.map_or(0..0, Quotas::open_shards);
            if open.is_empty() {
                let body = json!({"__type": "AccessDeniedException",
                                  "message": "ListShards is not served without a Kinesis quota"});
                return Some(respond(StatusCode::BAD_REQUEST, JSON_11, body.to_string().into_bytes()));
            }
            let count = open.len();
            let shards: Vec<Value> = open
                .enumerate()
                .map(|(index, id)| {
                    let (start, end) = shard_range(index, count);
                    json!({"ShardId": format!("shardId-{id:012}"),
                           "HashKeyRange": {"StartingHashKey": start.to_string(), "EndingHashKey": end.to_string()},
                           "SequenceNumberRange": {"StartingSequenceNumber": "0"}})
                })
                .collect();
            json_response(JSON_11, &json!({"Shards": shards}))
        }
        "Firehose_20150804.PutRecordBatch" => {
            // Firehose refuses a record only for its own reasons, which a later attempt may
            // get past: no sender faults.
            let records = json["Records"].as_array().cloned().unwrap_or_default();
            let (mut answers, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
            for record in &records {
                if refuse(counters).is_some() {
                    failed += 1;
                    answers.push(json!({"ErrorCode": "ServiceUnavailableException",
                                        "ErrorMessage": "injected fault"}));
                } else {
                    accepted.push(record["Data"].as_str().unwrap_or_default().to_owned());
                    answers.push(json!({"RecordId": "r"}));
                }
            }
            record(Api::PutRecordBatch, accepted, records.len());
            json_response(
                JSON_11,
                &json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": answers}),
            )
        }
        "Firehose_20150804.PutRecord" => {
            let data = json["Record"]["Data"].as_str().unwrap_or_default().to_owned();
            record(Api::FirehosePutRecord, vec![data], 1);
            json_response(JSON_11, &json!({"RecordId": "r", "Encrypted": false}))
        }
        "AWSEvents.PutEvents" => {
            let entries = json["Entries"].as_array().cloned().unwrap_or_default();
            let (mut answers, mut accepted, mut failed) = (Vec::new(), Vec::new(), 0);
            for entry in &entries {
                match refuse(counters) {
                    Some(sender_fault) => {
                        failed += 1;
                        let code = if sender_fault { "InvalidArgument" } else { "InternalFailure" };
                        answers.push(json!({"ErrorCode": code, "ErrorMessage": "injected fault"}));
                    }
                    None => {
                        accepted.push(entry["Detail"].as_str().unwrap_or_default().to_owned());
                        answers.push(json!({"EventId": "e"}));
                    }
                }
            }
            record(Api::PutEvents, accepted, entries.len());
            json_response(JSON_11, &json!({"FailedEntryCount": failed, "Entries": answers}))
        }
        "Kinesis_20131202.PutRecord" => {
            let data = json["Data"].as_str().unwrap_or_default().to_owned();
            record(Api::PutRecord, vec![data], 1);
            json_response(JSON_11, &json!({"SequenceNumber": "1", "ShardId": "shardId-000000000000"}))
        }
        "DynamoDB_20120810.BatchWriteItem" => {
            let mut unprocessed = serde_json::Map::new();
            let (mut accepted, mut sent, mut over_capacity) = (Vec::new(), 0_usize, 0_usize);
            for (table, writes) in json["RequestItems"].as_object().cloned().unwrap_or_default() {
                let mut left = Vec::new();
                for write in writes.as_array().cloned().unwrap_or_default() {
                    sent += 1;
                    let text = write.to_string();
                    if refuse(counters).is_some() {
                        left.push(write);
                    } else if quotas.and_then(|quotas| quotas.take_write(text.len())) == Some(false) {
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
                refused_whole(Api::BatchWriteItem, sent);
                return Some(throttled(false, JSON_10, "ProvisionedThroughputExceededException"));
            }
            counters.refused_for_capacity.fetch_add(over_capacity as u64, Ordering::Relaxed);
            record(Api::BatchWriteItem, accepted, sent);
            json_response(JSON_10, &json!({"UnprocessedItems": unprocessed}))
        }
        // boto3 speaks awsJson 1.0 to CloudWatch where the Rust SDK speaks rpcv2Cbor.
        "GraniteServiceVersion20100801.PutMetricData" => {
            if let Some(refusal) = over_rate(true, json["MetricData"].as_array().map_or(0, Vec::len)) {
                return Some(refusal);
            }
            let names: Vec<String> = json["MetricData"]
                .as_array()
                .map(|data| {
                    data.iter()
                        .map(|datum| datum["MetricName"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let sent = names.len();
            record(Api::PutMetricData, names, sent);
            json_response(JSON_10, &json!({}))
        }
        "DynamoDB_20120810.PutItem" => {
            record(Api::PutItem, vec![json["Item"].to_string()], 1);
            json_response(JSON_10, &json!({}))
        }
        _ if cbor => {
            let names: Vec<String> = ciborium::de::from_reader::<ciborium::Value, _>(body.as_slice())
                .ok()
                .and_then(|value| {
                    value.into_map().ok()?.into_iter().find_map(|(key, value)| {
                        (key.as_text() == Some("MetricData")).then(|| value.into_array().unwrap_or_default())
                    })
                })
                .unwrap_or_default()
                .into_iter()
                .map(|datum| {
                    datum
                        .into_map()
                        .ok()
                        .and_then(|fields| {
                            fields.into_iter().find_map(|(k, v)| {
                                (k.as_text() == Some("MetricName")).then(|| v.into_text().unwrap_or_default())
                            })
                        })
                        .unwrap_or_default()
                })
                .collect();
            let sent = names.len();
            if let Some(refusal) = over_rate(true, sent) {
                return Some(refusal);
            }
            record(Api::PutMetricData, names, sent);
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
    };
    if let Some(draw) = draw.as_mut() {
        let dropped = draw.faults.dropped;
        if draw.hit(dropped) {
            counters.faults.fetch_add(1, Ordering::Relaxed);
            counters.lost_responses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
    }
    Some(response)
}

/// A throttling answer: the error code in the body, in CBOR for CloudWatch's rpcv2Cbor.
fn throttled(cbor: bool, content_type: &str, code: &str) -> Response<Full<Bytes>> {
    let message = "Rate exceeded";
    let body = if cbor && content_type == "application/cbor" {
        let error = ciborium::Value::Map(vec![
            (
                ciborium::Value::Text("__type".into()),
                ciborium::Value::Text(code.into()),
            ),
            (
                ciborium::Value::Text("message".into()),
                ciborium::Value::Text(message.into()),
            ),
        ]);
        let mut bytes = Vec::new();
        let _ = ciborium::ser::into_writer(&error, &mut bytes);
        bytes
    } else {
        json!({"__type": code, "message": message})
            .to_string()
            .into_bytes()
    };
    respond(StatusCode::BAD_REQUEST, content_type, body)
}

/// Bytes encoded by a base64 text.
fn base64_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

const JSON_10: &str = "application/x-amz-json-1.0";
const JSON_11: &str = "application/x-amz-json-1.1";
