//! SQS queues: each line a message body.

use aws_batch_utils::{ConfigError, SqsBackend};
use aws_config::SdkConfig;
use clap::Args;

use super::message::{FifoArgs, Messages};
use super::{Destination, Engine, Running, Sink};

/// An SQS queue (SendMessageBatch).
#[derive(Debug, Args)]
pub(crate) struct SqsArgs {
    /// Queue name or URL.
    #[arg(long)]
    queue: String,
    /// The queue is a FIFO queue.
    #[arg(long)]
    fifo: bool,
    #[command(flatten)]
    fifo_options: FifoArgs,
    /// Send lines that are not JSON too, as text.
    #[arg(long)]
    raw: bool,
}

impl Destination for SqsArgs {
    fn describe(&self) -> String {
        let fifo = if self.fifo { "fifo " } else { "" };
        format!("sqs {fifo}queue {}", self.queue)
    }

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_batch_utils::sqs::sdk::Client::new(sdk);
        if !self.fifo {
            let format = Messages::<SqsBackend>::new(None, self.raw);
            return Running::open(SqsBackend::new(client, &self.queue), engine, format);
        }
        let options = &self.fifo_options;
        let mut backend =
            SqsBackend::fifo(client, &self.queue).with_deduplication(options.dedup.deduplication());
        if let Some(group) = &options.default_group {
            backend = backend.with_default_message_group_id(group);
        }
        let format = Messages::new(options.group_field.clone(), self.raw);
        Running::open(backend, engine, format)
    }
}
