//! Local AWS emulators: installed into `.emulator/` and run on 127.0.0.1.
//!
//! - moto's server (PyPI, in a project-local virtualenv) answers SQS and Kinesis.
//! - dynalite (npm) answers DynamoDB; it validates batches as strictly as AWS does.
//!
//! `start` writes `.emulator/endpoints`, one `service=url` line each, where tests find them.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Result, run, workspace_root};

const MOTO: &str = "moto[server]==5.2.5";
const DYNALITE: &str = "dynalite@4.0.0";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator folder, `.emulator/` at the workspace root.
pub(crate) fn dir() -> PathBuf {
    workspace_root().join(".emulator")
}

fn endpoints_file() -> PathBuf {
    dir().join("endpoints")
}

fn pids_file() -> PathBuf {
    dir().join("pids")
}

/// Installs what is missing. Idempotent and quiet when everything is there.
pub(crate) fn install() -> Result<()> {
    let dir = dir();
    fs::create_dir_all(&dir)?;
    let venv = dir.join("venv");
    if !venv.join("bin/moto_server").exists() {
        eprintln!("xtask: installing {MOTO} into {}", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
        ]))?;
    }
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
    Ok(())
}

/// Whether the emulators of the endpoints file answer.
pub(crate) fn running() -> bool {
    let Ok(text) = fs::read_to_string(endpoints_file()) else {
        return false;
    };
    let urls: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(_, u)| u)
        .collect();
    !urls.is_empty() && urls.iter().all(|url| answers(url))
}

/// Installs and starts the emulators unless they already run. Returns whether it started them.
pub(crate) fn start() -> Result<bool> {
    if running() {
        eprintln!(
            "xtask: emulators already running ({})",
            endpoints_file().display()
        );
        return Ok(false);
    }
    stop()?;
    install()?;
    let dir = dir();
    let moto_port = free_port()?;
    let dynalite_port = free_port()?;
    let moto = Command::new(dir.join("venv/bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .stdin(Stdio::null())
        .stdout(log(&dir, "moto.log")?)
        .stderr(log(&dir, "moto.log")?)
        .spawn()?;
    let dynalite = Command::new("node")
        .arg(dir.join("node/node_modules/dynalite/cli.js"))
        .args(["--host", "127.0.0.1", "--port", &dynalite_port.to_string()])
        .args([
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(log(&dir, "dynalite.log")?)
        .stderr(log(&dir, "dynalite.log")?)
        .spawn()?;
    fs::write(pids_file(), format!("{}\n{}\n", moto.id(), dynalite.id()))?;
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let dynalite_url = format!("http://127.0.0.1:{dynalite_port}");
    wait_until_ready(&moto_url, &dir.join("moto.log"))?;
    wait_until_ready(&dynalite_url, &dir.join("dynalite.log"))?;
    fs::write(
        endpoints_file(),
        format!("sqs={moto_url}\nkinesis={moto_url}\ndynamodb={dynalite_url}\n"),
    )?;
    eprintln!("xtask: emulators ready: moto {moto_url}, dynalite {dynalite_url}");
    Ok(true)
}

/// Stops the emulators started by `start`.
pub(crate) fn stop() -> Result<()> {
    if let Ok(pids) = fs::read_to_string(pids_file()) {
        for pid in pids.split_whitespace() {
            // The process may be gone already; that is fine.
            let _ = Command::new("kill").arg(pid).stderr(Stdio::null()).status();
        }
        fs::remove_file(pids_file())?;
    }
    let _ = fs::remove_file(endpoints_file());
    Ok(())
}

/// Prints what runs where.
pub(crate) fn status() -> Result<()> {
    if running() {
        print!("{}", fs::read_to_string(endpoints_file())?);
    } else {
        println!("not running");
    }
    Ok(())
}

fn log(dir: &Path, name: &str) -> Result<fs::File> {
    Ok(fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))?)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn wait_until_ready(url: &str, log: &Path) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if answers(url) {
            return Ok(());
        }
        sleep(Duration::from_millis(100));
    }
    let tail = fs::read_to_string(log).unwrap_or_default();
    Err(format!("{url} did not answer within {READY_TIMEOUT:?}; log:\n{tail}").into())
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
