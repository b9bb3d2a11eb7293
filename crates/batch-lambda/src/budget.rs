//! How long a flush at the end of an invocation may take: the invocation's deadline less a
//! margin, with a fallback where the deadline cannot be trusted.

use std::time::{Duration, SystemTime};

use lambda_runtime::Context;

/// Time kept back from the deadline by default: for the response to reach Lambda and for
/// the runtime's own work after the handler.
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(250);

/// The budget where the deadline is absent or absurd (see [`InvocationBudget`]).
pub const DEFAULT_FALLBACK: Duration = Duration::from_secs(10);

/// The longest a Lambda invocation can run: a function timeout is at most 900 seconds.
/// Source: <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>, checked
/// 2026-12-05. A deadline further ahead than this (and a minute of clock skew) is not a real
/// one.
pub const LONGEST_INVOCATION: Duration = Duration::from_secs(900);

/// A deadline this far in the past is not a real one either: a real invocation's deadline
/// is at most [`LONGEST_INVOCATION`] after it started, and a flush runs within it.
const OLDEST_REAL_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

/// Clock skew allowed beyond [`LONGEST_INVOCATION`].
const SKEW: Duration = Duration::from_secs(60);

/// The budget of a flush at the end of an invocation.
///
/// The budget is the time to the invocation's deadline (`Lambda-Runtime-Deadline-Ms`, as
/// [`Context::deadline`] gives it) less a [margin](Self::margin). A deadline that cannot be a
/// real one gets the [fallback](Self::fallback) instead, with a warning:
///
/// - **absent**: 0, as in `Context::default()` (a test's context). The runtime itself
///   (`lambda_runtime` 1.5) panics when the header is missing, so a real invocation always
///   has one;
/// - **absurd**: more than a day in the past (`cargo lambda watch` sends 600000, ten minutes
///   after 1970), or further ahead than an invocation can last.
///
/// A real deadline that is already past, or nearer than the margin, gives a budget of zero:
/// the flush hands everything back at once rather than outlive the invocation.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use batch_lambda::InvocationBudget;
///
/// let budget = InvocationBudget::default().margin(Duration::from_millis(500));
/// let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let deadline_ms = 1_800_000_003_000; // three seconds from now
/// assert_eq!(budget.at(deadline_ms, now), Duration::from_millis(2_500));
/// assert_eq!(budget.at(600_000, now), batch_lambda::DEFAULT_FALLBACK); // cargo lambda watch
/// assert_eq!(budget.at(1_799_999_999_000, now), Duration::ZERO); // already past
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationBudget {
    margin: Duration,
    fallback: Duration,
}

impl Default for InvocationBudget {
    fn default() -> Self {
        Self {
            margin: DEFAULT_MARGIN,
            fallback: DEFAULT_FALLBACK,
        }
    }
}

impl InvocationBudget {
    /// Time kept back from the deadline ([`DEFAULT_MARGIN`] unless set).
    #[must_use]
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The budget where the deadline is absent or absurd ([`DEFAULT_FALLBACK`] unless set).
    #[must_use]
    pub fn fallback(mut self, fallback: Duration) -> Self {
        self.fallback = fallback;
        self
    }

    /// The margin in force.
    #[must_use]
    pub fn margin_in_force(&self) -> Duration {
        self.margin
    }

    /// The budget of a flush now, for the invocation of `context`.
    #[must_use]
    pub fn for_context(&self, context: &Context) -> Duration {
        self.at(context.deadline, SystemTime::now())
    }

    /// The budget at `now` for a deadline of `deadline_ms` milliseconds since the Unix
    /// epoch.
    #[must_use]
    pub fn at(&self, deadline_ms: u64, now: SystemTime) -> Duration {
        let deadline = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(deadline_ms));
        let Some(deadline) = deadline.filter(|_| deadline_ms > 0) else {
            tracing::warn!(deadline_ms, fallback = ?self.fallback, "invocation without a usable deadline: the flush takes the fallback budget");
            return self.fallback;
        };
        match deadline.duration_since(now) {
            Ok(ahead) if ahead > LONGEST_INVOCATION + SKEW => {
                tracing::warn!(?ahead, fallback = ?self.fallback, "invocation deadline further ahead than an invocation lasts: the flush takes the fallback budget");
                self.fallback
            }
            Ok(ahead) => ahead.saturating_sub(self.margin),
            Err(past) if past.duration() > OLDEST_REAL_DEADLINE => {
                tracing::warn!(deadline_ms, fallback = ?self.fallback, "invocation deadline long past (a local emulator's?): the flush takes the fallback budget");
                self.fallback
            }
            Err(_) => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn ms(time: SystemTime) -> u64 {
        u64::try_from(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()))
            .unwrap_or(u64::MAX)
    }

    #[test]
    fn every_kind_of_deadline_gets_a_budget_that_cannot_outlive_it() {
        let budget = InvocationBudget::default()
            .margin(Duration::from_millis(100))
            .fallback(Duration::from_secs(7));
        let cases = [
            ("absent", 0, Duration::from_secs(7)),
            ("cargo lambda watch", 600_000, Duration::from_secs(7)),
            (
                "a minute past",
                ms(now() - Duration::from_secs(60)),
                Duration::ZERO,
            ),
            ("now", ms(now()), Duration::ZERO),
            (
                "inside the margin",
                ms(now() + Duration::from_millis(50)),
                Duration::ZERO,
            ),
            (
                "50 ms past the margin",
                ms(now() + Duration::from_millis(150)),
                Duration::from_millis(50),
            ),
            (
                "15 minutes",
                ms(now() + LONGEST_INVOCATION),
                LONGEST_INVOCATION - Duration::from_millis(100),
            ),
            (
                "a day ahead",
                ms(now() + OLDEST_REAL_DEADLINE),
                Duration::from_secs(7),
            ),
            ("the end of time", u64::MAX, Duration::from_secs(7)),
        ];
        for (kind, deadline, expected) in cases {
            assert_eq!(budget.at(deadline, now()), expected, "{kind}");
        }
    }
}
