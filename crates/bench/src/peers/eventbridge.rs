//! The Rust peers of EventBridge: PutEvents one event at a time and in batches, EventBridgeBatchDispatcher.

use aws_batch_utils::engine::Limits;
use aws_batch_utils::eventbridge::sdk::types::PutEventsRequestEntry;
use aws_batch_utils::eventbridge::{Event, EventBridgeBackend, EventBridgeBatchDispatcher};
use aws_config::SdkConfig;
use null_endpoint::Api;

use super::{
    Boxed, Peer, Records, Result, ServicePeers, batch_loop, config, submit_all, unsupported,
};
use crate::workload;

/// EventBridge in the bench.
pub(crate) struct Eventbridge;

impl ServicePeers for Eventbridge {
    fn title(&self) -> &'static str {
        "EventBridge"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::eventbridge::EVENTBRIDGE_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PutEvents
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(async move {
            run(
                &aws_batch_utils::eventbridge::sdk::Client::new(sdk),
                peer,
                records,
            )
            .await
        })
    }
}

async fn run(
    client: &aws_batch_utils::eventbridge::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let entry = |n, size| {
        PutEventsRequestEntry::builder()
            .source(workload::EVENT_SOURCE)
            .detail_type(workload::EVENT_DETAIL_TYPE)
            .detail(workload::event_detail(size, n))
            .build()
    };
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            // PutEvents is EventBridge's only way in: one event per call.
            for (n, size) in records.sizes() {
                client.put_events().entries(entry(n, size)).send().await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| Ok(entry(n, size)),
                |batch| async move {
                    let output = client.put_events().set_entries(Some(batch)).send().await?;
                    Ok(u64::try_from(output.failed_entry_count())?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let bus = EventBridgeBatchDispatcher::builder(EventBridgeBackend::default_bus(
                client.clone(),
            ))
            .config(config(max_in_flight))
            .build()?;
            failed = submit_all(&bus, records, |n, size| {
                let detail = workload::event_detail_value(size, n);
                Event::new(workload::EVENT_SOURCE, workload::EVENT_DETAIL_TYPE, detail)
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}
