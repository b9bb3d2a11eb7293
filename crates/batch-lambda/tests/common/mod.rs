//! What the process tests share: the example function's executable.
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
