//! A fleet's coordinator on a DynamoDB table: each writer holds a lease item, and counts the
//! live ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use batch_core::{Coordinator, CoordinatorError, CoordinatorFuture, DEFAULT_LEASE, Grant};

/// The partition key of the coordination table: the fleet's name.
pub const FLEET_ATTRIBUTE: &str = "fleet";
/// The sort key of the coordination table: the writer's id.
pub const WRITER_ATTRIBUTE: &str = "writer";
/// When a writer's lease ends, in milliseconds since the Unix epoch: live writers are those
/// whose lease ends later than now.
pub const LEASE_END_ATTRIBUTE: &str = "lease_ends_ms";
/// The same moment in seconds since the epoch, for the table's time to live: enable TTL on
/// this attribute and DynamoDB removes the items of writers gone long ago (TTL deletes
/// late, so it is never what decides whether a writer is live).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// A [`Coordinator`] whose store is a DynamoDB table shared by the fleet's writers: the
/// writers of one fleet (one stream, table or queue they all write to) share a partition,
/// each writer an item whose lease it renews; the writers counted are those whose lease has
/// not ended. Give each writer's dispatcher one with
/// [`DispatcherBuilder::coordinator`](batch_core::DispatcherBuilder::coordinator).
///
/// The table has the partition key [`FLEET_ATTRIBUTE`] and the sort key
/// [`WRITER_ATTRIBUTE`], both strings; one table serves any number of fleets. With TTL on
/// [`TTL_ATTRIBUTE`], items of writers that stopped without leaving are removed in time.
/// Each renewal is one `PutItem` and one strongly consistent `Query` of the fleet's
/// partition (half a read unit per 4 KiB, about 60 writers), every third of the lease (2 s
/// by default): 50 writers cost about 25 writes and 25 reads a second.
///
/// A fleet's clocks are compared: each writer's lease end is its own clock plus the lease,
/// so clocks more than a fraction of a lease apart count a writer early or late.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_dynamodb::DynamoDbCoordinator;
/// use batch_core::Dispatcher;
/// # use batch_core::testing::InMemoryBackend as KinesisBackend;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let store = aws_sdk_dynamodb::Client::new(&config);
/// // Every copy of the job: the same table and fleet name, its own writer id (random).
/// let coordinator = DynamoDbCoordinator::new(store, "writer-leases", "clicks-stream");
/// let dispatcher = Dispatcher::builder(KinesisBackend::new())
///     .coordinator(coordinator)
///     .build()?;
/// # let _ = dispatcher;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DynamoDbCoordinator {
    client: Client,
    table: String,
    fleet: String,
    writer: String,
    lease: Duration,
    quota: Option<f64>,
}

impl DynamoDbCoordinator {
    /// A writer of `fleet` (the table's name when `None`), its leases in `table`, its
    /// client made from `sdk` but for the endpoint: `endpoint_url`, or with `None`
    /// DynamoDB's own (`AWS_ENDPOINT_URL_DYNAMODB`, or the Region's), never an endpoint
    /// `sdk` names for the destination's service.
    #[must_use]
    pub fn from_sdk_config(
        sdk: &aws_types::SdkConfig,
        endpoint_url: Option<String>,
        table: &str,
        fleet: Option<String>,
    ) -> Self {
        let mut builder = sdk.to_builder();
        builder.set_endpoint_url(endpoint_url);
        let fleet = fleet.unwrap_or_else(|| table.to_owned());
        Self::new(Client::new(&builder.build()), table, fleet)
    }

    /// A writer of `fleet`, its leases in `table`, under a random writer id.
    pub fn new(client: Client, table: impl Into<String>, fleet: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            fleet: fleet.into(),
            writer: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            lease: DEFAULT_LEASE,
            quota: None,
        }
    }

    /// The same coordinator under the writer id `writer` (unique within the fleet: a
    /// Lambda function's log stream name, a task's id).
    #[must_use]
    pub fn with_writer_id(mut self, writer: impl Into<String>) -> Self {
        self.writer = writer.into();
        self
    }

    /// The same coordinator with leases of `lease` (default [`DEFAULT_LEASE`]): a writer
    /// that stops without leaving is counted out within it.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The same coordinator naming the fleet's quota, in entries a second for the whole
    /// destination (a table's write capacity for items up to 1 KB): each writer paces at
    /// its part of it. Without it, documented rates (a Kinesis shard's) are divided.
    #[must_use]
    pub fn with_quota(mut self, entries_per_second: f64) -> Self {
        self.quota = Some(entries_per_second);
        self
    }

    /// Creates a coordination table named `table` (on-demand, the keys above) and waits,
    /// up to a minute, until it is active. Time to live on [`TTL_ATTRIBUTE`] is left to the
    /// caller (`UpdateTimeToLive`), as is the table's removal.
    ///
    /// # Errors
    ///
    /// The `CreateTable` or `DescribeTable` call's failure, or that the table was not
    /// active within a minute.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), CoordinatorError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TableStatus,
        };
        let build_error = |error| CoordinatorError::new("the table's definition", error);
        let mut request = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, kind) in [
            (FLEET_ATTRIBUTE, KeyType::Hash),
            (WRITER_ATTRIBUTE, KeyType::Range),
        ] {
            request = request
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(build_error)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(kind)
                        .build()
                        .map_err(build_error)?,
                );
        }
        request
            .send()
            .await
            .map_err(|error| CoordinatorError::new("creation of the coordination table", error))?;
        for _ in 0..600 {
            let described = client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|error| CoordinatorError::new("description of the table", error))?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(CoordinatorError::message(format!(
            "table {table} was not active within a minute"
        )))
    }

    /// This writer's id.
    #[must_use]
    pub fn writer_id(&self) -> &str {
        &self.writer
    }

    fn key(&self) -> [(String, AttributeValue); 2] {
        [
            (
                FLEET_ATTRIBUTE.to_owned(),
                AttributeValue::S(self.fleet.clone()),
            ),
            (
                WRITER_ATTRIBUTE.to_owned(),
                AttributeValue::S(self.writer.clone()),
            ),
        ]
    }

    /// Writers of the fleet whose leases end after `now_ms`.
    async fn live(&self, now_ms: u128) -> Result<usize, CoordinatorError> {
        let mut live = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#fleet = :fleet")
                .expression_attribute_names("#fleet", FLEET_ATTRIBUTE)
                .expression_attribute_values(":fleet", AttributeValue::S(self.fleet.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| CoordinatorError::new("query of the fleet's leases", error))?;
            live += page
                .items()
                .iter()
                .filter(|item| lease_end(item).is_some_and(|end| end > now_ms))
                .count();
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(live);
            }
        }
    }
}

/// A lease item's end, in milliseconds since the epoch.
fn lease_end(item: &std::collections::HashMap<String, AttributeValue>) -> Option<u128> {
    match item.get(LEASE_END_ATTRIBUTE)? {
        AttributeValue::N(n) => n.parse().ok(),
        _ => None,
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

impl Coordinator for DynamoDbCoordinator {
    fn renew(&self, lease: Duration) -> CoordinatorFuture<'_, Grant> {
        Box::pin(async move {
            let now = now_ms();
            let ends = now + lease.as_millis();
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.key().into_iter().collect()))
                .item(LEASE_END_ATTRIBUTE, AttributeValue::N(ends.to_string()))
                .item(
                    TTL_ATTRIBUTE,
                    AttributeValue::N((ends / 1000 + 1).to_string()),
                )
                .send()
                .await
                .map_err(|error| CoordinatorError::new("write of this writer's lease", error))?;
            let grant = Grant::new(self.live(now).await?);
            Ok(self.quota.map_or(grant, |quota| grant.with_quota(quota)))
        })
    }

    fn leave(&self) -> CoordinatorFuture<'_, ()> {
        Box::pin(async move {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(self.key().into_iter().collect()))
                .send()
                .await
                .map_err(|error| CoordinatorError::new("removal of this writer's lease", error))?;
            Ok(())
        })
    }

    fn lease(&self) -> Duration {
        self.lease
    }
}
