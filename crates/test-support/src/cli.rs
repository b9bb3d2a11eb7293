//! The `aws-batch` command as a child process, pointed at an endpoint.

use std::path::Path;

use crate::env::endpoint;

/// The `aws-batch` command at `binary`, pointed at the emulator of `service`: region
/// us-east-1, dummy credentials, no instance metadata lookups, summary as JSON.
pub fn aws_batch(binary: &Path, service: &str) -> std::process::Command {
    aws_batch_at(binary, &endpoint(service))
}

/// The `aws-batch` command at `binary`, pointed at `url` (an emulator or the null endpoint),
/// as [`aws_batch`] sets it up.
pub fn aws_batch_at(binary: &Path, url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .args(["--json", "--region", "us-east-1", "--endpoint-url", url])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}
