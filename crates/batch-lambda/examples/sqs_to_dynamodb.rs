//! An SQS-triggered Lambda function that writes each message, a JSON object, as one item of a
//! DynamoDB table, and reports the messages it could not write as batch item failures (turn
//! on `ReportBatchItemFailures` on the event source mapping), so that only those come back.
//!
//! - `TABLE`: the table; `KEY`: its partition key attribute (default `id`), which every
//!   message must carry.
//! - Items of concurrent invocations (Lambda Managed Instances) share requests; each
//!   invocation waits only for its own.
//! - The flush ends a margin before the invocation's deadline; what is not written by then
//!   is reported, not left behind. Nothing is held once the response is sent, and on SIGTERM
//!   whatever is still held is printed on stderr, one JSON line each.
//!
//! - `FLUSH=after`: the handler answers as soon as the items are submitted, and they are
//!   flushed after the response (lower latency); what is not written is then printed on
//!   stderr, since the response is gone. The default flushes before the response and
//!   reports failures in it.
//!
//! Build it with `cargo lambda build --example sqs_to_dynamodb --features graceful-shutdown`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use batch_dynamodb::{DynamoBatchDispatcher, DynamoWrite};
use batch_lambda::{BatchResponse, Flush, FlushLayer, InvocationBudget, PartialBatch};
use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let table = std::env::var("TABLE").map_err(|_| "TABLE (the table to write to) is not set")?;
    let key = std::env::var("KEY").unwrap_or_else(|_| "id".to_owned());
    let report = std::env::var("FLUSH").map_or(true, |flush| flush != "after");
    let config = aws_config::load_from_env().await;
    // One dispatcher for the life of the execution environment.
    let items = Arc::new(DynamoBatchDispatcher::new(&config, (table, key)));
    let flushed: Vec<Arc<dyn Flush>> = vec![items.clone()];
    batch_lambda::drain_on_shutdown(flushed.clone(), batch_lambda::SHUTDOWN_BUDGET).await;
    let handler = service_fn(move |event: LambdaEvent<SqsEvent>| {
        let items = Arc::clone(&items);
        async move { Ok::<_, Error>(write_items(&items, event, report).await) }
    });
    // The layer flushes whatever a handler left (none here) after the response.
    Runtime::new(handler)
        .layer(FlushLayer::new(flushed))
        .run_concurrent()
        .await
}

/// Writes each message as an item; with `report`, waits for them and reports the messages
/// whose item was not written.
async fn write_items(
    items: &DynamoBatchDispatcher,
    event: LambdaEvent<SqsEvent>,
    report: bool,
) -> BatchResponse {
    let (event, context) = (event.payload, event.context);
    let mut batch = PartialBatch::sqs(&event);
    if !report {
        // The layer flushes them after the response.
        for (index, message) in event.records.iter().enumerate() {
            let submitted = match item_of(message) {
                Some(item) => items
                    .submit_tagged(DynamoWrite::put(item), index as u64)
                    .await
                    .is_ok(),
                None => false,
            };
            if !submitted {
                batch.fail(index);
            }
        }
        return batch.response();
    }
    let mine = items.scope();
    // The budget bounds the submits too: one that waits for room past it is not taken.
    let deadline = tokio::time::Instant::now() + InvocationBudget::default().for_context(&context);
    for (index, message) in event.records.iter().enumerate() {
        let Some(item) = item_of(message) else {
            tracing::warn!(message_id = ?message.message_id, "message body is not a JSON object");
            batch.fail(index);
            continue;
        };
        let submit = mine.submit_tagged(DynamoWrite::put(item), index as u64);
        match tokio::time::timeout_at(deadline, submit).await {
            Ok(Ok(())) => {}
            Ok(Err(refused)) => {
                tracing::warn!(message_id = ?message.message_id, error = %refused, "item refused");
                batch.fail(index);
            }
            Err(_) => batch.fail(index),
        }
    }
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    // Out of time, requests shared with other invocations go on for them; this one reports
    // its records in them as failed, and Lambda sends them again.
    batch.fail_flush(&mine.flush_within(left).await);
    batch.response()
}

fn item_of(message: &SqsMessage) -> Option<serde_json::Value> {
    let body: serde_json::Value = serde_json::from_str(message.body.as_deref()?).ok()?;
    body.is_object().then_some(body)
}
