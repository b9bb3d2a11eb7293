//! Kinesis data streams: each line a record's data.

use aws_batch_utils::kinesis::{PartitionKey, RecordData};
use aws_batch_utils::{ConfigError, KinesisBackend, KinesisRecord};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::Value;

use super::{
    Destination, Engine, Failed, INVALID_RECORD, LineFormat, Parsed, Running, Sink, bytes_record,
    checked_json, parsed, refused,
};
use crate::output::Record;

/// A Kinesis data stream (PutRecords).
#[derive(Debug, Args)]
pub(crate) struct KinesisArgs {
    /// Stream name or ARN.
    #[arg(long)]
    stream: String,
    /// The field that holds each record's partition key (random keys when absent).
    #[arg(long)]
    partition_key_field: Option<String>,
    /// Keep the order of records per partition key.
    #[arg(long)]
    ordered: bool,
    /// Aggregate records into Kinesis records in the KPL format, per shard (consumers
    /// de-aggregate them: the KCL, Lambda, Firehose, or batch_kinesis::deaggregate).
    #[arg(long)]
    aggregate: bool,
    /// Send lines that are not JSON too, as bytes.
    #[arg(long, conflicts_with = "partition_key_field")]
    raw: bool,
}

impl Destination for KinesisArgs {
    fn describe(&self) -> String {
        format!("kinesis stream {}", self.stream)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let backend = KinesisBackend::new(
            aws_batch_utils::kinesis::sdk::Client::new(sdk),
            &self.stream,
        )
        .with_ordered(self.ordered)
        .with_aggregate(self.aggregate);
        let key = self
            .partition_key_field
            .clone()
            .map_or(PartitionKey::Random, PartitionKey::Field);
        Running::open(backend, engine, Records { key, raw: self.raw })
    }
}

/// Lines as records, keyed by a field or at random.
struct Records {
    key: PartitionKey,
    raw: bool,
}

impl LineFormat for Records {
    type Backend = KinesisBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<KinesisRecord>, Failed> {
        if self.key == PartitionKey::Random {
            let text = checked_json(text, self.raw, line)?;
            return Ok(Parsed::holding_text(KinesisRecord::bytes(text)));
        }
        let value = parsed(&text, line)?;
        let record = match self.key.key_of_json(&value) {
            Ok(Some(key)) => KinesisRecord::bytes(text).with_partition_key(key),
            Ok(None) => KinesisRecord::bytes(text),
            Err(kind) => {
                return Err(refused(
                    line,
                    INVALID_RECORD,
                    kind.to_string(),
                    Record::Raw(text),
                ));
            }
        };
        Ok(Parsed::holding_text(record))
    }

    fn record(&self, record: &KinesisRecord) -> Record {
        match record.data() {
            RecordData::Bytes(bytes) => bytes_record(bytes, self.raw),
            RecordData::Json(value) => Record::Json(value.clone()),
            _ => Record::Json(Value::Null),
        }
    }
}
