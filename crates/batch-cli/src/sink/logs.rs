//! CloudWatch Logs streams: each line an event, its time read from a field or when read.

use std::time::Duration;

use aws_batch_utils::logs::sdk::primitives::{DateTime, DateTimeFormat};
use aws_batch_utils::{ConfigError, LogEvent, LogsBackend};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::{Value, json};

use super::{
    Destination, Engine, Failed, INVALID_RECORD, LineFormat, Parsed, Running, Sink, parsed, refused,
};
use crate::output::Record;

/// A CloudWatch Logs log stream (PutLogEvents).
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Log group name.
    #[arg(long)]
    group: String,
    /// Log stream name.
    #[arg(long)]
    stream: String,
    /// The JSON field holding each event's time: milliseconds since the Unix epoch, or an
    /// RFC 3339 date-time (`2026-12-05T10:00:00Z`). Without it, an event is timed when its
    /// line is read.
    #[arg(long, value_name = "FIELD")]
    timestamp_field: Option<String>,
    /// The JSON field holding each event's message (a string as it is, any other value as
    /// JSON). Without it, the whole line is the message, JSON or not.
    #[arg(long, value_name = "FIELD")]
    message_field: Option<String>,
    /// Create the log stream (and group) if it is missing.
    #[arg(long)]
    create_stream: bool,
    /// The log group's retention in days: older events are written to the failures file
    /// (`ExpiredLogEvent`) instead of being sent to be rejected.
    #[arg(long, value_name = "DAYS", conflicts_with = "read_retention")]
    retention_days: Option<u64>,
    /// Read the log group's retention before sending.
    #[arg(long)]
    read_retention: bool,
}

impl Destination for LogsArgs {
    fn describe(&self) -> String {
        format!("logs stream {} of group {}", self.stream, self.group)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let mut backend = LogsBackend::new(
            aws_batch_utils::logs::sdk::Client::new(sdk),
            &self.group,
            &self.stream,
        )
        .with_create_stream(self.create_stream)
        .with_retention_read(self.read_retention);
        if let Some(days) = self.retention_days {
            backend = backend.with_retention(Duration::from_secs(days.saturating_mul(86_400)));
        }
        let format = Events {
            timestamp_field: self.timestamp_field.clone(),
            message_field: self.message_field.clone(),
        };
        Running::open(backend, engine, format)
    }
}

/// Lines as events: the line, or fields of it.
struct Events {
    timestamp_field: Option<String>,
    message_field: Option<String>,
}

impl Events {
    fn timestamp(&self, fields: &Value, line: u64, text: &str) -> Result<Option<i64>, Failed> {
        let Some(field) = &self.timestamp_field else {
            return Ok(None);
        };
        let bad = |why: &str| {
            refused(
                line,
                INVALID_RECORD,
                format!("timestamp: the field `{field}` {why}"),
                Record::Raw(text.to_owned()),
            )
        };
        match fields.get(field) {
            None => Err(bad("is missing")),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad("is not a whole number of milliseconds")),
            Some(Value::String(s)) => DateTime::from_str(s, DateTimeFormat::DateTimeWithOffset)
                .or_else(|_| DateTime::from_str(s, DateTimeFormat::DateTime))
                .ok()
                .and_then(|time| time.to_millis().ok())
                .map(Some)
                .ok_or_else(|| bad("is not an RFC 3339 date-time")),
            Some(_) => Err(bad("is neither milliseconds nor an RFC 3339 date-time")),
        }
    }
}

impl LineFormat for Events {
    type Backend = LogsBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<LogEvent>, Failed> {
        if self.timestamp_field.is_none() && self.message_field.is_none() {
            return Ok(Parsed::holding_text(LogEvent::new(text)));
        }
        let fields = parsed(&text, line)?;
        let time = self.timestamp(&fields, line, &text)?;
        let message = match &self.message_field {
            None => text,
            Some(field) => match fields.get(field) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => {
                    return Err(refused(
                        line,
                        INVALID_RECORD,
                        format!("message: the field `{field}` is missing"),
                        Record::Raw(text),
                    ));
                }
            },
        };
        let event = match time {
            Some(ms) => LogEvent::at_millis(message, ms),
            None => LogEvent::new(message),
        };
        Ok(Parsed::holding_text(event))
    }

    /// The event as `{"timestamp": ms, "message": ...}`: what `--timestamp-field timestamp
    /// --message-field message` reads back.
    fn record(&self, event: &LogEvent) -> Record {
        Record::Json(json!({"timestamp": event.timestamp_millis(), "message": event.message()}))
    }
}
