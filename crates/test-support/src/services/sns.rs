//! SNS topics in the emulator, with an SQS queue subscribed.

use crate::env::unique_name;
use crate::services::sqs::{create_queue, queue_arn};

/// Creates a topic (FIFO when `fifo`) and a queue subscribed to it with raw delivery;
/// returns the topic's ARN and the queue's URL.
pub async fn create_topic_to_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    fifo: bool,
) -> (String, String) {
    let url = create_queue(sqs, fifo).await;
    let queue_arn = queue_arn(sqs, &url).await;
    let mut name = unique_name("topic");
    let mut topic = sns.create_topic();
    if fifo {
        name.push_str(".fifo");
        topic = topic.attributes("FifoTopic", "true");
    }
    let arn = topic
        .name(name)
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .expect("a topic ARN")
        .to_owned();
    sns.subscribe()
        .topic_arn(&arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("Subscribe");
    (arn, url)
}
