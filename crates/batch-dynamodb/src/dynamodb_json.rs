//! DynamoDB JSON: the typed form of an item that table exports, streams and the AWS CLI
//! write (`{"id": {"S": "a-1"}, "n": {"N": "103"}}`), to and from attribute maps. Numbers
//! stay the exact text they were; binary values are base64.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

/// A DynamoDB JSON value that is not one: where it is, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DynamoDB JSON at `{path}`: {message}")]
pub struct DynamoJsonError {
    /// The attribute, e.g. `order.lines[2].sku`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// The attribute map a DynamoDB JSON item holds.
///
/// ```
/// use batch_dynamodb::dynamodb_json::{from_dynamodb_json, to_dynamodb_json};
///
/// let typed = serde_json::json!({"id": {"S": "a-1"}, "total": {"N": "12.30"}, "tags": {"SS": ["x"]}});
/// let item = from_dynamodb_json(&typed)?;
/// assert_eq!(item["total"].as_n().map(String::as_str), Ok("12.30"));
/// assert_eq!(to_dynamodb_json(&item), typed);
/// # Ok::<(), batch_dynamodb::dynamodb_json::DynamoJsonError>(())
/// ```
///
/// # Errors
///
/// When `item` is not an object of typed values, naming the attribute.
pub fn from_dynamodb_json(
    item: &Value,
) -> Result<HashMap<String, AttributeValue>, DynamoJsonError> {
    let Value::Object(fields) = item else {
        return Err(error(String::new(), "an item is an object of attributes"));
    };
    fields
        .iter()
        .map(|(name, value)| Ok((name.clone(), attribute(value, name.clone())?)))
        .collect()
}

/// The DynamoDB JSON of an attribute map.
#[must_use]
pub fn to_dynamodb_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), typed(value)))
            .collect(),
    )
}

fn error(path: String, message: impl Into<String>) -> DynamoJsonError {
    DynamoJsonError {
        path,
        message: message.into(),
    }
}

fn attribute(value: &Value, path: String) -> Result<AttributeValue, DynamoJsonError> {
    let Value::Object(typed) = value else {
        return Err(error(
            path,
            "a value is an object of one type, e.g. {\"S\": \"text\"}",
        ));
    };
    let mut entries = typed.iter();
    let (Some((kind, inner)), None) = (entries.next(), entries.next()) else {
        return Err(error(
            path,
            format!("a value has exactly one type, not {}", typed.len()),
        ));
    };
    let text = |inner: &Value| match inner {
        Value::String(s) => Ok(s.clone()),
        _ => Err(error(path.clone(), format!("{kind} holds a string"))),
    };
    let list = |inner: &Value| match inner {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(error(path.clone(), format!("{kind} holds a list"))),
    };
    let binary = |inner: &Value, at: &str| {
        let Value::String(encoded) = inner else {
            return Err(error(at.to_owned(), "B holds base64 text"));
        };
        aws_smithy_types::base64::decode(encoded)
            .map(Blob::new)
            .map_err(|e| error(at.to_owned(), format!("B is not base64: {e}")))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text(inner)?),
        "N" => AttributeValue::N(text(inner)?),
        "B" => AttributeValue::B(binary(inner, &path)?),
        "BOOL" => match inner {
            Value::Bool(b) => AttributeValue::Bool(*b),
            _ => return Err(error(path, "BOOL holds true or false")),
        },
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "NS" => AttributeValue::Ns(list(inner)?.iter().map(text).collect::<Result<_, _>>()?),
        "BS" => AttributeValue::Bs(
            list(inner)?
                .iter()
                .map(|b| binary(b, &path))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            list(inner)?
                .iter()
                .enumerate()
                .map(|(i, v)| attribute(v, format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        "M" => match inner {
            Value::Object(fields) => AttributeValue::M(
                fields
                    .iter()
                    .map(|(name, v)| Ok((name.clone(), attribute(v, format!("{path}.{name}"))?)))
                    .collect::<Result<_, DynamoJsonError>>()?,
            ),
            _ => return Err(error(path, "M holds an object")),
        },
        other => {
            return Err(error(
                path,
                format!("`{other}` is not a type (S, N, B, BOOL, NULL, SS, NS, BS, L, M)"),
            ));
        }
    })
}

fn typed(value: &AttributeValue) -> Value {
    let one = |kind: &str, inner: Value| {
        let mut map = Map::new();
        map.insert(kind.to_owned(), inner);
        Value::Object(map)
    };
    let strings =
        |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
    let base64 = |blob: &Blob| Value::String(aws_smithy_types::base64::encode(blob.as_ref()));
    match value {
        AttributeValue::S(s) => one("S", Value::String(s.clone())),
        AttributeValue::N(n) => one("N", Value::String(n.clone())),
        AttributeValue::B(b) => one("B", base64(b)),
        AttributeValue::Bool(b) => one("BOOL", Value::Bool(*b)),
        AttributeValue::Null(_) => one("NULL", Value::Bool(true)),
        AttributeValue::Ss(items) => one("SS", strings(items)),
        AttributeValue::Ns(items) => one("NS", strings(items)),
        AttributeValue::Bs(items) => one("BS", Value::Array(items.iter().map(base64).collect())),
        AttributeValue::L(items) => one("L", Value::Array(items.iter().map(typed).collect())),
        AttributeValue::M(fields) => one("M", to_dynamodb_json(fields)),
        // A type newer than this crate: kept visible rather than dropped.
        _ => one("UNKNOWN", Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_type_goes_there_and_back_with_numbers_exact() {
        let typed = json!({
            "id": {"S": "a-1"},
            "price": {"N": "12345678901234567890.123456789012345678"},
            "raw": {"B": "AAEC/w=="},
            "ok": {"BOOL": false},
            "none": {"NULL": true},
            "tags": {"SS": ["x", "y"]},
            "sizes": {"NS": ["1", "2.50"]},
            "blobs": {"BS": ["AA=="]},
            "lines": {"L": [{"S": "a"}, {"M": {"qty": {"N": "3"}}}]},
        });
        let item = from_dynamodb_json(&typed).unwrap_or_default();
        assert_eq!(item.len(), 9);
        assert_eq!(
            item.get("price"),
            Some(&AttributeValue::N(
                "12345678901234567890.123456789012345678".into()
            ))
        );
        assert_eq!(
            item.get("raw"),
            Some(&AttributeValue::B(Blob::new(vec![0, 1, 2, 255])))
        );
        assert_eq!(to_dynamodb_json(&item), typed);
    }

    #[test]
    fn a_bad_value_is_named_by_its_path() {
        let cases = [
            (
                json!({"a": {"L": [{"S": "x"}, {"Q": 1}]}}),
                "a[1]",
                "`Q` is not a type",
            ),
            (
                json!({"a": {"M": {"b": {"N": 3}}}}),
                "a.b",
                "N holds a string",
            ),
            (json!({"a": {"S": "x", "N": "1"}}), "a", "exactly one type"),
            (json!({"a": "plain"}), "a", "one type"),
            (json!({"a": {"B": "!!"}}), "a", "not base64"),
            (json!([1]), "", "an object"),
        ];
        for (typed, path, message) in cases {
            let err = from_dynamodb_json(&typed)
                .err()
                .unwrap_or_else(|| error(String::new(), ""));
            assert_eq!(err.path, path, "{typed}");
            assert!(err.message.contains(message), "{typed}: {err}");
        }
    }
}
