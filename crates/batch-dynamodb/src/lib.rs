//! Batched puts and deletes to Amazon DynamoDB with BatchWriteItem.
//!
//! [`DynamoBatchDispatcher`] packs writes into requests of at most 25 writes, sends them
//! concurrently, retries the writes DynamoDB returns in `UnprocessedItems` (matched back to
//! their payloads by key) with backoff and a bounded number of attempts, and hands back every
//! write it could not deliver, as submitted, with the reason.
//!
//! - **Items.** Submit a JSON object (strings, numbers, booleans, nulls, lists, maps; with
//!   the facade's `exact-numbers` feature numbers keep their exact decimal text, nothing
//!   rounded: see "Exact numbers" in `batch_core`)
//!   or a ready `HashMap<String, AttributeValue>` (binary data and sets). The caller's data
//!   is only read, never changed.
//! - **Size** by DynamoDB's item-size rules (attribute names plus values), checked against
//!   400 KiB at submit.
//! - **Keys.** A write without its key attributes is refused at submit, naming the attribute.
//!   Two writes to one key never share a request; the table ends as if the writes had been
//!   applied one by one in submission order.
//! - **Capacity.** The table's send rate is learned from throttling, counted in write units
//!   (an item costs one per KB). Given the table's write capacity
//!   ([`DynamoBackend::with_write_capacity`]), or asked to read it with DescribeTable
//!   ([`DynamoBackend::with_capacity_read`]), a paced dispatcher starts at it, or at its share
//!   in a fleet ([`fleet_size`](batch_core::DispatcherConfig::fleet_size)). Without either, a
//!   dispatcher calls nothing but BatchWriteItem.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher, DynamoWrite};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let client = aws_sdk_dynamodb::Client::new(&config);
//! let table = DynamoBackend::new(client, "orders", "customer").with_sort_key("order");
//! let orders = DynamoBatchDispatcher::builder(table).build()?;
//! for n in 0..100 {
//!     let item = serde_json::json!({"customer": "c-1", "order": n, "total": 12.30});
//!     orders.submit_payload(item).await?;
//! }
//! orders.submit_payload(DynamoWrite::delete(serde_json::json!({"customer": "c-1", "order": 7}))).await?;
//! for failed in orders.flush_payloads().await {
//!     eprintln!("not written ({}): {}", failed.error.code(), failed.error);
//! }
//! println!("{} requests", orders.stats().requests_sent);
//! # Ok(()) }
//! ```
//!

mod backend;
mod capacity;
mod coordinator;
mod dispatcher;
pub mod dynamodb_json;
mod item;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `dynamodb::sdk::Client::new(&config)`.
pub use aws_sdk_dynamodb as sdk;
pub use backend::{
    DYNAMODB_LIMITS, DynamoBackend, DynamoEntry, DynamoRequestError, KEY_RANGE_THROTTLED,
};
pub use capacity::WRITE_UNIT_BYTES;
pub use coordinator::{
    DynamoDbCoordinator, FLEET_ATTRIBUTE, LEASE_END_ATTRIBUTE, TTL_ATTRIBUTE, WRITER_ATTRIBUTE,
};
pub use dispatcher::{DynamoBatchDispatcher, DynamoTable, SubmitDelete};
pub use item::{
    DynamoItem, DynamoWrite, MAX_NUMBER_DIGITS, MAX_NUMBER_EXPONENT, MIN_NUMBER_EXPONENT,
};
