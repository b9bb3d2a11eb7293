//! PutRecords as a [`Backend`].

use std::sync::Arc;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::SdkError;
use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsOutput};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, EntryOutcome, Failure, Limits, Prepared, ServiceSpec, SubmitErrorKind,
    classify_sdk_error, is_retryable_code,
};

use crate::record::{
    KinesisRecord, PartitionKey, RecordData, check_explicit_hash_key, check_partition_key,
};
use crate::shards::{SHARD_RECORDS_PER_SECOND, ShardMap, UNKNOWN_SHARD, hash_key};

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
    pub(crate) shards: Arc<ShardMap>,
}

/// A prepared record: its partition key, its data when written from JSON (raw bytes are
/// read from the record itself when sent), and its size.
#[derive(Debug)]
pub struct KinesisEntry {
    key: String,
    json: Option<Vec<u8>>,
    /// The record's place in the hash key space, which picks its shard.
    hash: u128,
}

/// A PutRecords request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PutRecords failed")]
pub struct KinesisRequestError(#[source] pub SdkError<PutRecordsError, HttpResponse>);

impl KinesisBackend {
    /// The stream name or ARN the dispatcher was given.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
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
        let key = match &record.partition_key {
            Some(key) => key.clone(),
            None => self
                .partition_key
                .key_of(&record.data)?
                .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..))),
        };
        check_partition_key(&key)?;
        if let Some(hash_key) = &record.explicit_hash_key {
            check_explicit_hash_key(hash_key)?;
        }
        let (json, data_len) = match &record.data {
            RecordData::Json(value) => {
                let json = serde_json::to_vec(value).map_err(|e| SubmitErrorKind::Invalid {
                    field: "Data".into(),
                    reason: format!("cannot be written as JSON: {e}"),
                })?;
                let len = json.len();
                (Some(json), len)
            }
            RecordData::Bytes(bytes) => (None, bytes.len()),
        };
        let size = data_len + key.len();
        let ordering_key = self.ordered.then(|| key.clone());
        let hash = hash_key(&key, record.explicit_hash_key.as_deref());
        Ok(Prepared::new(KinesisEntry { key, json, hash }, size).ordered_by(ordering_key))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, KinesisRequestError> {
        let records = batch
            .iter()
            .map(|item| {
                let (entry, record) = (item.entry, item.payload);
                let data = match (&entry.json, &record.data) {
                    (Some(json), _) => json.clone(),
                    (None, RecordData::Bytes(bytes)) => bytes.clone(),
                    (None, RecordData::Json(_)) => {
                        unreachable!("JSON records are written out when prepared")
                    }
                };
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(data))
                    .partition_key(entry.key.clone())
                    .set_explicit_hash_key(record.explicit_hash_key.clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KinesisRequestError(SdkError::construction_failure(e)))?;
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
        Ok(outcomes(batch.len(), &output))
    }

    fn classify(&self, error: &KinesisRequestError) -> Failure {
        classify_sdk_error(&error.0)
    }

    fn domain(&self, entry: &KinesisEntry) -> u64 {
        self.shards.domain_of(entry.hash)
    }

    fn domain_rate(&self, domain: u64) -> Option<f64> {
        // A known shard; the whole stream, before the map is read, has no known rate.
        (domain != UNKNOWN_SHARD).then_some(SHARD_RECORDS_PER_SECOND)
    }
}

/// Maps a PutRecords response (one result per record, in request order) onto outcomes.
/// `ProvisionedThroughputExceededException` and `InternalFailure` (and other throttling
/// codes) are retryable; other codes are not.
pub(crate) fn outcomes(count: usize, output: &PutRecordsOutput) -> Vec<EntryOutcome> {
    let results = output.records();
    (0..count)
        .map(|i| match results.get(i) {
            None => EntryOutcome::Failed(Failure::retryable(
                "MissingFromResponse",
                "the PutRecords response has no result for this record",
            )),
            Some(result) => match result.error_code() {
                None => EntryOutcome::Delivered,
                Some(code) => {
                    let message = result.error_message().unwrap_or_default();
                    EntryOutcome::Failed(if is_retryable_code(code) {
                        Failure::retryable(code, message)
                    } else {
                        Failure::permanent(code, message)
                    })
                }
            },
        })
        .collect()
}
