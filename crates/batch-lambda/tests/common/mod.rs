//! A fake Lambda Runtime API (the invocation routes, and the extension routes a graceful
//! shutdown registers with) and a function process driven by it, for tests that run the
//! real `lambda_runtime` client.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};

/// What the function answered for one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(String),
    Error(String),
}

struct Invocation {
    id: String,
    body: String,
    deadline_ms: Option<u64>,
}

struct State {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    sender: mpsc::UnboundedSender<Invocation>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// `GET .../invocation/next` calls received: the function is idle (and Lambda would
    /// freeze it) once it asked for the next event.
    next_calls: AtomicU64,
    next_called: Notify,
    extensions: AtomicU64,
    ids: AtomicU64,
}

/// The fake Runtime API of one execution environment.
pub struct FakeRuntime {
    addr: SocketAddr,
    state: Arc<State>,
}

impl FakeRuntime {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue: tokio::sync::Mutex::new(receiver),
            sender,
            answers: Mutex::new(HashMap::new()),
            next_calls: AtomicU64::new(0),
            next_called: Notify::new(),
            extensions: AtomicU64::new(0),
            ids: AtomicU64::new(0),
        });
        let served = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(route(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    /// `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an invocation with `body` and a deadline header (`None`: none at all); the
    /// receiver gets the function's answer.
    pub fn invoke(&self, body: String, deadline_ms: Option<u64>) -> oneshot::Receiver<Outcome> {
        let id = format!("request-{}", self.state.ids.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(id.clone(), answer);
        let _ = self.state.sender.send(Invocation {
            id,
            body,
            deadline_ms,
        });
        answered
    }

    /// Calls of `GET .../invocation/next` so far.
    pub fn next_calls(&self) -> u64 {
        self.state.next_calls.load(Ordering::SeqCst)
    }

    /// Waits until the function has asked for the next event `n` times in all (within
    /// `limit`); false when it did not.
    pub async fn wait_next_calls(&self, n: u64, limit: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.state.next_called.notified();
                if self.next_calls() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    /// Extensions registered.
    pub fn extensions(&self) -> u64 {
        self.state.extensions.load(Ordering::SeqCst)
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => {
            state.next_calls.fetch_add(1, Ordering::SeqCst);
            state.next_called.notify_waiters();
            let Some(invocation) = state.queue.lock().await.recv().await else {
                return reply(StatusCode::INTERNAL_SERVER_ERROR, "closed");
            };
            let mut response = reply(StatusCode::OK, invocation.body);
            let headers = response.headers_mut();
            headers.insert(
                "lambda-runtime-aws-request-id",
                invocation.id.parse().unwrap(),
            );
            if let Some(deadline) = invocation.deadline_ms {
                headers.insert(
                    "lambda-runtime-deadline-ms",
                    deadline.to_string().parse().unwrap(),
                );
            }
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test"
                    .parse()
                    .unwrap(),
            );
            response
        }
        (
            "POST",
            [
                "2018-06-01",
                "runtime",
                "invocation",
                id,
                kind @ ("response" | "error"),
            ],
        ) => {
            let outcome = if *kind == "response" {
                Outcome::Response(body)
            } else {
                Outcome::Error(body)
            };
            if let Some(answer) = state.answers.lock().unwrap().remove(*id) {
                let _ = answer.send(outcome);
            }
            reply(StatusCode::ACCEPTED, "{}")
        }
        ("POST", ["2018-06-01", "runtime", "init", "error"]) => reply(StatusCode::ACCEPTED, "{}"),
        ("POST", ["2020-01-01", "extension", "register"]) => {
            let n = state.extensions.fetch_add(1, Ordering::SeqCst);
            let mut response = reply(
                StatusCode::OK,
                r#"{"functionName":"test","functionVersion":"$LATEST","handler":"bootstrap"}"#,
            );
            response.headers_mut().insert(
                "lambda-extension-identifier",
                format!("extension-{n}").parse().unwrap(),
            );
            response
        }
        // An extension subscribed to no events waits here for good.
        ("GET", ["2020-01-01", "extension", "event", "next"]) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        _ => reply(StatusCode::NOT_FOUND, format!("no route {method} {path}")),
    }
}

/// The environment of a function process under `runtime`.
pub fn function_env(runtime: &FakeRuntime) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime.address()),
        ("AWS_LAMBDA_FUNCTION_NAME", "test".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "test".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "test".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The example function's executable, built if needed.
pub fn example(name: &str) -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "batch-lambda",
            "--features",
            "graceful-shutdown",
            "--example",
            name,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "building example {name}");
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join(name)
}
