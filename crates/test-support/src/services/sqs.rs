//! SQS queues in the emulator: created, and their messages received.

use crate::env::unique_name;

/// The ARN of the queue at `url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN")
}

/// Creates a queue with a unique name (a FIFO queue when `fifo`) and returns its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, fifo: bool) -> String {
    let mut name = unique_name("queue");
    let mut request = client.create_queue();
    if fifo {
        name.push_str(".fifo");
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let output = request.queue_name(&name).send().await.expect("CreateQueue");
    output.queue_url().expect("a queue URL").to_owned()
}

/// Receives (and deletes, which frees a FIFO group for its next messages) until `expected`
/// messages arrived or the queue stays empty for three polls.
pub async fn receive_all(
    client: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut messages = Vec::new();
    let mut empty_polls = 0;
    while messages.len() < expected && empty_polls < 3 {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(600)
            .send()
            .await
            .expect("ReceiveMessage");
        let batch = output.messages.unwrap_or_default();
        if batch.is_empty() {
            empty_polls += 1;
            continue;
        }
        let mut delete = client.delete_message_batch().queue_url(url);
        for (i, message) in batch.iter().enumerate() {
            let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .build()
                .expect("a delete entry");
            delete = delete.entries(entry);
        }
        delete.send().await.expect("DeleteMessageBatch");
        messages.extend(batch);
    }
    messages
}

/// Receives `expected` messages (see [`receive_all`]) whose bodies are JSON objects with a
/// number `n`, and returns those numbers sorted.
pub async fn received_numbers(
    client: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<u64> {
    let mut numbers: Vec<u64> = receive_all(client, url, expected)
        .await
        .iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(m.body()?).ok())
        .filter_map(|body| body["n"].as_u64())
        .collect();
    numbers.sort_unstable();
    numbers
}
