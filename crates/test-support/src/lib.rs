//! Helpers for tests that talk to the local AWS emulators started by `cargo xtask`.
//!
//! `cargo xtask emulator start` writes `.emulator/endpoints` at the workspace root, and
//! `cargo xtask test` the file that `AWS_BATCH_EMULATOR_FILE` names; an
//! `AWS_BATCH_ENDPOINT_<SERVICE>` variable overrides a line of it.
#![allow(clippy::missing_panics_doc)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_types::SdkConfig;

/// The emulator endpoint of `service` (`sqs`, `kinesis`, `dynamodb`, `cloudwatch`).
///
/// # Panics
///
/// When no emulator is known: tests that need one fail with the command that starts it.
#[must_use]
pub fn endpoint(service: &str) -> String {
    let var = format!("AWS_BATCH_ENDPOINT_{}", service.to_uppercase());
    if let Ok(url) = std::env::var(&var) {
        return url;
    }
    let file = std::env::var_os("AWS_BATCH_EMULATOR_FILE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.emulator/endpoints"),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(name, _)| *name == service)
        .map(|(_, url)| url.to_owned())
        .unwrap_or_else(|| {
            panic!(
                "no {service} emulator: run `cargo xtask test`, or `cargo xtask emulator start` \
                 (SQS, Kinesis, DynamoDB), or set {var}"
            )
        })
}

/// The Python of the project's virtualenv (boto3, moto, aws-kinesis-agg), which `cargo
/// xtask` installs; `AWS_BATCH_PYTHON` overrides it.
///
/// # Panics
///
/// When it is not installed: tests that need it fail with the command that installs it.
#[must_use]
pub fn python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("AWS_BATCH_PYTHON") {
        return python.into();
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.emulator/venv/bin/python");
    assert!(
        python.exists(),
        "no {}: run `cargo xtask emulator start` to install it, or set AWS_BATCH_PYTHON",
        python.display()
    );
    python
}

/// An `SdkConfig` for the emulator of `service`: plain HTTP on loopback, dummy credentials,
/// region us-east-1.
pub async fn sdk_config(service: &str) -> SdkConfig {
    sdk_config_at(&endpoint(service)).await
}

/// SDK settings for a local endpoint at `url` (an emulator or the null endpoint): test
/// credentials, us-east-1, plain HTTP.
pub async fn sdk_config_at(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await
}

/// A resource name no other test or run uses: `prefix`, the time, the process id and a counter.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    format!("{prefix}-{millis}-{}-{n}", std::process::id())
}

/// Creates a stream of `shards` shards with a unique name and waits until it is active.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, shards: i32) -> String {
    let name = unique_name("stream");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    for _ in 0..200 {
        let summary = client
            .describe_stream_summary()
            .stream_name(&name)
            .send()
            .await
            .expect("DescribeStreamSummary");
        let status = summary
            .stream_description_summary()
            .map(|s| s.stream_status().clone());
        if status == Some(aws_sdk_kinesis::types::StreamStatus::Active) {
            return name;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stream {name} never became active");
}

/// Every record of every shard of `stream`, as (partition key, data), in shard order.
pub async fn read_stream(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<(String, Vec<u8>)> {
    read_shards(client, stream)
        .await
        .into_iter()
        .flat_map(|shard| shard.records)
        .collect()
}

/// One shard of a stream and what it holds.
#[derive(Debug)]
pub struct ShardRecords {
    /// The shard's hash key range, inclusive.
    pub hash_keys: std::ops::RangeInclusive<u128>,
    /// Its records in order, as (partition key, data).
    pub records: Vec<(String, Vec<u8>)>,
}

/// Every shard of `stream` with its hash key range and its records, in shard order.
pub async fn read_shards(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<ShardRecords> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("ListShards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        let range = shard.hash_key_range().expect("a hash key range");
        let parse = |key: &str| key.parse::<u128>().expect("a decimal hash key");
        let mut records = Vec::new();
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator()
            .map(str::to_owned);
        let mut empty_pages = 0;
        while let Some(current) = iterator {
            let output = client
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await
                .expect("GetRecords");
            if output.records().is_empty() {
                empty_pages += 1;
                if empty_pages == 2 {
                    break;
                }
            }
            for record in output.records() {
                let key = record.partition_key().unwrap_or_default().to_owned();
                records.push((key, record.data().as_ref().to_vec()));
            }
            iterator = output.next_shard_iterator().map(str::to_owned);
        }
        out.push(ShardRecords {
            hash_keys: parse(range.starting_hash_key())..=parse(range.ending_hash_key()),
            records,
        });
    }
    out
}

/// An S3 client for the emulator: path-style addresses, as a local endpoint needs.
pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = sdk_config("s3").await;
    let config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Creates a bucket and a delivery stream that writes to it, both with unique names;
/// returns the stream's name and the bucket's.
pub async fn create_delivery_stream(
    firehose: &aws_sdk_firehose::Client,
    s3: &aws_sdk_s3::Client,
) -> (String, String) {
    use aws_sdk_firehose::types::ExtendedS3DestinationConfiguration;
    let bucket = unique_name("bucket").to_lowercase();
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let stream = unique_name("firehose");
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::000000000000:role/firehose")
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .build()
        .expect("an S3 destination");
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&stream)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .expect("CreateDeliveryStream");
    (stream, bucket)
}

/// The contents of every object in `bucket`, in key order.
pub async fn read_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Vec<u8>> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectsV2");
    let mut objects = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(object.key().unwrap_or_default())
            .send()
            .await
            .expect("GetObject")
            .body
            .collect()
            .await
            .expect("an object body");
        objects.push(body.into_bytes().to_vec());
    }
    objects
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN")
}

/// Every line of every object in `bucket`, sorted.
pub async fn lines_in_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let mut lines: Vec<String> = read_bucket(s3, bucket)
        .await
        .iter()
        .flat_map(|object| {
            String::from_utf8_lossy(object)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}

/// Creates an event bus whose rule sends the events of `source` to a new queue; returns the
/// bus's name and the queue's URL.
pub async fn create_bus_to_queue(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    source: &str,
) -> (String, String) {
    use aws_sdk_eventbridge::types::Target;
    let url = create_queue(sqs, false).await;
    let arn = queue_arn(sqs, &url).await;
    let bus = unique_name("bus");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");
    let pattern = serde_json::json!({ "source": [source] }).to_string();
    events
        .put_rule()
        .name("to-queue")
        .event_bus_name(&bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("PutRule");
    let target = Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .expect("a target");
    events
        .put_targets()
        .rule("to-queue")
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("PutTargets");
    (bus, url)
}

/// Creates a topic (FIFO when `fifo`) and a queue subscribed to it with raw delivery;
/// returns the topic's ARN and the queue's URL.
pub async fn create_topic_to_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    fifo: bool,
) -> (String, String) {
    let url = create_queue(sqs, fifo).await;
    let queue_arn = queue_arn(sqs, &url).await;
    let mut name = unique_name("topic");
    let mut topic = sns.create_topic();
    if fifo {
        name.push_str(".fifo");
        topic = topic.attributes("FifoTopic", "true");
    }
    let arn = topic
        .name(name)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .expect("a topic ARN")
        .to_owned();
    sns.subscribe()
        .topic_arn(&arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("Subscribe");
    (arn, url)
}

/// Creates a queue with a unique name (a FIFO queue when `fifo`) and returns its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, fifo: bool) -> String {
    let mut name = unique_name("queue");
    let mut request = client.create_queue();
    if fifo {
        name.push_str(".fifo");
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let output = request.queue_name(&name).send().await.expect("CreateQueue");
    output.queue_url().expect("a queue URL").to_owned()
}

/// Receives (and deletes, which frees a FIFO group for its next messages) until `expected`
/// messages arrived or the queue stays empty for three polls.
pub async fn receive_all(
    client: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut messages = Vec::new();
    let mut empty_polls = 0;
    while messages.len() < expected && empty_polls < 3 {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(600)
            .send()
            .await
            .expect("ReceiveMessage");
        let batch = output.messages.unwrap_or_default();
        if batch.is_empty() {
            empty_polls += 1;
            continue;
        }
        let mut delete = client.delete_message_batch().queue_url(url);
        for (i, message) in batch.iter().enumerate() {
            let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .build()
                .expect("a delete entry");
            delete = delete.entries(entry);
        }
        delete.send().await.expect("DeleteMessageBatch");
        messages.extend(batch);
    }
    messages
}

/// Creates an on-demand table with a unique name: partition key `partition_key` (a string)
/// and, when given, sort key `sort_key` (a number); waits until it is active.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    partition_key: &str,
    sort_key: Option<&str>,
) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TableStatus,
    };
    let name = unique_name("table");
    let attribute = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .expect("an attribute definition")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a key schema element")
    };
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(partition_key, ScalarAttributeType::S))
        .key_schema(key(partition_key, KeyType::Hash));
    if let Some(sort_key) = sort_key {
        request = request
            .attribute_definitions(attribute(sort_key, ScalarAttributeType::N))
            .key_schema(key(sort_key, KeyType::Range));
    }
    request.send().await.expect("CreateTable");
    for _ in 0..200 {
        let table = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .expect("DescribeTable");
        if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return name;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("table {name} never became active");
}

/// Receives `expected` messages (see [`receive_all`]) whose bodies are JSON objects with a
/// number `n`, and returns those numbers sorted.
pub async fn received_numbers(
    client: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<u64> {
    let mut numbers: Vec<u64> = receive_all(client, url, expected)
        .await
        .iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(m.body()?).ok())
        .filter_map(|body| body["n"].as_u64())
        .collect();
    numbers.sort_unstable();
    numbers
}

/// The distinct metric names of a namespace, sorted.
pub async fn metric_names(client: &aws_sdk_cloudwatch::Client, namespace: &str) -> Vec<String> {
    let listed = client
        .list_metrics()
        .namespace(namespace)
        .send()
        .await
        .expect("ListMetrics");
    let mut names: Vec<String> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name().map(str::to_owned))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The `aws-batch` command at `binary`, pointed at the emulator of `service`: region
/// us-east-1, dummy credentials, no instance metadata lookups, summary as JSON.
pub fn aws_batch(binary: &Path, service: &str) -> std::process::Command {
    aws_batch_at(binary, &endpoint(service))
}

/// The `aws-batch` command at `binary`, pointed at `url` (an emulator or the null endpoint),
/// as [`aws_batch`] sets it up.
pub fn aws_batch_at(binary: &Path, url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .args(["--json", "--region", "us-east-1", "--endpoint-url", url])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// Every item of `table`, through paginated scans.
pub async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        items.extend(output.items().iter().cloned());
        start = output.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

/// What a mocked client saw, one value per call, shared between the mock's closure and the
/// test: `record` in the closure (it returns the call's number, from 1), `seen` in the test.
#[derive(Debug)]
pub struct Recorder<T>(std::sync::Arc<std::sync::Mutex<Vec<T>>>);

impl<T> Clone for Recorder<T> {
    fn clone(&self) -> Self {
        Self(std::sync::Arc::clone(&self.0))
    }
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self(std::sync::Arc::default())
    }
}

impl<T: Clone> Recorder<T> {
    /// Records one call; returns its number, from 1.
    pub fn record(&self, value: T) -> usize {
        let mut calls = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.push(value);
        calls.len()
    }

    /// Every call recorded so far, in order.
    #[must_use]
    pub fn seen(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// An SDK interceptor that panics on one operation, known by its input type `I`
/// (`ListShardsInput`, `GetQueueAttributesInput`), before any mock rule is looked at, and
/// counts how often it did: the panicking client a dispatcher must survive.
pub struct PanicOn<I> {
    panics: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    input: std::marker::PhantomData<fn() -> I>,
}

impl<I> PanicOn<I> {
    /// Panics on every call whose input is an `I`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            panics: std::sync::Arc::default(),
            input: std::marker::PhantomData,
        }
    }

    /// How many calls panicked.
    #[must_use]
    pub fn panics(&self) -> usize {
        self.panics.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl<I> Default for PanicOn<I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I> Clone for PanicOn<I> {
    fn clone(&self) -> Self {
        Self {
            panics: std::sync::Arc::clone(&self.panics),
            input: std::marker::PhantomData,
        }
    }
}

impl<I> std::fmt::Debug for PanicOn<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PanicOn")
            .field("input", &std::any::type_name::<I>())
            .field("panics", &self.panics())
            .finish()
    }
}

impl<I: std::fmt::Debug + Send + Sync + 'static>
    aws_smithy_runtime_api::client::interceptors::Intercept for PanicOn<I>
{
    fn name(&self) -> &'static str {
        "PanicOn"
    }

    fn read_before_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if context.input().downcast_ref::<I>().is_some() {
            self.panics
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("no rule for {}", std::any::type_name::<I>());
        }
        Ok(())
    }
}

/// One bad-input case: submits `bad` to `dispatcher` and checks that it is refused, handed
/// back as submitted, and leaves nothing pending; then that `good` is accepted (the dispatcher
/// goes on). The dispatcher is abandoned, so nothing is sent. Returns the refusal.
///
/// # Panics
///
/// When `bad` is accepted, comes back changed, or `good` is refused.
pub async fn refused_then_accepted<B: batch_core::Backend>(
    dispatcher: &batch_core::Dispatcher<B>,
    bad: B::Payload,
    good: B::Payload,
) -> batch_core::SubmitError<B::Payload>
where
    B::Payload: Clone + PartialEq + std::fmt::Debug,
{
    let Err(err) = dispatcher.submit_payload(bad.clone()).await else {
        panic!("{bad:?} was accepted");
    };
    assert_eq!(err.payload(), &bad, "the payload comes back as submitted");
    assert_eq!(dispatcher.pending(), 0, "nothing pending after a refusal");
    if let Err(refused) = dispatcher.submit_payload(good).await {
        panic!("a good payload after a refusal was refused: {refused}");
    }
    assert_eq!(dispatcher.pending(), 1);
    dispatcher.abandon();
    let _ = dispatcher.flush_payloads().await;
    err
}

/// One limit case: `at_limit` is accepted (and then abandoned, so nothing is sent).
///
/// # Panics
///
/// When it is refused.
pub async fn accepted<B: batch_core::Backend>(
    dispatcher: &batch_core::Dispatcher<B>,
    at_limit: B::Payload,
) where
    B::Payload: std::fmt::Debug,
{
    if let Err(err) = dispatcher.submit_payload(at_limit).await {
        panic!("refused at the limit: {err}");
    }
    assert_eq!(dispatcher.pending(), 1);
    dispatcher.abandon();
    let _ = dispatcher.flush_payloads().await;
}
