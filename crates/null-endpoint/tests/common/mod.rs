//! What the soak and capacity tests share.
#![allow(dead_code)]

use null_endpoint::NullEndpoint;

/// An SDK configuration for `endpoint`, without the SDK's own retries: the dispatcher does
/// the retrying, and the SDK's retries would hide the endpoint's answers from it.
pub(crate) async fn sdk_config(endpoint: &NullEndpoint) -> aws_config::SdkConfig {
    test_support::sdk_config_at(&endpoint.url())
        .await
        .to_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build()
}

/// The record number in an entry's text: its first run of digits.
pub(crate) fn number_in(text: &str) -> u64 {
    text.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("no record number in {text:?}"))
}

/// Standard base64 (test data only).
pub(crate) fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut buffer = 0_u32;
        for (i, &c) in chunk.iter().enumerate() {
            buffer |= value(c) << (18 - 6 * i);
        }
        let bytes = buffer.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}
