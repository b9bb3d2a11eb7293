//! The Python package (`crates/batch-py`): its wheel built with maturin and installed into
//! the project's virtualenv, and its pytest suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, emulator, run, workspace_root};

const CRATE: &str = "crates/batch-py";

fn venv_bin(tool: &str) -> PathBuf {
    emulator::dir().join("venv/bin").join(tool)
}

/// Builds the wheel (a debug build, or release for the benchmarks) and installs it into the
/// project's virtualenv, replacing any earlier one. Returns the venv's Python.
pub(crate) fn install_package(release: bool) -> Result<PathBuf> {
    let python = emulator::install_moto()?;
    let out = workspace_root().join("target/wheels");
    // Only this build's wheel in the folder, so the one installed is this one.
    let _ = fs::remove_dir_all(&out);
    let mut build = Command::new(venv_bin("maturin"));
    build
        .args(["build", "--quiet", "--manifest-path"])
        .arg(workspace_root().join(CRATE).join("Cargo.toml"))
        .args(["--out"])
        .arg(&out)
        .current_dir(workspace_root());
    if !release {
        build.args(["--profile", "dev"]);
    }
    eprintln!(
        "xtask: == build the Python package ({})",
        if release { "release" } else { "debug" }
    );
    run(&mut build)?;
    let wheel = wheel_in(&out)?;
    run(Command::new(venv_bin("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--force-reinstall",
        ])
        .arg(&wheel))?;
    Ok(python)
}

fn wheel_in(dir: &Path) -> Result<PathBuf> {
    fs::read_dir(dir)?
        .filter_map(std::result::Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| format!("maturin left no wheel in {}", dir.display()).into())
}

/// The pytest suite against the emulators named in `endpoints`.
pub(crate) fn pytest(endpoints: &Path) -> Command {
    let mut command = Command::new(venv_bin("python"));
    command
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(workspace_root().join(CRATE).join("tests"))
        .env("AWS_BATCH_EMULATOR_FILE", endpoints)
        .current_dir(workspace_root());
    command
}
