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
//! `BatchWriteItem`, `PutItem`, `DescribeTable` (awsJson 1.0), Firehose `PutRecordBatch`, `PutRecord` and
//! EventBridge `PutEvents` (awsJson 1.1), SNS `PublishBatch`, `Publish` and
//! `GetTopicAttributes` (the query protocol), CloudWatch `PutMetricData` (rpcv2Cbor as the
//! Rust SDK sends it, awsJson 1.0 as boto3 does; gzip-compressed bodies included), and
//! CloudWatch Logs `PutLogEvents` (awsJson 1.1; order, span and size checked as the service
//! does, old and new events rejected by a clock a test sets); and, when asked, S3 objects from
//! a local folder (see [`NullEndpoint::serve_objects`]).
//!
//! Inside: `protocol/` reads a request and writes answers in each wire protocol, `ops/`
//! holds one module a service and the table that routes an operation to its handler,
//! `faults` the injected faults, `capacity` the quotas, `answer` one request end to end. A
//! new operation is a handler in its service's module and a line in the table.
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

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

mod answer;
mod capacity;
mod faults;
mod objects;
mod ops;
mod protocol;

use answer::answer;
use capacity::Quotas;
pub use capacity::{Capacity, hash_key, shard_of, shard_range};

/// An operation the endpoint answers, by name: its constants (`Api::SendMessageBatch`, ...)
/// are declared by each service's module of operations, beside their handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Api(pub(crate) &'static str);

impl Api {
    /// The operation's name (the service's, for names two services share).
    #[must_use]
    pub fn name(self) -> &'static str {
        self.0
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
pub(crate) struct Counters {
    /// What each operation received.
    counts: Mutex<HashMap<Api, Counts>>,
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
    /// CloudWatch Logs: the clock and retention events are judged by, and the calls refused
    /// as invalid.
    logs: ops::LogsState,
    /// The folder S3 objects are served from, once asked.
    objects: OnceLock<PathBuf>,
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
pub(crate) const PUT_PAYLOAD_UNIT: u64 = 25 * 1_024;

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

    /// Answers S3 `GetObject` (ranges included), `HeadObject` and `ListObjectsV2` from the
    /// files under `root`, path-style: bucket `B` is the folder `root/B`, a key its path
    /// inside. Only the first call counts.
    pub fn serve_objects(&self, root: impl Into<PathBuf>) {
        let _ = self.counters.objects.set(root.into());
    }

    /// What one operation received so far.
    #[must_use]
    pub fn counts(&self, api: Api) -> Counts {
        self.counters.counts_of(api)
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
