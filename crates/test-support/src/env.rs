//! Where the emulators are, and SDK configurations that talk to them.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_types::SdkConfig;

/// The emulator endpoint of `service` (`sqs`, `kinesis`, `dynamodb`, `cloudwatch`).
///
/// # Panics
///
/// When no emulator is known: tests that need one fail with the command that starts it.
#[must_use]
pub fn endpoint(service: &str) -> String {
    let var = format!("AWS_BATCH_ENDPOINT_{}", service.to_uppercase());
    if let Ok(url) = std::env::var(&var) {
        return url;
    }
    let file = std::env::var_os("AWS_BATCH_EMULATOR_FILE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.emulator/endpoints"),
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(name, _)| *name == service)
        .map(|(_, url)| url.to_owned())
        .unwrap_or_else(|| {
            panic!(
                "no {service} emulator: run `cargo xtask test`, or `cargo xtask emulator start` \
                 (SQS, Kinesis, DynamoDB), or set {var}"
            )
        })
}

/// The Python of the project's virtualenv (boto3, moto, aws-kinesis-agg), which `cargo
/// xtask` installs; `AWS_BATCH_PYTHON` overrides it.
///
/// # Panics
///
/// When it is not installed: tests that need it fail with the command that installs it.
#[must_use]
pub fn python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("AWS_BATCH_PYTHON") {
        return python.into();
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.emulator/venv/bin/python");
    assert!(
        python.exists(),
        "no {}: run `cargo xtask emulator start` to install it, or set AWS_BATCH_PYTHON",
        python.display()
    );
    python
}

/// An `SdkConfig` for the emulator of `service`: plain HTTP on loopback, dummy credentials,
/// region us-east-1.
pub async fn sdk_config(service: &str) -> SdkConfig {
    sdk_config_at(&endpoint(service)).await
}

/// SDK settings for a local endpoint at `url` (an emulator or the null endpoint): test
/// credentials, us-east-1, plain HTTP.
pub async fn sdk_config_at(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await
}

/// A resource name no other test or run uses: `prefix`, the time, the process id and a counter.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    format!("{prefix}-{millis}-{}-{n}", std::process::id())
}
