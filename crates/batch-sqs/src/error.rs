//! A request that failed as a whole: which SQS operation, and the SDK's error.

use std::fmt;

use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::change_message_visibility_batch::ChangeMessageVisibilityBatchError;
use aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchError;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{Failure, classify_sdk_error};

/// A request to SQS that failed as a whole: which operation, and the SDK's error as its
/// [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct SqsRequestError(Operation);

#[derive(Debug)]
pub(crate) enum Operation {
    GetQueueUrl(SdkError<GetQueueUrlError, HttpResponse>),
    SendMessageBatch(SdkError<SendMessageBatchError, HttpResponse>),
    DeleteMessageBatch(SdkError<DeleteMessageBatchError, HttpResponse>),
    ChangeMessageVisibilityBatch(SdkError<ChangeMessageVisibilityBatchError, HttpResponse>),
}

impl SqsRequestError {
    pub(crate) fn new(operation: Operation) -> Self {
        Self(operation)
    }

    /// The SQS operation that failed, e.g. `SendMessageBatch`.
    #[must_use]
    pub fn operation(&self) -> &'static str {
        match &self.0 {
            Operation::GetQueueUrl(_) => "GetQueueUrl",
            Operation::SendMessageBatch(_) => "SendMessageBatch",
            Operation::DeleteMessageBatch(_) => "DeleteMessageBatch",
            Operation::ChangeMessageVisibilityBatch(_) => "ChangeMessageVisibilityBatch",
        }
    }

    /// What the engine makes of it.
    pub(crate) fn classify(&self) -> Failure {
        match &self.0 {
            Operation::GetQueueUrl(e) => classify_sdk_error(e),
            Operation::SendMessageBatch(e) => classify_sdk_error(e),
            Operation::DeleteMessageBatch(e) => classify_sdk_error(e),
            Operation::ChangeMessageVisibilityBatch(e) => classify_sdk_error(e),
        }
    }
}

impl fmt::Display for SqsRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation())
    }
}

impl std::error::Error for SqsRequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match &self.0 {
            Operation::GetQueueUrl(e) => e,
            Operation::SendMessageBatch(e) => e,
            Operation::DeleteMessageBatch(e) => e,
            Operation::ChangeMessageVisibilityBatch(e) => e,
        })
    }
}
