//! rpcv2Cbor (the Rust SDK's CloudWatch).

use hyper::StatusCode;

use super::{Answer, respond};

pub(crate) const CONTENT_TYPE: &str = "application/cbor";
/// An empty CBOR map: a success without fields.
pub(crate) const EMPTY_MAP: [u8; 1] = [0xa0];

/// The text field `field` of each map in the array `list` of the request's top map.
pub(crate) fn texts_in(body: &[u8], list: &str, field: &str) -> Vec<String> {
    let top = ciborium::de::from_reader::<ciborium::Value, _>(body).ok();
    let items = top
        .and_then(|value| {
            value.into_map().ok()?.into_iter().find_map(|(key, value)| {
                (key.as_text() == Some(list)).then(|| value.into_array().unwrap_or_default())
            })
        })
        .unwrap_or_default();
    items
        .into_iter()
        .map(|item| {
            let fields = item.into_map().unwrap_or_default();
            fields
                .into_iter()
                .find_map(|(key, value)| {
                    (key.as_text() == Some(field)).then(|| value.into_text().unwrap_or_default())
                })
                .unwrap_or_default()
        })
        .collect()
}

/// A throttling answer, its code in the body.
pub(crate) fn throttled(code: &str) -> Answer {
    let error = ciborium::Value::Map(vec![
        (
            ciborium::Value::Text("__type".into()),
            ciborium::Value::Text(code.into()),
        ),
        (
            ciborium::Value::Text("message".into()),
            ciborium::Value::Text("Rate exceeded".into()),
        ),
    ]);
    let mut bytes = Vec::new();
    let _ = ciborium::ser::into_writer(&error, &mut bytes);
    respond(StatusCode::BAD_REQUEST, CONTENT_TYPE, bytes)
}

/// A success without fields.
pub(crate) fn ok() -> Answer {
    respond(StatusCode::OK, CONTENT_TYPE, EMPTY_MAP.to_vec())
}
