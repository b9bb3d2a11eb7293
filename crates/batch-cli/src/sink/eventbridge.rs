//! EventBridge buses: each line an event's detail.

use aws_batch_utils::eventbridge::Event;
use aws_batch_utils::{ConfigError, EventBridgeBackend};
use aws_config::SdkConfig;
use clap::Args;

use super::{Destination, Engine, Failed, LineFormat, Parsed, Running, Sink, parsed};
use crate::output::Record;

/// An EventBridge event bus (PutEvents). Each line is an event's detail, a JSON object.
#[derive(Debug, Args)]
pub(crate) struct EventBridgeArgs {
    /// Event bus name or ARN.
    #[arg(long, default_value = "default")]
    bus: String,
    /// The events' source.
    #[arg(long)]
    source: String,
    /// The events' detail type.
    #[arg(long)]
    detail_type: String,
}

impl Destination for EventBridgeArgs {
    fn describe(&self) -> String {
        format!("eventbridge bus {}", self.bus)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let backend = EventBridgeBackend::new(
            aws_batch_utils::eventbridge::sdk::Client::new(sdk),
            &self.bus,
        );
        let format = Events {
            source: self.source.clone(),
            detail_type: self.detail_type.clone(),
        };
        Running::open(backend, engine, format)
    }
}

/// Lines as the details of events of one source and detail type.
struct Events {
    source: String,
    detail_type: String,
}

impl LineFormat for Events {
    type Backend = EventBridgeBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<Event>, Failed> {
        let detail = parsed(&text, line)?;
        let event = Event::new(&self.source, &self.detail_type, detail);
        Ok(Parsed::from_text(event, text))
    }

    fn record(&self, event: &Event) -> Record {
        Record::Json(event.detail().clone())
    }
}
