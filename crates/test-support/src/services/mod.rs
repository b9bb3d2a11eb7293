//! Per-service fixtures: destinations created in the emulators, and what they hold read back.

#[cfg(feature = "cloudwatch")]
mod cloudwatch;
#[cfg(feature = "cloudwatch")]
pub use cloudwatch::*;
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "dynamodb")]
pub use dynamodb::*;
#[cfg(feature = "eventbridge")]
mod eventbridge;
#[cfg(feature = "eventbridge")]
pub use eventbridge::*;
#[cfg(feature = "firehose")]
mod firehose;
#[cfg(feature = "firehose")]
pub use firehose::*;
#[cfg(feature = "kinesis")]
mod kinesis;
#[cfg(feature = "kinesis")]
pub use kinesis::*;
#[cfg(feature = "logs")]
mod logs;
#[cfg(feature = "logs")]
pub use logs::*;
#[cfg(feature = "sns")]
mod sns;
#[cfg(feature = "sns")]
pub use sns::*;
#[cfg(feature = "sqs")]
mod sqs;
#[cfg(feature = "sqs")]
pub use sqs::*;
