//! Building a dispatcher: the one builder of engine options, and the constructors every AWS
//! service shares.

use std::sync::Arc;

use aws_types::SdkConfig;

use crate::backend::Backend;
use crate::config::DispatcherConfig;
use crate::coordinate::Coordinator;
use crate::dispatcher::Dispatcher;
use crate::error::ConfigError;
use crate::pace::SharedPace;
use crate::shared::{DeliveredHook, Shared};

/// A backend for an AWS service, made from an SDK client and a target (a queue, a stream, a
/// table, a namespace). It gives every dispatcher over it the constructors
/// [`Dispatcher::new`] and [`Dispatcher::from_client`].
///
/// Service options (how partition keys are chosen, a FIFO queue's default group) are set on
/// the backend before it is handed to [`Dispatcher::builder`].
pub trait Service: Backend + Sized {
    /// The SDK client the backend sends with.
    type Client;
    /// What the dispatcher writes to.
    type Target;

    /// A client built from the shared SDK configuration, with the SDK's own retries off
    /// ([`without_sdk_retries`]).
    fn client(config: &SdkConfig) -> Self::Client;

    /// A backend for `target` with every option at its default.
    fn backend(client: Self::Client, target: Self::Target) -> Self;
}

/// `config` with the SDK's own retries off, for the clients a dispatcher sends with.
///
/// The dispatcher is the retry layer: it retries only the entries that failed, with backoff,
/// within `max_attempts`, and paces throttled entries to what the destination accepts. A
/// client that retries a throttled request by itself (the SDK's standard mode makes up to 3
/// attempts) hides the throttling from the pacing and spends more of the quota on requests
/// that are refused. [`Dispatcher::new`] uses this; pass a client built from it to
/// [`Dispatcher::from_client`] too, unless you mean to keep the SDK's retries.
///
/// ```
/// use aws_types::SdkConfig;
/// use aws_types::sdk_config::RetryConfig;
///
/// let config = batch_core::without_sdk_retries(&SdkConfig::builder().build());
/// assert_eq!(config.retry_config(), Some(&RetryConfig::disabled()));
/// ```
#[must_use]
pub fn without_sdk_retries(config: &SdkConfig) -> SdkConfig {
    config
        .to_builder()
        .retry_config(aws_types::sdk_config::RetryConfig::disabled())
        .build()
}

impl<B: Backend> Dispatcher<B> {
    /// A builder of a dispatcher over `backend`; its settings are checked against the
    /// backend's limits when it is built.
    pub fn builder(backend: B) -> DispatcherBuilder<B> {
        DispatcherBuilder::new(backend)
    }

    fn from_parts(
        backend: B,
        config: &DispatcherConfig,
        on_delivered: Option<DeliveredHook>,
        shared_pace: Option<&SharedPace>,
        coordinator: Option<Arc<dyn Coordinator>>,
    ) -> Result<Self, ConfigError> {
        let config = config.resolve::<B>()?;
        Ok(Self {
            shared: Shared::new(backend, config, on_delivered, shared_pace, coordinator),
        })
    }
}

impl<B: Service> Dispatcher<B> {
    /// A dispatcher for `target` with a client built from `config` (with the SDK's own
    /// retries off: see [`without_sdk_retries`]), every service option and engine setting at
    /// its default. Does no I/O.
    pub fn new(config: &SdkConfig, target: impl Into<B::Target>) -> Self {
        Self::from_client(B::client(config), target)
    }

    /// A dispatcher for `target` that sends with the caller's client, as the caller
    /// configured it, every option at its default. Does no I/O.
    pub fn from_client(client: B::Client, target: impl Into<B::Target>) -> Self {
        Self::from_parts(
            B::backend(client, target.into()),
            &DispatcherConfig::default(),
            None,
            None,
            None,
        )
        .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }
}

/// Builds a [`Dispatcher`] from a backend (with its service options set) and the engine's
/// settings. Made by [`Dispatcher::builder`].
///
/// ```
/// use std::time::Duration;
/// use batch_core::testing::InMemoryBackend;
/// use batch_core::{Dispatcher, DispatcherConfig};
///
/// let dispatcher = Dispatcher::builder(InMemoryBackend::new())
///     .config(DispatcherConfig::default().max_in_flight(8).linger(Duration::from_millis(50)))
///     .build()
///     .expect("valid settings");
/// assert_eq!(dispatcher.limits().max_entries, 10);
/// ```
#[must_use]
pub struct DispatcherBuilder<B> {
    backend: B,
    config: DispatcherConfig,
    on_delivered: Option<DeliveredHook>,
    shared_pace: Option<SharedPace>,
    coordinator: Option<Arc<dyn Coordinator>>,
}

impl<B: std::fmt::Debug> std::fmt::Debug for DispatcherBuilder<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("backend", &self.backend)
            .field("config", &self.config)
            .field("on_delivered", &self.on_delivered.is_some())
            .field("shared_pace", &self.shared_pace.is_some())
            .finish()
    }
}

impl<B: Backend> DispatcherBuilder<B> {
    pub(crate) fn new(backend: B) -> Self {
        Self {
            backend,
            config: DispatcherConfig::default(),
            on_delivered: None,
            shared_pace: None,
            coordinator: None,
        }
    }

    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// Calls `hook` with the tag of each payload submitted with
    /// [`submit_tagged`](Dispatcher::submit_tagged) once the service has accepted it: such a
    /// payload will not come back from a flush. A program that keeps something per tag until
    /// it knows the outcome (a binding keeping the caller's own object to hand back, a
    /// checkpoint) lets it go here. Called from the task that sent the request: keep it short.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::sync::{Arc, Mutex};
    /// use batch_core::testing::{InMemoryBackend, TestPayload};
    /// use batch_core::Dispatcher;
    ///
    /// let accepted = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&accepted);
    /// let dispatcher = Dispatcher::builder(InMemoryBackend::new())
    ///     .on_delivered(move |tag| seen.lock().unwrap().push(tag))
    ///     .build()
    ///     .expect("valid settings");
    /// dispatcher.submit_tagged(TestPayload::new(1, 10), 7).await.expect("valid");
    /// assert!(dispatcher.flush_payloads().await.is_empty());
    /// assert_eq!(*accepted.lock().unwrap(), [7]);
    /// # }
    /// ```
    pub fn on_delivered(mut self, hook: impl Fn(u64) + Send + Sync + 'static) -> Self {
        self.on_delivered = Some(Arc::new(hook));
        self
    }

    /// Paces the dispatcher together with the others built with `pace`, whose destinations
    /// share its quota (see [`SharedPace`]). Default: a pace of its own.
    pub fn shared_pace(mut self, pace: &SharedPace) -> Self {
        self.shared_pace = Some(pace.clone());
        self
    }

    /// Shares the destination's quota with the other writers of a fleet through
    /// `coordinator` (see [`Coordinator`]): documented rates and the fleet's quota are
    /// divided by the writers whose leases are live, renewed while the dispatcher sends.
    /// The first request waits for the store's first two answers, a quarter second apart,
    /// so that writers started together count each other. Default: none, each writer
    /// learns its share from throttling alone.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use batch_core::testing::{InMemoryBackend, InMemoryCoordinator, TestPayload};
    /// use batch_core::Dispatcher;
    ///
    /// let backend = InMemoryBackend::new();
    /// backend.documented_rate(1_000.0);
    /// let fleet = InMemoryCoordinator::new();
    /// let writers: Vec<_> = (0..4)
    ///     .map(|_| Dispatcher::builder(backend.clone()).coordinator(fleet.writer()).build().expect("valid"))
    ///     .collect();
    /// for (n, writer) in writers.iter().enumerate() {
    ///     writer.submit_payload(TestPayload::new(n as u64, 10)).await.expect("valid");
    ///     assert!(writer.flush_payloads().await.is_empty());
    /// }
    /// // The last of four live writers paces at a quarter of the rate, less a margin.
    /// assert_eq!(writers[3].stats().paced_rate, Some(237));
    /// # }
    /// ```
    pub fn coordinator(mut self, coordinator: impl Coordinator) -> Self {
        self.coordinator = Some(Arc::new(coordinator));
        self
    }

    /// The dispatcher, once the settings and the backend's options pass their checks. Does
    /// no I/O.
    pub fn build(self) -> Result<Dispatcher<B>, ConfigError> {
        self.backend.check()?;
        Dispatcher::from_parts(
            self.backend,
            &self.config,
            self.on_delivered,
            self.shared_pace.as_ref(),
            self.coordinator,
        )
    }
}

/// Implements [`Service`] for a backend of an AWS SDK service: the client comes from
/// `Client::new(&SdkConfig)`, as every SDK client's does, and the backend from its
/// constructor `ctor(client, target)`.
///
/// `batch-kinesis` has `impl_service!(KinesisBackend, Client, String, new)`: its client is
/// `aws_sdk_kinesis::Client`, its target a stream name, and `KinesisBackend::new(client,
/// stream)` makes the backend.
#[macro_export]
macro_rules! impl_service {
    ($backend:ty, $client:ty, $target:ty, $ctor:ident) => {
        impl $crate::Service for $backend {
            type Client = $client;
            type Target = $target;

            fn client(config: &$crate::__private::SdkConfig) -> $client {
                <$client>::new(&$crate::without_sdk_retries(config))
            }

            fn backend(client: $client, target: $target) -> Self {
                <$backend>::$ctor(client, target)
            }
        }
    };
}
