//! Message attributes: their types, their checks and the bytes they add to a message.

use std::collections::BTreeMap;

use batch_core::SubmitErrorKind;

use crate::body::check_body_chars;
use crate::invalid;

/// Most attributes per message. Source: SQS developer guide, "Amazon SQS message
/// attributes", and Amazon SNS developer guide, "Amazon SNS message attributes"; checked
/// 2026-11-23.
pub const MAX_ATTRIBUTES: usize = 10;
/// Longest attribute name. Source: SQS developer guide; checked 2026-11-23.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 256;

/// A message attribute value. Names and values count toward the message size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageAttribute {
    /// A `String` attribute.
    String(String),
    /// A `Number` attribute, as decimal text (SQS and SNS keep up to 38 digits).
    Number(String),
    /// A `Binary` attribute.
    Binary(Vec<u8>),
}

impl MessageAttribute {
    /// The data type name the services expect.
    #[must_use]
    pub fn data_type(&self) -> &'static str {
        match self {
            Self::String(_) => "String",
            Self::Number(_) => "Number",
            Self::Binary(_) => "Binary",
        }
    }

    /// Bytes of the value.
    #[must_use]
    pub fn value_len(&self) -> usize {
        match self {
            Self::String(v) | Self::Number(v) => v.len(),
            Self::Binary(v) => v.len(),
        }
    }

    /// The value of a `String` or `Number` attribute (its `StringValue` on the wire).
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::String(v) | Self::Number(v) => Some(v),
            Self::Binary(_) => None,
        }
    }

    /// The value of a `Binary` attribute (its `BinaryValue` on the wire).
    #[must_use]
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Binary(v) => Some(v),
            Self::String(_) | Self::Number(_) => None,
        }
    }
}

/// Bytes the attributes add to a message, as SQS and SNS count them: each name, type and
/// value.
#[must_use]
pub fn attributes_size(attributes: &BTreeMap<String, MessageAttribute>) -> usize {
    attributes
        .iter()
        .map(|(name, value)| name.len() + value.data_type().len() + value.value_len())
        .sum()
}

fn check_name(field: &str, name: &str) -> Result<(), SubmitErrorKind> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let lower = name.to_ascii_lowercase();
    if name.is_empty()
        || name.len() > MAX_ATTRIBUTE_NAME_CHARS
        || !valid_chars
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || lower.starts_with("aws.")
        || lower.starts_with("amazon.")
    {
        return Err(invalid(
            field,
            format!(
                "the name must be 1-{MAX_ATTRIBUTE_NAME_CHARS} characters of A-Z, a-z, 0-9, \
                 '_', '-' and '.', without leading, trailing or double periods, and not \
                 start with 'AWS.' or 'Amazon.'"
            ),
        ));
    }
    Ok(())
}

fn check_value(field: &str, value: &MessageAttribute) -> Result<(), SubmitErrorKind> {
    match value {
        MessageAttribute::String(text) => {
            if text.is_empty() {
                return Err(invalid(field, "a String attribute cannot be empty"));
            }
            check_body_chars(field, text)
        }
        MessageAttribute::Number(number) => {
            let digits = number.chars().filter(char::is_ascii_digit).count();
            if number.parse::<f64>().map_or(true, |n| !n.is_finite()) || digits > 38 {
                return Err(invalid(
                    field,
                    "a Number attribute must be a finite decimal number of at most 38 digits",
                ));
            }
            Ok(())
        }
        MessageAttribute::Binary(bytes) if bytes.is_empty() => {
            Err(invalid(field, "a Binary attribute cannot be empty"))
        }
        MessageAttribute::Binary(_) => Ok(()),
    }
}

/// Checks message attributes: at most [`MAX_ATTRIBUTES`], names of at most
/// [`MAX_ATTRIBUTE_NAME_CHARS`] characters without reserved prefixes, and values the
/// services accept.
///
/// # Errors
///
/// The first attribute that breaks a rule, named as `MessageAttributes.<name>`.
pub fn check_attributes(
    attributes: &BTreeMap<String, MessageAttribute>,
) -> Result<(), SubmitErrorKind> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(SubmitErrorKind::OutOfRange {
            field: "MessageAttributes".into(),
            value: format!("{} attributes", attributes.len()),
            allowed: format!("0 to {MAX_ATTRIBUTES}"),
        });
    }
    for (name, value) in attributes {
        let field = format!("MessageAttributes.{name}");
        check_name(&field, name)?;
        check_value(&field, value)?;
    }
    Ok(())
}

/// The attributes as an AWS SDK's map of `MessageAttributeValue`s (SQS's and SNS's are
/// built alike), or `None` when there are none: `sdk_attributes!(SdkValueType, BlobType,
/// &attributes)`, returning `Result<Option<HashMap<String, SdkValueType>>, SubmitErrorKind>`.
///
/// ```text
/// let attributes = batch_message::sdk_attributes!(
///     aws_sdk_sqs::types::MessageAttributeValue,
///     aws_sdk_sqs::primitives::Blob,
///     &message.attributes
/// )?;
/// ```
#[macro_export]
macro_rules! sdk_attributes {
    ($value_type:ty, $blob:ty, $attributes:expr) => {{
        let attributes: &::std::collections::BTreeMap<
            ::std::string::String,
            $crate::MessageAttribute,
        > = $attributes;
        let built = attributes.iter().map(|(name, value)| {
            let sdk_value = <$value_type>::builder()
                .data_type(value.data_type())
                .set_string_value(value.text().map(str::to_owned))
                .set_binary_value(value.bytes().map(<$blob>::new))
                .build()
                .map_err($crate::attribute_build_error)?;
            Ok((name.clone(), sdk_value))
        });
        let all: ::std::result::Result<::std::collections::HashMap<_, _>, _> = built.collect();
        all.map(|all| (!all.is_empty()).then_some(all))
    }};
}

/// The refusal of an attribute the SDK would not build; used by [`sdk_attributes!`].
#[doc(hidden)]
pub fn attribute_build_error(error: impl std::fmt::Display) -> SubmitErrorKind {
    invalid("MessageAttributes", error.to_string())
}
