//! Python values to what the Rust side sends, exactly: JSON text (ints of any size and
//! `Decimal`s written as they print, floats as Python's `repr`), DynamoDB attribute values,
//! times. A value that cannot be sent is an [`Invalid`] naming where it is.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple, PyType,
};

use crate::held::submit_error;

/// A value that cannot be sent: where it is (a JSON pointer into the payload) and why.
#[derive(Debug)]
pub(crate) struct Invalid {
    /// The argument the value came in, when not the payload.
    argument: Option<String>,
    /// Keys from the value up to the payload or argument (innermost first).
    path: Vec<String>,
    reason: String,
}

impl Invalid {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            argument: None,
            path: Vec::new(),
            reason: reason.into(),
        }
    }

    pub(crate) fn at(mut self, key: impl Into<String>) -> Self {
        self.path.push(key.into());
        self
    }

    /// The field, as the Rust side names a place in a payload: a top-level field by its
    /// name (`user`), a nested one by a JSON pointer (`/user/id`), the whole payload as
    /// `payload`; in an argument, its name and the place within (`MessageAttributes/kind`).
    pub(crate) fn field(&self) -> String {
        let start = match (&self.argument, self.path.as_slice()) {
            (Some(argument), _) => argument.clone(),
            (None, []) => return "payload".into(),
            (None, [field]) => return field.clone(),
            (None, _) => String::new(),
        };
        self.path.iter().rev().fold(start, |mut field, key| {
            field.push('/');
            field.push_str(&key.replace('~', "~0").replace('/', "~1"));
            field
        })
    }

    /// As the Python exception, carrying `payload`.
    pub(crate) fn into_err(self, py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyErr {
        let field = self.field();
        let reason = format!("{field}: {}", self.reason);
        submit_error(py, &field, &reason, payload)
    }
}

/// Converts with `convert` and turns a refusal into the exception carrying `payload`.
pub(crate) fn or_submit_error<T>(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    converted: Result<T, Invalid>,
) -> PyResult<T> {
    converted.map_err(|invalid| invalid.into_err(py, payload))
}

fn decimal_type(py: Python<'_>) -> Result<&Bound<'_, PyType>, Invalid> {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    DECIMAL
        .import(py, "decimal", "Decimal")
        .map_err(|e| Invalid::new(format!("the decimal module: {e}")))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "object".into(), |name| name.to_string())
}

fn text(value: &Bound<'_, PyAny>) -> Result<String, Invalid> {
    value
        .str()
        .and_then(|text| text.extract::<String>())
        .map_err(|e| Invalid::new(e.to_string()))
}

/// A number's text when it is finite: an int, a `Decimal` or a float (`repr`).
fn number_text(value: &Bound<'_, PyAny>) -> Result<Option<String>, Invalid> {
    let py = value.py();
    if value.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    if value.is_instance_of::<PyInt>() {
        return text(value).map(Some);
    }
    if value.is_instance_of::<PyFloat>() {
        let float: f64 = value
            .extract()
            .map_err(|e: PyErr| Invalid::new(e.to_string()))?;
        if !float.is_finite() {
            return Err(Invalid::new(format!(
                "{float} is not a number JSON or AWS can hold"
            )));
        }
        let repr = value.repr().and_then(|r| r.extract::<String>());
        return repr.map(Some).map_err(|e| Invalid::new(e.to_string()));
    }
    if value
        .is_instance(decimal_type(py)?.as_any())
        .unwrap_or(false)
    {
        let finite = value
            .call_method0("is_finite")
            .and_then(|f| f.is_truthy())
            .unwrap_or(false);
        if !finite {
            return Err(Invalid::new(format!(
                "Decimal('{}') is not a number JSON or AWS can hold",
                text(value)?
            )));
        }
        return text(value).map(Some);
    }
    Ok(None)
}

/// `value` as compact JSON text.
pub(crate) fn json(value: &Bound<'_, PyAny>) -> Result<Vec<u8>, Invalid> {
    let mut out = Vec::with_capacity(256);
    write_json(value, &mut out)?;
    Ok(out)
}

fn write_str(text: &str, out: &mut Vec<u8>) -> Result<(), Invalid> {
    serde_json::to_writer(out, text).map_err(|e| Invalid::new(e.to_string()))
}

fn write_json(value: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> Result<(), Invalid> {
    if value.is_none() {
        out.extend_from_slice(b"null");
    } else if value.is_instance_of::<PyBool>() {
        out.extend_from_slice(if value.is_truthy().unwrap_or(false) {
            b"true"
        } else {
            b"false"
        });
    } else if let Ok(text) = value.cast::<PyString>() {
        let text: String = text
            .extract()
            .map_err(|e| Invalid::new(format!("a string that is not valid Unicode: {e}")))?;
        write_str(&text, out)?;
    } else if let Ok(dict) = value.cast::<PyDict>() {
        out.push(b'{');
        for (i, (key, item)) in dict.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Ok(key) = key.extract::<String>() else {
                return Err(Invalid::new(format!(
                    "a key that is not a string ({})",
                    type_name(&key)
                )));
            };
            write_str(&key, out)?;
            out.push(b':');
            write_json(&item, out).map_err(|e| e.at(key))?;
        }
        out.push(b'}');
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        out.push(b'[');
        let items = value.try_iter().map_err(|e| Invalid::new(e.to_string()))?;
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let item = item.map_err(|e| Invalid::new(e.to_string()))?;
            write_json(&item, out).map_err(|e| e.at(i.to_string()))?;
        }
        out.push(b']');
    } else if let Some(number) = number_text(value)? {
        out.extend_from_slice(number.as_bytes());
    } else {
        return Err(Invalid::new(format!(
            "a {} cannot be written as JSON",
            type_name(value)
        )));
    }
    Ok(())
}

/// A DynamoDB item: a dict of attribute names to values.
pub(crate) fn item(value: &Bound<'_, PyAny>) -> Result<HashMap<String, AttributeValue>, Invalid> {
    let Ok(dict) = value.cast::<PyDict>() else {
        return Err(Invalid::new(format!(
            "an item is a dict, not a {}",
            type_name(value)
        )));
    };
    let mut item = HashMap::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let Ok(key) = key.extract::<String>() else {
            return Err(Invalid::new(format!(
                "an attribute name that is not a string ({})",
                type_name(&key)
            )));
        };
        let attribute = attribute(&value).map_err(|e| e.at(key.clone()))?;
        item.insert(key, attribute);
    }
    Ok(item)
}

/// A DynamoDB attribute value, as boto3's serializer maps Python types (floats taken as
/// their `repr`, which boto3 refuses).
pub(crate) fn attribute(value: &Bound<'_, PyAny>) -> Result<AttributeValue, Invalid> {
    if value.is_none() {
        return Ok(AttributeValue::Null(true));
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(AttributeValue::Bool(value.is_truthy().unwrap_or(false)));
    }
    // Strings first: most attributes are, and they need no look at the number types.
    if value.is_instance_of::<PyString>() {
        let text: String = value
            .extract()
            .map_err(|e| Invalid::new(format!("a string that is not valid Unicode: {e}")))?;
        return Ok(AttributeValue::S(text));
    }
    if let Some(number) = number_text(value)? {
        return Ok(AttributeValue::N(number));
    }
    if let Some(bytes) = bytes(value) {
        return Ok(AttributeValue::B(Blob::new(bytes)));
    }
    if value.is_instance_of::<PyDict>() {
        return item(value).map(AttributeValue::M);
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value.try_iter().map_err(|e| Invalid::new(e.to_string()))?;
        let mut list = Vec::new();
        for (i, entry) in items.enumerate() {
            let entry = entry.map_err(|e| Invalid::new(e.to_string()))?;
            list.push(attribute(&entry).map_err(|e| e.at(i.to_string()))?);
        }
        return Ok(AttributeValue::L(list));
    }
    if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
        return set(value);
    }
    Err(Invalid::new(format!(
        "a {} cannot be stored in DynamoDB",
        type_name(value)
    )))
}

fn bytes(value: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Some(bytes.as_bytes().to_vec());
    }
    value.cast::<PyByteArray>().ok().map(|bytes| bytes.to_vec())
}

/// A set of strings, numbers or bytes (DynamoDB's SS, NS, BS; it has no empty set).
fn set(value: &Bound<'_, PyAny>) -> Result<AttributeValue, Invalid> {
    let (mut strings, mut numbers, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
    let items = value.try_iter().map_err(|e| Invalid::new(e.to_string()))?;
    for entry in items {
        let entry = entry.map_err(|e| Invalid::new(e.to_string()))?;
        if let Some(number) = number_text(&entry)? {
            numbers.push(number);
        } else if let Ok(text) = entry.extract::<String>() {
            strings.push(text);
        } else if let Some(bytes) = bytes(&entry) {
            blobs.push(Blob::new(bytes));
        } else {
            return Err(Invalid::new(format!(
                "a set of {} cannot be stored in DynamoDB",
                type_name(&entry)
            )));
        }
    }
    match (strings.is_empty(), numbers.is_empty(), blobs.is_empty()) {
        (false, true, true) => Ok(AttributeValue::Ss(strings)),
        (true, false, true) => Ok(AttributeValue::Ns(numbers)),
        (true, true, false) => Ok(AttributeValue::Bs(blobs)),
        (true, true, true) => Err(Invalid::new("DynamoDB has no empty set")),
        _ => Err(Invalid::new(
            "a set mixes strings, numbers and bytes; DynamoDB sets hold one kind",
        )),
    }
}

/// A point in time: a `datetime` (one without a time zone is UTC, as botocore takes it) or
/// seconds since 1970.
pub(crate) fn time(value: &Bound<'_, PyAny>) -> Result<SystemTime, Invalid> {
    let py = value.py();
    let seconds: f64 = if value.hasattr("tzinfo").unwrap_or(false) {
        let aware = if value.getattr("tzinfo").is_ok_and(|tz| tz.is_none()) {
            let utc = py
                .import("datetime")
                .and_then(|m| m.getattr("timezone"))
                .and_then(|tz| tz.getattr("utc"))
                .map_err(|e| Invalid::new(e.to_string()))?;
            let kwargs = PyDict::new(py);
            kwargs
                .set_item("tzinfo", utc)
                .map_err(|e| Invalid::new(e.to_string()))?;
            value
                .call_method("replace", (), Some(&kwargs))
                .map_err(|e| Invalid::new(e.to_string()))?
        } else {
            value.clone()
        };
        aware
            .call_method0("timestamp")
            .and_then(|t| t.extract())
            .map_err(|e| Invalid::new(e.to_string()))?
    } else {
        value
            .extract()
            .map_err(|_| Invalid::new(format!("a {} is not a time", type_name(value))))?
    };
    let offset = Duration::try_from_secs_f64(seconds.abs())
        .map_err(|e| Invalid::new(format!("{seconds} s: {e}")))?;
    let time = if seconds >= 0.0 {
        SystemTime::UNIX_EPOCH.checked_add(offset)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(offset)
    };
    time.ok_or_else(|| Invalid::new(format!("{seconds} s is out of range")))
}

/// Text for a field that takes a string: a `str` as it is, a number as it prints.
pub(crate) fn key_text(value: &Bound<'_, PyAny>) -> Result<String, Invalid> {
    if value.is_instance_of::<PyString>() {
        return value
            .extract()
            .map_err(|e: PyErr| Invalid::new(e.to_string()));
    }
    match number_text(value)? {
        Some(number) => Ok(number),
        None => Err(Invalid::new(format!(
            "a {} is not a key (a string or a number)",
            type_name(value)
        ))),
    }
}

/// Places `invalid` in the argument `name`.
pub(crate) fn in_argument(name: &str) -> impl Fn(Invalid) -> Invalid + '_ {
    move |mut invalid| {
        invalid.argument = Some(name.to_owned());
        invalid
    }
}
