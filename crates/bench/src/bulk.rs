//! Bulk loads with the `aws-batch` command: a DynamoDB table export copied into a table of
//! 1,000 WCU (the null endpoint's quota model), by one process and by four shards at once;
//! and the cost of reading one input plain, gzip and zstd, from a local file and from S3 (the
//! null endpoint serving the same files as objects). Each run is the built binary as a
//! child process; its CPU time is read from `/proc` once it has exited, before it is reaped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use md5::{Digest, Md5};
use null_endpoint::{Capacity, NullEndpoint};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::plan::{Figures, ratio};
use crate::{Options, Result, report};

/// The table's write capacity in the export runs.
const WCU: f64 = 1_000.0;
/// Items of the export runs: the full run's, the smoke run's.
const EXPORT_ITEMS: u64 = 1_000_000;
const QUICK_EXPORT_ITEMS: u64 = 4_000;
/// Records of the reading runs.
const READ_RECORDS: u64 = 400_000;
const QUICK_READ_RECORDS: u64 = 20_000;
/// Items per data file of an export (DynamoDB writes one file per partition or more), and
/// the fewest files, so that every shard has some.
const ITEMS_PER_FILE: u64 = 50_000;
const MIN_FILES: u64 = 16;
/// Shards of the sharded copy.
const SHARDS: u64 = 4;
/// Padding of each item: about 100 bytes, one write capacity unit.
const PAD: usize = 60;
/// Clock ticks per second of `/proc/<pid>/stat` times.
const TICKS_PER_SECOND: f64 = 100.0;

/// One row of the bulk-load table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BulkRun {
    pub(crate) case: String,
    pub(crate) records: u64,
    pub(crate) processes: u64,
    /// The table's write capacity, when the run had a quota.
    pub(crate) wcu: Option<f64>,
    pub(crate) seconds: f64,
    pub(crate) delivered: u64,
    pub(crate) handed_back: u64,
    /// Manifest problems the command reported (count or checksum differences).
    pub(crate) problems: u64,
    /// CPU time of the command's processes, all of them.
    pub(crate) cpu_s: f64,
    /// What was handed back, by error code.
    #[serde(default)]
    pub(crate) failures: std::collections::BTreeMap<String, u64>,
}

impl BulkRun {
    pub(crate) fn records_per_second(&self) -> f64 {
        ratio(self.delivered as f64, self.seconds)
    }

    /// Share of the table's capacity used (one unit per item).
    pub(crate) fn capacity_share(&self) -> Option<f64> {
        self.wcu.map(|wcu| ratio(self.records_per_second(), wcu))
    }

    pub(crate) fn cpu_us_per_record(&self) -> f64 {
        ratio(self.cpu_s * 1e6, self.records as f64)
    }
}

/// The `aws-batch` binary built beside this one.
fn aws_batch() -> Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("aws-batch");
    if !path.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build -p batch-cli` (the xtask does)",
            path.display()
        )
        .into());
    }
    Ok(path)
}

fn item_line(n: u64) -> Value {
    json!({"Item": {
        "id": {"S": format!("k{n:08}")},
        "n": {"N": format!("{n}.25")},
        "pad": {"S": "x".repeat(PAD)},
    }})
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Writes an export of `items` items under `root` with the real layout; returns its folder.
fn write_export(root: &Path, items: u64) -> Result<PathBuf> {
    let folder = root.join("AWSDynamoDB/01764000000000-bench000");
    std::fs::create_dir_all(folder.join("data"))?;
    let mut manifest = String::new();
    let per_file = ITEMS_PER_FILE.min(items.div_ceil(MIN_FILES)).max(1);
    for file in 0..items.div_ceil(per_file) {
        let first = file * per_file;
        let last = (first + per_file).min(items);
        let text: String = (first..last)
            .map(|n| item_line(n).to_string() + "\n")
            .collect();
        let data = gzip(text.as_bytes())?;
        let key = format!("AWSDynamoDB/01764000000000-bench000/data/part{file:04}.json.gz");
        std::fs::write(root.join(&key), &data)?;
        let entry = json!({
            "itemCount": last - first,
            "md5Checksum": aws_smithy_types::base64::encode(Md5::digest(&data).as_slice()),
            "etag": "0",
            "dataFileS3Key": key,
        });
        manifest.push_str(&(entry.to_string() + "\n"));
    }
    std::fs::write(folder.join("manifest-files.json"), manifest)?;
    let summary =
        json!({"version": "2020-06-30", "itemCount": items, "outputFormat": "DYNAMODB_JSON"});
    std::fs::write(folder.join("manifest-summary.json"), summary.to_string())?;
    Ok(folder)
}

/// The bucket the null endpoint serves the reading runs' inputs in: the folder of that name.
const BUCKET: &str = "inputs";

/// Writes `records` plain JSON items as `in.ndjson`, `in.ndjson.gz` and `in.ndjson.zst` in
/// the folder `root/inputs`, which the endpoint serves as the bucket `inputs`.
fn write_inputs(root: &Path, records: u64) -> Result<[PathBuf; 3]> {
    let root = root.join(BUCKET);
    std::fs::create_dir_all(&root)?;
    let pad = "x".repeat(PAD);
    let text: String = (0..records)
        .map(|n| json!({"id": format!("k{n:08}"), "n": n, "pad": pad}).to_string() + "\n")
        .collect();
    let plain = root.join("in.ndjson");
    let gz = root.join("in.ndjson.gz");
    let zst = root.join("in.ndjson.zst");
    std::fs::write(&plain, text.as_bytes())?;
    std::fs::write(&gz, gzip(text.as_bytes())?)?;
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3)?)?;
    Ok([plain, gz, zst])
}

/// `aws-batch dynamodb` into the endpoint's table `bulk`, with `args`.
fn command(binary: &Path, url: &str, args: &[String]) -> Command {
    let mut command = Command::new(binary);
    command
        .args([
            "--json",
            "--quiet",
            "--region",
            "us-east-1",
            "--endpoint-url",
            url,
        ])
        .args(["dynamodb", "--table", "bulk", "--partition-key", "id"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` and returns its CPU time and its `--json` summary. The CPU time is read
/// while the exited child is a zombie, when `/proc` still holds its whole account.
// Runs on a blocking thread of its own, which sleeps between looks.
#[allow(clippy::disallowed_methods)]
fn finish(child: Child) -> Result<(f64, Value)> {
    let stat_path = format!("/proc/{}/stat", child.id());
    let mut cpu = 0.0;
    while let Ok(stat) = std::fs::read_to_string(&stat_path) {
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        // After the name: state at 0, utime and stime at 11 and 12.
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        cpu = ticks / TICKS_PER_SECOND;
        if fields.first() == Some(&"Z") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    let summary: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "aws-batch printed no summary ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok((cpu, summary))
}

/// Runs `processes` copies of the command at once (each given its `--shard` when more than
/// one) and sums what they did. The endpoint serves the files under `objects` as S3 buckets.
#[allow(clippy::too_many_arguments)]
async fn run(
    objects: &Path,
    case: &str,
    capacity: Capacity,
    wcu: Option<f64>,
    records: u64,
    processes: u64,
    args: &[String],
) -> Result<BulkRun> {
    let binary = aws_batch()?;
    let endpoint = NullEndpoint::start_with_capacity(Duration::ZERO, capacity, None).await?;
    endpoint.serve_objects(objects);
    let url = endpoint.url();
    let started = Instant::now();
    let mut children = Vec::new();
    for index in 0..processes {
        let mut args = args.to_vec();
        if processes > 1 {
            args.extend(["--shard".to_owned(), format!("{index}/{processes}")]);
        }
        children.push(command(&binary, &url, &args).spawn()?);
    }
    let results = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| finish(child).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut run = BulkRun {
        case: case.to_owned(),
        records,
        processes,
        wcu,
        seconds,
        delivered: 0,
        handed_back: 0,
        problems: 0,
        cpu_s: 0.0,
        failures: std::collections::BTreeMap::new(),
    };
    for result in results {
        let (cpu, summary) = result?;
        let count = |name: &str| summary[name].as_u64().unwrap_or(0);
        run.delivered += count("delivered");
        run.handed_back += count("unprocessed");
        run.problems += summary["problems"].as_array().map_or(0, Vec::len) as u64;
        run.cpu_s += cpu;
        if let Some(failures) = summary["failures"].as_object() {
            for (code, count) in failures {
                *run.failures.entry(code.clone()).or_default() += count.as_u64().unwrap_or(0);
            }
        }
    }
    eprintln!("batch-bench: bulk {}", row(&run));
    if run.delivered != records || run.handed_back > 0 || run.problems > 0 {
        return Err(format!(
            "{case}: {} of {records} delivered, {} handed back ({:?}), {} manifest problems",
            run.delivered, run.handed_back, run.failures, run.problems
        )
        .into());
    }
    Ok(run)
}

/// Every bulk-load run, with `items` in the export (the default for a full or a smoke run
/// when not given).
pub(crate) async fn measure(quick: bool, items: Option<u64>) -> Result<Vec<BulkRun>> {
    let dir = std::env::temp_dir().join(format!("batch-bench-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (default_items, records) = if quick {
        (QUICK_EXPORT_ITEMS, QUICK_READ_RECORDS)
    } else {
        (EXPORT_ITEMS, READ_RECORDS)
    };
    let items = items.unwrap_or(default_items);
    let export = write_export(&dir, items)?;
    let export_args = vec!["--from-export".to_owned(), export.display().to_string()];
    let quota = Capacity::default().dynamodb_wcu(WCU);
    let mut runs = Vec::new();
    for processes in [1, SHARDS] {
        let case = if processes == 1 {
            "export copy".to_owned()
        } else {
            format!("export copy, {processes} shards at once")
        };
        runs.push(
            run(
                &dir,
                &case,
                quota.clone(),
                Some(WCU),
                items,
                processes,
                &export_args,
            )
            .await?,
        );
    }
    let [plain, gz, zst] = write_inputs(&dir, records)?;
    let object = |file: &Path| {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("s3://{BUCKET}/{}", name.unwrap_or_default())
    };
    let inputs = [
        ("NDJSON file", plain.display().to_string()),
        ("gzip NDJSON file", gz.display().to_string()),
        ("zstd NDJSON file", zst.display().to_string()),
        ("NDJSON object in S3", object(&plain)),
        ("gzip NDJSON object in S3", object(&gz)),
    ];
    for (case, input) in inputs {
        let args = vec!["--input".to_owned(), input];
        runs.push(run(&dir, case, Capacity::default(), None, records, 1, &args).await?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(runs)
}

/// Runs the bulk loads into the figures of `--from-json` and writes the report.
pub(crate) async fn run_into_report(options: &Options, items: Option<u64>) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    figures.bulk = measure(options.quick, items).await?;
    report::write(options, &figures)
}

/// The report's section.
pub(crate) fn section(markdown: &mut String, runs: &[BulkRun]) {
    if runs.is_empty() {
        return;
    }
    markdown.push_str(
        "\n## Bulk loads with the `aws-batch` command\n\n\
         `batch-bench bulk`: the built `aws-batch` binary as child processes against the null \
         endpoint. The export rows copy a DynamoDB table export (gzipped data files of up to \
         50,000 items of about 100 bytes, at least 16 of them, both manifests, every file's \
         count and MD5 checked) into a \
         table of 1,000 WCU that refuses what exceeds it, by one process and by four \
         `--shard I/4` processes at once; the share is items written per second over the \
         capacity. The reading rows send one input, plain, gzip and zstd, from a local file \
         and as an S3 object (the null endpoint serving the same file), to a table without \
         a quota: what reading costs. CPU is the command's own, all processes.\n\n",
    );
    markdown.push_str(
        "| case | records | processes | quota | seconds | records/s | share of capacity | handed back | CPU µs per record |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        markdown.push_str(&row(run));
        markdown.push('\n');
    }
    let cpu = |case: &str| {
        runs.iter()
            .find(|r| r.case == case)
            .map(BulkRun::cpu_us_per_record)
    };
    if let (Some(plain), Some(gzip), Some(zstd), Some(s3), Some(s3_gzip)) = (
        cpu("NDJSON file"),
        cpu("gzip NDJSON file"),
        cpu("zstd NDJSON file"),
        cpu("NDJSON object in S3"),
        cpu("gzip NDJSON object in S3"),
    ) {
        markdown.push_str(&format!(
            "\nCPU per record against the plain file: gzip {:.2}x, zstd {:.2}x, S3 {:.2}x, \
             gzip from S3 {:.2}x.\n",
            ratio(gzip, plain),
            ratio(zstd, plain),
            ratio(s3, plain),
            ratio(s3_gzip, plain),
        ));
    }
}

fn row(run: &BulkRun) -> String {
    format!(
        "| {} | {} | {} | {} | {:.1} | {:.0} | {} | {} | {:.1} |",
        run.case,
        run.records,
        run.processes,
        run.wcu
            .map_or_else(|| "none".to_owned(), |w| format!("{w:.0} WCU")),
        run.seconds,
        run.records_per_second(),
        run.capacity_share()
            .map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0)),
        run.handed_back,
        run.cpu_us_per_record(),
    )
}
