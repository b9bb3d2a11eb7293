//! Kinesis Data Streams and Data Firehose: records of bytes.

use aws_batch_utils::engine::Service;
use aws_batch_utils::firehose::{FirehoseBackend, FirehoseRecord};
use aws_batch_utils::kinesis::{KinesisBackend, KinesisRecord};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};

use crate::convert::{self, Invalid, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// A record's data: `bytes` as they are, anything else as JSON text.
fn data(payload: &Bound<'_, PyAny>) -> Result<Vec<u8>, Invalid> {
    if let Ok(bytes) = payload.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(bytes) = payload.cast::<PyByteArray>() {
        return Ok(bytes.to_vec());
    }
    convert::json(payload)
}

/// `KinesisBatchDispatcher(stream_name, partition_key_identifier=None, max_batch_size=500,
/// ordered=False, aggregate=False, **kwargs)`. Each record's partition key is the payload's
/// `partition_key_identifier` field, or a random one. `ordered=True` keeps each key's
/// records in submission order across retries; `aggregate=True` packs small records into
/// KPL aggregated records, one per shard.
#[pyclass(frozen, name = "KinesisBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct KinesisBatch {
    held: Held<KinesisBackend>,
    partition_key_identifier: Option<String>,
}

dispatcher_methods!(KinesisBatch {
    #[new]
    #[pyo3(signature = (stream_name, partition_key_identifier=None, max_batch_size=500, ordered=false, aggregate=false, **kwargs))]
    fn new(
        py: Python<'_>,
        stream_name: String,
        partition_key_identifier: Option<String>,
        max_batch_size: usize,
        ordered: bool,
        aggregate: bool,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = KinesisBackend::client(&settings.sdk);
        let label = format!("KinesisBatchDispatcher::{stream_name}");
        let backend = KinesisBackend::new(client, stream_name)
            .with_ordered(ordered)
            .with_aggregate(aggregate);
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "kinesis", method: "put_records" })?,
            partition_key_identifier,
        })
    }

    /// Puts `payload` (JSON text, or `bytes` as they are). `partition_key` and
    /// `explicit_hash_key` override the dispatcher's rule for this record.
    #[pyo3(signature = (payload, partition_key=None, explicit_hash_key=None))]
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        partition_key: Option<String>,
        explicit_hash_key: Option<String>,
    ) -> PyResult<()> {
        let record = (|| {
            let mut record = KinesisRecord::bytes(data(payload)?);
            let key = match (partition_key, &self.partition_key_identifier) {
                (Some(key), _) => Some(key),
                (None, Some(field)) => Some(key_field(payload, field)?),
                (None, None) => None,
            };
            if let Some(key) = key {
                record = record.with_partition_key(key);
            }
            if let Some(hash) = explicit_hash_key {
                record = record.with_explicit_hash_key(hash);
            }
            Ok(record)
        })();
        let record = or_submit_error(py, payload, record)?;
        self.held.submit(py, record, payload)
    }
});

/// The partition key in the top-level `field` of a dict payload: a string as it is, a
/// number as it prints.
fn key_field(payload: &Bound<'_, PyAny>, field: &str) -> Result<String, Invalid> {
    let missing = || Invalid::new("the partition key field is missing").at(field);
    let Ok(dict) = payload.cast::<PyDict>() else {
        return Err(missing());
    };
    match dict.get_item(field) {
        Ok(Some(value)) if !value.is_none() => convert::key_text(&value).map_err(|e| e.at(field)),
        Ok(Some(_)) => Err(Invalid::new("the partition key field is null").at(field)),
        _ => Err(missing()),
    }
}

/// `FirehoseBatchDispatcher(delivery_stream_name, max_batch_size=500, newline=False,
/// pack=None, **kwargs)`. `newline=True` ends each record with a newline (for S3
/// destinations); `pack=N` packs newline-delimited records into Firehose records of up to N
/// bytes, which Firehose bills by 5 KB units.
#[pyclass(frozen, name = "FirehoseBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct FirehoseBatch {
    held: Held<FirehoseBackend>,
}

dispatcher_methods!(FirehoseBatch {
    #[new]
    #[pyo3(signature = (delivery_stream_name, max_batch_size=500, newline=false, pack=None, **kwargs))]
    fn new(
        py: Python<'_>,
        delivery_stream_name: String,
        max_batch_size: usize,
        newline: bool,
        pack: Option<usize>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = FirehoseBackend::client(&settings.sdk);
        let label = format!("FirehoseBatchDispatcher::{delivery_stream_name}");
        let mut backend = FirehoseBackend::new(client, delivery_stream_name).with_newline(newline);
        if let Some(bytes) = pack {
            backend = backend.with_pack(bytes);
        }
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "firehose", method: "put_record_batch" })?,
        })
    }

    /// Puts `payload`: `bytes` as they are, anything else as JSON text.
    fn submit_payload(&self, py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<()> {
        let record = data(payload).map(FirehoseRecord::bytes);
        let record = or_submit_error(py, payload, record)?;
        self.held.submit(py, record, payload)
    }
});
