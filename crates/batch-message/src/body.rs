//! A message body and the characters the services accept in it.

use batch_core::SubmitErrorKind;
use serde_json::Value;

use crate::invalid;

/// A message body: JSON (written compactly, UTF-8 as is) or raw text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageBody {
    /// A JSON value, serialised compactly.
    Json(Value),
    /// Text sent as it is.
    Text(String),
}

/// Checks text against the characters SQS and SNS accept in a message: #x9, #xA, #xD,
/// #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF. `field` names the text in the error.
///
/// # Errors
///
/// When the text holds another character; the error names it.
pub fn check_body_chars(field: &str, text: &str) -> Result<(), SubmitErrorKind> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    // Fast path over bytes: what Rust strings can hold outside the allowed set is ASCII
    // controls and U+FFFE/U+FFFF, whose UTF-8 starts with 0xEF; without either, all is fine.
    let suspect = |b: &u8| (*b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || *b == 0xEF;
    if !text.as_bytes().iter().any(suspect) {
        return Ok(());
    }
    match text.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(invalid(
            field,
            format!(
                "contains the character U+{:04X}, which SQS and SNS do not accept",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// A message body as sent: JSON written compactly, or the text, checked against the
/// characters SQS and SNS accept; never empty.
///
/// ```
/// use batch_message::{MessageBody, body_text};
///
/// assert_eq!(body_text(&MessageBody::Json(serde_json::json!({"a": 1}))).unwrap(), r#"{"a":1}"#);
/// assert!(body_text(&MessageBody::Text(String::new())).is_err());
/// ```
///
/// # Errors
///
/// When the body is empty, holds characters the services refuse, or is JSON that cannot
/// be written.
pub fn body_text(body: &MessageBody) -> Result<String, SubmitErrorKind> {
    let text = match body {
        MessageBody::Json(value) => serde_json::to_string(value)
            .map_err(|e| invalid("MessageBody", format!("cannot be written as JSON: {e}")))?,
        MessageBody::Text(text) => {
            check_body_chars("MessageBody", text)?;
            text.clone()
        }
    };
    if text.is_empty() {
        return Err(invalid("MessageBody", "must be at least 1 character"));
    }
    Ok(text)
}
