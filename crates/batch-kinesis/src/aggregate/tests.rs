//! Unit tests of the parent module.

use super::*;
use proptest::prelude::*;

fn user_record() -> impl Strategy<Value = UserRecord> {
    (
        "[a-z0-9]{1,8}|\\PC{1,20}",
        proptest::option::of("[0-9]{1,39}"),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(key, hash_key, data)| UserRecord {
            partition_key: key,
            explicit_hash_key: hash_key,
            data,
        })
}

proptest! {
    #[test]
    fn deaggregate_gives_back_what_was_aggregated(
        records in proptest::collection::vec(user_record(), 0..60),
    ) {
        let data = aggregate(&records);
        prop_assert_eq!(deaggregate("outer", &data).expect("valid"), records.clone());
        // The size bound holds.
        let bound: usize = FRAMING + records
            .iter()
            .map(|r| encoded_len(
                r.partition_key.len(),
                r.explicit_hash_key.as_ref().map(String::len),
                r.data.len(),
                records.len() as u64,
            ))
            .sum::<usize>();
        prop_assert!(data.len() <= bound, "{} > {}", data.len(), bound);
    }

    #[test]
    fn damaged_records_are_errors_not_panics(
        records in proptest::collection::vec(user_record(), 1..10),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut data = aggregate(&records);
        let i = at.index(data.len() - 4) + 4;
        let flipped = data[i] != byte;
        data[i] = byte;
        let result = deaggregate("k", &data);
        if flipped {
            prop_assert!(result.is_err());
        }
        let cut = cut.index(data.len());
        let _ = deaggregate("k", &data[..cut]);
    }

    #[test]
    fn any_bytes_after_the_magic_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let message = body;
        let mut data = AGGREGATE_MAGIC.to_vec();
        data.extend_from_slice(&message);
        data.extend_from_slice(&Md5::digest(&message));
        let _ = deaggregate("k", &data);
    }
}

#[test]
fn a_record_without_the_magic_is_itself() {
    let plain = deaggregate("k", b"{\"a\":1}").expect("plain");
    assert_eq!(plain, vec![UserRecord::new("k", b"{\"a\":1}".to_vec())]);
    // The magic alone, too short for a digest, is data too.
    let short = deaggregate("k", &AGGREGATE_MAGIC).expect("plain");
    assert_eq!(short[0].data, AGGREGATE_MAGIC.to_vec());
}

#[test]
fn a_wrong_digest_is_an_error() {
    let mut data = aggregate(&[UserRecord::new("k", b"x".to_vec())]);
    let last = data.len() - 1;
    data[last] ^= 1;
    assert_eq!(deaggregate("k", &data), Err(DeaggregateError::Digest));
}

#[test]
fn a_repeated_key_is_stored_once() {
    let records: Vec<UserRecord> = (0..10)
        .map(|n| UserRecord::new("the-same-key", vec![n]))
        .collect();
    let data = aggregate(&records);
    let count = data
        .windows(b"the-same-key".len())
        .filter(|w| *w == b"the-same-key")
        .count();
    assert_eq!(count, 1);
}

#[test]
fn varint_lengths() {
    for (value, len) in [(0, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3)] {
        assert_eq!(varint_len(value), len);
        let mut out = Vec::new();
        put_varint(&mut out, value);
        assert_eq!(out.len(), len);
    }
}
