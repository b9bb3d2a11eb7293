//! CloudWatch metrics.

use aws_batch_utils::cloudwatch::{CloudWatchBackend, Metric, StatisticSet, Unit};
use aws_batch_utils::engine::Service;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{self, Invalid, in_argument, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// `CloudwatchBatchDispatcher(namespace, max_batch_size=1000, aggregate=False, **kwargs)`.
/// `aggregate=True` merges metrics of one name, dimensions, unit and minute into one datum
/// with values and counts.
#[pyclass(frozen, name = "CloudwatchBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct CloudwatchBatch {
    held: Held<CloudWatchBackend>,
}

fn number(value: &Bound<'_, PyAny>) -> Result<f64, Invalid> {
    value
        .extract::<f64>()
        .map_err(|_| Invalid::new("not a number"))
}

fn string(value: &Bound<'_, PyAny>) -> Result<String, Invalid> {
    value
        .extract::<String>()
        .map_err(|_| Invalid::new("not a str"))
}

/// Dimensions as the original takes them: one `{'Name': .., 'Value': ..}` dict, or a list of
/// them.
fn dimensions(value: &Bound<'_, PyAny>) -> Result<Vec<(String, String)>, Invalid> {
    let one = |dimension: &Bound<'_, PyAny>| -> Result<(String, String), Invalid> {
        let field = |name: &str| {
            dimension
                .get_item(name)
                .map_err(|_| Invalid::new("missing").at(name))
                .and_then(|value| convert::key_text(&value).map_err(|e| e.at(name)))
        };
        Ok((field("Name")?, field("Value")?))
    };
    if value.is_instance_of::<PyDict>() {
        return Ok(vec![one(value)?]);
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value.try_iter().map_err(|e| Invalid::new(e.to_string()))?;
        let mut out = Vec::new();
        for (i, item) in items.enumerate() {
            let item = item.map_err(|e| Invalid::new(e.to_string()))?;
            out.push(one(&item).map_err(|e| e.at(i.to_string()))?);
        }
        return Ok(out);
    }
    Err(Invalid::new("dimensions are a dict or a list of dicts"))
}

fn with_dimensions(mut metric: Metric, list: Vec<(String, String)>) -> Metric {
    for (name, value) in list {
        metric = metric.with_dimension(name, value);
    }
    metric
}

/// A MetricDatum dict, as PutMetricData takes it.
fn datum(payload: &Bound<'_, PyAny>) -> Result<Metric, Invalid> {
    let Ok(dict) = payload.cast::<PyDict>() else {
        return Err(Invalid::new("a metric datum is a dict"));
    };
    let get = |key: &str| dict.get_item(key).ok().flatten().filter(|v| !v.is_none());
    let name = get("MetricName").ok_or_else(|| Invalid::new("missing").at("MetricName"))?;
    let name = string(&name).map_err(|e| e.at("MetricName"))?;
    let mut metric = if let Some(value) = get("Value") {
        Metric::new(name, number(&value).map_err(|e| e.at("Value"))?)
    } else if let Some(values) = get("Values") {
        let values = values
            .extract::<Vec<f64>>()
            .map_err(|_| Invalid::new("a list of numbers").at("Values"))?;
        let counts = match get("Counts") {
            Some(counts) => counts
                .extract::<Vec<f64>>()
                .map_err(|_| Invalid::new("a list of numbers").at("Counts"))?,
            None => Vec::new(),
        };
        Metric::values(name, values, counts)
    } else if let Some(set) = get("StatisticValues") {
        let field = |key: &str| {
            set.get_item(key)
                .map_err(|_| Invalid::new("missing").at(key))
                .and_then(|v| number(&v).map_err(|e| e.at(key)))
                .map_err(|e| e.at("StatisticValues"))
        };
        let statistics = StatisticSet {
            sample_count: field("SampleCount")?,
            sum: field("Sum")?,
            minimum: field("Minimum")?,
            maximum: field("Maximum")?,
        };
        Metric::statistics(name, statistics)
    } else {
        return Err(Invalid::new("one of Value, Values or StatisticValues is needed").at("Value"));
    };
    if let Some(unit) = get("Unit") {
        metric = metric.with_unit(Unit::from(
            string(&unit).map_err(|e| e.at("Unit"))?.as_str(),
        ));
    }
    if let Some(list) = get("Dimensions") {
        metric = with_dimensions(metric, dimensions(&list).map_err(|e| e.at("Dimensions"))?);
    }
    if let Some(time) = get("Timestamp") {
        metric = metric.with_timestamp(convert::time(&time).map_err(|e| e.at("Timestamp"))?);
    }
    if let Some(resolution) = get("StorageResolution") {
        let seconds = resolution
            .extract::<i32>()
            .map_err(|_| Invalid::new("an int").at("StorageResolution"))?;
        metric = metric.with_storage_resolution(seconds);
    }
    Ok(metric)
}

dispatcher_methods!(CloudwatchBatch {
    #[new]
    #[pyo3(signature = (namespace, max_batch_size=1000, aggregate=false, **kwargs))]
    fn new(
        py: Python<'_>,
        namespace: String,
        max_batch_size: usize,
        aggregate: bool,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = CloudWatchBackend::client(&settings.sdk);
        let label = format!("CloudwatchBatchDispatcher::{namespace}");
        let backend = CloudWatchBackend::new(client, namespace).with_aggregate(aggregate);
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "cloudwatch", method: "put_metric_data" })?,
        })
    }

    /// Puts one value of `metric_name`. `timestamp`: a `datetime` (without a time zone:
    /// UTC) or seconds since 1970, default now; `dimensions`: one `{'Name', 'Value'}` dict or
    /// a list of them (see `cloudwatch_dimension`); `unit`: a CloudWatch unit name.
    #[pyo3(signature = (metric_name, value, timestamp=None, dimensions=None, unit="Count", storage_resolution=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn submit_metric(
        &self,
        py: Python<'_>,
        metric_name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
        dimensions: Option<&Bound<'_, PyAny>>,
        unit: &str,
        storage_resolution: Option<i32>,
    ) -> PyResult<()> {
        let metric = (|| {
            let name = string(metric_name).map_err(in_argument("MetricName"))?;
            let value = number(value).map_err(in_argument("Value"))?;
            let mut metric = Metric::new(name, value).with_unit(Unit::from(unit));
            if let Some(time) = timestamp.filter(|t| !t.is_none()) {
                metric = metric.with_timestamp(convert::time(time).map_err(in_argument("Timestamp"))?);
            }
            if let Some(list) = dimensions.filter(|d| !d.is_none()) {
                metric = with_dimensions(metric, self::dimensions(list).map_err(in_argument("Dimensions"))?);
            }
            if let Some(seconds) = storage_resolution {
                metric = metric.with_storage_resolution(seconds);
            }
            Ok(metric)
        })();
        // What comes back should the metric not be delivered: the MetricDatum it stands for.
        let datum = PyDict::new(py);
        datum.set_item("MetricName", metric_name)?;
        datum.set_item("Value", value)?;
        datum.set_item("Unit", unit)?;
        if let Some(time) = timestamp {
            datum.set_item("Timestamp", time)?;
        }
        if let Some(list) = dimensions {
            datum.set_item("Dimensions", list)?;
        }
        if let Some(seconds) = storage_resolution {
            datum.set_item("StorageResolution", seconds)?;
        }
        let metric = or_submit_error(py, datum.as_any(), metric)?;
        self.held.submit(py, metric, datum.as_any())
    }

    /// Puts a MetricDatum dict as PutMetricData takes it: `MetricName`, one of `Value`,
    /// `Values` (with `Counts`) or `StatisticValues`, and optionally `Unit`, `Dimensions`,
    /// `Timestamp`, `StorageResolution`.
    fn submit_payload(&self, py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<()> {
        let metric = or_submit_error(py, payload, datum(payload))?;
        self.held.submit(py, metric, payload)
    }
});
