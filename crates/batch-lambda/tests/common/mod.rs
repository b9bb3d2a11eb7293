//! What the process tests share: the example function's executable, the time, and the
//! failures a response lists.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

/// The example function's executable, built (or found up to date) with the features the
/// workspace's tests are built with, so nothing else is rebuilt.
pub fn example(name: &str) -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--workspace",
            "--all-features",
            "--example",
            name,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "building example {name}");
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// Milliseconds since the epoch, as Lambda's deadline header counts them.
pub fn now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(now.as_millis()).unwrap()
}

/// Message ids listed as batch item failures in a response.
pub fn reported(response: &str) -> std::collections::HashSet<String> {
    let value: serde_json::Value = serde_json::from_str(response).unwrap();
    value["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|failure| failure["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}
