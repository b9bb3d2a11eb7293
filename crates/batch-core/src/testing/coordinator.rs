//! A fleet's coordinator held in memory: writers of one process that stand for a fleet.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::{Coordinator, CoordinatorError, CoordinatorFuture, Grant};

#[derive(Debug, Default)]
struct Registry {
    /// Each writer's lease, until when it holds.
    leases: Mutex<HashMap<u64, Instant>>,
    next_writer: AtomicU64,
    unreachable: AtomicBool,
    renewals: AtomicU64,
}

/// A [`Coordinator`] whose store is memory shared by its writers: [`writer`](Self::writer)
/// makes another writer of the same fleet. For tests of fleets in one process, on paused
/// time or not.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use batch_core::testing::InMemoryCoordinator;
/// use batch_core::Coordinator;
/// use std::time::Duration;
///
/// let first = InMemoryCoordinator::new();
/// let second = first.writer();
/// first.renew(Duration::from_secs(10)).await.expect("reachable");
/// let grant = second.renew(Duration::from_secs(10)).await.expect("reachable");
/// assert_eq!(grant.writers, 2);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryCoordinator {
    registry: Arc<Registry>,
    quota: Option<f64>,
    me: u64,
    lease: Duration,
}

impl Default for InMemoryCoordinator {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryCoordinator {
    /// The first writer of a new fleet, whose quota is not known.
    #[must_use]
    pub fn new() -> Self {
        Self {
            registry: Arc::default(),
            quota: None,
            me: 0,
            lease: crate::DEFAULT_LEASE,
        }
    }

    /// The same writer, its grants naming the fleet's quota in entries a second.
    #[must_use]
    pub fn with_quota(mut self, entries_per_second: f64) -> Self {
        self.quota = Some(entries_per_second);
        self
    }

    /// The same writer, with leases of `lease`.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Another writer of the same fleet.
    #[must_use]
    pub fn writer(&self) -> Self {
        Self {
            me: self.registry.next_writer.fetch_add(1, Ordering::Relaxed) + 1,
            ..self.clone()
        }
    }

    /// Makes the store unreachable (every renewal fails) or reachable again.
    pub fn set_reachable(&self, reachable: bool) {
        self.registry
            .unreachable
            .store(!reachable, Ordering::Relaxed);
    }

    /// Writers whose leases are live now.
    #[must_use]
    pub fn live(&self) -> usize {
        let now = Instant::now();
        lock(&self.registry.leases)
            .values()
            .filter(|until| **until > now)
            .count()
    }

    /// Renewals answered so far, by every writer of the fleet.
    #[must_use]
    pub fn renewals(&self) -> u64 {
        self.registry.renewals.load(Ordering::Relaxed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Coordinator for InMemoryCoordinator {
    fn renew(&self, lease: Duration) -> CoordinatorFuture<'_, Grant> {
        Box::pin(async move {
            if self.registry.unreachable.load(Ordering::Relaxed) {
                return Err(CoordinatorError::message("the store is unreachable"));
            }
            lock(&self.registry.leases).insert(self.me, Instant::now() + lease);
            self.registry.renewals.fetch_add(1, Ordering::Relaxed);
            let grant = Grant::new(self.live());
            Ok(self.quota.map_or(grant, |quota| grant.with_quota(quota)))
        })
    }

    fn leave(&self) -> CoordinatorFuture<'_, ()> {
        Box::pin(async move {
            lock(&self.registry.leases).remove(&self.me);
            Ok(())
        })
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
