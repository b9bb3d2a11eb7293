//! The keyword arguments every constructor takes: where and as whom to connect (what users
//! pass to `boto3.client` today), and the engine's settings.

use aws_batch_utils::DynamoDbCoordinator;
use aws_batch_utils::engine::{DispatcherConfig, RetryPolicy};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The connection and the engine settings of one dispatcher.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) sdk: SdkConfig,
    pub(crate) config: DispatcherConfig,
    /// The fleet the dispatcher shares its destination's quota with, if named.
    pub(crate) coordinator: Option<DynamoDbCoordinator>,
    /// Whether `fleet_size` is above 1: a destination whose rate can be read (a DynamoDB
    /// table's write capacity) then reads it, to start at its share.
    pub(crate) in_fleet: bool,
}

/// What the `fleet_*` keyword arguments name: a coordination table in DynamoDB.
#[derive(Default)]
struct Fleet {
    table: Option<String>,
    name: Option<String>,
    quota: Option<f64>,
    endpoint_url: Option<String>,
}

impl Fleet {
    /// The coordinator of the table, its DynamoDB client the dispatcher's but for the
    /// endpoint: `fleet_endpoint_url`, or DynamoDB's own, never the destination's.
    fn coordinator(self, sdk: &SdkConfig) -> PyResult<Option<DynamoDbCoordinator>> {
        let Some(table) = self.table else {
            if self.name.is_some() || self.quota.is_some() || self.endpoint_url.is_some() {
                return Err(PyValueError::new_err(
                    "fleet_name, fleet_quota and fleet_endpoint_url go with fleet_table",
                ));
            }
            return Ok(None);
        };
        let coordinator =
            DynamoDbCoordinator::from_sdk_config(sdk, self.endpoint_url, &table, self.name);
        Ok(Some(match self.quota {
            Some(quota) if quota.is_finite() && quota > 0.0 => coordinator.with_quota(quota),
            Some(quota) => {
                return Err(PyValueError::new_err(format!(
                    "fleet_quota must be a number of records a second above 0, not {quota}"
                )));
            }
            None => coordinator,
        }))
    }
}

/// Reads `max_batch_size` and the keyword arguments, and loads the AWS configuration: the
/// standard chain (environment, profiles, the container or instance role), with what the
/// arguments name put first.
///
/// Arguments: `endpoint_url`, `region_name`, `aws_access_key_id`, `aws_secret_access_key`,
/// `aws_session_token` (as `boto3.client` takes them), `config` (a botocore `Config`:
/// accepted and not used, the dispatcher retries and paces by itself), `max_in_flight`
/// (requests at once), `max_attempts` (per payload, for failures other than throttling),
/// `fleet_size` (writers started together on the destination's quota, this one included:
/// Spark tasks, an array job's copies; a DynamoDB table's write capacity is then read with
/// DescribeTable, to start at its share), `fleet_table` with `fleet_name`, `fleet_quota` and
/// `fleet_endpoint_url` (writers sharing the quota through a coordination table in
/// DynamoDB: see `batch_dynamodb::DynamoDbCoordinator`).
pub(crate) fn read(
    py: Python<'_>,
    max_batch_size: Option<usize>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Settings> {
    let mut config = DispatcherConfig::default();
    if let Some(size) = max_batch_size {
        config = config.max_entries(size);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    let (mut key_id, mut secret, mut token) = (None, None, None);
    let mut fleet = Fleet::default();
    let mut in_fleet = false;
    if let Some(kwargs) = kwargs {
        for (name, value) in kwargs.iter() {
            let name: String = name.extract()?;
            if value.is_none() {
                continue;
            }
            match name.as_str() {
                "endpoint_url" => loader = loader.endpoint_url(value.extract::<String>()?),
                "region_name" => loader = loader.region(Region::new(value.extract::<String>()?)),
                "aws_access_key_id" => key_id = Some(value.extract::<String>()?),
                "aws_secret_access_key" => secret = Some(value.extract::<String>()?),
                "aws_session_token" => token = Some(value.extract::<String>()?),
                "config" => {}
                "max_in_flight" => config = config.max_in_flight(value.extract()?),
                "fleet_size" => {
                    let n: usize = value.extract()?;
                    in_fleet = n > 1;
                    config = config.fleet_size(n);
                }
                "fleet_table" => fleet.table = Some(value.extract()?),
                "fleet_name" => fleet.name = Some(value.extract()?),
                "fleet_quota" => fleet.quota = Some(value.extract()?),
                "fleet_endpoint_url" => fleet.endpoint_url = Some(value.extract()?),
                "max_attempts" => {
                    config = config.retry(RetryPolicy::default().max_attempts(value.extract()?));
                }
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "unexpected keyword argument '{other}'"
                    )));
                }
            }
        }
    }
    match (key_id, secret) {
        (Some(id), Some(secret)) => {
            let credentials = Credentials::new(id, secret, token, None, "keyword arguments");
            loader = loader.credentials_provider(credentials);
        }
        (None, None) => {}
        _ => {
            return Err(PyValueError::new_err(
                "aws_access_key_id and aws_secret_access_key go together",
            ));
        }
    }
    let runtime = crate::runtime()?;
    let sdk = py.detach(|| runtime.block_on(loader.load()));
    let coordinator = fleet.coordinator(&sdk)?;
    Ok(Settings {
        sdk,
        config,
        coordinator,
        in_fleet,
    })
}

/// A configuration error as Python sees it: `max_batch_size` is the name users know for the
/// entry limit.
pub(crate) fn config_error(err: &aws_batch_utils::engine::ConfigError) -> PyErr {
    let text = err.to_string().replace("max_entries", "max_batch_size");
    PyValueError::new_err(text)
}
