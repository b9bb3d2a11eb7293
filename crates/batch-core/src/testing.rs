//! An in-memory [`Backend`] whose outcomes a test scripts.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use batch_core::testing::{InMemoryBackend, TestPayload};
//! use batch_core::{Dispatcher, DispatcherConfig, Failure, UnprocessedReason};
//!
//! let backend = InMemoryBackend::new();
//! // Entry 3 is throttled on its first attempt, entry 4 is refused for good.
//! backend.fail_entry(3, 1, Failure::retryable("Throttled", "slow down"));
//! backend.fail_entry_always(4, Failure::permanent("Invalid", "bad entry"));
//!
//! let dispatcher = Dispatcher::builder(backend.clone()).build().unwrap();
//! for id in 0..6 {
//!     dispatcher.submit_payload(TestPayload::new(id, 10)).await.unwrap();
//! }
//! let unprocessed = dispatcher.flush_payloads().await;
//! assert_eq!(unprocessed.len(), 1);
//! assert_eq!(unprocessed[0].payload.id, 4);
//! assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
//! assert_eq!(backend.attempts_of(3), 2);
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::backend::{Backend, BatchEntry, Grouping, Prepared};
use crate::error::SubmitErrorKind;
use crate::failure::{EntryOutcome, Failure};
use crate::spec::{DedupPolicy, Limits, ServiceSpec};

mod coordinator;
mod quota;
pub use coordinator::InMemoryCoordinator;
use quota::Quota;

/// A payload of the in-memory backend: an id, a size in bytes, and optional keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPayload {
    /// Identifies the payload in the backend's records.
    pub id: u64,
    /// Bytes the entry counts as. 0 is refused at submit (field `size`).
    pub size: usize,
    /// Dedup key.
    pub dedup_key: Option<String>,
    /// Ordering key.
    pub ordering_key: Option<String>,
    /// Merge key: up to 3 pending payloads with one key count as one entry, each after the
    /// first adding 1 byte.
    pub merge_key: Option<String>,
}

impl TestPayload {
    /// A payload without keys.
    #[must_use]
    pub fn new(id: u64, size: usize) -> Self {
        Self {
            id,
            size,
            dedup_key: None,
            ordering_key: None,
            merge_key: None,
        }
    }

    /// Sets the dedup key.
    #[must_use]
    pub fn dedup(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// Sets the merge key.
    #[must_use]
    pub fn merged_by(mut self, key: impl Into<String>) -> Self {
        self.merge_key = Some(key.into());
        self
    }

    /// Sets the ordering key.
    #[must_use]
    pub fn ordered_by(mut self, key: impl Into<String>) -> Self {
        self.ordering_key = Some(key.into());
        self
    }
}

/// One request the backend received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// Payload ids, in request order.
    pub ids: Vec<u64>,
    /// Sum of the entry sizes.
    pub bytes: usize,
    /// When the request started (tokio clock).
    pub at: Instant,
    /// The ids the request delivered.
    pub delivered: Vec<u64>,
    /// The thread the request was built on.
    pub thread: std::thread::ThreadId,
}

/// The error of a scripted whole-request failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("scripted request failure {}", .0.code)]
pub struct ScriptedError(pub Failure);

#[derive(Default)]
struct Script {
    entry_failures: HashMap<(u64, u32), Failure>,
    entry_always: HashMap<u64, Failure>,
    request_failures: HashMap<usize, Failure>,
    request_always: Option<Failure>,
    request_with: HashMap<u64, Failure>,
    panic_requests: Vec<usize>,
    delay: Duration,
    entry_delays: HashMap<u64, Duration>,
    quota: Option<Quota>,
}

#[derive(Default)]
struct Inner {
    script: Mutex<Script>,
    requests: Mutex<Vec<RecordedRequest>>,
    attempts: Mutex<HashMap<u64, u32>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// The rate the destination documents, if one was given.
    documented_rate: std::sync::OnceLock<f64>,
}

/// A scripted in-memory backend. Clones share their script and records, so a test keeps one
/// clone to script and inspect while the dispatcher owns another.
#[derive(Clone, Default)]
pub struct InMemoryBackend {
    inner: Arc<Inner>,
}

impl fmt::Debug for InMemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBackend")
            .field("requests", &lock(&self.inner.requests).len())
            .finish_non_exhaustive()
    }
}

fn script_delay(script: &Mutex<Script>) -> Duration {
    lock(script).delay
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InMemoryBackend {
    /// A backend that delivers everything at once.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails entry `id` with `failure` on its `attempt`-th send (1-based).
    pub fn fail_entry(&self, id: u64, attempt: u32, failure: Failure) {
        lock(&self.inner.script)
            .entry_failures
            .insert((id, attempt), failure);
    }

    /// Fails entry `id` with `failure` on every send.
    pub fn fail_entry_always(&self, id: u64, failure: Failure) {
        lock(&self.inner.script).entry_always.insert(id, failure);
    }

    /// Fails the `n`-th request (1-based) as a whole.
    pub fn fail_request(&self, n: usize, failure: Failure) {
        lock(&self.inner.script).request_failures.insert(n, failure);
    }

    /// Fails every request as a whole.
    pub fn fail_every_request(&self, failure: Failure) {
        lock(&self.inner.script).request_always = Some(failure);
    }

    /// Fails whole every request that carries payload `id`, as a service refuses a request
    /// for one invalid entry in it.
    pub fn fail_requests_with(&self, id: u64, failure: Failure) {
        lock(&self.inner.script).request_with.insert(id, failure);
    }

    /// Makes the `n`-th request (1-based) panic, as a faulty backend would.
    pub fn panic_on_request(&self, n: usize) {
        lock(&self.inner.script).panic_requests.push(n);
    }

    /// Makes every request take `delay` (tokio clock).
    pub fn delay(&self, delay: Duration) {
        lock(&self.inner.script).delay = delay;
    }

    /// Makes every request that carries entry `id` take `delay` longer (tokio clock).
    pub fn delay_entry(&self, id: u64, delay: Duration) {
        lock(&self.inner.script).entry_delays.insert(id, delay);
    }

    /// Every request received so far, in the order they started.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Ids delivered so far, in the order the requests that delivered them started.
    #[must_use]
    pub fn delivered_ids(&self) -> Vec<u64> {
        lock(&self.inner.requests)
            .iter()
            .flat_map(|request| request.delivered.iter().copied())
            .collect()
    }

    /// How often entry `id` was sent.
    #[must_use]
    pub fn attempts_of(&self, id: u64) -> u32 {
        lock(&self.inner.attempts).get(&id).copied().unwrap_or(0)
    }

    /// The most requests that were in flight at the same time.
    #[must_use]
    pub fn max_in_flight_seen(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests in flight now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }
}

impl Backend for InMemoryBackend {
    type Payload = TestPayload;
    type Entry = TestPayload;
    type Error = ScriptedError;

    const SPEC: ServiceSpec = ServiceSpec::new("in-memory", Limits::new(1_000, 16 << 20, 4 << 20))
        .default_limits(Limits::new(10, 1 << 20, 1 << 20))
        .default_dedup(DedupPolicy::KeepFirst)
        .entry_size_field("size")
        .merge_limit(3);

    fn prepare(&self, payload: &TestPayload) -> Result<Prepared<TestPayload>, SubmitErrorKind> {
        if payload.size == 0 {
            return Err(SubmitErrorKind::OutOfRange {
                field: "size".into(),
                value: "0".into(),
                allowed: "1 or more".into(),
            });
        }
        let grouping = match (&payload.dedup_key, &payload.merge_key) {
            (Some(key), _) => Grouping::Dedup(vec![key.clone()]),
            (None, Some(key)) => Grouping::Merge {
                key: key.clone(),
                merged_size: 1,
            },
            (None, None) => Grouping::None,
        };
        let mut prepared = Prepared::new(payload.clone(), payload.size).grouped(grouping);
        prepared.ordering_key.clone_from(&payload.ordering_key);
        Ok(prepared)
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, ScriptedError> {
        let entries: Vec<&TestPayload> = batch.iter().map(|e| e.entry).collect();
        let inner = &self.inner;
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let at = Instant::now();
        let (delay, request_failure, index) = {
            let script = lock(&inner.script);
            let mut requests = lock(&inner.requests);
            requests.push(RecordedRequest {
                ids: entries.iter().map(|entry| entry.id).collect(),
                bytes: entries.iter().map(|entry| entry.size).sum(),
                at,
                delivered: Vec::new(),
                thread: std::thread::current().id(),
            });
            let n = requests.len();
            let failure = script
                .request_failures
                .get(&n)
                .or(script.request_always.as_ref())
                .or_else(|| {
                    entries
                        .iter()
                        .find_map(|entry| script.request_with.get(&entry.id))
                })
                .cloned();
            let panics = script.panic_requests.contains(&n);
            drop(requests);
            drop(script);
            if panics {
                inner.in_flight.fetch_sub(1, Ordering::SeqCst);
                panic!("scripted panic in request {n}");
            }
            let entry_delay = {
                let script = lock(&inner.script);
                entries
                    .iter()
                    .filter_map(|entry| script.entry_delays.get(&entry.id))
                    .max()
                    .copied()
                    .unwrap_or_default()
            };
            (script_delay(&inner.script) + entry_delay, failure, n - 1)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let result = match request_failure {
            Some(failure) => {
                let mut attempts = lock(&inner.attempts);
                for entry in entries {
                    *attempts.entry(entry.id).or_default() += 1;
                }
                Err(ScriptedError(failure))
            }
            None => {
                let mut script = lock(&inner.script);
                let mut quota = script.quota.take();
                let answered = Instant::now();
                let mut attempts = lock(&inner.attempts);
                let mut delivered = Vec::new();
                let outcomes = entries
                    .iter()
                    .map(|entry| {
                        let attempt = attempts.entry(entry.id).or_default();
                        *attempt += 1;
                        let failure = script
                            .entry_failures
                            .get(&(entry.id, *attempt))
                            .or_else(|| script.entry_always.get(&entry.id));
                        match failure {
                            Some(failure) => EntryOutcome::Failed(failure.clone()),
                            None if quota.as_mut().is_some_and(|q| !q.take(answered)) => {
                                EntryOutcome::Failed(Failure::retryable(
                                    "ThrottlingException",
                                    "Rate exceeded",
                                ))
                            }
                            None => {
                                delivered.push(entry.id);
                                EntryOutcome::Delivered
                            }
                        }
                    })
                    .collect();
                script.quota = quota;
                lock(&inner.requests)[index].delivered = delivered;
                Ok(outcomes)
            }
        };
        inner.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn classify(&self, error: &ScriptedError) -> Failure {
        error.0.clone()
    }

    fn domains(&self) -> Option<&dyn crate::Domains<Self>> {
        self.inner.documented_rate.get().map(|_| self as _)
    }
}
