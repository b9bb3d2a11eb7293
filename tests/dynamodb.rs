//! End to end through the facade: the `dynamodb` feature against the local DynamoDB emulator.
#![allow(clippy::unwrap_used)]

use aws_batch_utils::prelude::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

#[tokio::test]
async fn the_facade_writes_and_deletes_through_dynamodb() {
    let config = test_support::sdk_config("dynamodb").await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = test_support::create_table(&client, "id", None).await;
    let dynamo = DynamoBatchDispatcher::new(&config, (&table, "id"));
    for n in 0..60 {
        dynamo
            .submit_payload(json!({"id": format!("i{n}"), "n": n}))
            .await
            .unwrap();
    }
    for n in 0..10 {
        dynamo
            .submit_delete(json!({"id": format!("i{n}")}))
            .await
            .unwrap();
    }
    assert!(dynamo.flush_payloads().await.is_empty());
    let items = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(items.count(), 50);
    let item = client
        .get_item()
        .table_name(&table)
        .key("id", AttributeValue::S("i42".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(item.item().unwrap()["n"].as_n().unwrap(), "42");
}
