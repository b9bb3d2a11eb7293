//! Items: JSON to AttributeValue, DynamoDB's item-size rules, and key extraction.

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use batch_core::SubmitErrorKind;
use serde_json::Value;

/// An item, or a key, in one of the two forms a user can hand over.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DynamoItem {
    /// A JSON object: strings, numbers (exact decimal text), booleans, nulls, lists and maps.
    Json(Value),
    /// Ready AttributeValues, for binary data and sets.
    Attributes(HashMap<String, AttributeValue>),
}

impl From<Value> for DynamoItem {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

impl From<HashMap<String, AttributeValue>> for DynamoItem {
    fn from(attributes: HashMap<String, AttributeValue>) -> Self {
        Self::Attributes(attributes)
    }
}

/// One write of a BatchWriteItem request, as submitted.
///
/// A JSON value or an attribute map converts into a put.
///
/// ```
/// use batch_dynamodb::{DynamoItem, DynamoWrite};
///
/// let put: DynamoWrite = serde_json::json!({"pk": "user#1", "name": "Ada"}).into();
/// assert!(matches!(put, DynamoWrite::Put(DynamoItem::Json(_))));
/// let delete = DynamoWrite::Delete(serde_json::json!({"pk": "user#2"}).into());
/// # let _ = delete;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DynamoWrite {
    /// Put (create or replace) an item.
    Put(DynamoItem),
    /// Delete the item with this key (the key attributes only).
    Delete(DynamoItem),
}

impl From<Value> for DynamoWrite {
    fn from(value: Value) -> Self {
        Self::Put(DynamoItem::Json(value))
    }
}

impl From<HashMap<String, AttributeValue>> for DynamoWrite {
    fn from(attributes: HashMap<String, AttributeValue>) -> Self {
        Self::Put(DynamoItem::Attributes(attributes))
    }
}

/// Most significant digits of a DynamoDB number. Source: DynamoDB developer guide, "Supported
/// data types" (Number: up to 38 digits of precision); checked 2026-11-23.
pub const MAX_NUMBER_DIGITS: usize = 38;

/// Converts an item to AttributeValues. The caller's value is only read.
pub(crate) fn to_attributes<'a>(
    item: &'a DynamoItem,
    what: &str,
) -> Result<Cow<'a, HashMap<String, AttributeValue>>, SubmitErrorKind> {
    match item {
        DynamoItem::Attributes(map) => Ok(Cow::Borrowed(map)),
        DynamoItem::Json(Value::Object(object)) => object
            .iter()
            .map(|(name, value)| Ok((name.clone(), to_attribute(name, value)?)))
            .collect::<Result<HashMap<_, _>, _>>()
            .map(Cow::Owned),
        DynamoItem::Json(other) => Err(SubmitErrorKind::Invalid {
            field: what.to_owned().into(),
            reason: format!("must be a JSON object, not {}", json_kind(other)),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn to_attribute(path: &str, value: &Value) -> Result<AttributeValue, SubmitErrorKind> {
    Ok(match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => {
            let text = n.to_string();
            check_number(path, &text)?;
            AttributeValue::N(text)
        }
        Value::Array(items) => AttributeValue::L(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| to_attribute(&format!("{path}[{i}]"), v))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), to_attribute(&format!("{path}.{k}"), v)?)))
                .collect::<Result<_, SubmitErrorKind>>()?,
        ),
    })
}

/// Significant digits of a decimal number's text (leading and trailing zeros left out).
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0').trim_end_matches('0');
    trimmed.len().max(1)
}

fn check_number(path: &str, text: &str) -> Result<(), SubmitErrorKind> {
    let digits = significant_digits(text);
    if digits > MAX_NUMBER_DIGITS {
        return Err(SubmitErrorKind::OutOfRange {
            field: path.to_owned().into(),
            value: format!("{text} ({digits} significant digits)"),
            allowed: format!("at most {MAX_NUMBER_DIGITS} significant digits"),
        });
    }
    Ok(())
}

/// Bytes of an attribute value by DynamoDB's item-size rules, rounded up where the rules say
/// "approximately", so the result is never below DynamoDB's own count.
///
/// Source: DynamoDB developer guide, "Item sizes and formats"; checked 2026-11-23.
pub(crate) fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(items) => items.iter().map(String::len).sum(),
        AttributeValue::Ns(items) => items.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(items) => items.iter().map(|b| b.as_ref().len()).sum(),
        // 3 bytes for the list or map, 1 per element, plus the elements (and map keys).
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        // A variant this crate does not know: count it at the largest number size.
        _ => 21,
    }
}

/// A number: 1 byte per two significant digits, plus 1; at most 21 bytes.
fn number_size(text: &str) -> usize {
    (significant_digits(text).div_ceil(2) + 1).min(21)
}

/// Bytes of an item: attribute names plus values.
pub(crate) fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// A canonical text of a key attribute, for dedup and ordering: type tag and value.
pub(crate) fn key_part(
    name: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<String, SubmitErrorKind> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Err(SubmitErrorKind::Missing {
            field: format!("key attribute `{name}`").into(),
        }),
        Some(AttributeValue::S(s)) if !s.is_empty() => Ok(format!("S:{s}")),
        Some(AttributeValue::N(n)) => Ok(format!("N:{}", normalize_number(n))),
        Some(AttributeValue::B(b)) if !b.as_ref().is_empty() => {
            let hex: String = b
                .as_ref()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            Ok(format!("B:{hex}"))
        }
        Some(_) => Err(SubmitErrorKind::Invalid {
            field: format!("key attribute `{name}`").into(),
            reason: "must be a non-empty string, a number or non-empty binary".into(),
        }),
    }
}

/// One text per decimal value: `1e3`, `1000` and `1000.0` all become `1000`, so keys that
/// DynamoDB considers equal are equal here too.
fn normalize_number(text: &str) -> String {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    // The value is digits * 10^(exponent - frac_len).
    let scale = exponent - i64::try_from(frac_part.len()).unwrap_or(0);
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return "0".into();
    }
    let significant = trimmed.trim_end_matches('0');
    let scale = scale + i64::try_from(trimmed.len() - significant.len()).unwrap_or(0);
    format!("{}{significant}e{scale}", if negative { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_numbers_normalize_alike() {
        assert_eq!(normalize_number("1e3"), normalize_number("1000"));
        assert_eq!(normalize_number("1000.0"), normalize_number("1E+3"));
        assert_eq!(normalize_number("0.10"), normalize_number("1e-1"));
        assert_ne!(normalize_number("-1.5"), normalize_number("1.5"));
        assert_eq!(normalize_number("0.000"), "0");
    }

    #[test]
    fn sizes_follow_the_published_rules() {
        assert_eq!(value_size(&AttributeValue::S("héllo".into())), 6);
        assert_eq!(value_size(&AttributeValue::N("12345".into())), 4);
        assert_eq!(value_size(&AttributeValue::N("1e3".into())), 2);
        assert_eq!(value_size(&AttributeValue::Bool(true)), 1);
        let list = AttributeValue::L(vec![
            AttributeValue::S("ab".into()),
            AttributeValue::Null(true),
        ]);
        assert_eq!(value_size(&list), 3 + (1 + 2) + (1 + 1));
        let item = HashMap::from([("name".to_owned(), AttributeValue::S("Ada".into()))]);
        assert_eq!(item_size(&item), 7);
    }
}
