//! A message body and the characters the services accept in it.

use std::borrow::Cow;

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
    if !has_suspect_byte(text.as_bytes()) {
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

/// Whether `bytes` holds a byte that may begin a character outside the allowed set: what a
/// Rust string can hold outside it is ASCII controls and U+FFFE/U+FFFF, whose UTF-8 starts
/// with 0xEF. Without either, every character is allowed.
fn has_suspect_byte(bytes: &[u8]) -> bool {
    // Chunks folded without an early exit, which the compiler turns into vector compares.
    bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF)
        })
    })
}

/// A message body as sent: JSON written compactly, or the text, checked against the
/// characters SQS and SNS accept; never empty. Text is borrowed, not copied.
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
pub fn body_text(body: &MessageBody) -> Result<Cow<'_, str>, SubmitErrorKind> {
    let text = match body {
        MessageBody::Json(value) => Cow::Owned(
            serde_json::to_string(value)
                .map_err(|e| invalid("MessageBody", format!("cannot be written as JSON: {e}")))?,
        ),
        MessageBody::Text(text) => {
            check_body_chars("MessageBody", text)?;
            Cow::Borrowed(text.as_str())
        }
    };
    if text.is_empty() {
        return Err(invalid("MessageBody", "must be at least 1 character"));
    }
    Ok(text)
}

/// A checked body as a prepared entry keeps it until it is sent: the JSON written out once,
/// which the first request takes as it is, or nothing for text, which is copied from the
/// message into each request (a body copied in `prepare` would be copied again into every
/// request).
///
/// ```
/// use batch_message::{MessageBody, WrittenBody, body_text};
///
/// let json = MessageBody::Json(serde_json::json!([1]));
/// let kept = WrittenBody::of(body_text(&json).unwrap());
/// assert_eq!(kept.to_send(&json), "[1]"); // the text written when checked
/// assert_eq!(kept.to_send(&json), "[1]"); // written again for a later request
/// let text = MessageBody::Text("hi".into());
/// assert_eq!(WrittenBody::of(body_text(&text).unwrap()).to_send(&text), "hi");
/// ```
#[derive(Debug, Default)]
pub struct WrittenBody(std::sync::Mutex<Option<String>>);

impl WrittenBody {
    /// Keeps what [`body_text`] wrote, not what it borrowed.
    #[must_use]
    pub fn of(checked: Cow<'_, str>) -> Self {
        Self(std::sync::Mutex::new(match checked {
            Cow::Owned(written) => Some(written),
            Cow::Borrowed(_) => None,
        }))
    }

    /// The text to send for `body`, the message this was made from: the JSON written when
    /// it was checked, the first time; afterwards written again, or the text copied.
    #[must_use]
    pub fn to_send(&self, body: &MessageBody) -> String {
        let written = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match (written, body) {
            (Some(written), _) => written,
            (None, MessageBody::Text(text)) => text.clone(),
            // Written once when checked, so writing it again succeeds as well.
            (None, MessageBody::Json(value)) => value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_body_chars;

    #[test]
    fn a_refused_character_is_found_wherever_it_stands_in_a_long_text() {
        for bad in ['\u{0}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            for at in [0, 1, 31, 32, 33, 63, 64, 300, 500] {
                let mut text: String = "é".repeat(500);
                text.insert(at * 2, bad);
                assert!(
                    check_body_chars("MessageBody", &text).is_err(),
                    "U+{:04X} at {at}",
                    bad as u32
                );
            }
        }
        let fine = "ab\t\n\r\u{20}\u{d7ff}\u{e000}\u{fffd}\u{10000}é".repeat(40);
        assert!(check_body_chars("MessageBody", &fine).is_ok());
    }
}
