//! Partial batch responses: which input records of an SQS, Kinesis or DynamoDB Streams
//! event to report as failed, from what the dispatchers handed back.

use std::collections::BTreeSet;

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use batch_core::{ScopeFlush, Unprocessed};
use serde::{Deserialize, Serialize};

/// How Lambda reads a partial batch response for the event source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// SQS: every listed message is retried, the others deleted.
    Queue,
    /// Kinesis and DynamoDB Streams: Lambda retries from the lowest listed sequence number
    /// on, so only the first failed record is listed.
    Stream,
}

/// The input records of one invocation and which of them failed, for a partial batch
/// response (the event source mapping's `ReportBatchItemFailures`).
///
/// Submit the records made from input record `i` with tag `i`
/// ([`submit_tagged`](batch_core::Dispatcher::submit_tagged) or a
/// [`Scope`](batch_core::Scope)'s), hand what the flush returns to
/// [`fail_unprocessed`](Self::fail_unprocessed), mark inputs that could not be submitted at
/// all with [`fail`](Self::fail), and return [`response`](Self::response).
///
/// - For SQS the response lists exactly the messages with a record not delivered: Lambda
///   deletes the others and makes these visible again.
/// - For Kinesis and DynamoDB Streams it lists the failed record with the lowest sequence
///   number: Lambda checkpoints before it and sends it and every later record of the batch
///   again (it would do so from the lowest of any list), so later records may arrive twice.
///
/// ```
/// use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
/// use batch_lambda::PartialBatch;
///
/// let mut event = SqsEvent::default();
/// for id in ["m-1", "m-2", "m-3"] {
///     let mut message = SqsMessage::default();
///     message.message_id = Some(id.to_owned());
///     event.records.push(message);
/// }
/// let mut batch = PartialBatch::sqs(&event);
/// batch.fail(1);
/// let response = serde_json::to_value(batch.response()).unwrap();
/// assert_eq!(response, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]}));
/// ```
#[derive(Debug, Clone)]
pub struct PartialBatch {
    source: Source,
    ids: Vec<String>,
    failed: BTreeSet<usize>,
}

impl PartialBatch {
    /// The messages of an SQS event, by message id.
    #[must_use]
    pub fn sqs(event: &SqsEvent) -> Self {
        let ids = event
            .records
            .iter()
            .map(|message| message.message_id.clone().unwrap_or_default())
            .collect();
        Self::queue(ids)
    }

    /// The records of a Kinesis event, by sequence number.
    #[must_use]
    pub fn kinesis(event: &KinesisEvent) -> Self {
        let ids = event
            .records
            .iter()
            .map(|record| record.kinesis.sequence_number.clone())
            .collect();
        Self::stream(ids)
    }

    /// The records of a DynamoDB Streams event, by sequence number.
    #[must_use]
    pub fn dynamodb(event: &DynamoDbEvent) -> Self {
        let ids = event
            .records
            .iter()
            .map(|record| record.change.sequence_number.clone().unwrap_or_default())
            .collect();
        Self::stream(ids)
    }

    /// Queue messages by their ids, in the event's order.
    #[must_use]
    pub fn queue(ids: Vec<String>) -> Self {
        Self {
            source: Source::Queue,
            ids,
            failed: BTreeSet::new(),
        }
    }

    /// Stream records by their sequence numbers, in the event's order.
    #[must_use]
    pub fn stream(sequence_numbers: Vec<String>) -> Self {
        Self {
            source: Source::Stream,
            ids: sequence_numbers,
            failed: BTreeSet::new(),
        }
    }

    /// Input records in the event.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the event had no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Marks input record `index` failed (one that could not be parsed or submitted). An
    /// index past the end is ignored with a warning.
    pub fn fail(&mut self, index: usize) {
        if index < self.ids.len() {
            self.failed.insert(index);
        } else {
            tracing::warn!(
                index,
                records = self.ids.len(),
                "no input record at this index"
            );
        }
    }

    /// Marks failed the input record of each payload handed back, by its tag. A payload
    /// without a tag fails the whole batch (every input), since it cannot be tied to one.
    pub fn fail_unprocessed<P>(&mut self, unprocessed: &[Unprocessed<P>]) {
        for item in unprocessed {
            self.fail_tag(item.tag);
        }
    }

    /// Marks failed the input records of what a scope's
    /// [`flush_within`](batch_core::Scope::flush_within) did not deliver: its undelivered
    /// payloads, and those still in flight when its time ran out (Lambda sends them again;
    /// one that was delivered meanwhile arrives twice).
    pub fn fail_flush<P>(&mut self, flush: &ScopeFlush<P>) {
        self.fail_unprocessed(&flush.unprocessed);
        for tag in &flush.in_flight {
            self.fail_tag(*tag);
        }
    }

    fn fail_tag(&mut self, tag: Option<u64>) {
        match tag.and_then(|tag| usize::try_from(tag).ok()) {
            Some(index) => self.fail(index),
            None => {
                tracing::warn!(
                    "an undelivered payload has no tag: every input record is reported failed"
                );
                self.failed.extend(0..self.ids.len());
            }
        }
    }

    /// Indexes of the input records marked failed, in order.
    pub fn failed(&self) -> impl Iterator<Item = usize> + '_ {
        self.failed.iter().copied()
    }

    /// The response for Lambda.
    #[must_use]
    pub fn response(&self) -> BatchResponse {
        let failed: Vec<usize> = match self.source {
            Source::Queue => self.failed.iter().copied().collect(),
            Source::Stream => self
                .failed
                .iter()
                .copied()
                .min_by(|a, b| by_number(&self.ids[*a], &self.ids[*b]))
                .into_iter()
                .collect(),
        };
        BatchResponse {
            batch_item_failures: failed
                .into_iter()
                .map(|index| BatchItemFailure {
                    item_identifier: self.ids[index].clone(),
                })
                .collect(),
        }
    }
}

/// Orders sequence numbers (decimal strings of any length) as numbers.
fn by_number(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A partial batch response: `{"batchItemFailures": [{"itemIdentifier": ...}]}`, the same
/// shape for SQS, Kinesis and DynamoDB Streams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The input records reported failed.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One input record reported failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// Its SQS message id or stream sequence number.
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_reports_its_lowest_failed_sequence_number_as_a_number() {
        let mut batch = PartialBatch::stream(vec!["900".into(), "1000".into(), "0999".into()]);
        batch.fail(1);
        batch.fail(2);
        let ids: Vec<_> = batch
            .response()
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        assert_eq!(ids, vec!["0999".to_owned()]);
        batch.fail(0);
        assert_eq!(
            batch.response().batch_item_failures[0].item_identifier,
            "900"
        );
    }

    #[test]
    fn a_queue_reports_every_failed_message_and_ignores_an_index_past_the_end() {
        let mut batch = PartialBatch::queue(vec!["a".into(), "b".into(), "c".into()]);
        batch.fail(2);
        batch.fail(7);
        assert_eq!(batch.failed().collect::<Vec<_>>(), vec![2]);
        assert!(
            PartialBatch::queue(vec![])
                .response()
                .batch_item_failures
                .is_empty()
        );
    }
}
