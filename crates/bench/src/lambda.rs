//! Lambda: what the end-of-invocation flush adds to an invocation, what sharing one
//! dispatcher among concurrent invocations saves, and how closely a flush keeps its
//! deadline. In process, against the null endpoint as a DynamoDB table; the lifecycle under
//! the real `lambda_runtime` client is tested in `crates/batch-lambda/tests/lifecycle.rs`.

use std::sync::Arc;
use std::time::Duration;

use aws_batch_utils::dynamodb::{DynamoBackend, DynamoBatchDispatcher};
use null_endpoint::{Api, NullEndpoint};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::Options;
use crate::Result;
use crate::plan::Figures;
use crate::report;
use crate::sweep::{percentile, sdk_config};

/// One row of the Lambda table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LambdaRun {
    /// What was measured.
    pub(crate) case: String,
    /// Latency of the endpoint's answers.
    pub(crate) endpoint_ms: u64,
    /// Invocations at once, each with a scope of its own.
    pub(crate) concurrency: usize,
    pub(crate) records_per_invocation: usize,
    pub(crate) invocations: usize,
    /// The flush's time, in milliseconds: p50 and p99.
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Requests per invocation (1.0 at least without sharing).
    pub(crate) requests_per_invocation: f64,
}

fn dispatcher(sdk: &aws_config::SdkConfig) -> Result<DynamoBatchDispatcher> {
    let client = aws_batch_utils::dynamodb::sdk::Client::new(sdk);
    Ok(DynamoBatchDispatcher::builder(DynamoBackend::new(client, "lambda", "id")).build()?)
}

/// Invocations of `records` records each, `concurrency` at a time, each flushing its own
/// scope within `budget` at its end; the flush times in milliseconds.
async fn invocations(
    endpoint: &NullEndpoint,
    concurrency: usize,
    records: usize,
    count: usize,
    budget: Duration,
) -> Result<(Vec<f64>, f64)> {
    let sdk = sdk_config(&endpoint.url(), false).await;
    let table = Arc::new(dispatcher(&sdk)?);
    let before = endpoint.counts(Api::BatchWriteItem).requests;
    let mut flushes = Vec::with_capacity(count);
    let mut lost = 0;
    for round in 0..count.div_ceil(concurrency) {
        // The round's invocations are all under way (each has its scope) before any ends.
        let scopes: Vec<_> = (0..concurrency).map(|_| table.scope()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (n, scope) in scopes.into_iter().enumerate() {
            tasks.spawn(async move {
                for r in 0..records {
                    let item = serde_json::json!({"id": format!("{round}-{n}-{r}"), "v": r});
                    if scope.submit_payload(item).await.is_err() {
                        return (0.0, 1);
                    }
                }
                let started = Instant::now();
                let failed = scope.flush_payloads_within(budget).await.len();
                (started.elapsed().as_secs_f64() * 1e3, failed)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (ms, failed) = done?;
            flushes.push(ms);
            lost += failed;
        }
    }
    if lost > 0 {
        return Err(format!("{lost} records not delivered by a clean endpoint").into());
    }
    let requests = endpoint.counts(Api::BatchWriteItem).requests - before;
    #[allow(clippy::cast_precision_loss)]
    Ok((flushes, requests as f64 / count as f64))
}

fn summary(
    case: &str,
    endpoint_ms: u64,
    concurrency: usize,
    records: usize,
    mut times: Vec<f64>,
    requests: f64,
) -> LambdaRun {
    times.sort_by(f64::total_cmp);
    LambdaRun {
        case: case.to_owned(),
        endpoint_ms,
        concurrency,
        records_per_invocation: records,
        invocations: times.len(),
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        requests_per_invocation: requests,
    }
}

/// Every Lambda run.
pub(crate) async fn measure(quick: bool) -> Result<Vec<LambdaRun>> {
    let count = if quick { 40 } else { 1_000 };
    let mut runs = Vec::new();
    for endpoint_ms in [5, 20] {
        let endpoint = NullEndpoint::start(Duration::from_millis(endpoint_ms)).await?;
        for (concurrency, records) in [(1, 10), (1, 25), (8, 5)] {
            let (times, requests) = invocations(
                &endpoint,
                concurrency,
                records,
                count,
                Duration::from_secs(3),
            )
            .await?;
            let case = if concurrency == 1 {
                "end-of-invocation flush"
            } else {
                "end-of-invocation flush, concurrent invocations sharing one dispatcher"
            };
            let run = summary(case, endpoint_ms, concurrency, records, times, requests);
            eprintln!("batch-bench: lambda {}", row(&run));
            runs.push(run);
        }
    }
    // A destination that does not answer within the invocation: how far past its budget a
    // flush returns (the margin must cover this and the response).
    let hanging = NullEndpoint::start(Duration::from_secs(30)).await?;
    let budget = Duration::from_millis(200);
    let overshoot = overshoot(&hanging, if quick { 5 } else { 100 }, budget).await?;
    let run = summary(
        "flush past its budget (destination never answers; budget 200 ms)",
        30_000,
        1,
        10,
        overshoot,
        1.0,
    );
    eprintln!("batch-bench: lambda {}", row(&run));
    runs.push(run);
    Ok(runs)
}

/// How long past `budget` each flush returns against a destination that never answers, in
/// milliseconds.
async fn overshoot(endpoint: &NullEndpoint, count: usize, budget: Duration) -> Result<Vec<f64>> {
    let sdk = sdk_config(&endpoint.url(), false).await;
    let table = dispatcher(&sdk)?;
    let mut past = Vec::with_capacity(count);
    for n in 0..count {
        let scope = table.scope();
        for r in 0..10 {
            scope
                .submit_payload(serde_json::json!({"id": format!("h{n}-{r}")}))
                .await
                .map_err(|e| e.to_string())?;
        }
        let started = Instant::now();
        let failed = scope.flush_payloads_within(budget).await;
        if failed.len() != 10 {
            return Err(format!(
                "{} of 10 records came back from a destination that never answers",
                failed.len()
            )
            .into());
        }
        past.push(started.elapsed().saturating_sub(budget).as_secs_f64() * 1e3);
    }
    Ok(past)
}

/// Runs the Lambda measurements into the figures of `--from-json` and writes the report.
pub(crate) async fn run_into_report(options: &Options) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    figures.lambda = measure(options.quick).await?;
    report::write(options, &figures)
}

/// The report's section.
pub(crate) fn section(markdown: &mut String, runs: &[LambdaRun]) {
    if runs.is_empty() {
        return;
    }
    markdown.push_str(
        "\n## Lambda: the flush at the end of an invocation\n\n\
         `batch-bench lambda`: invocations that each submit their records to one long-lived \
         `DynamoBatchDispatcher` through a scope of their own and flush it within their budget \
         (`Scope::flush_payloads_within`), against the null endpoint as the table. The flush \
         time is what a handler that flushes before its response adds to the invocation's \
         latency; flushed after the response (`FlushLayer` outside the runtime's service) the \
         caller does not wait for it, and the environment is billed for it. Requests per \
         invocation below 1 mean invocations shared requests (without sharing each needs one \
         at least). The last row is how far past its budget a flush returns when the \
         destination never answers: what the margin (250 ms by default) must cover, with the \
         response.\n\n",
    );
    markdown.push_str(
        "| case | endpoint latency | invocations at once | records each | invocations | flush p50 | flush p99 | requests per invocation |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        markdown.push_str(&row(run));
        markdown.push('\n');
    }
}

fn row(run: &LambdaRun) -> String {
    format!(
        "| {} | {} ms | {} | {} | {} | {:.1} ms | {:.1} ms | {:.2} |",
        run.case,
        run.endpoint_ms,
        run.concurrency,
        run.records_per_invocation,
        run.invocations,
        run.p50_ms,
        run.p99_ms,
        run.requests_per_invocation
    )
}
