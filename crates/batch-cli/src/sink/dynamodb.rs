//! DynamoDB tables: each line an item to put, or a key to delete; or a line of a table
//! export in DynamoDB JSON.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aws_batch_utils::dynamodb::dynamodb_json::{from_dynamodb_json, to_dynamodb_json};
use aws_batch_utils::dynamodb::sdk::types::AttributeValue;
use aws_batch_utils::{ConfigError, DynamoBackend, DynamoItem, DynamoWrite};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::{Value, json};

use super::{
    Destination, Engine, Failed, INVALID_RECORD, LineFormat, Parsed, Running, Sink, parsed, refused,
};
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
    #[arg(long, conflicts_with = "dynamodb_json")]
    delete: bool,
    /// Each line is a line of a table export in DynamoDB JSON: {"Item": {...}} puts the
    /// item, {"NewImage": {...}, "Keys": {...}} puts the new image, and {"Keys": {...}}
    /// alone deletes (incremental exports). What --from-export reads.
    #[arg(long)]
    dynamodb_json: bool,
    /// Copy a DynamoDB table export into the table: the folder of its manifests, in S3
    /// (s3://bucket/prefix/AWSDynamoDB/EXPORT_ID/) or local. Each data file's item count
    /// and MD5 checksum and the total item count are checked against the manifests.
    #[arg(long, value_name = "LOCATION", conflicts_with_all = ["delete", "input"])]
    from_export: Option<String>,
    /// The table's write capacity units per second (provisioned, or its on-demand maximum):
    /// pacing starts at it, or at its share with --fleet-size, instead of learning it. With
    /// --fleet-size and without this, it is read from the table (DescribeTable).
    #[arg(long, value_name = "UNITS")]
    write_capacity: Option<f64>,
}

impl Destination for DynamoDbArgs {
    fn describe(&self) -> String {
        format!("dynamodb table {}", self.table)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_batch_utils::dynamodb::sdk::Client::new(sdk);
        let mut backend = DynamoBackend::new(client, &self.table, &self.partition_key);
        if let Some(sort_key) = &self.sort_key {
            backend = backend.with_sort_key(sort_key);
        }
        backend = match self.write_capacity {
            Some(units) => backend.with_write_capacity(units),
            None => backend.with_capacity_read(engine.in_fleet),
        };
        let kind = if self.delete {
            Kind::Delete
        } else if self.dynamodb_json || self.from_export.is_some() {
            Kind::ExportLine
        } else {
            Kind::Put
        };
        Running::open(
            backend,
            engine,
            Writes {
                kind,
                counts: Counts::default(),
            },
        )
    }

    fn export(&self) -> Option<&str> {
        self.from_export.as_deref()
    }
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A JSON item to put.
    Put,
    /// A JSON key to delete.
    Delete,
    /// A line of a table export in DynamoDB JSON.
    ExportLine,
}

/// Lines as puts of items, deletes of keys, or export lines.
struct Writes {
    kind: Kind,
    counts: Counts,
}

/// Delivered writes by kind. The engine names a delivered write by its tag only, so where
/// lines mix puts and deletes (export lines) the tags of deletes not yet settled are kept
/// (only deletes: a full export has none).
#[derive(Default)]
struct Counts {
    deletes_unsettled: Mutex<HashSet<u64>>,
    written: AtomicU64,
    deleted: AtomicU64,
}

impl Counts {
    fn deletes_unsettled(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.deletes_unsettled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl LineFormat for Writes {
    type Backend = DynamoBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<DynamoWrite>, Failed> {
        let value = parsed(&text, line)?;
        let write = match self.kind {
            Kind::Put => DynamoWrite::Put(DynamoItem::Json(value)),
            Kind::Delete => DynamoWrite::Delete(DynamoItem::Json(value)),
            Kind::ExportLine => export_write(&value).map_err(|message| {
                refused(line, INVALID_RECORD, message, Record::Raw(text.clone()))
            })?,
        };
        Ok(Parsed::from_text(write, text))
    }

    fn record(&self, write: &DynamoWrite) -> Record {
        match write {
            DynamoWrite::Put(DynamoItem::Json(value))
            | DynamoWrite::Delete(DynamoItem::Json(value)) => Record::Json(value.clone()),
            // Export lines go back as export lines, to be given again with --dynamodb-json.
            DynamoWrite::Put(DynamoItem::Attributes(item)) => {
                Record::Json(json!({"Item": to_dynamodb_json(item)}))
            }
            DynamoWrite::Delete(DynamoItem::Attributes(keys)) => {
                Record::Json(json!({"Keys": to_dynamodb_json(keys)}))
            }
            _ => Record::Json(Value::Null),
        }
    }

    fn submitting(&self, tag: u64, write: &DynamoWrite) {
        if self.kind == Kind::ExportLine && matches!(write, DynamoWrite::Delete(_)) {
            self.counts.deletes_unsettled().insert(tag);
        }
    }

    fn not_delivered(&self, tag: u64) {
        if self.kind == Kind::ExportLine {
            self.counts.deletes_unsettled().remove(&tag);
        }
    }

    fn delivered(&self, tag: u64) {
        let deleted = match self.kind {
            Kind::Put => false,
            Kind::Delete => true,
            Kind::ExportLine => self.counts.deletes_unsettled().remove(&tag),
        };
        let counter = if deleted {
            &self.counts.deleted
        } else {
            &self.counts.written
        };
        counter.fetch_add(1, Relaxed);
    }

    fn delivered_by_kind(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("written", self.counts.written.load(Relaxed)),
            ("deleted", self.counts.deleted.load(Relaxed)),
        ]
    }
}

/// The write an export line asks for: the item of a full export, the new image of an
/// incremental one, or the delete of its keys when there is no new image.
fn export_write(line: &Value) -> Result<DynamoWrite, String> {
    let typed = |field: &str| -> Result<Option<HashMap<String, AttributeValue>>, String> {
        line.get(field)
            .map(|value| from_dynamodb_json(value).map_err(|e| format!("\"{field}\": {e}")))
            .transpose()
    };
    if let Some(item) = typed("Item")? {
        return Ok(DynamoWrite::Put(DynamoItem::Attributes(item)));
    }
    if let Some(image) = typed("NewImage")? {
        return Ok(DynamoWrite::Put(DynamoItem::Attributes(image)));
    }
    if let Some(keys) = typed("Keys")? {
        return Ok(DynamoWrite::Delete(DynamoItem::Attributes(keys)));
    }
    Err("an export line holds \"Item\", \"NewImage\" or \"Keys\"".into())
}
