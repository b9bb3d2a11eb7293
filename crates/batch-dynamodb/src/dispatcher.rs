//! The public dispatcher and its builder.

use std::ops::Deref;

use aws_sdk_dynamodb::Client;
use aws_types::SdkConfig;
use batch_core::{ConfigError, Dispatcher, DispatcherConfig, SubmitError};

use crate::backend::{DynamoBackend, KeySchema};
use crate::item::{DynamoItem, DynamoWrite};

/// Builds a [`DynamoBatchDispatcher`] with options.
///
/// ```
/// # fn demo(client: aws_sdk_dynamodb::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_dynamodb::DynamoBatchDispatcher;
///
/// let orders = DynamoBatchDispatcher::builder(client, "orders", "customer")
///     .sort_key("order_id")
///     .partition_key_from("customer_id") // copy this field into `customer`
///     .config(DispatcherConfig::default().max_in_flight(8))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct DynamoBatchDispatcherBuilder {
    client: Client,
    table: String,
    keys: KeySchema,
    config: DispatcherConfig,
}

impl DynamoBatchDispatcherBuilder {
    /// The table's sort key attribute, if it has one.
    pub fn sort_key(mut self, name: impl Into<String>) -> Self {
        self.keys.sort_key = Some(name.into());
        self
    }

    /// Copies this attribute of each put item into the partition key attribute (on the
    /// dispatcher's copy; the caller's data is never changed).
    pub fn partition_key_from(mut self, source: impl Into<String>) -> Self {
        self.keys.partition_key_from = Some(source.into());
        self
    }

    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// The dispatcher.
    pub fn build(self) -> Result<DynamoBatchDispatcher, ConfigError> {
        let backend = DynamoBackend::new(self.client, self.table, self.keys);
        Ok(DynamoBatchDispatcher(Dispatcher::new(
            backend,
            self.config,
        )?))
    }
}

/// Batches puts and deletes into BatchWriteItem requests for one table.
///
/// It dereferences to [`Dispatcher`], which has the methods:
/// [`submit_payload`](Dispatcher::submit_payload) (a put: a JSON object or an attribute map,
/// or any [`DynamoWrite`]), [`flush_payloads`](Dispatcher::flush_payloads) and
/// [`stats`](Dispatcher::stats). Deletes go through [`submit_delete`](Self::submit_delete).
///
/// Two writes to one key never share a request (DynamoDB refuses such a batch): a later write
/// replaces a pending one with the same key (counted as a duplicate dropped, logged at WARN),
/// and writes to one key in different requests are sent one request after the other, so the
/// table ends as if every write had been applied in submission order.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_dynamodb::DynamoBatchDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let table = DynamoBatchDispatcher::new(&config, "users", "user_id");
/// table.submit_payload(serde_json::json!({"user_id": "u-1", "name": "Ada", "score": 0.1})).await?;
/// table.submit_delete(serde_json::json!({"user_id": "u-2"})).await?;
/// let unprocessed = table.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
#[derive(Debug)]
pub struct DynamoBatchDispatcher(Dispatcher<DynamoBackend>);

impl DynamoBatchDispatcher {
    /// A dispatcher for `table` whose partition key attribute is `partition_key`, with a
    /// client built from `config`. Does no I/O.
    pub fn new(
        config: &SdkConfig,
        table: impl Into<String>,
        partition_key: impl Into<String>,
    ) -> Self {
        Self::from_client(Client::new(config), table, partition_key)
    }

    /// A dispatcher for `table` using the caller's client.
    pub fn from_client(
        client: Client,
        table: impl Into<String>,
        partition_key: impl Into<String>,
    ) -> Self {
        Self::builder(client, table, partition_key)
            .build()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// A builder for options (sort key, partition key source, dispatcher settings).
    pub fn builder(
        client: Client,
        table: impl Into<String>,
        partition_key: impl Into<String>,
    ) -> DynamoBatchDispatcherBuilder {
        DynamoBatchDispatcherBuilder {
            client,
            table: table.into(),
            keys: KeySchema {
                partition_key: partition_key.into(),
                sort_key: None,
                partition_key_from: None,
            },
            config: DispatcherConfig::default(),
        }
    }

    /// Deletes the item with this key (an object of the key attributes only).
    ///
    /// # Errors
    ///
    /// A key without the table's key attributes, or with other attributes, is handed back.
    pub async fn submit_delete(
        &self,
        key: impl Into<DynamoItem>,
    ) -> Result<(), SubmitError<DynamoWrite>> {
        self.0.submit_payload(DynamoWrite::Delete(key.into())).await
    }
}

impl Deref for DynamoBatchDispatcher {
    type Target = Dispatcher<DynamoBackend>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
