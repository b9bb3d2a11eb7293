//! DynamoDB tables: puts of Python dicts, and deletes by key.

use aws_batch_utils::dynamodb::{DynamoBackend, DynamoWrite};
use aws_batch_utils::engine::Service;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::convert::{self, Invalid, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// `DynamoBatchDispatcher(dynamo_table_name, partition_key, sort_key=None,
/// partition_key_data_type=str, max_batch_size=25, **kwargs)`. Items are dicts of Python
/// values, stored as boto3 stores them (`Decimal`, int and float as numbers, `bytes` as
/// binary, sets as string, number or binary sets). Two writes to one item in a batch: the
/// later one is sent.
#[pyclass(frozen, name = "DynamoBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct DynamoBatch {
    held: Held<DynamoBackend>,
    partition_key: String,
    partition_key_data_type: Py<PyType>,
}

dispatcher_methods!(DynamoBatch {
    #[new]
    #[pyo3(signature = (dynamo_table_name, partition_key, sort_key=None, partition_key_data_type=None, max_batch_size=25, **kwargs))]
    fn new(
        py: Python<'_>,
        dynamo_table_name: String,
        partition_key: String,
        sort_key: Option<String>,
        partition_key_data_type: Option<Py<PyType>>,
        max_batch_size: usize,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, Some(max_batch_size), kwargs)?;
        let client = DynamoBackend::client(&settings.sdk);
        let label = format!("DynamoBatchDispatcher::{dynamo_table_name}");
        let mut backend = DynamoBackend::new(client, dynamo_table_name, partition_key.clone())
            .with_capacity_read(settings.in_fleet);
        if let Some(sort_key) = sort_key {
            backend = backend.with_sort_key(sort_key);
        }
        let partition_key_data_type = match partition_key_data_type {
            Some(kind) => kind,
            None => py.get_type::<pyo3::types::PyString>().unbind(),
        };
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "dynamodb", method: "batch_write_item" })?,
            partition_key,
            partition_key_data_type,
        })
    }

    /// Puts the item `payload` (a dict; the caller's dict is not changed). With
    /// `partition_key_location`, the item's partition key is
    /// `partition_key_data_type(payload[partition_key_location])`.
    #[pyo3(signature = (payload, partition_key_location=None))]
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        partition_key_location: Option<&str>,
    ) -> PyResult<()> {
        let mut item = or_submit_error(py, payload, convert::item(payload))?;
        if let Some(location) = partition_key_location {
            let key = payload
                .get_item(location)
                .ok()
                .filter(|value| !value.is_none())
                .ok_or_else(|| Invalid::new("the partition key location is missing").at(location));
            let key = or_submit_error(py, payload, key)?;
            let key = self
                .partition_key_data_type
                .bind(py)
                .call1((key,))
                .map_err(|e| Invalid::new(e.to_string()).at(location))
                .and_then(|key| convert::attribute(&key).map_err(|e| e.at(location)));
            let key = or_submit_error(py, payload, key)?;
            item.insert(self.partition_key.clone(), key);
        }
        self.held.submit(py, DynamoWrite::put(item), payload)
    }

    /// Deletes the item with the key `key` (a dict of the key attributes).
    fn submit_delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let attributes = or_submit_error(py, key, convert::item(key))?;
        self.held.submit(py, DynamoWrite::delete(attributes), key)
    }
});
