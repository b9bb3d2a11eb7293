//! The SDK's own answer to throttling, one per writer: a hand-written loop over the plain
//! client in aws-config's adaptive retry mode (its client-side rate limiter in a retry
//! partition of the writer's own, so writers in one process do not share it), sending full
//! requests one at a time and the refused entries again after a jittered exponential
//! backoff, up to [`ATTEMPTS`] times: what the SDK's documentation and examples lead to.

use std::future::Future;
use std::time::Duration;

use aws_batch_utils::dynamodb::sdk::types::{AttributeValue, PutRequest, WriteRequest};
use aws_batch_utils::kinesis::sdk::primitives::Blob;
use aws_batch_utils::kinesis::sdk::types::PutRecordsRequestEntry;
use aws_batch_utils::sqs::sdk::types::SendMessageBatchRequestEntry;
use aws_config::SdkConfig;

use super::{FIFO_GROUPS, FIFO_QUEUE, PAD, Shared};
use crate::Result;
use crate::peers::kinesis::partition_keys;

/// Attempts of a request's entries before the loop gives up on them.
const ATTEMPTS: u32 = 10;
/// The first backoff; it doubles per attempt, up to [`LONGEST_BACKOFF`], jittered in full.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LONGEST_BACKOFF: Duration = Duration::from_secs(5);

/// Writes records `0..count` of `writer` to `shared`; returns how many were given up on.
pub(super) async fn write(
    shared: Shared,
    sdk: &SdkConfig,
    writer: usize,
    count: u64,
) -> Result<u64> {
    let partition = format!("fleet-writer-{writer}");
    let pad = "x".repeat(PAD);
    let pad = pad.as_str();
    match shared {
        Shared::Stream => {
            use aws_batch_utils::kinesis::sdk::{Client, config};
            let conf = config::Builder::from(sdk)
                .retry_partition(config::retry::RetryPartition::new(partition))
                .build();
            let client = &Client::from_conf(conf);
            let keys = &partition_keys();
            send_all(shared, count, |ns| async move {
                let entries = ns
                    .iter()
                    .map(|&n| {
                        #[allow(clippy::cast_possible_truncation)]
                        let key = &keys[(n * 7 + writer as u64) as usize % keys.len()];
                        PutRecordsRequestEntry::builder()
                            .partition_key(key)
                            .data(Blob::new(format!("w{writer}-{n}-{pad}")))
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = client
                    .put_records()
                    .stream_name("fleet")
                    .set_records(Some(entries))
                    .send()
                    .await?;
                Ok(ns
                    .iter()
                    .zip(output.records())
                    .filter(|(_, result)| result.error_code().is_some())
                    .map(|(n, _)| *n)
                    .collect())
            })
            .await
        }
        Shared::Table => {
            use aws_batch_utils::dynamodb::sdk::{Client, config};
            let conf = config::Builder::from(sdk)
                .retry_partition(config::retry::RetryPartition::new(partition))
                .build();
            let client = &Client::from_conf(conf);
            send_all(shared, count, |ns| async move {
                let writes = ns
                    .iter()
                    .map(|&n| {
                        let put = PutRequest::builder()
                            .item("pk", AttributeValue::S(format!("w{writer}-{n}")))
                            .item("pad", AttributeValue::S(pad.to_owned()))
                            .build()?;
                        Ok(WriteRequest::builder().put_request(put).build())
                    })
                    .collect::<Result<Vec<_>>>()?;
                let output = client
                    .batch_write_item()
                    .request_items("fleet", writes)
                    .send()
                    .await?;
                // The unprocessed writes, read back to their record numbers by their key.
                let left = output
                    .unprocessed_items()
                    .and_then(|items| items.get("fleet"))
                    .map(|writes| {
                        writes
                            .iter()
                            .filter_map(|write| {
                                let item = write.put_request()?.item();
                                let key = item.get("pk")?.as_s().ok()?;
                                key.rsplit_once('-')?.1.parse().ok()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(left)
            })
            .await
        }
        Shared::FifoQueue => {
            use aws_batch_utils::sqs::sdk::{Client, config};
            let conf = config::Builder::from(sdk)
                .retry_partition(config::retry::RetryPartition::new(partition))
                .build();
            let client = &Client::from_conf(conf);
            send_all(shared, count, |ns| async move {
                let entries = ns
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(format!("w{writer}-{n}"))
                            .message_group_id(format!("w{writer}-g{}", n % FIFO_GROUPS))
                            .message_deduplication_id(format!("w{writer}-{n}"))
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = client
                    .send_message_batch()
                    .queue_url(FIFO_QUEUE)
                    .set_entries(Some(entries))
                    .send()
                    .await?;
                Ok(output
                    .failed()
                    .iter()
                    .filter_map(|failed| ns.get(failed.id().parse::<usize>().ok()?).copied())
                    .collect())
            })
            .await
        }
    }
}

/// Sends records `0..count` in full requests, one at a time, each request's refused records
/// again after a backoff, up to [`ATTEMPTS`] times; returns how many were given up on.
async fn send_all<F, Fut>(shared: Shared, count: u64, send: F) -> Result<u64>
where
    F: Fn(Vec<u64>) -> Fut,
    Fut: Future<Output = Result<Vec<u64>>>,
{
    let mut given_up = 0;
    let mut next = 0;
    while next < count {
        let end = (next + shared.max_entries()).min(count);
        let mut todo: Vec<u64> = (next..end).collect();
        next = end;
        for attempt in 0..ATTEMPTS {
            // A request refused whole, after the SDK's own retries: all of it again.
            todo = match send(todo.clone()).await {
                Ok(left) => left,
                Err(_) => todo,
            };
            if todo.is_empty() {
                break;
            }
            if attempt + 1 < ATTEMPTS {
                let ceiling = FIRST_BACKOFF
                    .saturating_mul(1 << attempt.min(16))
                    .min(LONGEST_BACKOFF);
                tokio::time::sleep(ceiling.mul_f64(fastrand::f64())).await;
            }
        }
        given_up += todo.len() as u64;
    }
    Ok(given_up)
}
