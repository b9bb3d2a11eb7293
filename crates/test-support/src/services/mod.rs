//! Per-service fixtures: destinations created in the emulators, and what they hold read back.

#[cfg(feature = "cloudwatch")]
pub(crate) mod cloudwatch;
#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
#[cfg(feature = "eventbridge")]
pub(crate) mod eventbridge;
#[cfg(feature = "firehose")]
pub(crate) mod firehose;
#[cfg(feature = "kinesis")]
pub(crate) mod kinesis;
#[cfg(feature = "sns")]
pub(crate) mod sns;
#[cfg(feature = "sqs")]
pub(crate) mod sqs;
