//! The metric type and its validation.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::StandardUnit;
use batch_core::SubmitErrorKind;

/// A statistic set: the summary of many samples taken by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatisticSet {
    /// Number of samples.
    pub sample_count: f64,
    /// Sum of the samples.
    pub sum: f64,
    /// Smallest sample.
    pub minimum: f64,
    /// Largest sample.
    pub maximum: f64,
}

/// What a metric carries: one value, values with counts, or a statistic set.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetricValue {
    /// One value.
    Single(f64),
    /// Up to 150 distinct values, each with how often it occurred (an empty `counts` means
    /// once each).
    Values {
        /// The values.
        values: Vec<f64>,
        /// How often each value occurred; empty, or as long as `values`.
        counts: Vec<f64>,
    },
    /// A statistic set.
    Statistics(StatisticSet),
}

/// One metric for PutMetricData.
///
/// ```
/// use std::time::SystemTime;
/// use batch_cloudwatch::{Metric, Unit};
///
/// let latency = Metric::new("Latency", 12.5)
///     .with_unit(Unit::Milliseconds)
///     .with_dimension("Service", "checkout")
///     .with_timestamp(SystemTime::now())
///     .with_storage_resolution(1);
/// assert_eq!(latency.name(), "Latency");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub(crate) name: String,
    pub(crate) value: MetricValue,
    pub(crate) unit: StandardUnit,
    pub(crate) dimensions: Vec<(String, String)>,
    pub(crate) timestamp: Option<SystemTime>,
    pub(crate) storage_resolution: Option<i32>,
}

impl Metric {
    /// A metric with one value, unit `Count`, no dimensions, stamped when submitted.
    #[must_use]
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Self::of_value(name.into(), MetricValue::Single(value))
    }

    /// A metric with values and how often each occurred.
    #[must_use]
    pub fn values(name: impl Into<String>, values: Vec<f64>, counts: Vec<f64>) -> Self {
        Self::of_value(name.into(), MetricValue::Values { values, counts })
    }

    /// A metric with a statistic set.
    #[must_use]
    pub fn statistics(name: impl Into<String>, statistics: StatisticSet) -> Self {
        Self::of_value(name.into(), MetricValue::Statistics(statistics))
    }

    fn of_value(name: String, value: MetricValue) -> Self {
        Self {
            name,
            value,
            unit: StandardUnit::Count,
            dimensions: Vec::new(),
            timestamp: None,
            storage_resolution: None,
        }
    }

    /// The unit. Default `Count`.
    #[must_use]
    pub fn with_unit(mut self, unit: StandardUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Adds a dimension (at most 30; name 1-255, value 1-1024 characters).
    #[must_use]
    pub fn with_dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// The time of the measurement (UTC, as every `SystemTime`). Default: when submitted.
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Storage resolution in seconds: 1 (high resolution) or 60 (the default).
    #[must_use]
    pub fn with_storage_resolution(mut self, seconds: i32) -> Self {
        self.storage_resolution = Some(seconds);
        self
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value.
    #[must_use]
    pub fn value(&self) -> &MetricValue {
        &self.value
    }

    /// The unit.
    #[must_use]
    pub fn unit(&self) -> &StandardUnit {
        &self.unit
    }

    /// The storage resolution in seconds, if one was given.
    #[must_use]
    pub fn storage_resolution(&self) -> Option<i32> {
        self.storage_resolution
    }

    /// The dimensions, in the order given.
    #[must_use]
    pub fn dimensions(&self) -> &[(String, String)] {
        &self.dimensions
    }

    /// The timestamp, if one was given.
    #[must_use]
    pub fn timestamp(&self) -> Option<SystemTime> {
        self.timestamp
    }
}

/// Limits of one metric. Source: CloudWatch API reference, PutMetricData and MetricDatum,
/// and the CloudWatch quotas page; checked 2026-11-23.
pub mod limits {
    /// Values (and counts) per metric.
    pub const MAX_VALUES: usize = 150;
    /// Dimensions per metric.
    pub const MAX_DIMENSIONS: usize = 30;
    /// Characters of a metric or dimension name.
    pub const MAX_NAME_CHARS: usize = 255;
    /// Characters of a dimension value.
    pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
    /// Largest magnitude of a value: 2^360 (exact: a power of two).
    #[allow(clippy::cast_precision_loss)]
    pub const MAX_MAGNITUDE: f64 =
        (1_u128 << 120) as f64 * (1_u128 << 120) as f64 * (1_u128 << 120) as f64;
    /// Smallest non-zero magnitude of a value: 2^-360.
    pub const MIN_MAGNITUDE: f64 = 1.0 / MAX_MAGNITUDE;
    /// How far in the past a timestamp may be.
    pub const MAX_AGE_SECONDS: u64 = 14 * 24 * 3600;
    /// How far in the future a timestamp may be.
    pub const MAX_AHEAD_SECONDS: u64 = 2 * 3600;
}

fn out_of_range(
    field: impl Into<String>,
    value: impl ToString,
    allowed: impl Into<String>,
) -> SubmitErrorKind {
    SubmitErrorKind::OutOfRange {
        field: field.into().into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

/// `field` is written out only for an error: most metrics pass.
fn check_chars(
    field: impl std::fmt::Display,
    text: &str,
    max: usize,
) -> Result<(), SubmitErrorKind> {
    // No more bytes than the limit allows characters: no need to count them.
    if !text.is_empty() && text.len() <= max {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(out_of_range(
            field.to_string(),
            format!("{chars} characters"),
            format!("1 to {max} characters"),
        ));
    }
    Ok(())
}

fn check_value(field: &str, value: f64) -> Result<(), SubmitErrorKind> {
    if valid_value(value) {
        Ok(())
    } else {
        Err(value_out_of_range(field, value))
    }
}

fn value_out_of_range(field: &str, value: f64) -> SubmitErrorKind {
    out_of_range(
        field,
        value,
        "0, or a finite magnitude from 2^-360 to 2^360",
    )
}

/// 0, or a finite magnitude CloudWatch accepts (a NaN or an infinity is outside the range).
#[allow(clippy::manual_range_contains)] // `contains` branches; see below
fn valid_value(value: f64) -> bool {
    // `&` and `|`, not `&&` and `||`: no branch in a list's check (a third fewer
    // instructions for a metric's values).
    let magnitude = value.abs();
    (value == 0.0) | ((magnitude >= limits::MIN_MAGNITUDE) & (magnitude <= limits::MAX_MAGNITUDE))
}

/// Finite and not negative (a NaN is outside the range).
#[allow(clippy::manual_range_contains)] // as in `valid_value`
fn valid_count(count: f64) -> bool {
    (count >= 0.0) & (count <= f64::MAX)
}

/// Checks a metric against CloudWatch's rules; `now` is the time of submission.
pub(crate) fn check(metric: &Metric, now: SystemTime) -> Result<(), SubmitErrorKind> {
    check_chars("MetricName", &metric.name, limits::MAX_NAME_CHARS)?;
    match &metric.value {
        MetricValue::Single(value) => check_value("Value", *value)?,
        MetricValue::Values { values, counts } => {
            if values.is_empty() || values.len() > limits::MAX_VALUES {
                return Err(out_of_range(
                    "Values",
                    format!("{} values", values.len()),
                    format!("1 to {}", limits::MAX_VALUES),
                ));
            }
            if !counts.is_empty() && counts.len() != values.len() {
                return Err(SubmitErrorKind::Invalid {
                    field: "Counts".into(),
                    reason: format!(
                        "has {} counts for {} values; give one per value, or none",
                        counts.len(),
                        values.len()
                    ),
                });
            }
            // Every value is checked without stopping at the first bad one, which lets the
            // compiler check several at a time; the bad one is only looked for when there is one.
            if !values
                .iter()
                .fold(true, |all, &value| all & valid_value(value))
                && let Some(&bad) = values.iter().find(|&&value| !valid_value(value))
            {
                return Err(value_out_of_range("Values", bad));
            }
            if !counts
                .iter()
                .fold(true, |all, &count| all & valid_count(count))
                && let Some(bad) = counts.iter().find(|&&count| !valid_count(count))
            {
                return Err(out_of_range("Counts", bad, "finite and not negative"));
            }
        }
        MetricValue::Statistics(set) => {
            for (field, value) in [
                ("StatisticValues.SampleCount", set.sample_count),
                ("StatisticValues.Sum", set.sum),
                ("StatisticValues.Minimum", set.minimum),
                ("StatisticValues.Maximum", set.maximum),
            ] {
                check_value(field, value)?;
            }
            if set.sample_count <= 0.0 {
                return Err(out_of_range(
                    "StatisticValues.SampleCount",
                    set.sample_count,
                    "above 0",
                ));
            }
            if set.minimum > set.maximum {
                return Err(SubmitErrorKind::Invalid {
                    field: "StatisticValues.Minimum".into(),
                    reason: "is above the maximum".into(),
                });
            }
        }
    }
    // The SDK makes a unit it does not know `Unknown`, and knows exactly CloudWatch's units
    // (`StandardUnit::values()`): one comparison instead of a search of that list.
    #[allow(deprecated)]
    let unknown_unit = matches!(metric.unit, StandardUnit::Unknown(_));
    if unknown_unit {
        return Err(SubmitErrorKind::Invalid {
            field: "Unit".into(),
            reason: format!("`{}` is not a CloudWatch unit", metric.unit.as_str()),
        });
    }
    if metric.dimensions.len() > limits::MAX_DIMENSIONS {
        return Err(out_of_range(
            "Dimensions",
            format!("{} dimensions", metric.dimensions.len()),
            format!("0 to {}", limits::MAX_DIMENSIONS),
        ));
    }
    for (name, value) in &metric.dimensions {
        check_chars("Dimensions.Name", name, limits::MAX_NAME_CHARS)?;
        check_chars(
            format_args!("Dimensions.{name}"),
            value,
            limits::MAX_DIMENSION_VALUE_CHARS,
        )?;
    }
    if let Some(resolution) = metric.storage_resolution.filter(|r| *r != 1 && *r != 60) {
        return Err(out_of_range("StorageResolution", resolution, "1 or 60"));
    }
    if let Some(timestamp) = metric.timestamp {
        let too_old = now
            .checked_sub(Duration::from_secs(limits::MAX_AGE_SECONDS))
            .is_some_and(|oldest| timestamp < oldest);
        let too_new = timestamp > now + Duration::from_secs(limits::MAX_AHEAD_SECONDS);
        if too_old || too_new {
            return Err(SubmitErrorKind::OutOfRange {
                field: "Timestamp".into(),
                value: format!("{timestamp:?}"),
                allowed: "from two weeks ago to two hours ahead".into(),
            });
        }
    }
    Ok(())
}
