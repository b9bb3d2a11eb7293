//! Helpers for tests that talk to the local AWS emulators started by `cargo xtask`, and for
//! tests with mocked SDK clients.
//!
//! `cargo xtask emulator start` writes `.emulator/endpoints` at the workspace root, and
//! `cargo xtask test` the file that `AWS_BATCH_EMULATOR_FILE` names; an
//! `AWS_BATCH_ENDPOINT_<SERVICE>` variable overrides a line of it.
//!
//! One module a concern: `env` (endpoints and SDK configurations), `cli` (the `aws-batch`
//! command), `mock` (mocked clients), `bad_input` (the bad-input checks), and one module a
//! service behind a feature of its name, so a crate's tests compile only the SDKs they use.
//! Everything is re-exported at the root.
#![allow(clippy::missing_panics_doc)]

mod bad_input;
mod cli;
mod env;
mod mock;
mod services;

pub use bad_input::{accepted, refused_then_accepted};
pub use cli::{aws_batch, aws_batch_at};
pub use env::{endpoint, python, sdk_config, sdk_config_at, unique_name};
pub use mock::{PanicOn, Recorder};
// Empty when no service's feature is on.
#[allow(unused_imports, unreachable_pub)]
pub use services::*;
