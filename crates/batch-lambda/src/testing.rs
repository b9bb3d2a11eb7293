//! A fake Lambda Runtime API, to run a function built on the real `lambda_runtime` client
//! outside Lambda: in tests, and to measure it.
//!
//! It answers the invocation routes (`next`, `response`, `error`, `init/error`) and the
//! extension routes a graceful shutdown registers with, hands out the invocations a test
//! queues with the deadline header it chooses (`None`: no header), and tells when the
//! function asks for the next event, which is when Lambda would freeze it.
//!
//! ```no_run
//! # async fn demo() {
//! use batch_lambda::testing::{FakeRuntime, Outcome};
//!
//! let runtime = FakeRuntime::start().await.expect("a free port");
//! // Start the function with `runtime.function_env()` in its environment, then:
//! let answer = runtime.invoke(r#"{"Records": []}"#.to_owned(), Some(0));
//! if let Ok(Outcome::Response(body)) = answer.await {
//!     println!("{body}");
//! }
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST .../response`, with its body.
    Response(String),
    /// `POST .../error`, with its body.
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
    next_calls: AtomicU64,
    next_called: Notify,
    extensions: AtomicU64,
    ids: AtomicU64,
}

/// The fake Runtime API of one execution environment. Use a new one for each function
/// process: a process killed while it waits for an event leaves that wait behind.
pub struct FakeRuntime {
    addr: SocketAddr,
    state: Arc<State>,
}

impl std::fmt::Debug for FakeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRuntime")
            .field("addr", &self.addr)
            .field("next_calls", &self.next_calls())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeRuntime {
    /// Starts it on a free port of 127.0.0.1.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
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
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(route(&state, request).await) }
                    });
                    // A connection that breaks (a killed function) ends here.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, state })
    }

    /// Its address, for `AWS_LAMBDA_RUNTIME_API`.
    #[must_use]
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment variables a function process needs to run under it.
    #[must_use]
    pub fn function_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", "test".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "test".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Queues an invocation of `body` with a `Lambda-Runtime-Deadline-Ms` header of
    /// `deadline_ms` (`None`: no header; `lambda_runtime` 1.5 panics on that). The receiver
    /// gets the function's answer; it fails if the function never answers and the fake is
    /// dropped.
    pub fn invoke(&self, body: String, deadline_ms: Option<u64>) -> oneshot::Receiver<Outcome> {
        let id = format!("request-{}", self.state.ids.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        lock(&self.state.answers).insert(id.clone(), answer);
        // The receiver lives as long as the state: sending cannot fail.
        let _ = self.state.sender.send(Invocation {
            id,
            body,
            deadline_ms,
        });
        answered
    }

    /// Calls of `GET .../invocation/next` so far: the function asks for the next event when
    /// it is done with the last, and Lambda may freeze it from then on.
    #[must_use]
    pub fn next_calls(&self) -> u64 {
        self.state.next_calls.load(Ordering::SeqCst)
    }

    /// Waits until the function has asked for the next event `n` times in all, within
    /// `limit`; false when it did not.
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

    /// Extensions registered (a graceful shutdown registers one).
    #[must_use]
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
        .map(|body| body.to_bytes())
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
            if let Ok(id) = HeaderValue::from_str(&invocation.id) {
                headers.insert("lambda-runtime-aws-request-id", id);
            }
            if let Some(deadline) = invocation.deadline_ms {
                headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
            }
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:test"),
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
            if let Some(answer) = lock(&state.answers).remove(*id) {
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
            if let Ok(id) = HeaderValue::from_str(&format!("extension-{n}")) {
                response
                    .headers_mut()
                    .insert("lambda-extension-identifier", id);
            }
            response
        }
        // An extension subscribed to no events waits here for good.
        ("GET", ["2020-01-01", "extension", "event", "next"]) => {
            std::future::pending::<Response<Full<Bytes>>>().await
        }
        _ => reply(StatusCode::NOT_FOUND, format!("no route {method} {path}")),
    }
}
