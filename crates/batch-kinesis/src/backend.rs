//! PutRecords as a [`Backend`].

use std::borrow::Cow;
use std::sync::Arc;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{BuildError, SdkError};
use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsOutput};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, ConfigError, Domains, EntryOutcome, Failure, FailureKind, Grouping,
    Limits, MergeLimit, Prepared, ServiceSpec, Slots, SubmitErrorKind, classify_sdk_error, codes,
    outcomes_in_order,
};
use bytes::Bytes;

use crate::aggregate::{encode, encoded_len};
use crate::aggregation::{
    AGGREGATE_OVERHEAD, AGGREGATED_BATCH_BYTES, Aggregation, DEFAULT_AGGREGATE_BYTES,
};
use crate::record::{
    KinesisRecord, PartitionKey, RecordData, check_explicit_hash_key, check_partition_key,
};
use crate::shards::{
    SHARD_BYTES_PER_SECOND, SHARD_RECORDS_PER_SECOND, ShardMap, UNKNOWN_SHARD, hash_key,
};

/// PutRecords ceilings: 500 records; 10 MiB per request and per record (the record limit
/// of a stream can be raised to 10 MiB; the request limit follows it).
///
/// Source: Kinesis Data Streams API reference, PutRecords, and the developer guide, "Quotas
/// and limits" (maximum record size configurable up to 10 MiB since 2025); checked 2026-11-23.
pub const KINESIS_MAX_LIMITS: Limits = Limits::new(500, 10 * 1_048_576, 10 * 1_048_576);

/// PutRecords defaults: 500 records, 5 MiB per request, 1 MiB per record (data plus
/// partition key), the limits of a stream whose maximum record size was not raised.
///
/// Source: as [`KINESIS_MAX_LIMITS`]; checked 2026-11-23.
pub const KINESIS_DEFAULT_LIMITS: Limits = Limits::new(500, 5 * 1_048_576, 1_048_576);

/// The PutRecords backend of one stream.
#[derive(Debug)]
pub struct KinesisBackend {
    pub(crate) client: Client,
    pub(crate) stream: String,
    pub(crate) partition_key: PartitionKey,
    pub(crate) ordered: bool,
    pub(crate) aggregation: Option<Aggregation>,
    pub(crate) shards: Arc<ShardMap>,
}

/// A prepared record: the partition key the dispatcher gave it (a record's own key is read
/// from the record), its data when written from JSON (raw bytes are read from the record
/// itself when sent), and its place in the hash key space.
#[derive(Debug)]
pub struct KinesisEntry {
    /// The key the dispatcher's [`PartitionKey`] rule gave a record that named none.
    given_key: Option<String>,
    /// The data written from JSON, shared by every attempt.
    json: Option<Bytes>,
    /// The record's place in the hash key space, which picks its shard: its explicit hash
    /// key, parsed when prepared, or the MD5 of its partition key, computed when first needed
    /// (it costs, and a stream without a map never needs it).
    hash: std::sync::OnceLock<u128>,
}

impl KinesisEntry {
    /// The partition key: the record's own, or the one the dispatcher gave it.
    fn key<'a>(&'a self, record: &'a KinesisRecord) -> &'a str {
        self.given_key
            .as_deref()
            .or(record.partition_key.as_deref())
            .unwrap_or_default()
    }

    /// The record's place in the hash key space: its explicit hash key, or the MD5 of its
    /// partition key as a 128-bit number.
    fn hash(&self, record: &KinesisRecord) -> u128 {
        *self.hash.get_or_init(|| hash_key(self.key(record), None))
    }

    /// The data sent for the record.
    fn data<'a>(&'a self, record: &'a KinesisRecord) -> &'a Bytes {
        match (&self.json, &record.data) {
            (Some(json), _) => json,
            (None, RecordData::Bytes(bytes)) => bytes,
            (None, RecordData::Json(_)) => {
                unreachable!("JSON records are written out when prepared")
            }
        }
    }
}

/// A PutRecords request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PutRecords failed")]
pub struct KinesisRequestError(#[source] SdkError<PutRecordsError, HttpResponse>);

impl KinesisRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<PutRecordsError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<PutRecordsError, HttpResponse> {
        self.0
    }
}

impl KinesisBackend {
    /// The stream name or ARN the dispatcher was given.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// How records are aggregated, if they are.
    #[must_use]
    pub fn aggregation(&self) -> Option<Aggregation> {
        self.aggregation
    }
}

/// A stream's shards, each with its quota: the shard the map predicts for a record.
impl Domains<KinesisBackend> for KinesisBackend {
    fn domain(&self, entry: &BatchEntry<'_, Self>) -> u64 {
        self.shards.domain_of(|| entry.entry.hash(entry.payload))
    }

    fn rate(&self, domain: u64) -> Option<f64> {
        // A known shard; the whole stream, before the map is read, has no known rate.
        (domain != UNKNOWN_SHARD).then_some(SHARD_RECORDS_PER_SECOND)
    }

    fn entry_bytes(&self) -> Option<usize> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = (SHARD_BYTES_PER_SECOND / SHARD_RECORDS_PER_SECOND) as usize;
        Some(bytes)
    }
}

impl Backend for KinesisBackend {
    type Payload = KinesisRecord;
    type Entry = KinesisEntry;
    type Error = KinesisRequestError;

    // PutRecords stores the records after a refused one, so a key's order only survives a
    // partial failure with one record per key in each request.
    const SPEC: ServiceSpec = ServiceSpec::new("kinesis", KINESIS_MAX_LIMITS)
        .default_limits(KINESIS_DEFAULT_LIMITS)
        .entry_size_field("record")
        .keeps_order_within_request(false);

    fn prepare(&self, record: &KinesisRecord) -> Result<Prepared<KinesisEntry>, SubmitErrorKind> {
        let given_key = match &record.partition_key {
            Some(_) => None,
            None => Some(
                self.partition_key
                    .key_of(&record.data)?
                    .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..))),
            ),
        };
        let key = given_key
            .as_deref()
            .or(record.partition_key.as_deref())
            .unwrap_or_default();
        check_partition_key(key)?;
        let hash = std::sync::OnceLock::new();
        if let Some(hash_key) = &record.explicit_hash_key {
            check_explicit_hash_key(hash_key)?;
            if let Ok(explicit) = hash_key.parse::<u128>() {
                let _ = hash.set(explicit);
            }
        }
        let (json, data_len) = match &record.data {
            RecordData::Json(value) => {
                let json = serde_json::to_vec(value).map_err(|e| SubmitErrorKind::Invalid {
                    field: "Data".into(),
                    reason: format!("cannot be written as JSON: {e}"),
                })?;
                let len = json.len();
                (Some(Bytes::from(json)), len)
            }
            RecordData::Bytes(bytes) => (None, bytes.len()),
        };
        let size = data_len + key.len();
        let ordering_key = self.ordered.then(|| key.to_owned());
        let entry = KinesisEntry {
            given_key,
            json,
            hash,
        };
        let grouping = match &self.aggregation {
            None => Grouping::None,
            Some(aggregation) => {
                // Records of one shard share an aggregate. Before the shard map is known,
                // only records of one hash key do: they go to one shard, whichever it is.
                let key = match self.shards.domain_of(|| entry.hash(record)) {
                    UNKNOWN_SHARD => format!("h{}", entry.hash(record)),
                    shard => format!("s{shard}"),
                };
                let hash_key = record.explicit_hash_key.as_ref().map(String::len);
                let merged_size =
                    encoded_len(size - data_len, hash_key, data_len, aggregation.max_index());
                Grouping::Merge { key, merged_size }
            }
        };
        Ok(Prepared::new(entry, size)
            .ordered_by(ordering_key)
            .grouped(grouping))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, KinesisRequestError> {
        // One Kinesis record per request entry: a record alone, or the aggregate of the
        // records that share its slot.
        let slots = Slots::of(batch);
        // Every record alone (nothing aggregated): the records go in the batch's order, and
        // each answer is its entry's.
        let alone = slots.len() == batch.len();
        let mut outcomes: Vec<Option<EntryOutcome>> = if alone {
            Vec::new()
        } else {
            vec![None; batch.len()]
        };
        let mut sent: Vec<Cow<'_, [usize]>> = Vec::with_capacity(slots.len());
        let mut records = Vec::with_capacity(slots.len());
        for members in slots.iter() {
            let members = if members.len() > 1 {
                // Every record of an aggregate must hash to the shard the aggregate goes to.
                // One the map now puts elsewhere (the stream was resharded since it was
                // prepared) goes again in a later attempt.
                let shard = self.domain(&batch[members[0]]);
                let (here, moved): (Vec<usize>, Vec<usize>) = members
                    .iter()
                    .partition(|&&i| self.domain(&batch[i]) == shard);
                for i in moved {
                    outcomes[i] = Some(EntryOutcome::Failed(Failure::new(
                        FailureKind::Transient,
                        codes::SHARD_CHANGED,
                        "the stream's shards changed since the record was aggregated",
                    )));
                }
                Cow::Owned(here)
            } else {
                Cow::Borrowed(members)
            };
            let record = self
                .wire_record(batch, &members)
                .map_err(|e| KinesisRequestError(SdkError::construction_failure(e)))?;
            records.push(record);
            sent.push(members);
        }
        let request = self.client.put_records().set_records(Some(records));
        let request = if self.stream.starts_with("arn:") {
            request.stream_arn(&self.stream)
        } else {
            request.stream_name(&self.stream)
        };
        self.shards.refresh(&self.client, &self.stream);
        self.shards.first_read().await;
        let output = request.send().await.map_err(KinesisRequestError)?;
        self.shards
            .saw(output.records().iter().filter_map(|r| r.shard_id()));
        if alone {
            return Ok(record_outcomes(batch.len(), &output));
        }
        for (outcome, members) in record_outcomes(sent.len(), &output).into_iter().zip(sent) {
            for &i in members.iter() {
                outcomes[i] = Some(outcome.clone());
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or(EntryOutcome::Delivered))
            .collect())
    }

    fn classify(&self, error: &KinesisRequestError) -> Failure {
        classify_sdk_error(&error.0)
    }

    fn domains(&self) -> Option<&dyn Domains<Self>> {
        Some(self)
    }

    fn merge_limit(&self) -> MergeLimit {
        let aggregation = self.aggregation.unwrap_or_default();
        MergeLimit::new(aggregation.max_records.unwrap_or(usize::MAX))
            .bytes(aggregation.max_bytes.unwrap_or(DEFAULT_AGGREGATE_BYTES))
            .overhead(AGGREGATE_OVERHEAD)
            .batch_bytes(AGGREGATED_BATCH_BYTES)
    }

    async fn ready(&self) {
        // Records are paced, and aggregated, by the shard the map predicts: the first ones
        // wait for it. Later reads start from the requests.
        if self.shards.is_quiet() {
            return;
        }
        self.shards.refresh(&self.client, &self.stream);
        self.shards.first_read().await;
    }

    fn check(&self) -> Result<(), ConfigError> {
        let Some(aggregation) = self.aggregation else {
            return Ok(());
        };
        if aggregation.max_records == Some(0) {
            return Err(ConfigError::Zero {
                field: "aggregation.max_records",
            });
        }
        match aggregation.max_bytes {
            Some(bytes) if bytes > KINESIS_MAX_LIMITS.max_entry_bytes => {
                Err(ConfigError::AboveLimit {
                    field: "aggregation.max_bytes",
                    value: bytes as u64,
                    limit: KINESIS_MAX_LIMITS.max_entry_bytes as u64,
                    service: Self::SPEC.name,
                })
            }
            Some(bytes) if bytes < MIN_AGGREGATE_BYTES => Err(ConfigError::Invalid {
                field: "aggregation.max_bytes",
                reason: format!("{bytes} bytes; at least {MIN_AGGREGATE_BYTES}"),
            }),
            _ => Ok(()),
        }
    }
}

impl KinesisBackend {
    /// The PutRecords entry of a record alone or of the aggregate of `members`.
    fn wire_record(
        &self,
        batch: &[BatchEntry<'_, Self>],
        members: &[usize],
    ) -> Result<PutRecordsRequestEntry, BuildError> {
        let first = &batch[members[0]];
        let key = first.entry.key(first.payload).to_owned();
        let entry = if let [only] = members {
            let only = &batch[*only];
            PutRecordsRequestEntry::builder()
                // Shared with the record, not copied.
                .data(Blob::from_maybe_shared(
                    only.entry.data(only.payload).clone(),
                ))
                .partition_key(key)
                .set_explicit_hash_key(only.payload.explicit_hash_key.clone())
        } else {
            let aggregate = encode(members.iter().map(|&i| {
                let item = &batch[i];
                (
                    item.entry.key(item.payload),
                    item.payload.explicit_hash_key.as_deref(),
                    item.entry.data(item.payload).as_ref(),
                )
            }));
            // The first record's key and hash: the aggregate goes to its shard, where the
            // others were predicted to go.
            PutRecordsRequestEntry::builder()
                .data(Blob::new(aggregate))
                .partition_key(key)
                .explicit_hash_key(first.entry.hash(first.payload).to_string())
        };
        entry.build()
    }
}

/// The smallest aggregated record limit accepted: room for one small record.
const MIN_AGGREGATE_BYTES: usize = 1_024;

/// Maps a PutRecords response (one result per record, in request order) onto outcomes.
/// `ProvisionedThroughputExceededException` and `InternalFailure` (and other throttling
/// codes) are retryable; other codes are not.
pub(crate) fn record_outcomes(count: usize, output: &PutRecordsOutput) -> Vec<EntryOutcome> {
    let answers = output.records().iter().map(|result| {
        result
            .error_code()
            .map(|code| (code, result.error_message().unwrap_or_default()))
    });
    outcomes_in_order(count, answers)
}
