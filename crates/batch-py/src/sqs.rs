//! SQS queues (standard, FIFO, deletes) and SNS topics: the message rules are SQS's.

use aws_batch_utils::engine::Service;
use aws_batch_utils::sns::{FifoTopic, SnsBackend, SnsMessage, StandardTopic};
use aws_batch_utils::sqs::{
    Delete, FifoDeduplication, FifoQueue, MessageAttribute, SqsBackend, SqsConsumerBackend,
    SqsMessage, StandardQueue,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::convert::{self, Invalid, in_argument, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// The body the original sends: the payload as JSON text.
fn json_body(payload: &Bound<'_, PyAny>) -> Result<String, Invalid> {
    let json = convert::json(payload)?;
    // JSON text written from Python strings is UTF-8.
    String::from_utf8(json).map_err(|e| Invalid::new(e.to_string()))
}

/// Message attributes: a dict of names to a `str` (String), a number (Number) or `bytes`
/// (Binary).
fn attributes(
    attributes: Option<&Bound<'_, PyDict>>,
) -> Result<Vec<(String, MessageAttribute)>, Invalid> {
    let Some(attributes) = attributes else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(attributes.len());
    for (name, value) in attributes.iter() {
        let name: String = name
            .extract()
            .map_err(|_| Invalid::new("an attribute name that is not a string"))?;
        let attribute = if let Ok(bytes) = value.cast::<PyBytes>() {
            MessageAttribute::Binary(bytes.as_bytes().to_vec())
        } else if let Ok(text) = value.extract::<String>() {
            MessageAttribute::String(text)
        } else {
            let number = convert::key_text(&value).map_err(|e| e.at(name.clone()))?;
            MessageAttribute::Number(number)
        };
        out.push((name, attribute));
    }
    Ok(out)
}

fn attributes_of(
    message_attributes: Option<&Bound<'_, PyDict>>,
) -> Result<Vec<(String, MessageAttribute)>, Invalid> {
    attributes(message_attributes).map_err(in_argument("MessageAttributes"))
}

/// The SQS message of `payload` (as JSON text) with the fields standard and FIFO queues share.
fn sqs_message(
    payload: &Bound<'_, PyAny>,
    message_id: Option<String>,
    message_attributes: Option<&Bound<'_, PyDict>>,
) -> Result<SqsMessage, Invalid> {
    let mut message = SqsMessage::text(json_body(payload)?);
    if let Some(id) = message_id {
        message = message.with_id(id);
    }
    for (name, value) in attributes_of(message_attributes)? {
        message = message.with_attribute(name, value);
    }
    Ok(message)
}

/// `SQSBatchDispatcher(queue_name, max_batch_size=10, **kwargs)`: a standard queue, by
/// name or URL. Keyword arguments: `endpoint_url`, `region_name`, credentials,
/// `max_in_flight`, `max_attempts`.
#[pyclass(frozen, name = "SQSBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct SqsBatch {
    held: Held<SqsBackend<StandardQueue>>,
}

dispatcher_methods!(SqsBatch {
    #[new]
    #[pyo3(signature = (queue_name, max_batch_size=10, **kwargs))]
    fn new(
        py: Python<'_>,
        queue_name: String,
        max_batch_size: usize,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = SqsBackend::<StandardQueue>::client(&settings.sdk);
        let label = format!("SQSBatchDispatcher::{queue_name}");
        let backend = SqsBackend::new(client, queue_name);
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "sqs", method: "send_message_batch" })?,
        })
    }

    /// Queues `payload` (sent as JSON text). `message_id` is the batch entry id (made up
    /// when not given), `delay_seconds` 0 to 900, `message_attributes` a dict of names to
    /// str, number or bytes values.
    #[pyo3(signature = (payload, message_id=None, delay_seconds=None, message_attributes=None))]
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        message_id: Option<String>,
        delay_seconds: Option<i64>,
        message_attributes: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let message = (|| {
            let mut message = sqs_message(payload, message_id, message_attributes)?;
            if let Some(delay) = delay_seconds {
                let delay = u32::try_from(delay)
                    .map_err(|_| Invalid::new(format!("{delay} is below 0")))
                    .map_err(in_argument("DelaySeconds"))?;
                message = message.with_delay_seconds(delay);
            }
            Ok(message)
        })();
        let message = or_submit_error(py, payload, message)?;
        self.held.submit(py, message, payload)
    }
});

/// `SQSFifoBatchDispatcher(queue_name, max_batch_size=10, content_based_deduplication=False,
/// **kwargs)`: a FIFO queue. A message without a deduplication id gets the SHA-256 of its
/// body as one, unless the queue deduplicates by content itself
/// (`content_based_deduplication=True`: no id is sent).
#[pyclass(frozen, name = "SQSFifoBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct SqsFifoBatch {
    held: Held<SqsBackend<FifoQueue>>,
}

fn deduplication(content_based: bool) -> FifoDeduplication {
    if content_based {
        FifoDeduplication::ContentBased
    } else {
        FifoDeduplication::ContentHash
    }
}

dispatcher_methods!(SqsFifoBatch {
    #[new]
    #[pyo3(signature = (queue_name, max_batch_size=10, content_based_deduplication=false, **kwargs))]
    fn new(
        py: Python<'_>,
        queue_name: String,
        max_batch_size: usize,
        content_based_deduplication: bool,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = SqsBackend::<FifoQueue>::client(&settings.sdk);
        let label = format!("SQSFifoBatchDispatcher::{queue_name}");
        let backend = SqsBackend::fifo(client, queue_name)
            .with_deduplication(deduplication(content_based_deduplication));
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "sqs", method: "send_message_batch" })?,
        })
    }

    /// Queues `payload` (sent as JSON text) in `message_group_id` (the original's default
    /// group, `unset`, serialises the whole queue: name a group per ordering key).
    #[pyo3(signature = (payload, message_id=None, message_group_id="unset", message_deduplication_id=None, message_attributes=None))]
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        message_id: Option<String>,
        message_group_id: &str,
        message_deduplication_id: Option<String>,
        message_attributes: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let message = (|| {
            let mut message = sqs_message(payload, message_id, message_attributes)?
                .with_message_group_id(message_group_id);
            if let Some(id) = message_deduplication_id {
                message = message.with_deduplication_id(id);
            }
            Ok(message)
        })();
        let message = or_submit_error(py, payload, message)?;
        self.held.submit(py, message, payload)
    }
});

/// `SQSDeleteDispatcher(queue_name, **kwargs)`: deletes received messages by receipt
/// handle, ten to a request.
#[pyclass(frozen, name = "SQSDeleteDispatcher", module = "aws_batch_utils")]
pub(crate) struct SqsDelete {
    held: Held<SqsConsumerBackend<Delete>>,
}

dispatcher_methods!(SqsDelete {
    #[new]
    #[pyo3(signature = (queue_name, **kwargs))]
    fn new(
        py: Python<'_>,
        queue_name: String,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, None, kwargs)?;
        let client = SqsBackend::<StandardQueue>::client(&settings.sdk);
        let label = format!("SQSDeleteDispatcher::{queue_name}");
        let backend = SqsConsumerBackend::new(client, queue_name);
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "sqs", method: "delete_message_batch" })?,
        })
    }

    /// Deletes the message received with `receipt_handle`.
    fn submit_payload(&self, py: Python<'_>, receipt_handle: &Bound<'_, PyAny>) -> PyResult<()> {
        let handle: String = or_submit_error(
            py,
            receipt_handle,
            receipt_handle
                .extract()
                .map_err(|_| Invalid::new("a receipt handle is a str"))
                .map_err(in_argument("ReceiptHandle")),
        )?;
        self.held.submit(py, handle, receipt_handle)
    }
});

/// `SNSBatchDispatcher(topic_arn, max_batch_size=10, content_based_deduplication=False,
/// maximum_message_size=None, **kwargs)`: a topic; FIFO when its ARN ends in `.fifo`. The
/// topic's largest message is read from it unless `maximum_message_size` is given.
#[pyclass(frozen, name = "SNSBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct SnsBatch {
    held: Topic,
}

/// A standard or a FIFO topic's dispatcher, as the ARN says.
enum Topic {
    Standard(Held<SnsBackend<StandardTopic>>),
    Fifo(Held<SnsBackend<FifoTopic>>),
}

impl Topic {
    fn submit(
        &self,
        py: Python<'_>,
        message: SnsMessage,
        original: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        match self {
            Self::Standard(held) => held.submit(py, message, original),
            Self::Fifo(held) => held.submit(py, message, original),
        }
    }

    fn flush(&self, py: Python<'_>, timeout: Option<f64>, details: bool) -> PyResult<Py<PyList>> {
        match self {
            Self::Standard(held) => held.flush(py, timeout, details),
            Self::Fifo(held) => held.flush(py, timeout, details),
        }
    }

    fn flush_awaitable<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        details: bool,
        exit: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Self::Standard(held) => held.flush_awaitable(py, timeout, details, exit),
            Self::Fifo(held) => held.flush_awaitable(py, timeout, details, exit),
        }
    }

    fn unprocessed(&self, py: Python<'_>) -> Py<PyList> {
        match self {
            Self::Standard(held) => held.unprocessed(py),
            Self::Fifo(held) => held.unprocessed(py),
        }
    }

    fn failures(&self, py: Python<'_>) -> Py<PyList> {
        match self {
            Self::Standard(held) => held.failures(py),
            Self::Fifo(held) => held.failures(py),
        }
    }

    fn boto3(&self) -> Boto3Names {
        match self {
            Self::Standard(held) => held.boto3(),
            Self::Fifo(held) => held.boto3(),
        }
    }

    fn max_batch_size(&self) -> PyResult<usize> {
        match self {
            Self::Standard(held) => held.max_batch_size(),
            Self::Fifo(held) => held.max_batch_size(),
        }
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match self {
            Self::Standard(held) => held.stats(py),
            Self::Fifo(held) => held.stats(py),
        }
    }

    fn label(&self) -> &str {
        match self {
            Self::Standard(held) => held.label(),
            Self::Fifo(held) => held.label(),
        }
    }
}

dispatcher_methods!(SnsBatch {
    #[new]
    #[pyo3(signature = (topic_arn, max_batch_size=10, content_based_deduplication=false, maximum_message_size=None, **kwargs))]
    fn new(
        py: Python<'_>,
        topic_arn: String,
        max_batch_size: usize,
        content_based_deduplication: bool,
        maximum_message_size: Option<usize>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = SnsBackend::<StandardTopic>::client(&settings.sdk);
        let label = format!("SNSBatchDispatcher::{topic_arn}");
        let held = if topic_arn.ends_with(".fifo") {
            let mut backend = SnsBackend::fifo(client, topic_arn)
                .with_deduplication(deduplication(content_based_deduplication));
            if let Some(bytes) = maximum_message_size {
                backend = backend.with_maximum_message_size(bytes);
            }
            Topic::Fifo(Held::build(py, backend, &settings, label, Boto3Names { service: "sns", method: "publish_batch" })?)
        } else {
            let mut backend = SnsBackend::new(client, topic_arn);
            if let Some(bytes) = maximum_message_size {
                backend = backend.with_maximum_message_size(bytes);
            }
            Topic::Standard(Held::build(py, backend, &settings, label, Boto3Names { service: "sns", method: "publish_batch" })?)
        };
        Ok(Self { held })
    }

    /// Publishes `payload`: a `str` as it is, anything else as JSON text.
    #[pyo3(signature = (payload, message_id=None, subject=None, message_group_id=None, message_deduplication_id=None, message_attributes=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        message_id: Option<String>,
        subject: Option<String>,
        message_group_id: Option<String>,
        message_deduplication_id: Option<String>,
        message_attributes: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let message = (|| {
            let body = match payload.extract::<String>() {
                Ok(text) => text,
                Err(_) => json_body(payload)?,
            };
            let mut message = SnsMessage::text(body);
            if let Some(id) = message_id {
                message = message.with_id(id);
            }
            if let Some(subject) = subject {
                message = message.with_subject(subject);
            }
            if let Some(group) = message_group_id {
                message = message.with_message_group_id(group);
            }
            if let Some(id) = message_deduplication_id {
                message = message.with_deduplication_id(id);
            }
            for (name, value) in attributes_of(message_attributes)? {
                message = message.with_attribute(name, value);
            }
            Ok(message)
        })();
        let message = or_submit_error(py, payload, message)?;
        self.held.submit(py, message, payload)
    }
});
