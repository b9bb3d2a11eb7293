//! The public dispatcher and the table's options.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use batch_core::{Dispatcher, SubmitError};

use crate::backend::{DynamoBackend, KeySchema};
use crate::item::{DynamoItem, DynamoWrite};

/// Batches puts and deletes into BatchWriteItem requests for one table.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take a
/// [`DynamoTable`] (or a `(table, partition key attribute)` pair);
/// [`builder`](Dispatcher::builder) takes a [`DynamoBackend`] with its options set. Submit a
/// put (a JSON object or an attribute map) or any [`DynamoWrite`](crate::DynamoWrite), such
/// as [`DynamoWrite::delete`](crate::DynamoWrite::delete).
///
/// Two writes to one key never share a request (DynamoDB refuses such a batch): a later write
/// replaces a pending one with the same key (counted in
/// [`Stats::superseded`](batch_core::Stats::superseded), logged at WARN), and writes to one
/// key in different requests are sent one request after the other, so the table ends as if
/// every write had been applied in submission order.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_dynamodb::{DynamoBatchDispatcher, DynamoWrite};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let table = DynamoBatchDispatcher::new(&config, ("users", "user_id"));
/// table.submit_payload(serde_json::json!({"user_id": "u-1", "name": "Ada", "score": 0.1})).await?;
/// table.submit_payload(DynamoWrite::delete(serde_json::json!({"user_id": "u-2"}))).await?;
/// let unprocessed = table.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
///
/// With options:
///
/// ```
/// # fn demo(client: aws_sdk_dynamodb::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher};
///
/// let table = DynamoBackend::new(client, "orders", "customer")
///     .with_sort_key("order_id")
///     .with_partition_key_from("customer_id"); // copy this field into `customer`
/// let orders = DynamoBatchDispatcher::builder(table)
///     .config(DispatcherConfig::default().max_in_flight(8))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
pub type DynamoBatchDispatcher = Dispatcher<DynamoBackend>;

/// A table and its partition key attribute: what a [`DynamoBatchDispatcher`] writes to.
///
/// ```
/// use batch_dynamodb::DynamoTable;
///
/// assert_eq!(DynamoTable::from(("users", "user_id")), DynamoTable::new("users", "user_id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoTable {
    name: String,
    partition_key: String,
}

impl DynamoTable {
    /// The table `name` (or ARN) whose partition key attribute is `partition_key`.
    pub fn new(name: impl Into<String>, partition_key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partition_key: partition_key.into(),
        }
    }
}

impl<N: Into<String>, K: Into<String>> From<(N, K)> for DynamoTable {
    fn from((name, partition_key): (N, K)) -> Self {
        Self::new(name, partition_key)
    }
}

impl DynamoBackend {
    /// The backend of `table` (a name or an ARN) whose partition key attribute is
    /// `partition_key`, without a sort key.
    pub fn new(client: Client, table: impl Into<String>, partition_key: impl Into<String>) -> Self {
        let keys = KeySchema {
            partition_key: partition_key.into(),
            sort_key: None,
            partition_key_from: None,
        };
        Self::with_keys(client, table.into(), keys)
    }

    /// The backend of `table`, without a sort key.
    pub fn for_table(client: Client, table: DynamoTable) -> Self {
        Self::new(client, table.name, table.partition_key)
    }

    /// The table's sort key attribute, if it has one.
    #[must_use]
    pub fn with_sort_key(mut self, name: impl Into<String>) -> Self {
        self.keys.sort_key = Some(name.into());
        self
    }

    /// Copies this attribute of each put item into the partition key attribute (on the
    /// dispatcher's copy; the caller's data is never changed).
    #[must_use]
    pub fn with_partition_key_from(mut self, source: impl Into<String>) -> Self {
        self.keys.partition_key_from = Some(source.into());
        self
    }

    /// The table's write capacity, in write capacity units per second (its provisioned
    /// capacity, or its on-demand maximum): a paced dispatcher sends at it from the first
    /// request, divided among the writers of a fleet
    /// ([`DispatcherConfig::fleet_size`](batch_core::DispatcherConfig::fleet_size)), instead
    /// of learning it from throttling, and goes on adjusting to what the table accepts. An
    /// item costs one unit per KB. Nothing is read from the table.
    ///
    /// ```
    /// # fn demo(client: aws_sdk_dynamodb::Client) -> Result<(), batch_core::ConfigError> {
    /// use batch_core::DispatcherConfig;
    /// use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher};
    ///
    /// // One of 8 copies of a job writing to a table of 1,000 WCU: each starts at 125.
    /// let table = DynamoBackend::new(client, "orders", "customer").with_write_capacity(1_000.0);
    /// let orders = DynamoBatchDispatcher::builder(table)
    ///     .config(DispatcherConfig::default().fleet_size(8))
    ///     .build()?;
    /// # let _ = orders; Ok(()) }
    /// ```
    #[must_use]
    pub fn with_write_capacity(mut self, units_per_second: f64) -> Self {
        self.capacity.given(units_per_second);
        self
    }

    /// Whether to read the table's write capacity (DescribeTable, once, at the first
    /// submit; the permission `dynamodb:DescribeTable`) for what
    /// [`with_write_capacity`](Self::with_write_capacity) sets: the lowest of the table's and
    /// its global secondary indexes' provisioned units, or their on-demand maximum. Off by
    /// default. A table that cannot be read, or an on-demand table without a maximum, keeps
    /// its rate learned from throttling; no record fails for it.
    #[must_use]
    pub fn with_capacity_read(mut self, read: bool) -> Self {
        self.capacity.set_read(read);
        self
    }

    /// The table's write capacity units per second: as given, or as read; `None` before the
    /// read, or when it is learned.
    #[must_use]
    pub fn write_capacity(&self) -> Option<f64> {
        self.capacity.units()
    }
}

batch_core::impl_service!(DynamoBackend, Client, DynamoTable, for_table);

/// `submit_delete`: submits [`DynamoWrite::delete`] of a key.
///
/// ```no_run
/// # async fn demo(table: batch_dynamodb::DynamoBatchDispatcher) -> Result<(), Box<dyn std::error::Error>> {
/// use batch_dynamodb::SubmitDelete;
///
/// table.submit_delete(serde_json::json!({"user_id": "u-2"})).await?;
/// # Ok(()) }
/// ```
pub trait SubmitDelete {
    /// Submits a delete of the item with this key (the key attributes only); see
    /// [`Dispatcher::submit_payload`].
    fn submit_delete(
        &self,
        key: impl Into<DynamoItem>,
    ) -> impl Future<Output = Result<(), SubmitError<DynamoWrite>>> + Send;
}

impl SubmitDelete for DynamoBatchDispatcher {
    fn submit_delete(
        &self,
        key: impl Into<DynamoItem>,
    ) -> impl Future<Output = Result<(), SubmitError<DynamoWrite>>> + Send {
        self.submit_payload(DynamoWrite::delete(key))
    }
}
