//! SNS topics: each line a message body.

use aws_batch_utils::{ConfigError, SnsBackend};
use aws_config::SdkConfig;
use clap::Args;

use super::message::{FifoArgs, Messages};
use super::{Destination, Engine, Running, Sink};

/// An SNS topic (PublishBatch); a FIFO topic when its ARN ends with `.fifo`.
#[derive(Debug, Args)]
pub(crate) struct SnsArgs {
    /// Topic ARN.
    #[arg(long)]
    topic: String,
    #[command(flatten)]
    fifo_options: FifoArgs,
    /// Send lines that are not JSON too, as text.
    #[arg(long)]
    raw: bool,
}

impl Destination for SnsArgs {
    fn describe(&self) -> String {
        format!("sns topic {}", self.topic)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_batch_utils::sns::sdk::Client::new(sdk);
        if !self.topic.ends_with(".fifo") {
            let format = Messages::<SnsBackend>::new(None, self.raw);
            return Running::open(SnsBackend::new(client, &self.topic), engine, format);
        }
        let options = &self.fifo_options;
        let mut backend =
            SnsBackend::fifo(client, &self.topic).with_deduplication(options.dedup.deduplication());
        if let Some(group) = &options.default_group {
            backend = backend.with_default_message_group_id(group);
        }
        let format = Messages::new(options.group_field.clone(), self.raw);
        Running::open(backend, engine, format)
    }
}
