//! The example function (`sqs_to_dynamodb`) as Lambda runs it: the real `lambda_runtime`
//! client in a child process under a fake Runtime API, frozen (SIGSTOP/SIGCONT) after every
//! invocation, sent SIGTERM at random points, given every kind of deadline, writing to an
//! endpoint that throttles, refuses entries and answers late. Every message ends written,
//! reported as a batch item failure, or printed at shutdown; none in neither place.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use batch_lambda::testing::{FakeRuntime, Outcome};
use common::{example, now_ms, reported};
use null_endpoint::{Api, Faults, NullEndpoint};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// Invocations of a run: `AWS_BATCH_LAMBDA_INVOCATIONS`, 250 unless set (`cargo xtask soak`
/// runs 1,000).
fn invocations() -> usize {
    std::env::var("AWS_BATCH_LAMBDA_INVOCATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(250)
}

/// One execution environment: a fake Runtime API and the function process under it.
struct Environment {
    runtime: FakeRuntime,
    child: Child,
    pid: u32,
    /// `GET /next` calls expected once the function is idle again.
    idle_at: u64,
}

impl Environment {
    async fn start(exe: &Path, endpoint: &NullEndpoint, stderr: &Path, concurrency: usize) -> Self {
        let runtime = FakeRuntime::start().await.unwrap();
        let log = std::fs::File::create(stderr).unwrap();
        let mut command = Command::new(exe);
        command
            .envs(runtime.function_env())
            .env("AWS_LAMBDA_MAX_CONCURRENCY", concurrency.to_string())
            .env("AWS_ENDPOINT_URL", endpoint.url())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TABLE", "items")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let child = command.spawn().unwrap();
        let pid = child.id().unwrap();
        let concurrency = concurrency as u64;
        assert!(
            runtime
                .wait_next_calls(concurrency, Duration::from_secs(30))
                .await,
            "the function never asked for an event"
        );
        assert_eq!(runtime.extensions(), 1, "the shutdown extension registers");
        Self {
            runtime,
            child,
            pid,
            idle_at: concurrency,
        }
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
    }

    /// SIGTERM, then SIGKILL after Lambda's two seconds of shutdown.
    async fn shut_down(mut self) {
        self.signal("TERM");
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await.unwrap();
        }
    }
}

/// The deadline kinds, in turn: (name, header value).
fn deadline(kind: usize) -> (&'static str, Option<u64>) {
    match kind % 6 {
        0 => ("absent (0)", Some(0)),
        1 => ("cargo lambda watch (600000)", Some(600_000)),
        2 => ("past", Some(now_ms() - 1_000)),
        3 => ("now + 50 ms", Some(now_ms() + 50)),
        4 => ("now + 15 min", Some(now_ms() + 900_000)),
        _ => ("now + 3 s", Some(now_ms() + 3_000)),
    }
}

/// One SQS event of `count` messages; returns it and the (message id, item key) pairs. A
/// message whose body is not a JSON object has no key.
fn event(
    invocation: usize,
    count: usize,
    rng: &mut fastrand::Rng,
) -> (String, Vec<(String, Option<String>)>) {
    let mut records = Vec::new();
    let mut messages = Vec::new();
    for n in 0..count {
        let id = format!("m{invocation}-{n}");
        let key = format!("k{invocation}-{n}");
        let (body, key) = if rng.f64() < 0.02 {
            ("not json".to_owned(), None)
        } else {
            (
                serde_json::json!({"id": key, "n": n, "note": "é✓"}).to_string(),
                Some(key),
            )
        };
        records.push(serde_json::json!({
            "messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"
        }));
        messages.push((id, key));
    }
    (
        serde_json::json!({ "Records": records }).to_string(),
        messages,
    )
}

/// Keys of the items the endpoint stored.
fn written(endpoint: &NullEndpoint) -> HashSet<String> {
    endpoint
        .accepted(Api::BatchWriteItem)
        .iter()
        .filter_map(|write| {
            let write: serde_json::Value = serde_json::from_str(write).ok()?;
            write["PutRequest"]["Item"]["id"]["S"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// Keys printed as undelivered on the function's stderr.
fn printed(logs: &[PathBuf]) -> HashSet<String> {
    let mut keys = HashSet::new();
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text
            .lines()
            .filter(|line| line.starts_with("{\"undelivered\""))
        {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let payload = line["undelivered"]["payload"].as_str().unwrap();
            // The payload's Debug form holds the key as a string: "k<invocation>-<n>".
            for part in payload.split('"').filter(|part| {
                part.strip_prefix('k').is_some_and(|rest| {
                    rest.split('-').count() == 2
                        && rest.replace('-', "").chars().all(|c| c.is_ascii_digit())
                })
            }) {
                keys.insert(part.to_owned());
            }
        }
    }
    keys
}

/// Where every message of a run ended, as the test saw it.
#[derive(Default)]
struct Tally {
    /// Message id to item key, for messages that carry one.
    keys: HashMap<String, String>,
    /// Messages whose body is not a JSON object.
    unparsable: BTreeSet<String>,
    /// Messages Lambda would send again: listed as batch item failures, or of an
    /// invocation that got no answer.
    reported: HashSet<String>,
    /// Flushes that outlived their deadline by more than a request's time.
    late: Vec<String>,
    /// Invocations whose deadline left time to send.
    sending: usize,
}

impl Tally {
    fn add(&mut self, messages: &[(String, Option<String>)]) {
        for (id, key) in messages {
            match key {
                Some(key) => {
                    self.keys.insert(id.clone(), key.clone());
                }
                None => {
                    self.unparsable.insert(id.clone());
                }
            }
        }
    }

    /// Records the answer to an invocation started `took` ago with `deadline`.
    fn answer(
        &mut self,
        messages: &[(String, Option<String>)],
        outcome: Option<Outcome>,
        (kind, deadline): (&str, Option<u64>),
        took: Duration,
    ) {
        let now = now_ms();
        let started = now - u64::try_from(took.as_millis()).unwrap();
        let real = deadline.filter(|&ms| ms + 86_400_000 > now && ms < now + 60_000);
        if real.is_none_or(|ms| ms > started + 250) {
            self.sending += 1;
        }
        match outcome {
            Some(Outcome::Response(response)) => {
                let failed = reported(&response);
                self.reported.extend(
                    messages
                        .iter()
                        .filter(|(id, _)| failed.contains(id))
                        .map(|(id, _)| id.clone()),
                );
                // A flush never outlives its deadline by more than a request's time.
                if let Some(ms) = real {
                    let limit =
                        Duration::from_millis(ms.saturating_sub(started)) + Duration::from_secs(1);
                    if took > limit {
                        self.late.push(format!("{kind}: {took:?}"));
                    }
                }
            }
            // No answer: Lambda sends the whole event again.
            Some(Outcome::Error(_)) | None => {
                self.reported
                    .extend(messages.iter().map(|(id, _)| id.clone()));
            }
        }
    }

    /// Checks that every message is written, reported or printed; returns the counts.
    fn verify(&self, endpoint: &NullEndpoint, logs: &[PathBuf]) -> String {
        let written = written(endpoint);
        let printed = printed(logs);
        let mut neither: Vec<&String> = self
            .keys
            .iter()
            .filter(|(id, key)| {
                !written.contains(*key) && !self.reported.contains(*id) && !printed.contains(*key)
            })
            .map(|(id, _)| id)
            .collect();
        neither.extend(
            self.unparsable
                .iter()
                .filter(|id| !self.reported.contains(*id)),
        );
        assert!(neither.is_empty(), "in neither place: {neither:?}");
        assert!(
            self.late.is_empty(),
            "flushes past their deadline: {:?}",
            self.late
        );
        format!(
            "{} messages: {} written, {} reported, {} printed; {} faults injected",
            self.keys.len() + self.unparsable.len(),
            written.len(),
            self.reported.len(),
            printed.len(),
            endpoint.faults_injected()
        )
    }
}

fn faults() -> Faults {
    Faults {
        seed: 26,
        // Refusals for capacity are few: a pacer reads each as a sign of a full table.
        entry_failures: 0.01,
        throttles: 0.01,
        server_errors: 0.03,
        slow: 0.02,
        slow_by: Duration::from_millis(700),
        ..Faults::default()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("batch-lambda-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_written_reported_or_printed_through_freezes_sigterms_and_every_deadline()
{
    let endpoint = NullEndpoint::start_with_faults(Duration::from_millis(1), faults())
        .await
        .unwrap();
    let exe = example("sqs_to_dynamodb");
    let dir = scratch("lifecycle");
    let mut logs = vec![dir.join("stderr-0.log")];
    let mut env = Environment::start(&exe, &endpoint, &logs[0], 1).await;
    let mut rng = fastrand::Rng::with_seed(26);
    let mut tally = Tally::default();
    let (mut sigterms, mut frozen) = (0, 0);
    let total = invocations();
    for invocation in 0..total {
        let deadline = deadline(invocation);
        let (body, messages) = event(invocation, rng.usize(1..=10), &mut rng);
        tally.add(&messages);
        let started = Instant::now();
        let answer = env.runtime.invoke(body, deadline.1);
        // Now and then the environment shuts down while the invocation runs.
        let terminate_during = rng.f64() < 0.01 || invocation == total / 3;
        let outcome = if terminate_during {
            tokio::time::sleep(Duration::from_millis(rng.u64(0..20))).await;
            None
        } else {
            tokio::time::timeout(Duration::from_secs(30), answer)
                .await
                .ok()
                .and_then(Result::ok)
        };
        tally.answer(&messages, outcome, deadline, started.elapsed());
        if terminate_during || rng.f64() < 0.01 || invocation == total * 2 / 3 {
            sigterms += 1;
            env.shut_down().await;
            logs.push(dir.join(format!("stderr-{}.log", logs.len())));
            env = Environment::start(&exe, &endpoint, logs.last().unwrap(), 1).await;
            continue;
        }
        // Lambda freezes the environment once it asks for the next event.
        env.idle_at += 1;
        assert!(
            env.runtime
                .wait_next_calls(env.idle_at, Duration::from_secs(30))
                .await,
            "invocation {invocation} never ended"
        );
        env.signal("STOP");
        frozen += 1;
        tokio::time::sleep(Duration::from_millis(rng.u64(0..3))).await;
        env.signal("CONT");
    }
    env.shut_down().await;
    let counts = tally.verify(&endpoint, &logs);
    eprintln!("{total} invocations, {counts}; {frozen} freezes, {sigterms} SIGTERMs");
    assert!(sigterms >= 2 && frozen > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Concurrent invocations in one environment (Lambda Managed Instances).
const CONCURRENCY: usize = 8;

/// Invocations of the concurrent run: 1,000 take a few seconds, since most end at once.
const CONCURRENT_INVOCATIONS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_share_requests_and_each_reports_only_its_own_messages() {
    let endpoint = NullEndpoint::start_with_faults(Duration::from_millis(1), faults())
        .await
        .unwrap();
    let exe = example("sqs_to_dynamodb");
    let dir = scratch("concurrent");
    let mut logs = vec![dir.join("stderr-0.log")];
    let mut env = Environment::start(&exe, &endpoint, &logs[0], CONCURRENCY).await;
    let mut rng = fastrand::Rng::with_seed(8);
    let mut tally = Tally::default();
    let mut sigterms = 0;
    let rounds = CONCURRENT_INVOCATIONS / CONCURRENCY;
    for round in 0..rounds {
        let started = Instant::now();
        let mut answers = Vec::new();
        for n in 0..CONCURRENCY {
            let invocation = round * CONCURRENCY + n;
            let deadline = deadline(invocation);
            let (body, messages) = event(invocation, rng.usize(1..=6), &mut rng);
            tally.add(&messages);
            let answer = env.runtime.invoke(body, deadline.1);
            // Each answer timed as it comes, not when the test gets to it.
            let answer = tokio::spawn(async move {
                let outcome = tokio::time::timeout(Duration::from_secs(30), answer)
                    .await
                    .ok()
                    .and_then(Result::ok);
                (outcome, started.elapsed())
            });
            answers.push((messages, deadline, answer));
        }
        for (messages, deadline, answer) in answers {
            let (outcome, took) = answer.await.unwrap();
            tally.answer(&messages, outcome, deadline, took);
        }
        // Lambda sends an event only to an environment that asked for one: the next round
        // starts once every worker asks again, so that its times are the function's own.
        env.idle_at += CONCURRENCY as u64;
        let _ = env
            .runtime
            .wait_next_calls(env.idle_at, Duration::from_secs(5))
            .await;
        if rng.f64() < 0.02 || round == rounds / 2 {
            sigterms += 1;
            env.shut_down().await;
            logs.push(dir.join(format!("stderr-{}.log", logs.len())));
            env = Environment::start(&exe, &endpoint, logs.last().unwrap(), CONCURRENCY).await;
        }
    }
    env.shut_down().await;
    let counts = tally.verify(&endpoint, &logs);
    // Without sharing, every invocation that sends makes a request of its own at least.
    let requests = endpoint.counts(Api::BatchWriteItem).requests;
    let gain = tally.sending as f64 / requests as f64;
    eprintln!(
        "{} invocations, {CONCURRENCY} at once, {counts}; {sigterms} SIGTERMs; {requests} requests for {} sending invocations: {gain:.2}x fewer than one per invocation",
        rounds * CONCURRENCY,
        tally.sending
    );
    assert!(gain >= 2.0, "requests shared {gain:.2}x");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_what_is_still_held_is_printed_one_json_line_each_before_lambda_kills() {
    // A table that takes 30 s to answer: nothing is written before the shutdown.
    let endpoint = NullEndpoint::start(Duration::from_secs(30)).await.unwrap();
    let exe = example("sqs_to_dynamodb");
    let dir = scratch("drain");
    let log = dir.join("stderr.log");
    let runtime = FakeRuntime::start().await.unwrap();
    let mut child = Command::new(&exe)
        .envs(runtime.function_env())
        .env("AWS_ENDPOINT_URL", endpoint.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TABLE", "items")
        .env("FLUSH", "after")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(runtime.wait_next_calls(1, Duration::from_secs(30)).await);
    let mut rng = fastrand::Rng::with_seed(3);
    let (body, messages) = event(0, 10, &mut rng);
    let answer = runtime.invoke(body, Some(now_ms() + 900_000));
    let outcome = tokio::time::timeout(Duration::from_secs(10), answer).await;
    let Ok(Ok(Outcome::Response(response))) = outcome else {
        panic!("no response: {outcome:?}");
    };
    let failed = reported(&response);
    // The flush after the response is under way; the environment shuts down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let terminated = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    let took = terminated.elapsed();
    assert!(
        exited.is_ok(),
        "still running 2 s after SIGTERM, when Lambda kills it"
    );
    assert!(
        took < Duration::from_millis(700),
        "took {took:?} of Lambda's 500 ms"
    );
    let printed = printed(&[log]);
    for (id, key) in &messages {
        let Some(key) = key else {
            assert!(failed.contains(id), "{id} is not JSON and not reported");
            continue;
        };
        assert!(
            printed.contains(key),
            "{key} was held at shutdown and not printed"
        );
    }
    eprintln!("SIGTERM to exit: {took:?}; {} printed", printed.len());
    let _ = std::fs::remove_dir_all(&dir);
}
