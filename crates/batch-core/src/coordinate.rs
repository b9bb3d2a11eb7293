//! Writers of a fleet sharing one quota through a store they all reach: each holds a lease,
//! and each paces at its share, the quota divided by the writers whose leases are live.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How long a lease lasts unless renewed. A writer renews when a third of it is left, so a
/// writer that stops (ends, crashes, is frozen) stops counting within this time.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(6);

/// How long a writer's first request waits after its first answer from the store, to be
/// counted with the writers that start with it, before it asks again.
const SETTLE: Duration = Duration::from_millis(250);

/// Share of its grant a writer paces at: writers whose shares add up to the whole quota,
/// sending at random moments, would meet an empty bucket now and then.
pub(crate) const GRANT_MARGIN: f64 = 0.95;

/// A future a [`Coordinator`] returns.
pub type CoordinatorFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, CoordinatorError>> + Send + 'a>>;

/// What a coordinator's store answered: the writers holding a live lease, this one included,
/// and the quota they share, where the store knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Grant {
    /// Writers with a live lease, this one included (at least 1).
    pub writers: usize,
    /// The entries a second the whole destination takes, where the fleet was told (a
    /// table's provisioned capacity); `None`: the destination's documented rates (a Kinesis
    /// shard's), or the rates learned from throttling, are divided instead.
    pub quota: Option<f64>,
}

impl Grant {
    /// `writers` live writers (at least 1 is counted), no quota named.
    #[must_use]
    pub fn new(writers: usize) -> Self {
        Self {
            writers: writers.max(1),
            quota: None,
        }
    }

    /// The same grant with the fleet's quota in entries a second.
    #[must_use]
    pub fn with_quota(mut self, entries_per_second: f64) -> Self {
        self.quota = Some(entries_per_second).filter(|q| q.is_finite() && *q > 0.0);
        self
    }
}

/// Why a coordinator's store could not be reached or read.
#[derive(Debug, thiserror::Error)]
#[error("fleet coordination failed: {message}")]
pub struct CoordinatorError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CoordinatorError {
    /// An error with `message` and the store's own error beneath it.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An error with `message` alone.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// A store that the writers of one fleet share (a DynamoDB table: `batch-dynamodb`'s
/// `DynamoDbCoordinator`), through which each learns how many writers are live, and so its
/// share of a quota they all write to, from the first second instead of from throttling.
///
/// A dispatcher given one ([`DispatcherBuilder::coordinator`](crate::DispatcherBuilder::coordinator))
/// renews its lease while it sends, at most every third of the lease, never waiting for the
/// store: requests go on at the last share known. With a live grant, a destination's
/// documented rates (a Kinesis shard's) and the grant's quota are divided by the live
/// writers, and the learned rates do not climb above that share. When the store cannot be
/// reached for a whole lease, the dispatcher falls back to pacing alone, as without a
/// coordinator (fail-open): coordination makes a fleet refuse less, never stops it.
///
/// ```
/// use batch_core::{Coordinator, CoordinatorFuture, Grant};
/// use std::time::Duration;
///
/// /// A fleet whose size is fixed and known: no store at all.
/// #[derive(Debug)]
/// struct Fixed(usize);
///
/// impl Coordinator for Fixed {
///     fn renew(&self, _lease: Duration) -> CoordinatorFuture<'_, Grant> {
///         let grant = Grant::new(self.0);
///         Box::pin(async move { Ok(grant) })
///     }
///
///     fn leave(&self) -> CoordinatorFuture<'_, ()> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait Coordinator: Send + Sync + fmt::Debug + 'static {
    /// Registers this writer, or renews its lease, for `lease` from now, and answers with
    /// the writers whose leases are live.
    fn renew(&self, lease: Duration) -> CoordinatorFuture<'_, Grant>;

    /// Ends this writer's lease, so that the others count it out at once rather than when
    /// it lapses. Called when the dispatcher is dropped or abandoned; a failure is logged.
    fn leave(&self) -> CoordinatorFuture<'_, ()>;

    /// How long a lease lasts unless renewed. Default [`DEFAULT_LEASE`].
    fn lease(&self) -> Duration {
        DEFAULT_LEASE
    }
}

/// One dispatcher's view of its fleet: the last grant, until when it holds, and whether a
/// renewal is under way.
#[derive(Debug)]
pub(crate) struct Fleet {
    coordinator: Arc<dyn Coordinator>,
    lease: Duration,
    state: Mutex<FleetState>,
    /// The first renewal, which the first requests wait for.
    first: tokio::sync::OnceCell<()>,
}

#[derive(Debug)]
struct FleetState {
    grant: Option<Grant>,
    /// When the grant lapses: without a renewal by then, pacing is local again.
    valid_until: Option<Instant>,
    /// When the next renewal is due.
    due: Option<Instant>,
    renewing: bool,
    /// When the store was first asked.
    first_asked: Option<Instant>,
}

impl Fleet {
    pub(crate) fn new(coordinator: Arc<dyn Coordinator>) -> Arc<Self> {
        let lease = coordinator.lease().max(Duration::from_millis(100));
        Arc::new(Self {
            coordinator,
            lease,
            state: Mutex::new(FleetState {
                grant: None,
                valid_until: None,
                due: None,
                renewing: false,
                first_asked: None,
            }),
            first: tokio::sync::OnceCell::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FleetState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The grant in force now, if any. The first call asks the store, waits a quarter
    /// second, and asks again (each answer within a third of a lease), so that a fleet's
    /// first requests already go at their share; later ones start a renewal on a task of their own when one is due.
    pub(crate) async fn grant(self: &Arc<Self>) -> Option<Grant> {
        self.first
            .get_or_init(|| async {
                // Writers started together register over a moment: asked once, the first of
                // them would count themselves nearly alone and send at the fleet's rate.
                for _ in 0..2 {
                    self.lock().renewing = true;
                    self.renew().await;
                    if self.lock().grant.is_none() {
                        break;
                    }
                    tokio::time::sleep(SETTLE).await;
                }
            })
            .await;
        let now = Instant::now();
        let mut state = self.lock();
        if !state.renewing && state.due.is_none_or(|due| now >= due) {
            state.renewing = true;
            let fleet = Arc::clone(self);
            tokio::spawn(async move { fleet.renew().await });
        }
        state
            .grant
            .filter(|_| state.valid_until.is_some_and(|until| now < until))
    }

    /// Ends the lease now, waiting at most a third of a lease for the store. Pacing is this
    /// writer's own until a later request registers it again.
    pub(crate) async fn leave(&self) {
        {
            let mut state = self.lock();
            if state.grant.take().is_none() {
                return;
            }
            state.valid_until = None;
            state.due = None;
        }
        let ask = crate::catch::CatchUnwind(Box::pin(self.coordinator.leave()));
        match tokio::time::timeout(self.lease / 3, ask).await {
            Ok(Ok(Ok(()))) => tracing::debug!("fleet lease ended"),
            Ok(Ok(Err(error))) => {
                tracing::warn!(%error, "fleet lease not ended: it lapses instead");
            }
            Ok(Err(panic)) => {
                tracing::warn!(
                    panic,
                    "fleet coordinator panicked: the lease lapses instead"
                );
            }
            Err(_) => {
                tracing::warn!("fleet coordinator did not answer in time: the lease lapses instead")
            }
        }
    }

    /// Asks the store, within a third of the lease, and keeps what it answered.
    async fn renew(&self) {
        let asked = Instant::now();
        let ask = crate::catch::CatchUnwind(Box::pin(self.coordinator.renew(self.lease)));
        let answer = tokio::time::timeout(self.lease / 3, ask).await;
        let mut state = self.lock();
        state.renewing = false;
        // Failed or not, the next try is a third of a lease later (a store that is down is
        // not asked in a loop), sooner in the first seconds: writers started together
        // register over a moment, and the first of them would count themselves alone.
        let since_first = *state.first_asked.get_or_insert(asked);
        let early = asked
            .saturating_duration_since(since_first)
            .max(Duration::from_millis(250));
        state.due = Some(Instant::now() + (self.lease / 3).min(early));
        match answer {
            Ok(Ok(Ok(grant))) => {
                tracing::debug!(writers = grant.writers, quota = ?grant.quota, "fleet lease renewed");
                state.grant = Some(grant);
                state.valid_until = Some(asked + self.lease);
            }
            Ok(Ok(Err(error))) => {
                tracing::warn!(%error, "fleet lease not renewed: pacing alone until it is");
            }
            Ok(Err(panic)) => {
                tracing::warn!(
                    panic,
                    "fleet coordinator panicked: pacing alone until it answers"
                );
            }
            Err(_) => tracing::warn!(
                "fleet coordinator did not answer in time: pacing alone until it does"
            ),
        }
    }
}

impl Drop for Fleet {
    /// Ends the lease on a task of its own, if there is a runtime to run it; otherwise it
    /// lapses.
    fn drop(&mut self) {
        if self.lock().grant.is_none() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let coordinator = Arc::clone(&self.coordinator);
            runtime.spawn(async move {
                if let Err(error) = coordinator.leave().await {
                    tracing::warn!(%error, "fleet lease not ended: it lapses instead");
                }
            });
        }
    }
}
