//! A queue as the backends see it: its URL (resolved from a name once) and its largest
//! message (read from the queue once).

use std::sync::OnceLock;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use tokio::sync::OnceCell;

use crate::error::{Operation, SqsRequestError};

/// A queue given by name (resolved with GetQueueUrl once, when first needed) or by URL.
#[derive(Debug)]
pub(crate) struct Queue {
    target: String,
    url: OnceCell<String>,
    /// The `MaximumMessageSize` attribute, once read; `None` inside when it could not be.
    maximum_message_size: OnceCell<Option<usize>>,
    /// The same, readable without waiting.
    known_maximum: OnceLock<usize>,
}

impl Queue {
    pub(crate) fn new(target: String) -> Self {
        let url = OnceCell::new();
        if target.starts_with("https://") || target.starts_with("http://") {
            let _ = url.set(target.clone());
        }
        Self {
            target,
            url,
            maximum_message_size: OnceCell::new(),
            known_maximum: OnceLock::new(),
        }
    }

    /// The name or URL the queue was given by.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// The queue's URL.
    pub(crate) async fn url(&self, client: &Client) -> Result<&str, SqsRequestError> {
        let url = self
            .url
            .get_or_try_init(|| async {
                let output = client
                    .get_queue_url()
                    .queue_name(&self.target)
                    .send()
                    .await
                    .map_err(|e| SqsRequestError::new(Operation::GetQueueUrl(e)))?;
                tracing::debug!(queue = %self.target, url = ?output.queue_url(), "queue URL resolved");
                Ok::<_, SqsRequestError>(output.queue_url().unwrap_or_default().to_owned())
            })
            .await?;
        Ok(url)
    }

    /// Whether the queue's largest message was read (or found unreadable).
    pub(crate) fn maximum_message_size_read(&self) -> bool {
        self.maximum_message_size.initialized()
    }

    /// The queue's largest message, if it was read.
    pub(crate) fn maximum_message_size(&self) -> Option<usize> {
        self.known_maximum.get().copied()
    }

    /// Reads the queue's `MaximumMessageSize` attribute, once. A queue that cannot be read
    /// (no such queue, no permission for GetQueueAttributes) keeps the dispatcher's limits;
    /// sending then says what is wrong.
    pub(crate) async fn read_maximum_message_size(&self, client: &Client) {
        self.maximum_message_size
            .get_or_init(|| async {
                let read = async {
                    let url = self.url(client).await.ok()?;
                    let output = client
                        .get_queue_attributes()
                        .queue_url(url)
                        .attribute_names(QueueAttributeName::MaximumMessageSize)
                        .send()
                        .await
                        .map_err(|error| {
                            tracing::info!(
                                queue = %self.target,
                                error = %aws_sdk_sqs::Error::from(error),
                                "the queue's MaximumMessageSize could not be read; messages are \
                                 checked against the dispatcher's limits"
                            );
                        })
                        .ok()?;
                    output
                        .attributes()?
                        .get(&QueueAttributeName::MaximumMessageSize)?
                        .parse::<usize>()
                        .ok()
                };
                let maximum = batch_core::read_setting(&self.target, read).await;
                if let Some(maximum) = maximum {
                    tracing::debug!(queue = %self.target, maximum, "queue MaximumMessageSize read");
                    let _ = self.known_maximum.set(maximum);
                }
                maximum
            })
            .await;
    }
}
