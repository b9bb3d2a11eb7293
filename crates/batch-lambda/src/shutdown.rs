//! The drain at shutdown: on SIGTERM, flush within Lambda's shutdown window and print what
//! is still held.

use std::sync::Arc;
use std::time::Duration;

use crate::flush::{Flush, Reporting, flush_all, write_to_stderr};

/// The drain's budget by default. Lambda gives a runtime with an internal extension 500 ms
/// between SIGTERM and SIGKILL; 100 ms are kept for printing what is left and exiting.
/// Source: <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>
/// (shutdown phase) and lambda_runtime's `spawn_graceful_shutdown_handler`, checked 2026-12-05.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_millis(400);

/// How long after its budget the drain waits for a flush after a response to report what
/// a request the drain stopped handed back to it, within the 100 ms kept for printing.
const REPORT_WAIT: Duration = Duration::from_millis(50);

/// Registers `lambda_runtime`'s no-op internal extension (without one, Lambda sends no
/// SIGTERM) and, on SIGTERM or SIGINT, flushes `dispatchers` within `budget`
/// ([`SHUTDOWN_BUDGET`] fits Lambda's window) and prints every payload still not delivered
/// on stderr, one JSON line each ([`write_to_stderr`]), before the process exits; a flush
/// of a [`FlushLayer`](crate::FlushLayer) under way reports what it got back first. Call it
/// before the runtime's `run`.
///
/// # Panics
///
/// As `lambda_runtime::spawn_graceful_shutdown_handler`: when the extension cannot be
/// registered (outside Lambda, or a Runtime API that does not answer).
///
/// ```no_run
/// # use std::sync::Arc;
/// # async fn demo(dispatchers: Vec<Arc<dyn batch_lambda::Flush>>) {
/// batch_lambda::drain_on_shutdown(dispatchers, batch_lambda::SHUTDOWN_BUDGET).await;
/// # }
/// ```
pub async fn drain_on_shutdown(dispatchers: Vec<Arc<dyn Flush>>, budget: Duration) {
    lambda_runtime::spawn_graceful_shutdown_handler(move || async move {
        let held: usize = dispatchers.iter().map(|d| d.held()).sum();
        tracing::info!(held, ?budget, "shutting down: draining the dispatchers");
        let started = tokio::time::Instant::now();
        let undelivered = flush_all(&dispatchers, budget).await;
        write_to_stderr(&undelivered);
        // What a stopped request handed back may have gone to a flush after a response
        // instead: the process exits when this returns, so that flush prints it first.
        Reporting::all_done(started + budget + REPORT_WAIT).await;
    })
    .await;
}
