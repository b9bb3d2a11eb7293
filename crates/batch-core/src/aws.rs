//! What every service crate shares about AWS: the classification of SDK errors, and bounded
//! reads of a destination's own settings.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::catch::CatchUnwind;
use crate::failure::{Failure, FailureKind, codes};

/// Classifies a failed SDK call: timeouts, connection failures, unreadable responses,
/// throttling, 5xx and 429 answers may succeed later; anything else (validation, missing
/// resource, access denied) cannot. The code is the modeled AWS error code where there is one.
pub fn classify_sdk_error<E>(error: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
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
                        codes::UNKNOWN.to_owned()
                    } else {
                        name.to_owned()
                    }
                },
                str::to_owned,
            );
            let message = err.message().map_or_else(|| err.to_string(), str::to_owned);
            let status = service.raw().status().as_u16();
            Failure::new(FailureKind::of(&code, Some(status)), code, message)
        }
        SdkError::TimeoutError(_) => transient(codes::TIMEOUT, error),
        SdkError::DispatchFailure(_) => transient(codes::DISPATCH_FAILURE, error),
        SdkError::ResponseError(_) => transient(codes::RESPONSE_ERROR, error),
        SdkError::ConstructionFailure(_) => {
            Failure::permanent(codes::CONSTRUCTION_FAILURE, own_words(error))
        }
        _ => Failure::permanent(codes::UNKNOWN, own_words(error)),
    }
}

fn transient(code: &str, error: &(dyn StdError + 'static)) -> Failure {
    Failure::new(FailureKind::Transient, code, own_words(error))
}

/// What the error itself says, without its causes: they stay in the failure's `source`,
/// where a reporter that walks the chain finds each once.
fn own_words(error: &(dyn StdError + 'static)) -> String {
    error.to_string()
}

/// How long a backend waits for a destination's own setting (a queue's or topic's largest
/// message, a stream's shards) before going on with the dispatcher's limits: a destination
/// that does not answer must not hold `submit` for ever. A real answer takes milliseconds.
pub const SETTING_READ_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `read` (the read of one setting of `destination`) for at most
/// [`SETTING_READ_WAIT`]; `None` when it failed, did not finish in time, or panicked (a
/// mocked client without a rule for the call): a setting that cannot be read never fails
/// a payload, the dispatcher goes on with its defaults.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let never = std::future::pending::<Option<usize>>();
/// assert_eq!(batch_core::read_setting("queue q", never).await, None);
/// assert_eq!(batch_core::read_setting("queue q", async { Some(7) }).await, Some(7));
/// let panics = async { panic!("no rule for GetQueueAttributes") };
/// assert_eq!(batch_core::read_setting::<usize>("queue q", panics).await, None);
/// # }
/// ```
pub async fn read_setting<T>(
    destination: &str,
    read: impl std::future::Future<Output = Option<T>>,
) -> Option<T> {
    let read = CatchUnwind(Box::pin(read));
    match tokio::time::timeout(SETTING_READ_WAIT, read).await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => {
            tracing::warn!(
                destination,
                panic,
                "the read of a setting panicked; going on with the dispatcher's limits"
            );
            None
        }
        Err(_) => {
            tracing::info!(
                destination,
                wait_s = SETTING_READ_WAIT.as_secs(),
                "no answer to the read of a setting; going on with the dispatcher's limits"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::unprocessed::{DeliveryError, UnprocessedReason};

    #[derive(Debug)]
    struct Modeled(ErrorMetadata);

    impl fmt::Display for Modeled {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.0.code().unwrap_or("Modeled"))
        }
    }

    impl StdError for Modeled {}

    impl ProvideErrorMetadata for Modeled {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service_error(code: &str, status: u16) -> SdkError<Modeled, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("said the service")
            .build();
        let status = status
            .try_into()
            .unwrap_or_else(|_| unreachable!("a valid status"));
        SdkError::service_error(Modeled(meta), HttpResponse::new(status, SdkBody::empty()))
    }

    #[test]
    fn kinds_follow_codes_and_statuses() {
        let kind = |code, status| classify_sdk_error(&service_error(code, status)).kind;
        assert_eq!(kind("ThrottlingException", 400), FailureKind::Throttling);
        assert_eq!(kind("SlowDown", 503), FailureKind::Throttling);
        assert_eq!(kind("Whatever", 429), FailureKind::Throttling);
        assert_eq!(kind("InternalFailure", 500), FailureKind::Transient);
        assert_eq!(kind("Boom", 502), FailureKind::Server);
        assert_eq!(kind("AccessDeniedException", 400), FailureKind::Client);
        let refused: SdkError<Modeled, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        let failure = classify_sdk_error(&refused);
        assert_eq!(
            (failure.code.as_str(), failure.kind),
            (codes::DISPATCH_FAILURE, FailureKind::Transient)
        );
    }

    #[test]
    fn the_chain_is_told_once() {
        let refused: SdkError<Modeled, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        let failure = classify_sdk_error(&refused).with_source(refused);
        let error = DeliveryError {
            reason: UnprocessedReason::RetriesExhausted,
            failure,
            attempts: 3,
        };
        let mut told = vec![error.to_string()];
        let mut source = StdError::source(&error);
        while let Some(cause) = source {
            told.push(cause.to_string());
            source = cause.source();
        }
        let all = told.join(" / ");
        assert_eq!(all.matches("connection refused").count(), 1, "{all}");
    }
}
