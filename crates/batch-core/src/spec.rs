//! The static facts of one batch API: its name, limits, default dedup and rules. A leaf
//! module: it depends on nothing else in the crate.

/// Size and count limits of one batch API.
///
/// A service declares two sets in its [`ServiceSpec`]: the ceiling AWS enforces, and what a
/// dispatcher uses unless told otherwise. Users may lower any limit (for example to a queue's
/// own `MaximumMessageSize`), never raise it above the ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Entries in one request.
    pub max_entries: usize,
    /// Bytes in one request, as the service counts them.
    pub max_request_bytes: usize,
    /// Bytes of one entry, as the service counts them.
    pub max_entry_bytes: usize,
}

impl Limits {
    /// Limits from their three values.
    ///
    /// ```
    /// let limits = batch_core::Limits::new(10, 1 << 20, 1 << 20);
    /// assert_eq!(limits.max_entries, 10);
    /// ```
    #[must_use]
    pub const fn new(max_entries: usize, max_request_bytes: usize, max_entry_bytes: usize) -> Self {
        Self {
            max_entries,
            max_request_bytes,
            max_entry_bytes,
        }
    }
}

/// The bounds of one merged request entry (see [`Grouping::Merge`](crate::Grouping::Merge)).
///
/// ```
/// let limit = batch_core::MergeLimit::new(150).bytes(1 << 20).overhead(80);
/// assert_eq!((limit.entries, limit.bytes, limit.overhead), (150, 1 << 20, 80));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeLimit {
    /// Entries merged into one, at most.
    pub entries: usize,
    /// Bytes of the merged entry, at most, counting [`overhead`](Self::overhead).
    pub bytes: usize,
    /// Bytes a merged entry adds beyond the sizes of the entries in it (a header, a
    /// checksum), counted once, when the second entry joins the first.
    pub overhead: usize,
    /// Bytes at which a batch with merged entries goes, when fewer than the request takes:
    /// merged entries fill a request far sooner in work than in bytes (a 5 MiB request of
    /// Kinesis aggregates is seconds of a shard's quota), so the batch goes once it holds
    /// this much. The entry that does not fit starts the next batch.
    pub batch_bytes: usize,
}

impl MergeLimit {
    /// At most `entries` entries, bounded in bytes only by the request, without overhead.
    #[must_use]
    pub const fn new(entries: usize) -> Self {
        Self {
            entries,
            bytes: usize::MAX,
            overhead: 0,
            batch_bytes: usize::MAX,
        }
    }

    /// At most `bytes` bytes in one merged entry.
    #[must_use]
    pub const fn bytes(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }

    /// Bytes a merged entry adds beyond its entries.
    #[must_use]
    pub const fn overhead(mut self, overhead: usize) -> Self {
        self.overhead = overhead;
        self
    }

    /// Bytes at which a batch with merged entries goes.
    #[must_use]
    pub const fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }
}

/// What a dispatcher does with a second pending entry under the same dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DedupPolicy {
    /// No dedup: every entry is sent. Only sensible where the service has no key.
    #[default]
    Off,
    /// The first entry stays; later ones are dropped (logged at WARN and counted).
    KeepFirst,
    /// The latest entry replaces the earlier one, which is dropped (logged and counted). For
    /// blind writes such as DynamoDB puts and deletes this leaves the same final state as
    /// applying every write in order.
    KeepLast,
}

/// The static facts of one batch API, as data.
///
/// ```
/// use batch_core::{DedupPolicy, Limits, ServiceSpec};
///
/// const SPEC: ServiceSpec = ServiceSpec::new("sns", Limits::new(10, 256 * 1024, 256 * 1024))
///     .default_dedup(DedupPolicy::KeepFirst)
///     .entry_size_field("message");
/// assert_eq!(SPEC.default_limits, SPEC.hard_limits);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSpec {
    /// Short service name used in logs and errors, e.g. `"sqs"`.
    pub name: &'static str,
    /// The ceiling the service enforces. Configured limits above it are rejected.
    pub hard_limits: Limits,
    /// The limits a dispatcher uses unless told otherwise.
    pub default_limits: Limits,
    /// The dedup policy a dispatcher uses unless told otherwise.
    pub default_dedup: DedupPolicy,
    /// The name an oversized entry is reported under (`SubmitErrorKind::field`), e.g.
    /// `"message"`. The size is the one the service counts, as `Backend::prepare` reports it.
    pub entry_size_field: &'static str,
    /// Whether the service keeps the order of one ordering key's entries inside one request
    /// when it refuses some of them. SQS FIFO enqueues a batch's messages of a group in
    /// order, so a group may fill a request. Kinesis `PutRecords` goes on storing the records
    /// after a refused one, so a service that says `false` gets at most one entry per
    /// ordering key in each request, and order then holds under any partial failure.
    pub keeps_order_within_request: bool,
    /// Entries merged into one request entry, at most (see
    /// [`Grouping::Merge`](crate::Grouping::Merge)), unless the backend says otherwise
    /// ([`Backend::merge_limit`](crate::Backend::merge_limit)).
    pub merge_limit: usize,
}

impl ServiceSpec {
    /// A service called `name` whose ceiling is `hard_limits`, with every other fact at its
    /// default: default limits at the ceiling, no dedup, order kept within a request, no
    /// merging.
    #[must_use]
    pub const fn new(name: &'static str, hard_limits: Limits) -> Self {
        Self {
            name,
            hard_limits,
            default_limits: hard_limits,
            default_dedup: DedupPolicy::Off,
            entry_size_field: "entry",
            keeps_order_within_request: true,
            merge_limit: 1,
        }
    }

    /// The limits a dispatcher uses unless told otherwise (at most the ceiling).
    #[must_use]
    pub const fn default_limits(mut self, limits: Limits) -> Self {
        self.default_limits = limits;
        self
    }

    /// The dedup policy a dispatcher uses unless told otherwise.
    #[must_use]
    pub const fn default_dedup(mut self, policy: DedupPolicy) -> Self {
        self.default_dedup = policy;
        self
    }

    /// The name an oversized entry is reported under.
    #[must_use]
    pub const fn entry_size_field(mut self, field: &'static str) -> Self {
        self.entry_size_field = field;
        self
    }

    /// Whether one ordering key may have several entries in one request.
    #[must_use]
    pub const fn keeps_order_within_request(mut self, keeps: bool) -> Self {
        self.keeps_order_within_request = keeps;
        self
    }

    /// Entries merged into one request entry, at most.
    #[must_use]
    pub const fn merge_limit(mut self, limit: usize) -> Self {
        self.merge_limit = limit;
        self
    }
}
