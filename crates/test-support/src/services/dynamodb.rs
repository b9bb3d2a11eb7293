//! DynamoDB tables in the emulator: created, and scanned.

use crate::env::unique_name;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType,
};

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("an attribute definition")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("a key schema element")
}

fn throughput(write_units: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(write_units)
        .build()
        .expect("a provisioned throughput")
}

/// Creates an on-demand table with a unique name: partition key `partition_key` (a string)
/// and, when given, sort key `sort_key` (a number); waits until it is active.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    partition_key: &str,
    sort_key: Option<&str>,
) -> String {
    let name = unique_name("table");
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
    wait_until_active(client, name).await
}

/// Creates a provisioned table with a unique name, partition key `partition_key` (a
/// string), `write_units` write capacity units and, when given, a global secondary index
/// on `partition_key` with `index_write_units`; waits until it is active.
pub async fn create_provisioned_table(
    client: &aws_sdk_dynamodb::Client,
    partition_key: &str,
    write_units: i64,
    index_write_units: Option<i64>,
) -> String {
    let name = unique_name("table");
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(write_units))
        .attribute_definitions(attribute(partition_key, ScalarAttributeType::S))
        .key_schema(key(partition_key, KeyType::Hash));
    if let Some(units) = index_write_units {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_key")
                .key_schema(key(partition_key, KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .provisioned_throughput(throughput(units))
                .build()
                .expect("an index"),
        );
    }
    request.send().await.expect("CreateTable");
    wait_until_active(client, name).await
}

async fn wait_until_active(client: &aws_sdk_dynamodb::Client, name: String) -> String {
    use aws_sdk_dynamodb::types::TableStatus;
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
