//! EventBridge buses in the emulator, with a rule that sends to an SQS queue.

use crate::env::unique_name;
use crate::services::sqs::{create_queue, queue_arn};

/// Creates an event bus whose rule sends the events of `source` to a new queue; returns the
/// bus's name and the queue's URL.
pub async fn create_bus_to_queue(
    events: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    source: &str,
) -> (String, String) {
    use aws_sdk_eventbridge::types::Target;
    let url = create_queue(sqs, false).await;
    let arn = queue_arn(sqs, &url).await;
    let bus = unique_name("bus");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");
    let pattern = serde_json::json!({ "source": [source] }).to_string();
    events
        .put_rule()
        .name("to-queue")
        .event_bus_name(&bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("PutRule");
    let target = Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .expect("a target");
    events
        .put_targets()
        .rule("to-queue")
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("PutTargets");
    (bus, url)
}
