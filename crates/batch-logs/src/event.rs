//! The log event, its size and the window of times CloudWatch Logs accepts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use batch_core::{Failure, SubmitErrorKind};

/// Bytes CloudWatch Logs adds to each event's UTF-8 message when it sizes a request.
///
/// Source: the PutLogEvents API reference ("the sum of all event messages in UTF-8, plus
/// 26 bytes for each log event"); checked 2026-12-05.
pub const EVENT_OVERHEAD_BYTES: usize = 26;

/// The widest span of timestamps one PutLogEvents call may hold: a wider one fails whole.
///
/// Source: the PutLogEvents API reference ("a batch of log events in a single request
/// cannot span more than 24 hours"); checked 2026-12-05.
pub const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);

/// How far ahead of now an event may be: later ones are rejected (`tooNewLogEventStartIndex`).
///
/// Source: the PutLogEvents API reference ("more than 2 hours in the future"); checked
/// 2026-12-05.
pub const MAX_AHEAD: Duration = Duration::from_secs(2 * 3600);

/// How old an event may be: older ones are rejected (`tooOldLogEventEndIndex`).
///
/// Source: the PutLogEvents API reference ("older than 14 days"); checked 2026-12-05.
pub const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// The margin kept inside both ends of the window, for the difference between this clock
/// and CloudWatch's and the time a request takes: an event this close to an edge is handed
/// back rather than sent to be rejected.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(60);

/// One log event: a message and its time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use batch_logs::LogEvent;
///
/// let event = LogEvent::at_millis("user 17 signed in", 1_764_892_800_000);
/// assert_eq!(event.timestamp(), UNIX_EPOCH + Duration::from_millis(1_764_892_800_000));
/// let now: LogEvent = "read just now".into();
/// assert_eq!(now.message(), "read just now");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    message: String,
    timestamp_ms: i64,
}

impl LogEvent {
    /// An event with `message`, timed now.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self::at(message, SystemTime::now())
    }

    /// An event with `message` at `time`.
    #[must_use]
    pub fn at(message: impl Into<String>, time: SystemTime) -> Self {
        Self {
            message: message.into(),
            timestamp_ms: millis_of(time),
        }
    }

    /// An event with `message` at `timestamp_ms` milliseconds since the Unix epoch (the
    /// wire's own form).
    #[must_use]
    pub fn at_millis(message: impl Into<String>, timestamp_ms: i64) -> Self {
        Self {
            message: message.into(),
            timestamp_ms,
        }
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The time, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn timestamp_millis(&self) -> i64 {
        self.timestamp_ms
    }

    /// The time.
    #[must_use]
    pub fn timestamp(&self) -> SystemTime {
        let ms = Duration::from_millis(self.timestamp_ms.unsigned_abs());
        if self.timestamp_ms >= 0 {
            UNIX_EPOCH + ms
        } else {
            UNIX_EPOCH - ms
        }
    }

    /// The bytes the event adds to a request, as CloudWatch Logs counts them.
    #[must_use]
    pub fn size(&self) -> usize {
        EVENT_OVERHEAD_BYTES + self.message.len()
    }
}

impl From<String> for LogEvent {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for LogEvent {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn millis_of(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The times CloudWatch Logs accepts at one moment: from the oldest to the newest, in
/// milliseconds since the epoch, margins included.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    now_ms: i64,
    max_age: Duration,
    /// Whether the age limit is the group's retention rather than the service's 14 days.
    by_retention: bool,
}

/// Why an event is outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutOfWindow {
    TooNew,
    TooOld,
    Expired,
}

impl OutOfWindow {
    /// The failure an event outside the window is handed back with: the names are
    /// PutLogEvents' own (`rejectedLogEventsInfo`). No attempt can get it stored.
    pub(crate) fn failure(self, event: &LogEvent, window: &Window) -> Failure {
        let (code, why) = match self {
            Self::TooNew => ("TooNewLogEvent", "more than 2 hours ahead".to_owned()),
            Self::TooOld => ("TooOldLogEvent", "more than 14 days old".to_owned()),
            Self::Expired => (
                "ExpiredLogEvent",
                format!(
                    "older than the log group's retention of {} days",
                    window.max_age.as_secs() / 86_400
                ),
            ),
        };
        Failure::permanent(
            code,
            format!(
                "the event's timestamp {} ms is {why} at {} ms",
                event.timestamp_ms, window.now_ms
            ),
        )
    }
}

impl Window {
    /// The window at `now`, its age limited by `retention` when it is shorter than 14 days.
    pub(crate) fn at(now: SystemTime, retention: Option<Duration>) -> Self {
        let (max_age, by_retention) = match retention {
            Some(retention) if retention < MAX_AGE => (retention, true),
            _ => (MAX_AGE, false),
        };
        Self {
            now_ms: millis_of(now),
            max_age,
            by_retention,
        }
    }

    /// Whether CloudWatch Logs would take an event at `timestamp_ms`, margins kept.
    pub(crate) fn check(&self, timestamp_ms: i64) -> Result<(), OutOfWindow> {
        let margin = millis(CLOCK_MARGIN);
        let newest = self
            .now_ms
            .saturating_add(millis(MAX_AHEAD))
            .saturating_sub(margin);
        let oldest = self
            .now_ms
            .saturating_sub(millis(self.max_age))
            .saturating_add(margin);
        if timestamp_ms > newest {
            Err(OutOfWindow::TooNew)
        } else if timestamp_ms < oldest {
            Err(if self.by_retention {
                OutOfWindow::Expired
            } else {
                OutOfWindow::TooOld
            })
        } else {
            Ok(())
        }
    }

    /// The error a payload outside the window is refused at submit with.
    pub(crate) fn refusal(&self, timestamp_ms: i64, why: OutOfWindow) -> SubmitErrorKind {
        let margin = millis(CLOCK_MARGIN);
        let oldest = self.now_ms - millis(self.max_age) + margin;
        let newest = self.now_ms + millis(MAX_AHEAD) - margin;
        let limit = match why {
            OutOfWindow::TooNew => "at most 2 hours ahead",
            OutOfWindow::TooOld => "at most 14 days old",
            OutOfWindow::Expired => "within the log group's retention",
        };
        SubmitErrorKind::OutOfRange {
            field: "timestamp".into(),
            value: format!("{timestamp_ms} ms"),
            allowed: format!("{oldest} to {newest} ms ({limit}, 1 minute kept as margin)"),
        }
    }
}

/// Checks the message: PutLogEvents refuses an empty one.
pub(crate) fn check_message(event: &LogEvent) -> Result<(), SubmitErrorKind> {
    if event.message.is_empty() {
        return Err(SubmitErrorKind::Missing {
            field: "message".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_its_margins_and_names_the_edge() {
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let window = Window::at(now, None);
        let ms = millis_of(now);
        assert!(window.check(ms).is_ok());
        assert!(
            window
                .check(ms + millis(MAX_AHEAD) - millis(CLOCK_MARGIN))
                .is_ok()
        );
        assert_eq!(
            window.check(ms + millis(MAX_AHEAD) - millis(CLOCK_MARGIN) + 1),
            Err(OutOfWindow::TooNew)
        );
        assert_eq!(window.check(ms - millis(MAX_AGE)), Err(OutOfWindow::TooOld));
        let retained = Window::at(now, Some(Duration::from_secs(86_400)));
        assert_eq!(retained.check(ms - 86_400_000), Err(OutOfWindow::Expired));
        assert!(retained.check(ms - 86_000_000).is_ok());
        // A retention longer than 14 days leaves the service's limit.
        let long = Window::at(now, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(long.check(ms - millis(MAX_AGE)), Err(OutOfWindow::TooOld));
    }

    #[test]
    fn times_before_the_epoch_and_far_ahead_do_not_overflow() {
        let event = LogEvent::at_millis("x", -5);
        assert_eq!(event.timestamp(), UNIX_EPOCH - Duration::from_millis(5));
        assert_eq!(millis_of(event.timestamp()), -5);
        let window = Window::at(SystemTime::now(), None);
        assert_eq!(window.check(i64::MAX), Err(OutOfWindow::TooNew));
        assert_eq!(window.check(i64::MIN), Err(OutOfWindow::TooOld));
    }
}
