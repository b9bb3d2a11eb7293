//! Local AWS emulators: installed into `.emulator/` and run on 127.0.0.1.
//!
//! - moto's server (PyPI, in a project-local virtualenv) answers SQS, Kinesis, Firehose, S3
//!   (where Firehose writes), EventBridge, SNS and CloudWatch Logs.
//! - dynalite (npm) answers DynamoDB; it validates batches as strictly as AWS does.
//! - LocalStack's runtime (PyPI `localstack-core`, Python 3.12 or later) answers CloudWatch,
//!   the only emulator that speaks the CBOR protocol of the Rust CloudWatch client. It binds
//!   every interface whatever it is told, so it only ever runs inside a private network
//!   namespace that has nothing but loopback (see `crate::netns`).
//!
//! `start` writes an endpoints file, one `service=url` line each, where tests find them
//! (`AWS_BATCH_EMULATOR_FILE` names it; the default is `.emulator/endpoints`).

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Result, run, workspace_root};

/// The project's virtualenv: moto (and with it boto3), the KPL aggregation library of AWS
/// Labs, which the Kinesis aggregation tests check compatibility with, PySpark, which the
/// Python package's Spark tests run in local mode (on the machine's Java 17), and Ray Data,
/// whose tests start a local Ray cluster.
const PYTHON_PACKAGES: &[&str] = &[
    "moto[server]==5.2.5",
    "aws-kinesis-agg==1.2.3",
    "maturin==1.16.0",
    "pytest==9.2.0",
    "pyspark==3.5.3",
    "ray[data]==2.60.0",
];
const DYNALITE: &str = "dynalite@4.0.0";
/// LocalStack and the pins its latest transitive versions need (see the emulator notes).
const LOCALSTACK: &[&str] = &[
    "localstack-core[runtime]==2026.3.0",
    "cbor2<6",
    "cryptography==44.0.3",
    "pyopenssl==24.3.0",
    "service_identity<25",
];
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Which emulators to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Set {
    /// moto and dynalite: safe on the host's loopback.
    Host,
    /// moto, dynalite and LocalStack: inside a private network namespace only.
    All,
}

/// The emulator folder, `.emulator/` at the workspace root.
pub(crate) fn dir() -> PathBuf {
    workspace_root().join(".emulator")
}

/// The endpoints file of a set.
pub(crate) fn endpoints_file(set: Set) -> PathBuf {
    dir().join(match set {
        Set::Host => "endpoints",
        Set::All => "endpoints-netns",
    })
}

fn pids_file(set: Set) -> PathBuf {
    dir().join(match set {
        Set::Host => "pids",
        Set::All => "pids-netns",
    })
}

/// A Python of version 3.12 or later, for LocalStack: on the PATH, or one of pyenv's.
fn python_312() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = vec!["python3.13".into(), "python3.12".into()];
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    if let Some(versions) = pyenv_root.map(|root| root.join("versions")) {
        let mut found: Vec<PathBuf> = fs::read_dir(versions)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                name.starts_with("3.12") || name.starts_with("3.13")
            })
            .map(|path| path.join("bin/python3"))
            .collect();
        found.sort();
        found.reverse();
        candidates.extend(found);
    }
    candidates
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import sys; sys.exit(sys.version_info < (3, 12))"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or_else(|| {
            "LocalStack needs Python 3.12 or later (python3.13, python3.12 or pyenv)".into()
        })
}

fn pip_install(venv: &Path, python: &Path, packages: &[&str]) -> Result<()> {
    eprintln!(
        "xtask: installing {} into {}",
        packages.join(" "),
        venv.display()
    );
    run(Command::new(python).args(["-m", "venv"]).arg(venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages))
}

/// Installs the project's Python packages into its virtualenv unless there; returns the
/// virtualenv's Python.
pub(crate) fn install_moto() -> Result<PathBuf> {
    let venv = dir().join("venv");
    // The list installed last: a changed list installs again.
    let marker = venv.join("installed.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        fs::create_dir_all(dir())?;
        pip_install(&venv, Path::new("python3"), PYTHON_PACKAGES)?;
        fs::write(&marker, wanted)?;
    }
    Ok(venv.join("bin/python"))
}

/// Installs what `set` needs and is missing. Idempotent and quiet when all is there.
pub(crate) fn install(set: Set) -> Result<()> {
    let dir = dir();
    fs::create_dir_all(&dir)?;
    install_moto()?;
    let node = dir.join("node");
    if !node.join("node_modules/dynalite/cli.js").exists() {
        eprintln!("xtask: installing {DYNALITE} into {}", node.display());
        fs::create_dir_all(&node)?;
        run(Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&node)
            .arg(DYNALITE))?;
    }
    let localstack = dir.join("localstack");
    if set == Set::All && !localstack.join("bin/localstack-supervisor").exists() {
        pip_install(&localstack, &python_312()?, LOCALSTACK)?;
    }
    Ok(())
}

/// Whether the emulators of a set answer.
pub(crate) fn running(set: Set) -> bool {
    let Ok(text) = fs::read_to_string(endpoints_file(set)) else {
        return false;
    };
    let urls: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(_, u)| u)
        .collect();
    !urls.is_empty() && urls.iter().all(|url| answers(url))
}

/// Installs and starts the emulators of `set` unless they already run. Returns whether it
/// started them.
pub(crate) fn start(set: Set) -> Result<bool> {
    if running(set) {
        eprintln!(
            "xtask: emulators already running ({})",
            endpoints_file(set).display()
        );
        return Ok(false);
    }
    stop(set)?;
    install(set)?;
    let dir = dir();
    let mut children = Vec::new();
    let mut endpoints = String::new();

    let port = free_port()?;
    children.push(spawn(
        Command::new(dir.join("venv/bin/moto_server")).args([
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]),
        "moto.log",
    )?);
    let moto = format!("http://127.0.0.1:{port}");
    endpoints.push_str(&format!(
        "sqs={moto}\nkinesis={moto}\nfirehose={moto}\ns3={moto}\neventbridge={moto}\nsns={moto}\nlogs={moto}\n"
    ));

    let port = free_port()?;
    children.push(spawn(
        Command::new("node")
            .arg(dir.join("node/node_modules/dynalite/cli.js"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ]),
        "dynalite.log",
    )?);
    endpoints.push_str(&format!("dynamodb=http://127.0.0.1:{port}\n"));

    if set == Set::All {
        let port = free_port()?;
        children.push(spawn(
            Command::new(dir.join("localstack/bin/python"))
                .args(["-m", "localstack.runtime.main"])
                .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
                .env("SERVICES", "cloudwatch")
                .env("DNS_ADDRESS", "0")
                .env("DISABLE_EVENTS", "1")
                .env("SKIP_SSL_CERT_DOWNLOAD", "1"),
            "localstack.log",
        )?);
        endpoints.push_str(&format!("cloudwatch=http://127.0.0.1:{port}\n"));
    }

    let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
    fs::write(pids_file(set), pids.join("\n"))?;
    for line in endpoints.lines() {
        let (service, url) = line.split_once('=').unwrap_or_default();
        wait_until_ready(service, url)?;
    }
    fs::write(endpoints_file(set), &endpoints)?;
    eprintln!(
        "xtask: emulators ready: {}",
        endpoints.lines().collect::<Vec<_>>().join(", ")
    );
    Ok(true)
}

fn spawn(command: &mut Command, log_name: &str) -> Result<Child> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir().join(log_name))?;
    Ok(command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?)
}

/// Stops the emulators of a set started by `start`.
pub(crate) fn stop(set: Set) -> Result<()> {
    if let Ok(pids) = fs::read_to_string(pids_file(set)) {
        for pid in pids.split_whitespace() {
            // The process may be gone already; that is fine.
            let _ = Command::new("kill").arg(pid).stderr(Stdio::null()).status();
        }
        fs::remove_file(pids_file(set))?;
    }
    let _ = fs::remove_file(endpoints_file(set));
    Ok(())
}

/// Prints what runs where.
pub(crate) fn status() -> Result<()> {
    if running(Set::Host) {
        print!("{}", fs::read_to_string(endpoints_file(Set::Host))?);
    } else {
        println!("not running");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn wait_until_ready(service: &str, url: &str) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if answers(url) {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the {service} emulator at {url} did not answer within {READY_TIMEOUT:?}; see the logs in {}",
        dir().display()
    )
    .into())
}

/// Whether an HTTP server answers on `url` (`http://127.0.0.1:PORT`).
fn answers(url: &str) -> bool {
    let Some(addr) = url
        .strip_prefix("http://")
        .and_then(|a| a.parse::<SocketAddr>().ok())
    else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
