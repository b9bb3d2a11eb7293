//! Unit tests of the parent module.

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
fn numbers_outside_dynamodb_range_are_refused() {
    for ok in [
        "0",
        "-0.0",
        "1E-130",
        "-1e-130",
        "9.9999999999999999999999999999999999999E+125",
        "12345678901234567890123456789012345678",
        "0.00000000000000000000000000000000000000000000001",
        "1000e-10",
    ] {
        assert!(check_number("n", ok).is_ok(), "{ok}");
    }
    for bad in [
        "1e400",
        "1E126",
        "-1e126",
        "10e125",
        "9.9e-131",
        "1e-131",
        "1e99999999999999999999999",
        "123456789012345678901234567890123456789",
    ] {
        let err = check_number("a.b", bad).expect_err(bad);
        assert_eq!(err.field(), "a.b", "{bad}");
    }
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
