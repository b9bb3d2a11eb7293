//! The public dispatcher and its constructors.

use aws_sdk_cloudwatchlogs::Client;
use batch_core::Dispatcher;
use tokio::sync::OnceCell;

use crate::backend::LogsBackend;

/// Batches log events into PutLogEvents calls to one log stream.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the log group
/// and stream as a pair; [`builder`](Dispatcher::builder) takes a [`LogsBackend`], which has
/// the options (a retention to check against, the stream created when missing).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_logs::{LogEvent, LogsBatchDispatcher};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let logs = LogsBatchDispatcher::new(&config, ("/shop/orders", "worker-1"));
/// logs.submit_payload(LogEvent::new("order 17 placed")).await?;
/// for failed in logs.flush_payloads().await {
///     eprintln!("not stored ({}): {}", failed.error.code(), failed.payload.message());
/// }
/// # Ok(()) }
/// ```
pub type LogsBatchDispatcher = Dispatcher<LogsBackend>;

impl LogsBackend {
    /// The backend of the log stream `stream` of the log group `group`.
    pub fn new(client: Client, group: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            client,
            group: group.into(),
            stream: stream.into(),
            retention: None,
            read_retention: false,
            create_stream: false,
            read: OnceCell::new(),
        }
    }

    /// [`new`](Self::new) for `stream` (the dispatcher's target).
    pub fn of_stream(client: Client, stream: LogStream) -> Self {
        Self::new(client, stream.group, stream.stream)
    }
}

/// A log stream: its group and its own name. Made from a pair: `("/shop/orders", "worker-1")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    /// The log group.
    pub group: String,
    /// The stream's name.
    pub stream: String,
}

impl<G: Into<String>, S: Into<String>> From<(G, S)> for LogStream {
    fn from((group, stream): (G, S)) -> Self {
        Self {
            group: group.into(),
            stream: stream.into(),
        }
    }
}

batch_core::impl_service!(LogsBackend, Client, LogStream, of_stream);
