//! DynamoDB tables in the emulator: created, and scanned.

use crate::env::unique_name;

/// Creates an on-demand table with a unique name: partition key `partition_key` (a string)
/// and, when given, sort key `sort_key` (a number); waits until it is active.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    partition_key: &str,
    sort_key: Option<&str>,
) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TableStatus,
    };
    let name = unique_name("table");
    let attribute = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .expect("an attribute definition")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a key schema element")
    };
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(partition_key, ScalarAttributeType::S))
        .key_schema(key(partition_key, KeyType::Hash));
    if let Some(sort_key) = sort_key {
        request = request
            .attribute_definitions(attribute(sort_key, ScalarAttributeType::N))
            .key_schema(key(sort_key, KeyType::Range));
    }
    request.send().await.expect("CreateTable");
    for _ in 0..200 {
        let table = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .expect("DescribeTable");
        if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return name;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("table {name} never became active");
}

/// Every item of `table`, through paginated scans.
pub async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        items.extend(output.items().iter().cloned());
        start = output.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}
