//! AWS Lambda integration for aws-batch-utils: a flush bounded by the invocation, a layer
//! that flushes at the end of every invocation, partial batch responses, and a drain at
//! shutdown.
//!
//! A dispatcher lives as long as the execution environment (build it once, before the
//! runtime starts) and packs the records of many invocations' worth of work; the rules of
//! Lambda's lifecycle decide where records could be lost, and this crate covers each:
//!
//! - **The deadline.** A flush at the end of the handler must end before the invocation
//!   does, or the function times out, the event is sent again and what was in flight is in
//!   neither place. [`InvocationBudget`] turns the invocation's deadline into a flush budget
//!   (less a margin; a fallback for a deadline that is absent or absurd, such as the one
//!   `cargo lambda watch` sends), and a scope's `flush_within` hands back what is not
//!   delivered by then, with the tags of what is still in flight in requests it shares
//!   with other invocations (left to run for them, not abandoned).
//! - **The freeze.** After the response Lambda may freeze the environment, with no timer
//!   running, and may never thaw it. [`FlushLayer`] flushes at the end of every invocation,
//!   after the response (lower latency) or before it.
//! - **Partial batch responses.** For SQS, Kinesis and DynamoDB Streams events,
//!   [`PartialBatch`] ties each input record to the payloads submitted for it (by tag) and
//!   builds the `batchItemFailures` response, so only the failed inputs come back;
//!   [`PartialBatch::fail_flush`] takes what a scope's `flush_within` returned.
//! - **Shutdown.** Lambda sends SIGTERM only when an extension is registered;
//!   `drain_on_shutdown` (feature `graceful-shutdown`) registers one, drains within the
//!   500 ms Lambda allows, and prints what is left on stderr, one JSON line per payload.
//! - **Concurrent invocations** (Lambda Managed Instances, `run_concurrent`): a
//!   [`Scope`](batch_core::Scope) per invocation flushes only its own payloads, while
//!   requests still pack everyone's.
//!
//! ```no_run
//! use std::sync::Arc;
//! use aws_lambda_events::event::sqs::SqsEvent;
//! use batch_core::testing::{InMemoryBackend, TestPayload};
//! use batch_core::Dispatcher;
//! use batch_lambda::{BatchResponse, InvocationBudget, PartialBatch};
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     let dispatcher = Arc::new(Dispatcher::builder(InMemoryBackend::new()).build()?);
//!     lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
//!         let dispatcher = Arc::clone(&dispatcher);
//!         async move {
//!             let scope = dispatcher.scope();
//!             let mut batch = PartialBatch::sqs(&event.payload);
//!             for (index, message) in event.payload.records.iter().enumerate() {
//!                 let size = message.body.as_deref().map_or(0, str::len);
//!                 let payload = TestPayload::new(index as u64, size);
//!                 if scope.submit_tagged(payload, index as u64).await.is_err() {
//!                     batch.fail(index);
//!                 }
//!             }
//!             let budget = InvocationBudget::default().for_context(&event.context);
//!             batch.fail_flush(&scope.flush_within(budget).await);
//!             Ok::<BatchResponse, Error>(batch.response())
//!         }
//!     }))
//!     .await
//! }
//! ```
//!
//! The crate's example `sqs_to_dynamodb` is a whole function: SQS messages written as
//! DynamoDB items, with partial batch responses.
//!
//! # Feature flags
//!
//! - `graceful-shutdown`: `drain_on_shutdown`, a drain of what is held when Lambda sends SIGTERM.
//! - `test-util`: `testing::FakeRuntime`, a fake Lambda Runtime API to run a function under.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod budget;
mod flush;
mod layer;
mod response;
#[cfg(all(unix, feature = "graceful-shutdown"))]
mod shutdown;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use budget::{DEFAULT_FALLBACK, DEFAULT_MARGIN, InvocationBudget, LONGEST_INVOCATION};
pub use flush::{Flush, Undelivered, flush_all, write_to_stderr};
pub use layer::{FlushLayer, FlushService};
pub use response::{BatchItemFailure, BatchResponse, PartialBatch};
#[cfg(all(unix, feature = "graceful-shutdown"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "graceful-shutdown"))))]
pub use shutdown::{SHUTDOWN_BUDGET, drain_on_shutdown};
