//! PutRecordBatch as a [`Backend`]: sizing, newlines, packing, the request and its outcomes.

use aws_sdk_firehose::Client;
use aws_sdk_firehose::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, ConfigError, EntryOutcome, Failure, FailureKind, Grouping, Limits,
    MergeLimit, Prepared, ServiceSpec, Slots, SubmitErrorKind, classify_sdk_error,
    outcomes_in_order,
};
use bytes::Bytes;

use crate::record::FirehoseRecord;

/// PutRecordBatch limits: 500 records, 4 MiB per request, 1,000 KiB per record (before
/// base64).
///
/// Source: Amazon Data Firehose API reference, PutRecordBatch; checked 2026-12-04.
pub const FIREHOSE_LIMITS: Limits = Limits::new(500, 4 * 1_048_576, 1_000 * 1_024);

/// The unit Firehose bills ingestion in: each record is rounded up to 5 KB. Source: Amazon
/// Data Firehose pricing ("ingestion ... calculated as the number of data records you send
/// to the service, times the size of each record rounded up to the nearest 5 KB"); checked
/// 2026-12-04.
pub const BILLING_UNIT_BYTES: usize = 5 * 1_024;

/// The code Firehose answers a record, or a request, with when the stream's throughput is
/// exceeded.
const SLOW_DOWN: &str = "ServiceUnavailableException";

/// The PutRecordBatch backend of one delivery stream.
#[derive(Debug)]
pub struct FirehoseBackend {
    pub(crate) client: Client,
    pub(crate) stream: String,
    pub(crate) newline: bool,
    pub(crate) pack: Option<usize>,
}

/// A prepared record: its data when written from JSON (raw bytes are read from the record
/// itself when sent), and whether a newline goes after it.
#[derive(Debug)]
pub struct FirehoseEntry {
    json: Option<Bytes>,
    newline: bool,
}

impl FirehoseEntry {
    /// The data sent for the record: its JSON written out, or its raw bytes.
    fn data<'a>(&'a self, record: &'a FirehoseRecord) -> &'a Bytes {
        match (&self.json, record.shared_bytes()) {
            (Some(json), _) => json,
            (None, Some(bytes)) => bytes,
            (None, None) => unreachable!("JSON records are written out when prepared"),
        }
    }
}

/// A PutRecordBatch request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PutRecordBatch failed")]
pub struct FirehoseRequestError(#[source] SdkError<PutRecordBatchError, HttpResponse>);

impl FirehoseRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<PutRecordBatchError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<PutRecordBatchError, HttpResponse> {
        self.0
    }
}

impl FirehoseBackend {
    /// The delivery stream the dispatcher was given.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The size records are packed up to, if they are.
    #[must_use]
    pub fn pack(&self) -> Option<usize> {
        self.pack
    }

    /// The wire record of a record alone, or of the records of one packed record.
    fn wire_record(
        batch: &[BatchEntry<'_, Self>],
        members: &[usize],
    ) -> Result<Record, BuildError> {
        if let [only] = members {
            let (entry, record) = (batch[*only].entry, batch[*only].payload);
            if !entry.newline {
                // Shared with the record, not copied.
                return Record::builder()
                    .data(Blob::from_maybe_shared(entry.data(record).clone()))
                    .build();
            }
        }
        let mut data = Vec::new();
        for &i in members {
            let (entry, record) = (batch[i].entry, batch[i].payload);
            data.extend_from_slice(entry.data(record));
            if entry.newline {
                data.push(b'\n');
            }
        }
        Record::builder().data(Blob::new(data)).build()
    }
}

impl Backend for FirehoseBackend {
    type Payload = FirehoseRecord;
    type Entry = FirehoseEntry;
    type Error = FirehoseRequestError;

    const SPEC: ServiceSpec =
        ServiceSpec::new("firehose", FIREHOSE_LIMITS).entry_size_field("record");

    fn prepare(&self, record: &FirehoseRecord) -> Result<Prepared<FirehoseEntry>, SubmitErrorKind> {
        let json = match record.as_json() {
            Some(value) => {
                let json = serde_json::to_vec(value).map_err(|e| SubmitErrorKind::Invalid {
                    field: "Data".into(),
                    reason: format!("cannot be written as JSON: {e}"),
                })?;
                Some(Bytes::from(json))
            }
            None => None,
        };
        let data = json.as_deref().or(record.as_bytes()).unwrap_or_default();
        let newline = (self.newline || self.pack.is_some()) && !data.ends_with(b"\n");
        let size = data.len() + usize::from(newline);
        let prepared = Prepared::new(FirehoseEntry { json, newline }, size);
        Ok(match self.pack {
            // Every record may share a packed record: one key.
            Some(_) => prepared.grouped(Grouping::Merge {
                key: String::new(),
                merged_size: size,
            }),
            None => prepared,
        })
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, FirehoseRequestError> {
        // One Firehose record per request entry: a record alone, or the records packed in it.
        let slots = Slots::of(batch);
        let records = slots
            .iter()
            .map(|members| Self::wire_record(batch, members))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FirehoseRequestError(SdkError::construction_failure(e)))?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(FirehoseRequestError)?;
        let answers = output.request_responses().iter().map(|response| {
            response
                .error_code()
                .map(|code| (code, response.error_message().unwrap_or_default()))
        });
        if slots.len() == batch.len() {
            // Every record alone: they went in the batch's order, each answer its entry's.
            return Ok(outcomes_in_order(batch.len(), answers)
                .into_iter()
                .map(slowed_down)
                .collect());
        }
        let mut outcomes = vec![EntryOutcome::Delivered; batch.len()];
        for (outcome, members) in outcomes_in_order(slots.len(), answers)
            .into_iter()
            .zip(slots.iter())
        {
            let outcome = slowed_down(outcome);
            for &i in members {
                outcomes[i] = outcome.clone();
            }
        }
        Ok(outcomes)
    }

    fn classify(&self, error: &FirehoseRequestError) -> Failure {
        let failure = classify_sdk_error(&error.0);
        if error.0.code() == Some(SLOW_DOWN) {
            Failure::new(FailureKind::Throttling, failure.code, failure.message)
        } else {
            failure
        }
    }

    fn merge_limit(&self) -> MergeLimit {
        MergeLimit::new(usize::MAX).bytes(self.pack.unwrap_or(usize::MAX))
    }

    fn check(&self) -> Result<(), ConfigError> {
        match self.pack {
            Some(0) => Err(ConfigError::Zero { field: "pack" }),
            Some(bytes) if bytes > FIREHOSE_LIMITS.max_entry_bytes => {
                Err(ConfigError::AboveLimit {
                    field: "pack",
                    value: bytes as u64,
                    limit: FIREHOSE_LIMITS.max_entry_bytes as u64,
                    service: Self::SPEC.name,
                })
            }
            _ => Ok(()),
        }
    }
}

/// Firehose answers `ServiceUnavailableException` when the stream's throughput is exceeded:
/// throttling, which the engine paces.
fn slowed_down(outcome: EntryOutcome) -> EntryOutcome {
    match outcome {
        EntryOutcome::Failed(failure) if failure.code == SLOW_DOWN => EntryOutcome::Failed(
            Failure::new(FailureKind::Throttling, failure.code, failure.message),
        ),
        other => other,
    }
}

/// Bytes Firehose bills for records of these sizes: each rounded up to
/// [`BILLING_UNIT_BYTES`].
///
/// ```
/// use batch_firehose::billed_bytes;
///
/// // 100 records of 200 bytes, sent alone: 100 units of 5 KB. Packed into one: 4 units.
/// assert_eq!(billed_bytes([200; 100]), 100 * 5 * 1024);
/// assert_eq!(billed_bytes([20_000]), 4 * 5 * 1024);
/// ```
pub fn billed_bytes(sizes: impl IntoIterator<Item = usize>) -> usize {
    sizes
        .into_iter()
        .map(|size| size.max(1).div_ceil(BILLING_UNIT_BYTES) * BILLING_UNIT_BYTES)
        .sum()
}
