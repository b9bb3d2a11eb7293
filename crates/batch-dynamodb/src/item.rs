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
    /// A JSON object: strings, numbers (their exact decimal text with the facade's
    /// `exact-numbers` feature), booleans, nulls, lists and maps.
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
/// let delete = DynamoWrite::delete(serde_json::json!({"pk": "user#2"}));
/// assert!(matches!(delete, DynamoWrite::Delete(DynamoItem::Json(_))));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DynamoWrite {
    /// Put (create or replace) an item.
    Put(DynamoItem),
    /// Delete the item with this key (the key attributes only).
    Delete(DynamoItem),
}

impl DynamoWrite {
    /// A put of `item` (a JSON object or an attribute map).
    pub fn put(item: impl Into<DynamoItem>) -> Self {
        Self::Put(item.into())
    }

    /// A delete of the item with this key (a JSON object or an attribute map of the key
    /// attributes only).
    pub fn delete(key: impl Into<DynamoItem>) -> Self {
        Self::Delete(key.into())
    }
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

/// The largest power of ten a DynamoDB number may reach: positive and negative numbers go up
/// to 9.9999999999999999999999999999999999999E+125. Source: DynamoDB developer guide,
/// "Supported data types" (Number); checked 2026-11-29.
pub const MAX_NUMBER_EXPONENT: i64 = 125;

/// The smallest power of ten of a DynamoDB number other than zero: magnitudes go down to
/// 1E-130. Source: as [`MAX_NUMBER_EXPONENT`]; checked 2026-11-29.
pub const MIN_NUMBER_EXPONENT: i64 = -130;

/// Converts an item to AttributeValues. The caller's value is only read.
pub(crate) fn to_attributes<'a>(
    item: &'a DynamoItem,
    what: &str,
) -> Result<Cow<'a, HashMap<String, AttributeValue>>, SubmitErrorKind> {
    match item {
        DynamoItem::Attributes(map) => {
            for (name, value) in map {
                check_attribute_numbers(name, value)?;
            }
            Ok(Cow::Borrowed(map))
        }
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

/// A decimal number's text taken apart, without copying it: sign, the digits before and
/// after the point, how many of them are leading and trailing zeros, and the power of ten of
/// the last significant digit.
struct Decimal<'a> {
    negative: bool,
    int_part: &'a str,
    frac_part: &'a str,
    leading_zeros: usize,
    /// Significant digits; 0 for zero.
    significant: usize,
    scale: i64,
    text: &'a str,
}

impl<'a> Decimal<'a> {
    /// `None` for text that is not a decimal number, or one whose exponent does not fit an
    /// `i64` (far outside any range DynamoDB accepts).
    fn parse(text: &'a str) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = || int_part.bytes().chain(frac_part.bytes());
        if int_part.is_empty() && frac_part.is_empty() || !digits().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let total = int_part.len() + frac_part.len();
        let leading_zeros = digits().take_while(|&b| b == b'0').count();
        let trailing_zeros = if leading_zeros == total {
            0
        } else {
            frac_part
                .bytes()
                .rev()
                .chain(int_part.bytes().rev())
                .take_while(|&b| b == b'0')
                .count()
        };
        let significant = total - leading_zeros - trailing_zeros;
        let scale = exponent
            .checked_sub(i64::try_from(frac_part.len()).ok()?)?
            .checked_add(i64::try_from(trailing_zeros).ok()?)?;
        Some(Self {
            negative,
            int_part,
            frac_part,
            leading_zeros,
            significant,
            scale,
            text,
        })
    }

    /// Significant digits, at least 1 (zero has one).
    fn digits(&self) -> usize {
        self.significant.max(1)
    }

    /// The power of ten of the first significant digit; `None` for zero.
    fn magnitude(&self) -> Option<i64> {
        let len = i64::try_from(self.significant).ok()?;
        (len > 0).then(|| self.scale + len - 1)
    }

    /// The significant digits as text (empty for zero).
    fn significant_text(&self) -> String {
        self.int_part
            .chars()
            .chain(self.frac_part.chars())
            .skip(self.leading_zeros)
            .take(self.significant)
            .collect()
    }
}

/// Significant digits of a decimal number's text (leading and trailing zeros left out).
fn significant_digits(text: &str) -> usize {
    Decimal::parse(text).map_or(MAX_NUMBER_DIGITS + 1, |d| d.digits())
}

/// Refuses a number DynamoDB would refuse (and so fail the whole request with): more than
/// 38 significant digits, or a magnitude outside 1E-130 to 9.99...E+125.
fn check_number(path: &str, text: &str) -> Result<(), SubmitErrorKind> {
    let out_of_range = |allowed: String| SubmitErrorKind::OutOfRange {
        field: path.to_owned().into(),
        value: text.to_owned(),
        allowed,
    };
    let Some(number) = Decimal::parse(text) else {
        return Err(out_of_range(format!(
            "a decimal number between 1E{MIN_NUMBER_EXPONENT} and 9.99...E+{MAX_NUMBER_EXPONENT}"
        )));
    };
    let digits = number.digits();
    if digits > MAX_NUMBER_DIGITS {
        return Err(SubmitErrorKind::OutOfRange {
            field: path.to_owned().into(),
            value: format!("{} ({digits} significant digits)", number.text),
            allowed: format!("at most {MAX_NUMBER_DIGITS} significant digits"),
        });
    }
    match number.magnitude() {
        Some(m) if m > MAX_NUMBER_EXPONENT => Err(out_of_range(format!(
            "a magnitude of at most 9.99...E+{MAX_NUMBER_EXPONENT}"
        ))),
        Some(m) if m < MIN_NUMBER_EXPONENT => Err(out_of_range(format!(
            "zero or a magnitude of at least 1E{MIN_NUMBER_EXPONENT}"
        ))),
        _ => Ok(()),
    }
}

/// Checks the numbers of a ready AttributeValue, nested ones included.
fn check_attribute_numbers(path: &str, value: &AttributeValue) -> Result<(), SubmitErrorKind> {
    match value {
        AttributeValue::N(n) => check_number(path, n),
        AttributeValue::Ns(numbers) => numbers.iter().try_for_each(|n| check_number(path, n)),
        AttributeValue::L(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_attribute_numbers(&format!("{path}[{i}]"), v)),
        AttributeValue::M(map) => map
            .iter()
            .try_for_each(|(k, v)| check_attribute_numbers(&format!("{path}.{k}"), v)),
        _ => Ok(()),
    }
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

/// Appends a canonical text of key attribute `name` to `key`, for dedup and ordering: the
/// name, a type tag and the value (`pk=S:abc`, `n=N:1e0`, `b=B:00ff`).
pub(crate) fn push_key_part(
    key: &mut String,
    name: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<(), SubmitErrorKind> {
    use std::fmt::Write as _;
    let invalid = |reason: &str| SubmitErrorKind::Invalid {
        field: name.to_owned().into(),
        reason: reason.into(),
    };
    key.push_str(name);
    match item.get(name) {
        None => {
            return Err(SubmitErrorKind::Missing {
                field: name.to_owned().into(),
            });
        }
        Some(AttributeValue::Null(_)) => {
            return Err(invalid(
                "the key attribute is null; a key must be a non-empty string, a number or \
                 non-empty binary",
            ));
        }
        Some(AttributeValue::S(s)) if !s.is_empty() => {
            key.push_str("=S:");
            key.push_str(s);
        }
        Some(AttributeValue::N(n)) => {
            key.push_str("=N:");
            key.push_str(&normalize_number(n));
        }
        Some(AttributeValue::B(b)) if !b.as_ref().is_empty() => {
            key.push_str("=B:");
            for byte in b.as_ref() {
                let _ = write!(key, "{byte:02x}");
            }
        }
        Some(_) => {
            return Err(invalid(
                "a key attribute must be a non-empty string, a number or non-empty binary",
            ));
        }
    }
    Ok(())
}

/// One text per decimal value: `1e3`, `1000` and `1000.0` all become `1000`, so keys that
/// DynamoDB considers equal are equal here too.
fn normalize_number(text: &str) -> String {
    match Decimal::parse(text) {
        Some(number) if number.significant == 0 => "0".into(),
        Some(number) => format!(
            "{}{}e{}",
            if number.negative { "-" } else { "" },
            number.significant_text(),
            number.scale
        ),
        // Checked at submit before any key is built; the text itself is a fine key.
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
