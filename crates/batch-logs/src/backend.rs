//! PutLogEvents as a [`Backend`]: the window, the order, the span, the rejected ranges.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamError;
use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, RejectedLogEventsInfo};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, EntryOutcome, Failure, Limits, Prepared, ServiceSpec, SubmitErrorKind,
    classify_sdk_error,
};
use tokio::sync::OnceCell;

use crate::event::{LogEvent, MAX_SPAN, Window, check_message};

/// PutLogEvents limits: 10,000 events and 1,048,576 bytes a call, counting 26 bytes per
/// event besides its UTF-8 message; an event of at most 1 MB, so one that fills a call
/// alone.
///
/// Source: the PutLogEvents API reference; the event size raised from 256 KB to 1 MB
/// ("Amazon CloudWatch Logs increases log event size to 1 MB", AWS What's New, 2 April
/// 2025). Checked 2026-12-05. Lower them with `DispatcherConfig::max_entry_bytes` and
/// `max_request_bytes`.
pub const LOGS_LIMITS: Limits = Limits::new(10_000, 1_048_576, 1_048_576);

/// The PutLogEvents backend of one log stream.
#[derive(Debug)]
pub struct LogsBackend {
    pub(crate) client: Client,
    pub(crate) group: String,
    pub(crate) stream: String,
    pub(crate) retention: Option<Duration>,
    pub(crate) read_retention: bool,
    pub(crate) create_stream: bool,
    /// The group's retention, read once when asked to.
    pub(crate) read: OnceCell<Option<Duration>>,
}

/// A request that failed as a whole: the put itself, or the creation of the stream (or its
/// group) that came before it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogsRequestError {
    /// PutLogEvents failed.
    #[error("PutLogEvents failed")]
    Put(#[source] SdkError<PutLogEventsError, HttpResponse>),
    /// CreateLogStream failed.
    #[error("CreateLogStream failed")]
    CreateStream(#[source] SdkError<CreateLogStreamError, HttpResponse>),
    /// CreateLogGroup failed.
    #[error("CreateLogGroup failed")]
    CreateGroup(#[source] SdkError<CreateLogGroupError, HttpResponse>),
}

impl LogsBackend {
    /// The log group.
    #[must_use]
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The log stream.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Events older than `retention` are handed back as expired before they are sent (the
    /// log group's retention: CloudWatch Logs rejects them and stores the rest).
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Reads the log group's retention (DescribeLogGroups, once, before the first event is
    /// checked) and hands back events older than it as expired. A group that cannot be read
    /// keeps the 14-day limit; CloudWatch's own rejections are still read from each answer.
    #[must_use]
    pub fn with_retention_read(mut self, read: bool) -> Self {
        self.read_retention = read;
        self
    }

    /// Creates the log stream (and its group, if that is missing too) when a put finds it
    /// missing, then puts again. Off by default: a missing group or stream is handed back
    /// with `ResourceNotFoundException`.
    #[must_use]
    pub fn with_create_stream(mut self, create: bool) -> Self {
        self.create_stream = create;
        self
    }

    /// The retention events are checked against: the one given, else the one read.
    fn retention(&self) -> Option<Duration> {
        self.retention
            .or_else(|| self.read.get().copied().flatten())
    }

    async fn read_retention(&self) -> Option<Duration> {
        let days = async {
            let output = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(&self.group)
                .send()
                .await
                .map_err(|error| {
                    tracing::info!(
                        group = %self.group,
                        error = %aws_sdk_cloudwatchlogs::Error::from(error),
                        "the log group's retention could not be read; events are checked \
                         against 14 days"
                    );
                })
                .ok()?;
            let group = output
                .log_groups()
                .iter()
                .find(|group| group.log_group_name() == Some(self.group.as_str()))?;
            Some(group.retention_in_days())
        };
        let days = batch_core::read_setting(&self.group, days)
            .await
            .flatten()?;
        let days = u64::try_from(days).ok().filter(|&days| days > 0)?;
        tracing::debug!(group = %self.group, days, "log group retention read");
        Some(Duration::from_secs(days * 86_400))
    }

    /// One PutLogEvents call; with `create_stream`, a missing stream is created and the call
    /// made again.
    async fn put(
        &self,
        events: &[&LogEvent],
    ) -> Result<Option<RejectedLogEventsInfo>, LogsRequestError> {
        let wire = || {
            events
                .iter()
                .map(|event| {
                    InputLogEvent::builder()
                        .message(event.message())
                        .timestamp(event.timestamp_millis())
                        .build()
                        .expect("message and timestamp are set")
                })
                .collect::<Vec<_>>()
        };
        let put = |events| {
            self.client
                .put_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .set_log_events(Some(events))
                .send()
        };
        let output = match put(wire()).await {
            Err(error) if self.create_stream && is_not_found(&error) => {
                self.create().await?;
                put(wire()).await
            }
            answer => answer,
        };
        output
            .map(|output| output.rejected_log_events_info().cloned())
            .map_err(LogsRequestError::Put)
    }

    /// Creates the stream, and the group first if the stream cannot be made without it.
    async fn create(&self) -> Result<(), LogsRequestError> {
        let stream = || {
            self.client
                .create_log_stream()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .send()
        };
        match stream().await {
            Ok(_) => {}
            Err(error) if already_exists(&error) => {}
            Err(error) if is_not_found(&error) => {
                let group = self
                    .client
                    .create_log_group()
                    .log_group_name(&self.group)
                    .send()
                    .await;
                match group {
                    Ok(_) => {}
                    Err(error) if already_exists(&error) => {}
                    Err(error) => return Err(LogsRequestError::CreateGroup(error)),
                }
                match stream().await {
                    Ok(_) => {}
                    Err(error) if already_exists(&error) => {}
                    Err(error) => return Err(LogsRequestError::CreateStream(error)),
                }
            }
            Err(error) => return Err(LogsRequestError::CreateStream(error)),
        }
        tracing::info!(group = %self.group, stream = %self.stream, "log stream created");
        Ok(())
    }
}

fn code_of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Option<&str> {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
}

fn is_not_found<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    code_of(error) == Some("ResourceNotFoundException")
}

fn already_exists<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    code_of(error) == Some("ResourceAlreadyExistsException")
}

/// The indexes of `live` (sorted by time) cut into runs that each span at most
/// [`MAX_SPAN`]: the fewest calls that hold them all.
fn by_span(live: &[usize], time: impl Fn(usize) -> i64) -> Vec<&[usize]> {
    let span = i64::try_from(MAX_SPAN.as_millis()).unwrap_or(i64::MAX);
    let mut runs = Vec::new();
    let mut start = 0;
    for (at, &index) in live.iter().enumerate() {
        if time(index).saturating_sub(time(live[start])) > span {
            runs.push(&live[start..at]);
            start = at;
        }
    }
    if start < live.len() {
        runs.push(&live[start..]);
    }
    runs
}

/// The outcome of the event at `position` of a call CloudWatch Logs answered with
/// `rejected`. The ranges: events before `tooOldLogEventEndIndex` or
/// `expiredLogEventEndIndex` (exclusive) and from `tooNewLogEventStartIndex` (inclusive).
fn outcome_at(position: usize, rejected: Option<&RejectedLogEventsInfo>) -> EntryOutcome {
    let Some(rejected) = rejected else {
        return EntryOutcome::Delivered;
    };
    let index = |value: Option<i32>| value.and_then(|v| usize::try_from(v).ok());
    let (code, why) =
        if index(rejected.too_new_log_event_start_index()).is_some_and(|start| position >= start) {
            ("TooNewLogEvent", "too new")
        } else if index(rejected.expired_log_event_end_index()).is_some_and(|end| position < end) {
            ("ExpiredLogEvent", "older than the log group's retention")
        } else if index(rejected.too_old_log_event_end_index()).is_some_and(|end| position < end) {
            ("TooOldLogEvent", "too old")
        } else {
            return EntryOutcome::Delivered;
        };
    EntryOutcome::Failed(Failure::permanent(
        code,
        format!("CloudWatch Logs rejected the event as {why} (rejectedLogEventsInfo)"),
    ))
}

impl Backend for LogsBackend {
    type Payload = LogEvent;
    type Entry = ();
    type Error = LogsRequestError;

    const SPEC: ServiceSpec = ServiceSpec::new("logs", LOGS_LIMITS).entry_size_field("message");

    fn prepare(&self, event: &LogEvent) -> Result<Prepared<()>, SubmitErrorKind> {
        check_message(event)?;
        let window = Window::at(SystemTime::now(), self.retention());
        if let Err(why) = window.check(event.timestamp_millis()) {
            return Err(window.refusal(event.timestamp_millis(), why));
        }
        Ok(Prepared::new((), event.size()))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, LogsRequestError> {
        let mut outcomes = vec![EntryOutcome::Delivered; batch.len()];
        // Events that left the window while they waited are handed back, not sent.
        let window = Window::at(SystemTime::now(), self.retention());
        let mut live = Vec::with_capacity(batch.len());
        for (index, entry) in batch.iter().enumerate() {
            match window.check(entry.payload.timestamp_millis()) {
                Ok(()) => live.push(index),
                Err(why) => {
                    outcomes[index] = EntryOutcome::Failed(why.failure(entry.payload, &window))
                }
            }
        }
        // A call's events must be in order of time, or it fails whole: a stable sort keeps
        // events of one millisecond in the order they were submitted.
        let time = |index: usize| batch[index].payload.timestamp_millis();
        live.sort_by_key(|&index| time(index));
        let runs = by_span(&live, time);
        let alone = runs.len() == 1;
        for run in runs {
            let events: Vec<&LogEvent> = run.iter().map(|&index| batch[index].payload).collect();
            match self.put(&events).await {
                Ok(rejected) => {
                    for (position, &index) in run.iter().enumerate() {
                        outcomes[index] = outcome_at(position, rejected.as_ref());
                    }
                }
                // One call: the engine handles the request's failure whole.
                Err(error) if alone => return Err(error),
                Err(error) => {
                    let failure = self.classify(&error);
                    for &index in run {
                        outcomes[index] = EntryOutcome::Failed(failure.clone());
                    }
                }
            }
        }
        Ok(outcomes)
    }

    fn classify(&self, error: &LogsRequestError) -> Failure {
        match error {
            LogsRequestError::Put(error) => classify_sdk_error(error),
            LogsRequestError::CreateStream(error) => classify_sdk_error(error),
            LogsRequestError::CreateGroup(error) => classify_sdk_error(error),
        }
    }

    async fn ready(&self) {
        if self.read_retention && self.retention.is_none() && !self.read.initialized() {
            // Boxed: the read is needed once, and its future is large.
            self.read
                .get_or_init(|| Box::pin(self.read_retention()))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_span_at_most_a_day_and_are_the_fewest() {
        let hour = 3_600_000;
        let times = [0, 10 * hour, 24 * hour, 24 * hour + 1, 30 * hour, 49 * hour];
        let live: Vec<usize> = (0..times.len()).collect();
        let runs = by_span(&live, |i| times[i]);
        assert_eq!(runs, vec![&[0, 1, 2][..], &[3, 4][..], &[5][..]]);
        assert!(by_span(&[], |i| times[i]).is_empty());
    }

    #[test]
    fn rejected_ranges_map_to_their_events() {
        let rejected = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(2)
            .expired_log_event_end_index(1)
            .too_new_log_event_start_index(4)
            .build();
        let codes: Vec<Option<String>> = (0..6)
            .map(|position| match outcome_at(position, Some(&rejected)) {
                EntryOutcome::Delivered => None,
                EntryOutcome::Failed(failure) => Some(failure.code),
                _ => unreachable!(),
            })
            .collect();
        let code = |c: &str| Some(c.to_owned());
        assert_eq!(
            codes,
            vec![
                code("ExpiredLogEvent"),
                code("TooOldLogEvent"),
                None,
                None,
                code("TooNewLogEvent"),
                code("TooNewLogEvent")
            ]
        );
        assert!(matches!(outcome_at(0, None), EntryOutcome::Delivered));
    }
}
