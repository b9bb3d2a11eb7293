//! The Rust peers of CloudWatch Logs: PutLogEvents one event at a time and in batches,
//! LogsBatchDispatcher.

use aws_batch_utils::engine::Limits;
use aws_batch_utils::logs::sdk::types::InputLogEvent;
use aws_batch_utils::logs::{EVENT_OVERHEAD_BYTES, LogEvent, LogsBackend, LogsBatchDispatcher};
use aws_config::SdkConfig;
use null_endpoint::Api;

use super::{
    Boxed, NAME, Peer, Records, Result, ServicePeers, batch_loop, config, submit_all, unsupported,
};
use crate::workload;

/// CloudWatch Logs in the bench.
pub(crate) struct Logs;

impl ServicePeers for Logs {
    fn title(&self) -> &'static str {
        "CloudWatch Logs"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::logs::LOGS_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PutLogEvents
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(
            async move { run(&aws_batch_utils::logs::sdk::Client::new(sdk), peer, records).await },
        )
    }
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The message of record `n` of `size` bytes as CloudWatch Logs counts them.
fn message(size: usize, n: u64) -> String {
    workload::text(n, size.saturating_sub(EVENT_OVERHEAD_BYTES).max(1))
}

async fn run(
    client: &aws_batch_utils::logs::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let event = |n, size| {
        InputLogEvent::builder()
            .message(message(size, n))
            .timestamp(now_ms())
            .build()
    };
    let put = |events| {
        client
            .put_log_events()
            .log_group_name(NAME)
            .log_stream_name(NAME)
            .set_log_events(Some(events))
            .send()
    };
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                put(vec![event(n, size)?]).await?;
            }
        }
        Peer::SdkBatchLoop => {
            // The loop reads the rejected ranges too: what it could not store.
            failed = batch_loop(
                records,
                |n, size| Ok(event(n, size)?),
                |batch| async move {
                    let count = batch.len();
                    let output = put(batch).await?;
                    let rejected = output.rejected_log_events_info().map_or(0, |info| {
                        let old = info.too_old_log_event_end_index().unwrap_or(0);
                        let expired = info.expired_log_event_end_index().unwrap_or(0);
                        let new = info
                            .too_new_log_event_start_index()
                            .map_or(0, |start| i32::try_from(count).unwrap_or(0) - start);
                        old.max(expired) + new
                    });
                    Ok(u64::try_from(rejected)?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let logs = LogsBatchDispatcher::builder(LogsBackend::new(client.clone(), NAME, NAME))
                .config(config(max_in_flight))
                .build()?;
            failed = submit_all(&logs, records, |n, size| {
                LogEvent::at_millis(message(size, n), now_ms())
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}
