//! Classification of AWS SDK errors, shared by every service crate.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::backend::Failure;

/// Error codes AWS services use for throttling. A later attempt may get through.
///
/// Source: the AWS SDK's standard retry classifier (`aws-runtime`, `THROTTLING_ERRORS`) and
/// the service API references; checked 2026-11-23.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "KMSThrottlingException",
    "KmsThrottled",
];

/// Error codes of service-side faults that a later attempt may get past.
///
/// Source: the AWS SDK's standard retry classifier (`TRANSIENT_ERRORS`); checked 2026-11-23.
pub const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Whether an AWS error code names a failure that a later attempt may get past.
///
/// ```
/// assert!(batch_core::is_retryable_code("ThrottlingException"));
/// assert!(!batch_core::is_retryable_code("AccessDeniedException"));
/// ```
#[must_use]
pub fn is_retryable_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)
}

/// Classifies a failed SDK call: timeouts, connection failures, unreadable responses,
/// throttling, 5xx and 429 answers may succeed later; anything else (validation, missing
/// resource, access denied) cannot. The code is the modeled AWS error code where there is one.
pub fn classify_sdk_error<E>(error: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let context = || DisplayErrorContext(error).to_string();
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            // A modeled error always has a code on the wire; without one, the error's own
            // name (the start of its Display, e.g. `InvalidParameterValueException: ...`).
            let code = err.code().map_or_else(
                || {
                    let shown = err.to_string();
                    let name = shown.split(':').next().unwrap_or_default();
                    if name.is_empty() || name.contains(char::is_whitespace) {
                        "Unknown".to_owned()
                    } else {
                        name.to_owned()
                    }
                },
                str::to_owned,
            );
            let message = err.message().map_or_else(context, str::to_owned);
            let status = service.raw().status().as_u16();
            let retryable = is_retryable_code(&code) || status >= 500 || status == 429;
            Failure {
                code,
                message,
                retryable,
                source: None,
            }
        }
        SdkError::TimeoutError(_) => Failure::retryable("TimeoutError", context()),
        SdkError::DispatchFailure(_) => Failure::retryable("DispatchFailure", context()),
        SdkError::ResponseError(_) => Failure::retryable("ResponseError", context()),
        SdkError::ConstructionFailure(_) => Failure::permanent("ConstructionFailure", context()),
        _ => Failure::permanent("Unknown", context()),
    }
}
