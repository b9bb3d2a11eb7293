//! The Rust peers, each run in a process of its own: one request per record with the plain
//! SDK, a hand-written loop sending full batches one after another with the plain SDK, and
//! the library's dispatchers. (The boto3 loop is `peers/boto3_batch_loop.py`.)

use std::collections::HashMap;
use std::error::Error;
use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_firehose::types::Record;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_sns::types::PublishBatchRequestEntry;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_smithy_types::{Blob, DateTime};
use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric};
use batch_core::{Backend, Dispatcher, DispatcherConfig, Limits};
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher};
use batch_eventbridge::{Event, EventBridgeBackend, EventBridgeBatchDispatcher};
use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsMessage};
use batch_sqs::{SqsBackend, SqsBatchDispatcher, SqsMessage};
use serde::{Deserialize, Serialize};

use crate::measure;
use crate::workload::{self, Load, Service};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The queue, stream, table and namespace the peers write to (the endpoint accepts any).
pub(crate) const QUEUE_URL: &str = "http://127.0.0.1/000000000000/bench";
pub(crate) const NAME: &str = "bench";
/// The SNS topic the peers publish to.
pub(crate) const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:000000000000:bench";

/// Who sends the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub(crate) enum Peer {
    /// One request per record, sequentially, with the plain SDK client.
    SdkSingle,
    /// Full batches, one request after another, with the plain SDK client.
    SdkBatchLoop,
    /// The same loop in Python with boto3.
    Boto3BatchLoop,
    /// The library's Python package, used as the original's API is.
    PythonPackage,
    /// The library's dispatcher.
    Ours {
        /// Requests in flight at once.
        max_in_flight: usize,
    },
}

impl Peer {
    pub(crate) fn title(self) -> String {
        match self {
            Self::SdkSingle => "SDK, one request per record".into(),
            Self::SdkBatchLoop => "SDK, hand-written batch loop".into(),
            Self::Boto3BatchLoop => "boto3, batch loop (Python)".into(),
            Self::PythonPackage => "aws-batch-utils Python package".into(),
            Self::Ours { max_in_flight } => {
                format!("aws-batch-utils, max_in_flight {max_in_flight}")
            }
        }
    }
}

/// One run: a peer sends `records` records of a load to a service at `endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub(crate) service: Service,
    pub(crate) load: Load,
    pub(crate) peer: Peer,
    pub(crate) records: u64,
    pub(crate) endpoint: String,
}

/// What a peer measured about itself, printed as one JSON line.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// Seconds from the first record to the last answer.
    pub(crate) wall_s: f64,
    /// CPU seconds over the same span, all threads.
    pub(crate) cpu_s: f64,
    /// Peak resident memory of the process, KiB.
    pub(crate) peak_rss_kib: u64,
    /// Records the peer could not deliver.
    pub(crate) failed: u64,
}

/// Runs `spec` in this process and measures it.
pub(crate) async fn run(spec: &Spec) -> Result<Measured> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&spec.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let cpu = measure::cpu_time();
    let started = tokio::time::Instant::now();
    let records = Records {
        service: spec.service,
        load: spec.load,
        count: spec.records,
    };
    let failed = match spec.service {
        Service::Sqs => sqs(&aws_sdk_sqs::Client::new(&config), spec.peer, records).await?,
        Service::Kinesis => {
            kinesis(&aws_sdk_kinesis::Client::new(&config), spec.peer, records).await?
        }
        Service::Dynamodb => {
            dynamodb(&aws_sdk_dynamodb::Client::new(&config), spec.peer, records).await?
        }
        Service::Cloudwatch => {
            cloudwatch(
                &aws_sdk_cloudwatch::Client::new(&config),
                spec.peer,
                records,
            )
            .await?
        }
        Service::Firehose => {
            firehose(&aws_sdk_firehose::Client::new(&config), spec.peer, records).await?
        }
        Service::Eventbridge => {
            eventbridge(
                &aws_sdk_eventbridge::Client::new(&config),
                spec.peer,
                records,
            )
            .await?
        }
        Service::Sns => sns(&aws_sdk_sns::Client::new(&config), spec.peer, records).await?,
    };
    Ok(Measured {
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: measure::cpu_time().saturating_sub(cpu).as_secs_f64(),
        peak_rss_kib: measure::peak_rss_kib(),
        failed,
    })
}

#[derive(Clone, Copy)]
struct Records {
    service: Service,
    load: Load,
    count: u64,
}

impl Records {
    fn sizes(self) -> impl Iterator<Item = (u64, usize)> {
        (0..self.count).map(move |n| (n, workload::size(self.service, self.load, n)))
    }
}

/// Next-fit packing by count and bytes.
struct NextFit {
    limits: Limits,
    entries: usize,
    bytes: usize,
}

impl NextFit {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: 0,
            bytes: 0,
        }
    }

    /// Whether the batch must be sent before an entry of `size` bytes joins it.
    fn full_before(&self, size: usize) -> bool {
        self.entries > 0
            && (self.entries + 1 > self.limits.max_entries
                || self.bytes + size > self.limits.max_request_bytes)
    }

    fn add(&mut self, size: usize) {
        self.entries += 1;
        self.bytes += size;
    }

    fn clear(&mut self) {
        self.entries = 0;
        self.bytes = 0;
    }
}

/// What a hand-written loop does: builds next-fit batches of `records` (by count and bytes)
/// with `entry`, and sends each with `send` (which returns how many failed) before building
/// the next.
async fn batch_loop<E, F>(
    records: Records,
    mut entry: impl FnMut(u64, usize) -> Result<E>,
    send: impl Fn(Vec<E>) -> F,
) -> Result<u64>
where
    F: Future<Output = Result<u64>>,
{
    let mut fit = NextFit::new(records.service.limits());
    let mut batch = Vec::new();
    let mut failed = 0;
    for (n, size) in records.sizes() {
        if fit.full_before(size) {
            failed += send(std::mem::take(&mut batch)).await?;
            fit.clear();
        }
        fit.add(size);
        batch.push(entry(n, size)?);
    }
    if !batch.is_empty() {
        failed += send(batch).await?;
    }
    Ok(failed)
}

/// What a user of the library writes: submit every record, flush, count what came back.
async fn submit_all<B: Backend>(
    dispatcher: &Dispatcher<B>,
    records: Records,
    record: impl Fn(u64, usize) -> B::Payload,
) -> Result<u64>
where
    B::Payload: std::fmt::Debug,
{
    for (n, size) in records.sizes() {
        dispatcher.submit_payload(record(n, size)).await?;
    }
    Ok(dispatcher.flush_payloads().await.len() as u64)
}

fn config(max_in_flight: usize) -> DispatcherConfig {
    DispatcherConfig::default().max_in_flight(max_in_flight)
}

fn unsupported(peer: Peer) -> Box<dyn Error> {
    format!("{peer:?} does not run in this process").into()
}

async fn sqs(client: &aws_sdk_sqs::Client, peer: Peer, records: Records) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .send_message()
                    .queue_url(QUEUE_URL)
                    .message_body(workload::sqs_body(size, n))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    // Any ten consecutive numbers differ in their last digit: unique ids.
                    Ok(SendMessageBatchRequestEntry::builder()
                        .id((n % 10).to_string())
                        .message_body(workload::sqs_body(size, n))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .send_message_batch()
                        .queue_url(QUEUE_URL)
                        .set_entries(Some(batch))
                        .send()
                        .await?;
                    Ok(output.failed().len() as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let sqs = SqsBatchDispatcher::builder(SqsBackend::new(client.clone(), QUEUE_URL))
                .config(config(max_in_flight))
                .build()?;
            failed = submit_all(&sqs, records, |n, size| {
                SqsMessage::text(workload::sqs_body(size, n))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

async fn kinesis(client: &aws_sdk_kinesis::Client, peer: Peer, records: Records) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                let (key, data) = workload::kinesis_record(size, n);
                client
                    .put_record()
                    .stream_name(NAME)
                    .partition_key(key)
                    .data(Blob::new(data))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    let (key, data) = workload::kinesis_record(size, n);
                    Ok(PutRecordsRequestEntry::builder()
                        .partition_key(key)
                        .data(Blob::new(data))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .put_records()
                        .stream_name(NAME)
                        .set_records(Some(batch))
                        .send()
                        .await?;
                    Ok(u64::try_from(output.failed_record_count().unwrap_or(0))?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let kinesis =
                KinesisBatchDispatcher::builder(KinesisBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&kinesis, records, |n, size| {
                let (key, data) = workload::kinesis_record(size, n);
                KinesisRecord::bytes(data).with_partition_key(key)
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

fn dynamodb_attributes(size: usize, n: u64) -> HashMap<String, AttributeValue> {
    let (pk, data) = workload::dynamodb_item(size, n);
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("data".to_owned(), AttributeValue::S(data)),
    ])
}

async fn dynamodb(client: &aws_sdk_dynamodb::Client, peer: Peer, records: Records) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .put_item()
                    .table_name(NAME)
                    .set_item(Some(dynamodb_attributes(size, n)))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    let put = PutRequest::builder()
                        .set_item(Some(dynamodb_attributes(size, n)))
                        .build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                },
                |batch| async move {
                    let output = client
                        .batch_write_item()
                        .request_items(NAME, batch)
                        .send()
                        .await?;
                    let left = output
                        .unprocessed_items()
                        .map_or(0, |items| items.values().map(Vec::len).sum::<usize>());
                    Ok(left as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let table =
                DynamoBatchDispatcher::builder(DynamoBackend::new(client.clone(), NAME, "pk"))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&table, records, |n, size| {
                dynamodb_attributes(size, n).into()
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

fn datum(n: u64, values: usize) -> Result<MetricDatum> {
    let (name, dimensions, list) = workload::metric(values, n);
    let mut datum = MetricDatum::builder()
        .metric_name(name)
        .unit(StandardUnit::Milliseconds)
        .timestamp(DateTime::from(SystemTime::now()));
    for (name, value) in dimensions {
        datum = datum.dimensions(Dimension::builder().name(name).value(value).build());
    }
    datum = if let [value] = list[..] {
        datum.value(value)
    } else {
        let counts = vec![1.0; list.len()];
        datum.set_values(Some(list)).set_counts(Some(counts))
    };
    Ok(datum.build())
}

fn metric(values: usize, n: u64) -> Metric {
    let (name, dimensions, list) = workload::metric(values, n);
    let mut metric = if let [value] = list[..] {
        Metric::new(name, value)
    } else {
        let counts = vec![1.0; list.len()];
        Metric::values(name, list, counts)
    };
    metric = metric.with_unit(StandardUnit::Milliseconds);
    for (name, value) in dimensions {
        metric = metric.with_dimension(name, value);
    }
    metric
}

async fn cloudwatch(
    client: &aws_sdk_cloudwatch::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    match peer {
        Peer::SdkSingle => {
            for (n, values) in records.sizes() {
                client
                    .put_metric_data()
                    .namespace(NAME)
                    .metric_data(datum(n, values)?)
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            // Sizes here are value counts, far below the byte limit: batches go by count, as
            // a hand-written loop does (it cannot know the encoded size).
            batch_loop(records, datum, |batch| async move {
                client
                    .put_metric_data()
                    .namespace(NAME)
                    .set_metric_data(Some(batch))
                    .send()
                    .await?;
                Ok(0)
            })
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let metrics =
                CloudWatchBatchDispatcher::builder(CloudWatchBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            return submit_all(&metrics, records, |n, values| metric(values, n)).await;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(0)
}

async fn firehose(client: &aws_sdk_firehose::Client, peer: Peer, records: Records) -> Result<u64> {
    let record = |n, size| {
        Record::builder()
            .data(Blob::new(workload::text(n, size)))
            .build()
    };
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .put_record()
                    .delivery_stream_name(NAME)
                    .record(record(n, size)?)
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| Ok(record(n, size)?),
                |batch| async move {
                    let output = client
                        .put_record_batch()
                        .delivery_stream_name(NAME)
                        .set_records(Some(batch))
                        .send()
                        .await?;
                    Ok(u64::try_from(output.failed_put_count())?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let stream =
                FirehoseBatchDispatcher::builder(FirehoseBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&stream, records, |n, size| {
                FirehoseRecord::bytes(workload::text(n, size))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

async fn eventbridge(
    client: &aws_sdk_eventbridge::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let entry = |n, size| {
        PutEventsRequestEntry::builder()
            .source(workload::EVENT_SOURCE)
            .detail_type(workload::EVENT_DETAIL_TYPE)
            .detail(workload::event_detail(size, n))
            .build()
    };
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            // PutEvents is EventBridge's only way in: one event per call.
            for (n, size) in records.sizes() {
                client.put_events().entries(entry(n, size)).send().await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| Ok(entry(n, size)),
                |batch| async move {
                    let output = client.put_events().set_entries(Some(batch)).send().await?;
                    Ok(u64::try_from(output.failed_entry_count())?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let bus = EventBridgeBatchDispatcher::builder(EventBridgeBackend::default_bus(
                client.clone(),
            ))
            .config(config(max_in_flight))
            .build()?;
            failed = submit_all(&bus, records, |n, size| {
                let detail =
                    serde_json::from_str(&workload::event_detail(size, n)).unwrap_or_default();
                Event::new(workload::EVENT_SOURCE, workload::EVENT_DETAIL_TYPE, detail)
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

async fn sns(client: &aws_sdk_sns::Client, peer: Peer, records: Records) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .publish()
                    .topic_arn(TOPIC_ARN)
                    .message(workload::text(n, size))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    // Any ten consecutive numbers differ in their last digit: unique ids.
                    Ok(PublishBatchRequestEntry::builder()
                        .id((n % 10).to_string())
                        .message(workload::text(n, size))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .publish_batch()
                        .topic_arn(TOPIC_ARN)
                        .set_publish_batch_request_entries(Some(batch))
                        .send()
                        .await?;
                    Ok(output.failed().len() as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let topic = SnsBatchDispatcher::builder(SnsBackend::new(client.clone(), TOPIC_ARN))
                .config(config(max_in_flight))
                .build()?;
            failed = submit_all(&topic, records, |n, size| {
                SnsMessage::text(workload::text(n, size))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}
