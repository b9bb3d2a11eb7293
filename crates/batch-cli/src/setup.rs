//! Checks made before the first line is read: files that must differ, and an AWS
//! configuration that can send (endpoint, region, credentials). Each failure is one clear
//! message and exit code 2.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

use crate::Error;
use crate::cli::Common;
use crate::output::same_file;

/// How long the credential chain may take (instance metadata lookups included).
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(20);

/// Refuses file arguments that would destroy the input or lose failures; `export` when the
/// input is a table export rather than `--input`.
pub(crate) fn check_paths(common: &Common, export: bool) -> Result<(), Error> {
    let input = common.input.as_ref().filter(|p| p.as_os_str() != "-");
    if let (Some(input), Some(unprocessed)) = (input, &common.unprocessed)
        && same_file(input, unprocessed)
    {
        return Err(format!(
            "--unprocessed {} is the input file: writing it would destroy the input; \
             name another file (e.g. {}.retry)",
            unprocessed.display(),
            unprocessed.display()
        )
        .into());
    }
    if let Some(checkpoint) = &common.checkpoint {
        if input.is_none() && !export {
            return Err("--checkpoint needs --input FILE: standard input cannot be resumed".into());
        }
        let Some(unprocessed) = &common.unprocessed else {
            return Err(
                "--checkpoint needs --unprocessed FILE: failures before a crash \
                        would be lost otherwise"
                    .into(),
            );
        };
        if input.is_some_and(|input| same_file(checkpoint, input))
            || same_file(checkpoint, unprocessed)
        {
            return Err(format!(
                "--checkpoint {} must be a file of its own",
                checkpoint.display()
            )
            .into());
        }
    }
    Ok(())
}

/// The SDK settings, checked: an endpoint URL that parses, a region, and credentials.
pub(crate) async fn sdk_config(common: &Common) -> Result<SdkConfig, Error> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &common.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &common.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &common.endpoint_url {
        check_endpoint(endpoint)?;
        loader = loader.endpoint_url(endpoint);
    }
    let profile = common
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    if let Some(profile) = &profile {
        check_profile(profile).await?;
    }
    // The dispatcher retries and paces; SDK retries would hide throttling from it.
    let sdk = aws_batch_utils::engine::without_sdk_retries(&loader.load().await);
    let credentials = sdk
        .credentials_provider()
        .ok_or("no AWS credentials provider")?;
    let found = tokio::time::timeout(CREDENTIALS_TIMEOUT, credentials.provide_credentials())
        .await
        .map_err(|_| {
            format!(
                "no AWS credentials within {}s (environment, profile, SSO, container or \
                 instance metadata)",
                CREDENTIALS_TIMEOUT.as_secs()
            )
        })?;
    if let Err(e) = found {
        let profile = profile
            .map(|p| format!(" for profile `{p}`"))
            .unwrap_or_default();
        return Err(format!("no AWS credentials{profile}: {}", chain(&e)).into());
    }
    if sdk.region().is_none() {
        return Err(
            "no AWS region: pass --region, set AWS_REGION, or set one in the profile".into(),
        );
    }
    Ok(sdk)
}

/// Refuses a profile that no AWS config or credentials file defines.
async fn check_profile(name: &str) -> Result<(), Error> {
    use aws_runtime::env_config::file::EnvConfigFiles as ProfileFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &ProfileFiles::default(),
        Some(name.to_owned().into()),
    )
    .await
    .map_err(|e| {
        format!(
            "profile `{name}`: the AWS config files do not parse: {}",
            chain(&e)
        )
    })?;
    if profiles.get_profile(name).is_none() {
        return Err(format!(
            "profile `{name}` is not defined in the AWS config or credentials file \
             (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
        )
        .into());
    }
    Ok(())
}

/// An error and its sources, each said once.
fn chain(error: &dyn std::error::Error) -> String {
    crate::output::with_causes(error.to_string(), error.source())
}

/// An endpoint the SDK can send to: http or https, with a host.
fn check_endpoint(endpoint: &str) -> Result<(), Error> {
    let bad = |why: String| format!("--endpoint-url `{endpoint}`: {why}");
    let url = url::Url::parse(endpoint).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ))
        .into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        assert!(check_endpoint("http://127.0.0.1:4566").is_ok());
        assert!(check_endpoint("https://sqs.eu-west-1.amazonaws.com").is_ok());
        for bad in [
            "localhost:4566",
            "ftp://x",
            "http//x",
            "not a url",
            "http://",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
