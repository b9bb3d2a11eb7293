//! The public dispatcher and the delivery stream's options.

use aws_sdk_firehose::Client;
use batch_core::Dispatcher;

use crate::backend::FirehoseBackend;

/// Batches records into PutRecordBatch requests for one delivery stream.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the delivery
/// stream's name; [`builder`](Dispatcher::builder) takes a [`FirehoseBackend`] with its
/// options set. Submit a `serde_json::Value` or a [`FirehoseRecord`](crate::FirehoseRecord).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_firehose::FirehoseBatchDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let firehose = FirehoseBatchDispatcher::new(&config, "events");
/// firehose.submit_payload(serde_json::json!({"event": "click"})).await?;
/// let unprocessed = firehose.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
///
/// With options:
///
/// ```
/// # fn demo(client: aws_sdk_firehose::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher};
///
/// let stream = FirehoseBackend::new(client, "events").with_newline(true);
/// let events = FirehoseBatchDispatcher::builder(stream).build()?;
/// # let _ = events; Ok(()) }
/// ```
pub type FirehoseBatchDispatcher = Dispatcher<FirehoseBackend>;

impl FirehoseBackend {
    /// The backend of the delivery stream `stream`: records sent as they are, one Firehose
    /// record each.
    pub fn new(client: Client, stream: impl Into<String>) -> Self {
        Self {
            client,
            stream: stream.into(),
            newline: false,
            pack: None,
        }
    }

    /// End each record with a newline (unless it ends with one), so that the objects
    /// Firehose writes to S3 hold one record a line. Default: off.
    #[must_use]
    pub fn with_newline(mut self, newline: bool) -> Self {
        self.newline = newline;
        self
    }

    /// Pack records, each ending with a newline, into Firehose records of up to `bytes`
    /// (at most 1,000 KiB). Firehose bills each record rounded up to 5 KB, so 200-byte
    /// records packed into 64 KiB cost about a twenty-fifth; an S3 destination writes the
    /// same lines. A consumer that reads Firehose records one by one (a transform Lambda
    /// function) sees the packed records and splits them on newlines. When a packed record
    /// fails, the records it held come back, each as submitted. Default: off.
    #[must_use]
    pub fn with_pack(mut self, bytes: usize) -> Self {
        self.pack = Some(bytes);
        self
    }
}

batch_core::impl_service!(FirehoseBackend, Client, String, new);
