//! The trait a service crate implements, and the values it exchanges with the engine.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use crate::error::{ConfigError, SubmitErrorKind};
use crate::failure::{EntryOutcome, Failure};
use crate::spec::{Limits, MergeLimit, ServiceSpec};

/// Everything about one prepared entry, handed to the engine at once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Prepared<E> {
    /// The wire form (or the part of it the backend keeps until sending).
    pub entry: E,
    /// Bytes the entry adds to a request, as the service counts them. Never less than the
    /// service's own count: the engine packs requests by this number.
    pub size: usize,
    /// Key whose entries must reach the service in submission order (an SQS FIFO message
    /// group, a Kinesis partition key in ordered mode, a DynamoDB item key). Entries sharing
    /// a key are never in flight in two requests at once, and a failed entry holds back the
    /// later entries of its key.
    pub ordering_key: Option<String>,
    /// How the entry relates to other pending entries.
    pub grouping: Grouping,
}

impl<E> Prepared<E> {
    /// An entry of `size` bytes with no ordering key and no grouping.
    #[must_use]
    pub fn new(entry: E, size: usize) -> Self {
        Self {
            entry,
            size,
            ordering_key: None,
            grouping: Grouping::None,
        }
    }

    /// Sets the ordering key (a `String`, or an `Option` of one when only some entries have
    /// one).
    #[must_use]
    pub fn ordered_by(mut self, key: impl Into<Option<String>>) -> Self {
        self.ordering_key = key.into();
        self
    }

    /// Sets how the entry groups with others.
    #[must_use]
    pub fn grouped(mut self, grouping: Grouping) -> Self {
        self.grouping = grouping;
        self
    }
}

/// How a pending entry relates to the others: duplicates by key, or merged into one request
/// entry. One or the other, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grouping {
    /// Neither.
    #[default]
    None,
    /// Two pending entries that share any of these keys are duplicates, and the dispatcher's
    /// dedup policy keeps one. Keys of different kinds carry a prefix so they never collide
    /// (`id:7`, `dedup:abc`).
    Dedup(Vec<String>),
    /// Two pending entries with the same [`ordering_key`](Prepared::ordering_key) are
    /// duplicates, as for [`Dedup`](Self::Dedup) with that one key (a DynamoDB item's key
    /// both orders its writes and makes two of them duplicates): the key is kept once. An
    /// entry without an ordering key has no duplicates.
    DedupByOrderingKey,
    /// Entries the service can merge into one (CloudWatch datums of one metric, merged into
    /// values and counts; Kinesis records of one shard, aggregated) share a key. Pending
    /// entries with one key count as one request entry, within the backend's
    /// [`merge_limit`](Backend::merge_limit), and every one after the first adds
    /// `merged_size` bytes instead of its full size.
    Merge {
        /// The merge key.
        key: String,
        /// Bytes the entry adds when merged into an earlier one.
        merged_size: usize,
    },
}

/// One entry of a request, as [`Backend::send_batch`] gets it.
#[non_exhaustive]
pub struct BatchEntry<'a, B: Backend + ?Sized> {
    /// The entry `prepare` built.
    pub entry: &'a B::Entry,
    /// The payload it was built from, as submitted.
    pub payload: &'a B::Payload,
    /// The request entry it counts as: entries that share a number were counted as one
    /// merged entry and are to be sent as one. Unique for entries that do not merge.
    pub slot: usize,
}

/// The indexes of a request's entries grouped by request entry (slot), in request order:
/// a group of one is an entry sent alone, a larger one entries merged into one.
///
/// ```
/// use batch_core::{Backend, BatchEntry, Slots};
///
/// /// How many of a request's entries carry several payloads merged into one.
/// fn merged<B: Backend>(batch: &[BatchEntry<'_, B>]) -> usize {
///     Slots::of(batch).iter().filter(|members| members.len() > 1).count()
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    /// Every entry's index, slot after slot.
    members: Vec<usize>,
    /// Where each slot's members end in `members`.
    ends: Vec<usize>,
}

impl Slots {
    /// Groups `batch` by slot.
    #[must_use]
    pub fn of<B: Backend + ?Sized>(batch: &[BatchEntry<'_, B>]) -> Self {
        // Most requests merge nothing: every entry its own slot, in order.
        if batch.windows(2).all(|pair| pair[0].slot < pair[1].slot) {
            return Self {
                members: (0..batch.len()).collect(),
                ends: (1..=batch.len()).collect(),
            };
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut slot_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for (i, item) in batch.iter().enumerate() {
            let at = *slot_of.entry(item.slot).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[at].push(i);
        }
        let mut slots = Self {
            members: Vec::with_capacity(batch.len()),
            ends: Vec::with_capacity(groups.len()),
        };
        for group in groups {
            slots.members.extend(group);
            slots.ends.push(slots.members.len());
        }
        slots
    }

    /// How many request entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each request entry's members, in request order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[usize]> + '_ {
        self.ends.iter().enumerate().map(|(slot, &end)| {
            let start = if slot == 0 { 0 } else { self.ends[slot - 1] };
            &self.members[start..end]
        })
    }
}

/// The throttling domains of a destination whose quota is divided into parts (a Kinesis
/// stream's shards, each taking 1,000 records and 1 MiB a second): the companion a
/// [`Backend`] returns from [`Backend::domains`]. Domains are numbered by the backend; 0 is
/// the destination as a whole.
pub trait Domains<B: Backend + ?Sized>: Send + Sync {
    /// The domain of an entry (the prepared entry and the payload it was built from): the
    /// part of the destination whose quota it uses. Asked before every attempt, so an entry
    /// follows a change (a stream resharded).
    fn domain(&self, entry: &BatchEntry<'_, B>) -> u64;

    /// The entries per second a domain takes, where the service documents it (a Kinesis
    /// shard: 1,000 records a second): a paced dispatcher starts the domain at this rate
    /// instead of learning it from throttling. Default `None`: learned.
    fn rate(&self, domain: u64) -> Option<f64> {
        let _ = domain;
        None
    }

    /// What one domain's rate counts: with `Some(bytes)`, an entry larger than `bytes`
    /// counts as `size / bytes` entries, for a quota in bytes as well as entries (a Kinesis
    /// shard takes 1 MiB and 1,000 records a second: 1,048 bytes per record). Default
    /// `None`: every entry counts one, whatever its size.
    fn entry_bytes(&self) -> Option<usize> {
        None
    }
}

impl<B: Backend + ?Sized> fmt::Debug for BatchEntry<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchEntry")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// One AWS batch API, as the engine sees it: what only the service knows.
///
/// A service crate implements this for its client and target (queue, stream, table,
/// namespace): its facts as a [`ServiceSpec`], and three methods. The engine calls it from
/// many tasks at once, so implementations are `Send + Sync` and hold no per-request state.
///
/// The contract:
/// - [`prepare`](Backend::prepare) validates a payload once, at submit, and says everything
///   about it: the entry, its size, its ordering key and its grouping. An `Err` is handed to
///   the user together with the payload.
/// - [`send_batch`](Backend::send_batch) is never called with more entries or bytes than the
///   dispatcher's limits allow, and never with two entries that share a dedup key (when the
///   dispatcher's dedup policy is on).
/// - It returns exactly one [`EntryOutcome`] per entry, in order. A response that reports
///   failed entries (SQS `Failed`, Kinesis `ErrorCode`, DynamoDB `UnprocessedItems`) is `Ok`
///   with [`EntryOutcome::Failed`] for those entries.
/// - It does not retry entries itself: the engine does, with backoff, and paces throttled
///   ones. A client from [`Dispatcher::new`](crate::Dispatcher::new) has the SDK's own
///   retries off ([`without_sdk_retries`](crate::without_sdk_retries)); one given to
///   `from_client` keeps what its user configured.
/// - Entries refused for capacity are [`FailureKind::Throttling`](crate::FailureKind), so
///   the engine paces them instead of counting attempts.
/// - A request that failed as a whole is `Err`, and [`classify`](Backend::classify) says
///   whether a later attempt may help.
///
/// # Adding a service
///
/// A new batch API is a crate beside `batch-sqs` with four parts:
/// - the payload type users submit (`From<serde_json::Value>` where JSON makes sense,
///   `with_*` setters, plain getters) and its checks, returning [`SubmitErrorKind`] with the
///   field's name;
/// - the backend: this trait, its constructor and service options as consuming setters
///   (`KinesisBackend::new(client, stream).with_ordered(true)`);
/// - [`Service`](crate::Service) through [`impl_service!`](crate::impl_service), which gives
///   the dispatcher `new(&SdkConfig, target)` and `from_client(client, target)`;
/// - the alias users name: `pub type XBatchDispatcher = Dispatcher<XBackend>`.
///
/// Where the service's quota is finer than the destination (Kinesis: per shard), the
/// backend returns a [`Domains`] companion from [`domains`](Backend::domains): each entry's
/// throttling domain, and the domain's documented rate, if any.
///
/// Limits are dated constants with their source. A toy backend:
///
/// ```
/// use batch_core::{
///     Backend, BatchEntry, Dispatcher, DispatcherConfig, EntryOutcome, Failure, Grouping,
///     Limits, Prepared, ServiceSpec, SubmitErrorKind,
/// };
///
/// /// Prints each request; a line longer than 80 bytes is refused.
/// struct Printer;
///
/// #[derive(Debug)]
/// struct NeverFails;
/// impl std::fmt::Display for NeverFails {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("never")
///     }
/// }
/// impl std::error::Error for NeverFails {}
///
/// impl Backend for Printer {
///     type Payload = String;
///     type Entry = ();
///     type Error = NeverFails;
///
///     const SPEC: ServiceSpec = ServiceSpec::new("printer", Limits::new(3, 1_000, 80));
///
///     fn prepare(&self, line: &String) -> Result<Prepared<()>, SubmitErrorKind> {
///         Ok(Prepared::new((), line.len()).grouped(Grouping::Dedup(vec![line.clone()])))
///     }
///
///     async fn send_batch(&self, batch: &[BatchEntry<'_, Self>]) -> Result<Vec<EntryOutcome>, NeverFails> {
///         let lines: Vec<&str> = batch.iter().map(|e| e.payload.as_str()).collect();
///         println!("{}", lines.join(" | "));
///         Ok(vec![EntryOutcome::Delivered; batch.len()])
///     }
///
///     fn classify(&self, _error: &NeverFails) -> Failure {
///         Failure::permanent("Never", "cannot happen")
///     }
/// }
///
/// pub type PrinterDispatcher = Dispatcher<Printer>;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let printer = PrinterDispatcher::builder(Printer).build().expect("valid settings");
/// for word in ["a", "b", "c", "d"] {
///     printer.submit_payload(word.to_owned()).await.expect("short enough");
/// }
/// assert!(printer.flush_payloads().await.is_empty());
/// assert_eq!(printer.stats().requests_sent, 2);
/// # }
/// ```
///
/// Outside its crate, a service adds files of its own and edits ten files (the tools reach
/// a service's crate and SDK through the facade, `aws_batch_utils::<service>::sdk`):
/// 1. `Cargo.toml` (root): its crate in `[workspace.dependencies]`, its facade feature (and
///    in `full`);
/// 2. `src/lib.rs`: its module, its prefixed names, its dispatcher in `prelude`;
/// 3. the `aws-batch` command: a new `crates/batch-cli/src/sink/<service>.rs` (its
///    arguments and its `LineFormat`), and in `sink/mod.rs` its `mod` line, its `Service`
///    variant and that variant's arm of `destination`;
/// 4. the null endpoint: a new `crates/null-endpoint/src/ops/<service>.rs` (its handlers,
///    its `Api` names and its `OPERATIONS` table), and in `ops/mod.rs` its `mod` line and its
///    table in `SERVICES` (an operation that keeps state of its own, as PutLogEvents' clock,
///    adds its field to `Counters` in `lib.rs`);
/// 5. the soak: a test in `crates/null-endpoint/tests/soak.rs`;
/// 6. test fixtures: a new `crates/test-support/src/services/<service>.rs`, its two lines in
///    `services/mod.rs`, and
/// 7. its feature (with its SDK, and in `all`) in `crates/test-support/Cargo.toml`;
/// 8. the emulator that speaks its API, if any, in `xtask/src/emulator.rs`;
/// 9. the benchmark: a new `crates/bench/src/peers/<service>.rs` (its `ServicePeers`: the
///    records, the SDK peers, the capacity pieces), and in `peers.rs` its `mod` line, its
///    `Service` variant and that variant's arm of `Service::peers`; its branch of the boto3
///    loop, `crates/bench/peers/boto3_batch_loop.py`;
/// 10. the Python package: a new module of `crates/batch-py/src` and its class in `lib.rs`.
///
/// And in the docs: its rows in README's crate map and limits, and in RELIABILITY.md.
pub trait Backend: Send + Sync + 'static {
    /// What the user submits and gets back when it cannot be delivered, as submitted.
    type Payload: Send + Sync + 'static;
    /// The prepared wire form of one payload, built once at submit time.
    type Entry: Send + Sync + 'static;
    /// The error of a request that failed as a whole (typically the SDK's `SdkError`).
    type Error: StdError + Send + Sync + 'static;

    /// The service's name, limits, default dedup and rules.
    const SPEC: ServiceSpec;

    /// Validates a payload and says everything about its entry. An `Err` is handed to the
    /// user together with the payload.
    fn prepare(&self, payload: &Self::Payload) -> Result<Prepared<Self::Entry>, SubmitErrorKind>;

    /// Sends one batch request. See the trait docs for the contract. Each entry comes with
    /// the payload it was prepared from: a backend may build the wire entry from it rather
    /// than keep a second copy of the payload's data in the entry.
    fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, Self::Error>> + Send;

    /// Classifies a request that failed as a whole.
    fn classify(&self, error: &Self::Error) -> Failure;

    /// The destination's throttling domains, when its quota is divided into parts of their
    /// own (a Kinesis stream's shards): the engine paces each domain to what it accepts.
    /// Default `None`: the whole destination (a queue, a table, a namespace) is one domain.
    fn domains(&self) -> Option<&dyn Domains<Self>> {
        None
    }

    /// The destination's own limits, where it sets lower ones than the service and they are
    /// known only at run time (an SQS queue's or SNS topic's `MaximumMessageSize`, read by
    /// [`ready`](Backend::ready)). Larger entries are refused at submit, naming the limit,
    /// and requests stay within them. Asked once, after the first [`ready`](Backend::ready)
    /// has returned. Default: none.
    fn destination_limits(&self) -> Option<Limits> {
        None
    }

    /// The bounds of one merged request entry. Default: [`ServiceSpec::merge_limit`]
    /// entries, no bound in bytes but the request's, no overhead.
    fn merge_limit(&self) -> MergeLimit {
        MergeLimit::new(Self::SPEC.merge_limit)
    }

    /// Waits until the backend can prepare entries well; awaited before each submitted
    /// payload is prepared, so it should return at once when there is nothing to wait for.
    /// (Kinesis aggregation waits, at most a second, for the stream's shard map: records are
    /// aggregated per shard.) Default: ready.
    fn ready(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }

    /// Checks the backend's own options when a dispatcher is built with
    /// [`Dispatcher::builder`](crate::Dispatcher::builder). Default: nothing to check.
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::testing::{InMemoryBackend, TestPayload};

    fn slots_of(slots: &[usize]) -> Vec<Vec<usize>> {
        let payloads: Vec<TestPayload> = (0..slots.len() as u64)
            .map(|id| TestPayload::new(id, 1))
            .collect();
        let batch: Vec<BatchEntry<'_, InMemoryBackend>> = payloads
            .iter()
            .zip(slots)
            .map(|(payload, &slot)| BatchEntry {
                entry: payload,
                payload,
                slot,
            })
            .collect();
        let grouped = Slots::of(&batch);
        assert_eq!(grouped.len(), grouped.iter().len());
        grouped.iter().map(<[usize]>::to_vec).collect()
    }

    #[test]
    fn entries_are_grouped_by_slot_in_the_order_slots_first_appear() {
        assert_eq!(slots_of(&[]), Vec::<Vec<usize>>::new());
        assert_eq!(slots_of(&[0, 1, 2]), vec![vec![0], vec![1], vec![2]]);
        assert_eq!(
            slots_of(&[0, 1, 0, 2, 1]),
            vec![vec![0, 2], vec![1, 4], vec![3]]
        );
        assert_eq!(slots_of(&[5, 3]), vec![vec![0], vec![1]]);
    }
}
