//! BatchWriteItem as a [`Backend`].

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, ConfigError, DedupPolicy, Domains, EntryOutcome, Failure, FailureKind,
    Grouping, Limits, Prepared, ServiceSpec, SubmitErrorKind, classify_sdk_error,
};

use crate::capacity::{WRITE_UNIT_BYTES, WriteCapacity};
use crate::item::{DynamoWrite, item_size, push_key_part, to_attributes};

/// BatchWriteItem limits: 25 writes, 16 MiB per request, 400 KiB per item (attribute names
/// plus values, by DynamoDB's item-size rules).
///
/// Source: DynamoDB API reference, BatchWriteItem, and developer guide, "Quotas in Amazon
/// DynamoDB"; checked 2026-11-23.
pub const DYNAMODB_LIMITS: Limits = Limits::new(25, 16 * 1_048_576, 400 * 1024);

/// The key schema of a table, and the optional field copied into the partition key.
#[derive(Debug, Clone)]
pub(crate) struct KeySchema {
    pub(crate) partition_key: String,
    pub(crate) sort_key: Option<String>,
    pub(crate) partition_key_from: Option<String>,
}

impl KeySchema {
    /// The item's key as one text: `pk=S:abc|sk=N:1e0`.
    fn key_of(&self, item: &HashMap<String, AttributeValue>) -> Result<String, SubmitErrorKind> {
        let mut key = String::with_capacity(32);
        push_key_part(&mut key, &self.partition_key, item)?;
        if let Some(sort_key) = &self.sort_key {
            key.push('|');
            push_key_part(&mut key, sort_key, item)?;
        }
        Ok(key)
    }

    fn is_key_attribute(&self, name: &str) -> bool {
        name == self.partition_key || self.sort_key.as_deref() == Some(name)
    }
}

/// The BatchWriteItem backend of one table.
#[derive(Debug)]
pub struct DynamoBackend {
    client: Client,
    table: String,
    pub(crate) keys: KeySchema,
    pub(crate) capacity: WriteCapacity,
}

/// A prepared write: its SDK request when converted from JSON, until its first attempt takes
/// it (a later attempt converts the write again; a write given as attribute values is read
/// from the write itself when sent).
#[derive(Debug)]
pub struct DynamoEntry {
    request: std::sync::Mutex<Option<WriteRequest>>,
}

impl DynamoEntry {
    /// The request built when prepared, if no attempt has taken it yet.
    fn take_request(&self) -> Option<WriteRequest> {
        self.request
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Builds the SDK request of a write from its attributes.
type BuildRequest = fn(HashMap<String, AttributeValue>) -> Result<WriteRequest, BuildError>;

/// A BatchWriteItem request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("BatchWriteItem failed")]
pub struct DynamoRequestError(#[source] SdkError<BatchWriteItemError, HttpResponse>);

impl DynamoRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<BatchWriteItemError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<BatchWriteItemError, HttpResponse> {
        self.0
    }
}

impl DynamoBackend {
    pub(crate) fn with_keys(client: Client, table: String, keys: KeySchema) -> Self {
        Self {
            client,
            table,
            keys,
            capacity: WriteCapacity::default(),
        }
    }

    /// The table name (or ARN) the dispatcher was given.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The key of a write of a request, to match UnprocessedItems back.
    fn key_of_entry(&self, write: &BatchEntry<'_, Self>) -> Option<String> {
        let (attributes, _) = self.attributes_of(write.payload).ok()?;
        self.keys.key_of(&attributes).ok()
    }

    /// A write's attributes as sent, with how to build its request: a user's attribute map
    /// borrowed, JSON converted (and a partition key copied from another attribute when the
    /// backend says so).
    fn attributes_of<'a>(
        &self,
        write: &'a DynamoWrite,
    ) -> Result<(Cow<'a, HashMap<String, AttributeValue>>, BuildRequest), SubmitErrorKind> {
        match write {
            DynamoWrite::Put(item) => {
                let mut attributes = to_attributes(item, "item")?;
                if let Some(source) = &self.keys.partition_key_from {
                    let value = attributes.get(source).cloned().ok_or_else(|| {
                        SubmitErrorKind::Missing {
                            field: source.clone().into(),
                        }
                    })?;
                    attributes
                        .to_mut()
                        .insert(self.keys.partition_key.clone(), value);
                }
                Ok((attributes, put_request))
            }
            DynamoWrite::Delete(item) => {
                let attributes = to_attributes(item, "key")?;
                if let Some(extra) = attributes
                    .keys()
                    .find(|name| !self.keys.is_key_attribute(name))
                {
                    return Err(SubmitErrorKind::Invalid {
                        field: extra.clone().into(),
                        reason: "is not a key attribute; a delete takes only the table's key \
                                 attributes"
                            .into(),
                    });
                }
                Ok((attributes, delete_request))
            }
        }
    }

    /// The request of one write: the one built when it was prepared, on its first attempt;
    /// otherwise built now from the write (a user's attribute map copied, JSON converted
    /// again).
    fn write_request(&self, write: &BatchEntry<'_, Self>) -> Result<WriteRequest, BuildError> {
        if let Some(request) = write.entry.take_request() {
            return Ok(request);
        }
        match self.attributes_of(write.payload) {
            Ok((attributes, build)) => build(attributes.into_owned()),
            // It was converted when prepared; converting it again cannot fail.
            Err(kind) => Err(BuildError::other(kind.to_string())),
        }
    }

    /// The key of a WriteRequest from a response, to match UnprocessedItems back.
    fn key_of_request(&self, request: &WriteRequest) -> Option<String> {
        let item = match (request.put_request(), request.delete_request()) {
            (Some(put), _) => put.item(),
            (None, Some(delete)) => delete.key(),
            (None, None) => return None,
        };
        self.keys.key_of(item).ok()
    }
}

fn build_error(e: impl std::fmt::Display) -> SubmitErrorKind {
    SubmitErrorKind::Invalid {
        field: "write".into(),
        reason: e.to_string(),
    }
}

impl Backend for DynamoBackend {
    type Payload = DynamoWrite;
    type Entry = DynamoEntry;
    type Error = DynamoRequestError;

    // Two writes to one key in a batch are refused by DynamoDB; the later write wins, which
    // leaves the state that applying both in order would.
    const SPEC: ServiceSpec = ServiceSpec::new("dynamodb", DYNAMODB_LIMITS)
        .default_dedup(DedupPolicy::KeepLast)
        .entry_size_field("item");

    fn prepare(&self, write: &DynamoWrite) -> Result<Prepared<DynamoEntry>, SubmitErrorKind> {
        let (attributes, build) = self.attributes_of(write)?;
        prepared(&self.keys, attributes, build)
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, DynamoRequestError> {
        let requests = batch
            .iter()
            .map(|write| self.write_request(write))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| DynamoRequestError(SdkError::construction_failure(e)))?;
        let output = self
            .client
            .batch_write_item()
            .request_items(&self.table, requests)
            .send()
            .await
            .map_err(DynamoRequestError)?;
        Ok(self.outcomes(batch, &output))
    }

    fn classify(&self, error: &DynamoRequestError) -> Failure {
        hot_keys_only(&error.0).unwrap_or_else(|| classify_sdk_error(&error.0))
    }

    fn domains(&self) -> Option<&dyn Domains<Self>> {
        Some(self)
    }

    async fn ready(&self) {
        if self.capacity.to_read() {
            // Boxed: the read is made once, and its future is large.
            Box::pin(self.capacity.read(&self.client, &self.table)).await;
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.capacity.check()
    }
}

/// The table is one throttling domain whose rate counts write capacity units: a paced
/// dispatcher starts at the table's capacity when it is known (given, or read), instead of
/// learning it from throttling.
impl Domains<DynamoBackend> for DynamoBackend {
    fn domain(&self, _: &BatchEntry<'_, Self>) -> u64 {
        0
    }

    fn rate(&self, _: u64) -> Option<f64> {
        self.capacity.units()
    }

    fn entry_bytes(&self) -> Option<usize> {
        Some(WRITE_UNIT_BYTES)
    }
}

/// The code of a request DynamoDB refused only for partition keys hotter than their
/// partition takes (every throttling reason `...KeyRangeThroughputExceeded`): the table has
/// room, so its send rate is left as it is and the writes back off and go again.
///
/// Source: DynamoDB API reference, `ThrottlingReason`, and developer guide, "DynamoDB
/// throttling resolution guide"; checked 2026-12-06.
pub const KEY_RANGE_THROTTLED: &str = batch_core::codes::KEY_RANGE_THROTTLED;

/// The failure of a request refused only for hot partition keys; `None` for any other, and
/// for a throttle that names the table's or an index's capacity, an account quota or an
/// on-demand maximum: those slow the table.
fn hot_keys_only(error: &SdkError<BatchWriteItemError, HttpResponse>) -> Option<Failure> {
    let reasons = match error.as_service_error()? {
        BatchWriteItemError::ProvisionedThroughputExceededException(e) => e.throttling_reasons(),
        BatchWriteItemError::ThrottlingException(e) => e.throttling_reasons(),
        _ => return None,
    };
    let hot_key = |reason: &aws_sdk_dynamodb::types::ThrottlingReason| {
        reason
            .reason()
            .is_some_and(|r| r.ends_with("KeyRangeThroughputExceeded"))
    };
    if reasons.is_empty() || !reasons.iter().all(hot_key) {
        return None;
    }
    let named: Vec<String> = reasons
        .iter()
        .map(|r| {
            format!(
                "{} on {}",
                r.reason().unwrap_or_default(),
                r.resource().unwrap_or("the table")
            )
        })
        .collect();
    Some(Failure::new(
        FailureKind::of(KEY_RANGE_THROTTLED, None),
        KEY_RANGE_THROTTLED,
        format!(
            "partition keys hotter than their partition takes ({}): the writes go again \
             after a backoff, the table's send rate is kept",
            named.join(", ")
        ),
    ))
}

/// A write keyed by its item key: for dedup (one write per key in a request) and for order.
/// Attributes converted from JSON are built into their request here, which the first attempt
/// takes as it is; a user's own attribute map is built from the payload at each attempt
/// instead of being copied now.
fn prepared(
    keys: &KeySchema,
    attributes: Cow<'_, HashMap<String, AttributeValue>>,
    build: BuildRequest,
) -> Result<Prepared<DynamoEntry>, SubmitErrorKind> {
    let key = keys.key_of(&attributes)?;
    let size = item_size(&attributes);
    let request = match attributes {
        Cow::Owned(map) => Some(build(map).map_err(build_error)?),
        Cow::Borrowed(_) => None,
    };
    let entry = DynamoEntry {
        request: std::sync::Mutex::new(request),
    };
    Ok(Prepared::new(entry, size)
        .ordered_by(key)
        .grouped(Grouping::DedupByOrderingKey))
}

fn put_request(item: HashMap<String, AttributeValue>) -> Result<WriteRequest, BuildError> {
    let put = PutRequest::builder().set_item(Some(item)).build()?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn delete_request(key: HashMap<String, AttributeValue>) -> Result<WriteRequest, BuildError> {
    let delete = DeleteRequest::builder().set_key(Some(key)).build()?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

impl DynamoBackend {
    /// Every write is delivered except those in `UnprocessedItems`, matched back by key (keys
    /// are unique within a request). DynamoDB leaves writes unprocessed for throttling or
    /// capacity, so they are retryable.
    fn outcomes(
        &self,
        batch: &[BatchEntry<'_, Self>],
        output: &BatchWriteItemOutput,
    ) -> Vec<EntryOutcome> {
        let mut outcomes = vec![EntryOutcome::Delivered; batch.len()];
        let Some(unprocessed) = output
            .unprocessed_items()
            .and_then(|items| items.get(&self.table))
        else {
            return outcomes;
        };
        // Keys are built again only here, when something was left unprocessed.
        let index: HashMap<String, usize> = batch
            .iter()
            .enumerate()
            .filter_map(|(i, write)| Some((self.key_of_entry(write)?, i)))
            .collect();
        for request in unprocessed {
            match self
                .key_of_request(request)
                .and_then(|key| index.get(key.as_str()).copied())
            {
                Some(i) => {
                    // DynamoDB leaves writes unprocessed when the table or partition is out
                    // of throughput: throttling, to be paced rather than counted.
                    outcomes[i] = EntryOutcome::Failed(Failure::new(
                        FailureKind::Throttling,
                        "UnprocessedItems",
                        "DynamoDB left the write unprocessed (throughput or capacity)",
                    ));
                }
                None => tracing::warn!("an unprocessed write matches no entry of the request"),
            }
        }
        outcomes
    }
}
