//! DynamoDB tables: each line an item to put, or a key to delete.

use aws_batch_utils::{ConfigError, DispatcherConfig, DynamoBackend, DynamoItem, DynamoWrite};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::Value;

use super::{Destination, Failed, LineFormat, Parsed, Running, Sink, parsed};
use crate::output::Record;

/// A DynamoDB table (BatchWriteItem).
#[derive(Debug, Args)]
pub(crate) struct DynamoDbArgs {
    /// Table name.
    #[arg(long)]
    table: String,
    /// The partition key attribute.
    #[arg(long)]
    partition_key: String,
    /// The sort key attribute, if the table has one.
    #[arg(long)]
    sort_key: Option<String>,
    /// Each line is a key to delete instead of an item to put.
    #[arg(long)]
    delete: bool,
}

impl Destination for DynamoDbArgs {
    fn describe(&self) -> String {
        format!("dynamodb table {}", self.table)
    }

    fn open(
        &self,
        config: DispatcherConfig,
        sdk: &SdkConfig,
    ) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_batch_utils::dynamodb::sdk::Client::new(sdk);
        let mut backend = DynamoBackend::new(client, &self.table, &self.partition_key);
        if let Some(sort_key) = &self.sort_key {
            backend = backend.with_sort_key(sort_key);
        }
        Running::open(
            backend,
            config,
            Writes {
                delete: self.delete,
            },
        )
    }
}

/// Lines as puts of items, or deletes of keys.
struct Writes {
    delete: bool,
}

impl LineFormat for Writes {
    type Backend = DynamoBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<DynamoWrite>, Failed> {
        let value = DynamoItem::Json(parsed(&text, line)?);
        let write = if self.delete {
            DynamoWrite::Delete(value)
        } else {
            DynamoWrite::Put(value)
        };
        Ok(Parsed::from_text(write, text))
    }

    fn record(&self, write: &DynamoWrite) -> Record {
        match write {
            DynamoWrite::Put(DynamoItem::Json(value))
            | DynamoWrite::Delete(DynamoItem::Json(value)) => Record::Json(value.clone()),
            _ => Record::Json(Value::Null),
        }
    }
}
