//! Dispatcher settings, validated against the service's limits when a dispatcher is built.

use std::time::Duration;

use crate::backend::Backend;
use crate::error::ConfigError;
use crate::pace::Caps;
use crate::spec::{DedupPolicy, Limits};

/// How failed entries and requests are retried.
///
/// Only what a later attempt can fix is retried: entries the service refused for throttling or
/// its own faults, and requests that failed as a whole for the same reasons. Each retry waits a
/// random time between zero and `min(max_backoff, initial_backoff * 2^(attempt - 1))` ("full
/// jitter"), so clients that failed together do not retry together.
///
/// ```
/// use std::time::Duration;
/// use batch_core::RetryPolicy;
///
/// let retry = RetryPolicy::default()
///     .max_attempts(8)
///     .initial_backoff(Duration::from_millis(50))
///     .deadline(Duration::from_secs(30));
/// // the fourth attempt waits up to 50 ms * 2^2
/// assert_eq!(retry.backoff_cap(3), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Option<Duration>,
    throttle_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            deadline: None,
            throttle_budget: DEFAULT_THROTTLE_BUDGET,
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is final after one attempt.
    #[must_use]
    pub fn disabled() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts per entry, the first included. Default 5; at least 1.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Upper bound of the first retry's wait. Default 100 ms.
    #[must_use]
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Upper bound of any one wait. Default 10 s; not below `initial_backoff`.
    #[must_use]
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Time after a batch's first attempt past which no retry starts. Default none.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How long an entry the service throttles keeps being sent again, from its batch's first
    /// attempt, when the dispatcher paces itself ([`DispatcherConfig::adaptive`]): throttling
    /// says the destination is busy, not that the entry is bad, so it does not count against
    /// `max_attempts`. The budget counts the waits for the pace too: once a batch was
    /// throttled, or while the destination refuses everything, a request that would wait
    /// past the budget is not sent and its entries come back `DeadlineExceeded` (those never
    /// sent with the code [`codes::THROTTLE_BUDGET_SPENT`](crate::codes::THROTTLE_BUDGET_SPENT)),
    /// so a destination that refuses everything has every entry back within the budget and
    /// one request. Default 60 s: a batch job gets through a busy minute; a Lambda
    /// function that must finish sooner flushes with
    /// [`flush_payloads_timeout`](crate::Dispatcher::flush_payloads_timeout).
    #[must_use]
    pub fn throttle_budget(mut self, budget: Duration) -> Self {
        self.throttle_budget = budget;
        self
    }

    pub(crate) fn attempt_limit(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the wait before attempt `attempt + 1`, after `attempt` failed ones.
    #[must_use]
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// A wait drawn uniformly from `0..=backoff_cap(attempt)`.
    pub(crate) fn backoff(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        self.backoff_cap(attempt).mul_f64(rng.f64())
    }

    pub(crate) fn deadline_limit(&self) -> Option<Duration> {
        self.deadline
    }

    pub(crate) fn throttle_limit(&self) -> Duration {
        self.throttle_budget
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::Zero {
                field: "max_attempts",
            });
        }
        if self.max_backoff < self.initial_backoff {
            return Err(ConfigError::Invalid {
                field: "max_backoff",
                reason: format!(
                    "{:?} is below initial_backoff {:?}",
                    self.max_backoff, self.initial_backoff
                ),
            });
        }
        Ok(())
    }
}

/// Settings of one dispatcher. Every field has a default; limits default to the service's.
///
/// ```
/// use std::time::Duration;
/// use batch_core::{DedupPolicy, DispatcherConfig, RetryPolicy};
///
/// let config = DispatcherConfig::default()
///     .max_entries(5)
///     .max_in_flight(8)
///     .linger(Duration::from_millis(200))
///     .dedup(DedupPolicy::KeepLast)
///     .retry(RetryPolicy::default().max_attempts(3));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatcherConfig {
    max_entries: Option<usize>,
    max_request_bytes: Option<usize>,
    max_entry_bytes: Option<usize>,
    max_in_flight: Option<usize>,
    linger: Option<Duration>,
    dedup: Option<DedupPolicy>,
    retry: RetryPolicy,
    fixed: bool,
    max_records_per_second: Option<u64>,
    max_bytes_per_second: Option<u64>,
    fleet_size: Option<usize>,
}

/// Requests in flight at once unless configured: enough for a dispatcher facing AWS's
/// real latency (tens of milliseconds) to reach its throughput without tuning. The pacer
/// keeps fewer in flight while the destination throttles; memory stays bounded by this many
/// requests' entries.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// How long a throttled entry keeps being retried unless configured; see
/// [`RetryPolicy::throttle_budget`].
pub const DEFAULT_THROTTLE_BUDGET: Duration = Duration::from_secs(60);

impl DispatcherConfig {
    /// Entries per request. Default and ceiling: the service's.
    #[must_use]
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = Some(n);
        self
    }

    /// Bytes per request, as the service counts them. Default and ceiling: the service's.
    #[must_use]
    pub fn max_request_bytes(mut self, n: usize) -> Self {
        self.max_request_bytes = Some(n);
        self
    }

    /// Bytes per entry, as the service counts them. Default and ceiling: the service's. Lower
    /// it to a queue's `MaximumMessageSize` or a stream's record limit.
    #[must_use]
    pub fn max_entry_bytes(mut self, n: usize) -> Self {
        self.max_entry_bytes = Some(n);
        self
    }

    /// Batches in flight at once: sealed into a request and not yet completed (sending,
    /// retrying, or waiting for an earlier batch of their ordering key). When they are all
    /// busy and the pending batch is full, `submit` waits (backpressure), so this bounds the
    /// memory a dispatcher holds. Default [`DEFAULT_MAX_IN_FLIGHT`] (32). The requests on the
    /// wire are a second bound, the pacer's request window: it follows what the destination
    /// accepts, between 1 and this number, and keeps fewer while the destination throttles.
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// Sends a partial batch once its oldest entry has waited this long. Default: off, so a
    /// partial batch waits for the next flush (as in a Lambda handler that flushes at the end).
    /// Each timer runs a random 0-20% short of it, so that writers started together (a
    /// fleet of containers, Lambda instances) do not send in step.
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    /// What to do with duplicates in the pending batch. Default: the service's.
    #[must_use]
    pub fn dedup(mut self, policy: DedupPolicy) -> Self {
        self.dedup = Some(policy);
        self
    }

    /// How failures are retried.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Whether the dispatcher paces itself to what the destination accepts. Default on: when
    /// the service throttles, each throttling domain (a Kinesis shard, a table, a queue) gets
    /// a send rate just below what it was accepting, which then follows the service (growing
    /// while entries get through, shrinking when they are throttled), fewer requests are kept
    /// in flight, and throttled entries are sent again within
    /// [`RetryPolicy::throttle_budget`] instead of using up attempts. Off: every request goes
    /// as soon as a slot is free and throttling is a retryable failure like any other.
    #[must_use]
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.fixed = !adaptive;
        self
    }

    /// The most records (entries) per second to send, whatever the destination would take:
    /// to leave room in a shared quota for other writers. Default: no cap.
    #[must_use]
    pub fn max_records_per_second(mut self, records: u64) -> Self {
        self.max_records_per_second = Some(records);
        self
    }

    /// The most bytes (as the service counts them) per second to send. Default: no cap.
    #[must_use]
    pub fn max_bytes_per_second(mut self, bytes: u64) -> Self {
        self.max_bytes_per_second = Some(bytes);
        self
    }

    /// How many writers, this one included, start together on the destination's quota (an
    /// array job's copies, a fleet of containers): a destination's documented rate (a
    /// Kinesis shard's 1,000 records a second; a DynamoDB table's write capacity where it was
    /// given or read: `DynamoBackend::with_write_capacity`, `with_capacity_read`) is this
    /// writer's share of it from the start,
    /// and it starts with fewer requests in flight, so that writers started together do not
    /// offer `n` times the quota before the service first answers. The pacing then follows
    /// the service's answers as usual. Default 1.
    ///
    /// ```
    /// use batch_core::DispatcherConfig;
    ///
    /// // Copy 3 of 8 of an array job.
    /// let config = DispatcherConfig::default().fleet_size(8);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn fleet_size(mut self, n: usize) -> Self {
        self.fleet_size = Some(n);
        self
    }

    /// Checks every setting against `B`'s ceilings and fills in the defaults.
    pub(crate) fn resolve<B: Backend>(&self) -> Result<Resolved, ConfigError> {
        let hard = B::SPEC.hard_limits;
        let default = B::SPEC.default_limits;
        let limit = |field, value: Option<usize>, default: usize, ceiling: usize| {
            let value = value.unwrap_or(default);
            if value == 0 {
                Err(ConfigError::Zero { field })
            } else if value > ceiling {
                Err(ConfigError::AboveLimit {
                    field,
                    value: value as u64,
                    limit: ceiling as u64,
                    service: B::SPEC.name,
                })
            } else {
                Ok(value)
            }
        };
        let limits = Limits::new(
            limit(
                "max_entries",
                self.max_entries,
                default.max_entries,
                hard.max_entries,
            )?,
            limit(
                "max_request_bytes",
                self.max_request_bytes,
                default.max_request_bytes,
                hard.max_request_bytes,
            )?,
            limit(
                "max_entry_bytes",
                self.max_entry_bytes,
                default.max_entry_bytes,
                hard.max_entry_bytes,
            )?,
        );
        let max_in_flight = self.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
        if max_in_flight == 0 {
            return Err(ConfigError::Zero {
                field: "max_in_flight",
            });
        }
        if self.linger == Some(Duration::ZERO) {
            return Err(ConfigError::Invalid {
                field: "linger",
                reason: "must be above zero; leave it unset to turn it off".into(),
            });
        }
        self.retry.validate()?;
        for (field, cap) in [
            ("max_records_per_second", self.max_records_per_second),
            ("max_bytes_per_second", self.max_bytes_per_second),
        ] {
            if cap == Some(0) {
                return Err(ConfigError::Zero { field });
            }
        }
        if self.fleet_size == Some(0) {
            return Err(ConfigError::Zero {
                field: "fleet_size",
            });
        }
        #[allow(clippy::cast_precision_loss)]
        let caps = Caps {
            records_per_second: self.max_records_per_second.map(|n| n as f64),
            bytes_per_second: self.max_bytes_per_second.map(|n| n as f64),
            fleet_size: self.fleet_size.unwrap_or(1) as f64,
        };
        Ok(Resolved {
            limits,
            max_in_flight,
            linger: self.linger,
            dedup: self.dedup.unwrap_or(B::SPEC.default_dedup),
            retry: self.retry.clone(),
            adaptive: !self.fixed,
            caps,
        })
    }
}

/// Settings after validation, with every default filled in.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) limits: Limits,
    pub(crate) max_in_flight: usize,
    pub(crate) linger: Option<Duration>,
    pub(crate) dedup: DedupPolicy,
    pub(crate) retry: RetryPolicy,
    pub(crate) adaptive: bool,
    pub(crate) caps: Caps,
}
