//! CloudWatch Logs groups and streams in the emulator.

use crate::env::unique_name;

/// Creates a log group with one stream; returns their names.
pub async fn create_log_stream(client: &aws_sdk_cloudwatchlogs::Client) -> (String, String) {
    let group = unique_name("/batch/group");
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("CreateLogGroup");
    let stream = unique_name("stream");
    client
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .send()
        .await
        .expect("CreateLogStream");
    (group, stream)
}

/// The messages a log stream holds, in the order CloudWatch Logs returns them (by time).
pub async fn log_messages(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
) -> Vec<String> {
    let mut messages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetLogEvents");
        let before = messages.len();
        messages.extend(
            page.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned)),
        );
        let next = page.next_forward_token().map(str::to_owned);
        if messages.len() == before || next.is_none() || next == token {
            return messages;
        }
        token = next;
    }
}
