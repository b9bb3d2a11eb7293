//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser};

use crate::sink::Service;

const AFTER_HELP: &str = "\
Input:
  One record a line (NDJSON), UTF-8. Empty lines are skipped, CRLF line ends and a leading
  byte order mark are accepted. SQS and Kinesis send each line exactly as it came in (checked
  to be JSON unless --raw). DynamoDB maps a JSON object to an item: strings to S, numbers to N
  (their exact text; 38 significant digits, magnitudes 1E-130 to 9.99...E+125), true/false to
  BOOL, null to NULL, arrays to L, objects to M. CloudWatch takes one metric object a line.

Unprocessed file (--unprocessed), one JSON object a line:
  {\"aws_batch_unprocessed\":1,\"line\":12,\"error\":{\"code\":\"...\",\"message\":\"...\",
   \"reason\":\"...\",\"attempts\":5,\"retryable\":true},\"record\":<the record>}
  \"record\" holds the record as it was sent (SQS, Kinesis: the input line byte for byte).
  A line that is not JSON has \"input\" (its text) instead; a line that is not UTF-8 has
  \"input_base64\". \"line\" is the line number in the input. Give the file back as --input
  to send its records again: aws-batch reads the records out of these objects.

S3 input (--input s3://bucket/key or s3://bucket/prefix/):
  Every object under a prefix is read in key order, each plain, gzip or zstd on its own.
  Lines are numbered per object, and each entry of the unprocessed file names its
  \"object\". A checkpoint names the object in progress; a rerun continues there.

DynamoDB table exports (dynamodb --from-export FOLDER):
  The export's data files are the pieces of the input, in the order of manifest-files.json;
  each is checked against it when read to its end (item count, MD5), and any difference is
  in the summary's \"problems\" (exit code 1; the items are copied all the same). The
  summary counts items written and keys deleted apart (\"written\", \"deleted\").

Sharded runs (--shard I/N):
  Under an S3 prefix, part I is every N-th object from object I. A file or a single object
  is cut into N byte ranges of equal size; part I holds the lines that start in range I.
  Either way N copies read every line exactly once. Line numbers count from the first line
  of the part; the summary gives the part and each entry of the unprocessed file names the
  shard. A compressed file cannot be cut by bytes.

Interruption and resuming:
  On SIGINT or SIGTERM, aws-batch stops reading, sends what it accepted (for up to --grace),
  writes what was not delivered to the unprocessed file, prints the summary and exits with
  130 (SIGINT) or 143 (SIGTERM). A second signal stops at once; the records still held are
  written to the unprocessed file (a request cancelled on the wire may have been stored too).
  With --checkpoint FILE, the position below which every line is delivered or in the
  unprocessed file is saved as the run goes; a rerun with the same options continues from
  there, also after a crash. The unprocessed file and the checkpoint are created readable
  by their owner only (mode 0600). Delivery is at least once: after a crash, lines between the
  checkpoint and the crash are sent again.

Exit codes:
  0    every record delivered
  1    some records not delivered (they are in the unprocessed file and the summary)
  2    usage or configuration error, found before any line was read; or an I/O error
  3    stopped early: the destination failed --max-failed-requests requests in a row
  130  interrupted by SIGINT;  143  interrupted by SIGTERM

Logging: warnings go to standard error; -v, -vv, -vvv for more, -q for errors only, or
RUST_LOG (e.g. RUST_LOG=batch_core=debug).";

/// Bulk-load NDJSON records into an AWS queue, stream, table or metrics namespace with
/// batched writes. Reads a file (or standard input), one record a line, and reports what was
/// delivered, what was not, and why.
#[derive(Debug, Parser)]
#[command(name = "aws-batch", version, after_long_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) service: Service,

    #[command(flatten)]
    pub(crate) common: Common,
}

/// Options every service takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// NDJSON input: a file, `s3://bucket/key`, or `s3://bucket/prefix/` for every object
    /// under the prefix in key order; standard input when absent or `-`. Plain, gzip or zstd.
    #[arg(long, short, global = true)]
    pub(crate) input: Option<PathBuf>,

    /// Endpoint URL for reading `--input s3://...`, e.g. a local emulator (default: AWS's,
    /// or --endpoint-url).
    #[arg(long, global = true)]
    pub(crate) s3_endpoint_url: Option<String>,

    /// Write every record that was not delivered here (see the format below). Never the
    /// input file.
    #[arg(long, global = true)]
    pub(crate) unprocessed: Option<PathBuf>,

    /// Take part I of N of the input file (from 0): N copies of the command, each given its
    /// own I, read every line exactly once between them. `auto/N` reads I from
    /// AWS_BATCH_JOB_ARRAY_INDEX or JOB_COMPLETION_INDEX. Sets --fleet-size to N unless given.
    #[arg(long, global = true, value_name = "I/N", value_parser = crate::shard::parse)]
    pub(crate) shard: Option<crate::shard::ShardArg>,

    /// Save progress here and continue from it when the file exists (needs --input FILE).
    #[arg(long, global = true)]
    pub(crate) checkpoint: Option<PathBuf>,

    /// How often the checkpoint is brought up to date (each time waits for the requests in
    /// flight).
    #[arg(long, global = true, value_parser = parse_duration, default_value = "2s")]
    pub(crate) checkpoint_every: Duration,

    /// Print the summary as JSON instead of a table.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// AWS region (default: from the environment or profile).
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,

    /// AWS profile.
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,

    /// Endpoint URL, e.g. a local emulator (http:// or https://).
    #[arg(long, global = true)]
    pub(crate) endpoint_url: Option<String>,

    /// Requests in flight at once, at most; fewer while the destination throttles.
    #[arg(long, global = true, default_value_t = aws_batch_utils::engine::DEFAULT_MAX_IN_FLIGHT)]
    pub(crate) max_in_flight: usize,

    /// Send at most this many records a second, to leave room in a shared quota for other
    /// writers. Without it, the command paces itself to what the destination accepts.
    #[arg(long, global = true)]
    pub(crate) max_records_per_second: Option<u64>,

    /// How many copies of the command, this one included, start together on the
    /// destination (an array job's size): each starts at its share of the destination's
    /// documented rate, so that together they do not burst the quota at the start.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) fleet_size: Option<u64>,

    /// A DynamoDB table (keys `fleet` and `writer`, strings) through which the copies of
    /// the command writing to one destination share its quota: each holds a lease there
    /// and paces at the quota divided by the copies whose leases are live, from the first
    /// second. Pacing goes on alone while the table cannot be reached.
    #[arg(long, global = true, value_name = "TABLE")]
    pub(crate) fleet_table: Option<String>,

    /// The fleet's name in --fleet-table: copies of one fleet share a quota (default: the
    /// table's name).
    #[arg(long, global = true, value_name = "NAME", requires = "fleet_table")]
    pub(crate) fleet_name: Option<String>,

    /// The destination's quota in records a second, for a fleet on a destination whose
    /// rate is not documented (a table's write capacity for items up to 1 KB); a stream's
    /// shards document theirs.
    #[arg(long, global = true, value_name = "RECORDS", requires = "fleet_table", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) fleet_quota: Option<u64>,

    /// The endpoint of --fleet-table's DynamoDB, when not the standard one (the
    /// destination's --endpoint-url is not used for it).
    #[arg(long, global = true, value_name = "URL", requires = "fleet_table")]
    pub(crate) fleet_endpoint_url: Option<String>,

    /// Do not pace to the destination's throttling: send as fast as requests go, and count
    /// throttling against --max-attempts.
    #[arg(long, global = true)]
    pub(crate) no_pacing: bool,

    /// Send a partial batch once its oldest record waited this long; 0 to wait for full
    /// batches.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "1s")]
    pub(crate) linger: Duration,

    /// Attempts per record, the first included. Throttling does not count while the command
    /// paces itself: a throttled record is sent again for up to --throttle-budget.
    #[arg(long, global = true, default_value_t = 5)]
    pub(crate) max_attempts: u32,

    /// How long a record may go on being throttled (paced and sent again) before it is
    /// handed back. A bulk load into a table or stream that others write too waits its turn.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "10m")]
    pub(crate) throttle_budget: Duration,

    /// After a signal or a failing destination, how long to go on sending what was accepted
    /// before handing the rest back.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "10s")]
    pub(crate) grace: Duration,

    /// Stop reading once this many requests in a row failed as a whole (not counting
    /// throttling): the destination is down or refuses everything. 0: never stop.
    #[arg(long, global = true, default_value_t = 10)]
    pub(crate) max_failed_requests: u64,

    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(long, short, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,

    /// No progress bar, errors only in the log.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
}

/// `250ms`, `2s`, `1.5s`, `1m` or a bare number of milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60.0)
    } else {
        (text, 0.001)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 200ms or 2s"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("40"), Ok(Duration::from_millis(40)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
