//! Firehose delivery streams: each line a record.

use aws_batch_utils::{ConfigError, FirehoseBackend, FirehoseRecord};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::Value;

use super::{
    Destination, Engine, Failed, LineFormat, Parsed, Running, Sink, bytes_record, checked_json,
};
use crate::output::Record;

/// An Amazon Data Firehose delivery stream (PutRecordBatch).
#[derive(Debug, Args)]
pub(crate) struct FirehoseArgs {
    /// Delivery stream name.
    #[arg(long)]
    stream: String,
    /// End each record with a newline, so that S3 objects hold one record a line.
    #[arg(long)]
    newline: bool,
    /// Pack records, newline-delimited, into Firehose records of up to this many bytes
    /// (Firehose bills each record rounded up to 5 KB).
    #[arg(long, value_name = "BYTES")]
    pack: Option<usize>,
    /// Send lines that are not JSON too, as bytes.
    #[arg(long)]
    raw: bool,
}

impl Destination for FirehoseArgs {
    fn describe(&self) -> String {
        format!("firehose delivery stream {}", self.stream)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let mut backend = FirehoseBackend::new(
            aws_batch_utils::firehose::sdk::Client::new(sdk),
            &self.stream,
        )
        .with_newline(self.newline);
        if let Some(bytes) = self.pack {
            backend = backend.with_pack(bytes);
        }
        Running::open(backend, engine, Records { raw: self.raw })
    }
}

/// Lines as records, byte for byte.
struct Records {
    raw: bool,
}

impl LineFormat for Records {
    type Backend = FirehoseBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<FirehoseRecord>, Failed> {
        let text = checked_json(text, self.raw, line)?;
        Ok(Parsed::holding_text(FirehoseRecord::bytes(text)))
    }

    fn record(&self, record: &FirehoseRecord) -> Record {
        match (record.as_bytes(), record.as_json()) {
            (Some(bytes), _) => bytes_record(bytes, self.raw),
            (None, Some(value)) => Record::Json(value.clone()),
            (None, None) => Record::Json(Value::Null),
        }
    }
}
