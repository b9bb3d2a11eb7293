//! Random messages: preparing one never panics, and its size is what SQS counts.
#![allow(clippy::unwrap_used)]

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use batch_core::Backend;
use batch_sqs::{MessageAttribute, SqsBatchDispatcher, SqsMessage};
use proptest::prelude::*;

fn dispatcher() -> SqsBatchDispatcher {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    SqsBatchDispatcher::from_client(
        Client::from_conf(config),
        "https://sqs.us-east-1.amazonaws.com/1/q",
    )
}

fn attribute() -> impl Strategy<Value = MessageAttribute> {
    prop_oneof![
        any::<String>().prop_map(MessageAttribute::String),
        any::<f64>().prop_map(|n| MessageAttribute::Number(n.to_string())),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(MessageAttribute::Binary),
    ]
}

proptest! {
    #[test]
    fn prepare_never_panics_and_sizes_as_sqs_counts(
        body in any::<String>(),
        id in proptest::option::of("[ -~]{0,90}"),
        delay in proptest::option::of(0_u32..2_000),
        attributes in proptest::collection::vec(("[ -~]{0,20}", attribute()), 0..12),
    ) {
        let mut message = SqsMessage::text(body.clone());
        if let Some(id) = id { message = message.with_id(id); }
        if let Some(delay) = delay { message = message.with_delay_seconds(delay); }
        for (name, value) in attributes { message = message.with_attribute(name, value); }
        let sqs = dispatcher();
        if let Ok(entry) = sqs.backend().prepare(&message) {
            let attributes: usize = message
                .attributes()
                .iter()
                .map(|(name, value)| name.len() + value.data_type().len() + value.value_len())
                .sum();
            prop_assert_eq!(entry.size, body.len() + attributes);
        }
    }

    #[test]
    fn any_json_body_is_sized_by_its_compact_utf8_text(value in any::<String>().prop_map(serde_json::Value::String)) {
        let sqs = dispatcher();
        let entry = sqs.backend().prepare(&SqsMessage::json(value.clone())).unwrap();
        prop_assert_eq!(entry.size, serde_json::to_string(&value).unwrap().len());
    }
}

/// The characters SQS accepts in a body, written out from the API reference.
fn sqs_accepts(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
}

proptest! {
    #[test]
    fn a_body_is_refused_exactly_when_sqs_would_refuse_a_character(
        body in prop_oneof![
            any::<String>(),
            "[a-z\u{1}\u{1f}\u{7f}\u{fffd}\u{fffe}\u{ffff}\u{e000}\u{f000}é\t]{0,40}",
        ],
    ) {
        let sqs = dispatcher();
        let refused = sqs.backend().prepare(&SqsMessage::text(body.clone())).is_err();
        // An empty body is refused too (SQS wants at least one character).
        let sqs_refuses = body.is_empty() || !body.chars().all(sqs_accepts);
        prop_assert_eq!(refused, sqs_refuses, "{:?}", body);
    }
}
