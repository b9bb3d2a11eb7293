//! What a run leaves on disk: the unprocessed file and the checkpoint.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// How a line of the unprocessed file starts: the key that marks it, whose value is the
/// format's version. Reading back is a prefix check, cheap on every input line.
const PREFIX: &str = "{\"aws_batch_unprocessed\":";
const VERSION: u32 = 1;

/// How a line's tag holds the piece of the input it came from (an object under an S3
/// prefix) above its line number: 2^40 lines a piece, 2^24 pieces.
const PIECE_SHIFT: u32 = 40;
/// The most pieces an input may have.
pub(crate) const MAX_PIECES: usize = 1 << 24;

/// The tag of line `line` of piece `piece`: what the sink carries and failures give back.
pub(crate) fn line_tag(piece: u32, line: u64) -> u64 {
    (u64::from(piece) << PIECE_SHIFT) | (line & ((1 << PIECE_SHIFT) - 1))
}

/// The piece and the line number a tag holds.
fn untag(tag: u64) -> (usize, u64) {
    (
        usize::try_from(tag >> PIECE_SHIFT).unwrap_or(usize::MAX),
        tag & ((1 << PIECE_SHIFT) - 1),
    )
}

/// The files a run writes hold the user's records: readable by their owner only.
const PRIVATE: u32 = 0o600;

/// A file opened for writing, created (when it is new) readable by its owner only.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true).mode(PRIVATE);
    options
}

/// A record as it goes into the unprocessed file.
#[derive(Debug)]
pub(crate) enum Record {
    /// JSON text, written as it is (the input line byte for byte).
    Raw(String),
    /// A record the service holds as a value.
    Json(Value),
    /// An input line that is not JSON.
    Text(String),
    /// An input line that is not UTF-8.
    Bytes(Vec<u8>),
}

/// Why a record was not delivered.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) code: String,
    pub(crate) message: String,
    /// The engine's reason (`rejected`, `retries exhausted`, ...); none for input refused
    /// before sending.
    pub(crate) reason: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) retryable: bool,
}

impl Problem {
    /// A record refused before it was sent.
    pub(crate) fn refused(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            reason: None,
            attempts: 0,
            retryable: false,
        }
    }
}

/// The unprocessed file (or none), and the count of what went into it by error code.
#[derive(Debug)]
pub(crate) struct Unprocessed {
    file: Option<BufWriter<File>>,
    /// The shard (`I/N`) every entry names, in a sharded run.
    shard: Option<String>,
    /// The names of the input's pieces (S3 objects), which entries name; none for a file.
    pieces: Vec<String>,
    by_code: BTreeMap<String, u64>,
    count: u64,
}

impl Unprocessed {
    /// Opens `path` for a new run (emptied), or, resuming, cut back to `resume_at` bytes:
    /// what was written after the checkpoint is written again by the rerun.
    /// Each entry names `shard`, when there is one, and the piece of `pieces` its line is
    /// in, when the input has pieces.
    pub(crate) fn open(
        path: Option<&Path>,
        resume_at: Option<u64>,
        shard: Option<String>,
        pieces: Vec<String>,
    ) -> Result<Self, Error> {
        let file = match path {
            None => None,
            Some(path) => {
                let shown = path.display();
                let mut file = private_file()
                    .truncate(resume_at.is_none())
                    .open(path)
                    .map_err(|e| format!("--unprocessed {shown}: {e}"))?;
                if let Some(length) = resume_at {
                    let now = file.metadata()?.len();
                    if now < length {
                        return Err(format!(
                            "--unprocessed {shown} holds {now} bytes, the checkpoint says {length}: \
                             it is not the file of the checkpointed run"
                        )
                        .into());
                    }
                    file.set_len(length)?;
                    file.seek(io::SeekFrom::End(0))?;
                }
                Some(BufWriter::new(file))
            }
        };
        Ok(Self {
            file,
            shard,
            pieces,
            by_code: BTreeMap::new(),
            count: 0,
        })
    }

    /// Writes one record that was not delivered (counted also without a file); `line` is the
    /// line's tag.
    pub(crate) fn write(
        &mut self,
        line: Option<u64>,
        problem: &Problem,
        record: &Record,
    ) -> io::Result<()> {
        self.count += 1;
        *self.by_code.entry(problem.code.clone()).or_default() += 1;
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let error = serde_json::json!({
            "code": problem.code,
            "message": problem.message,
            "reason": problem.reason,
            "attempts": problem.attempts,
            "retryable": problem.retryable,
        });
        write!(file, "{PREFIX}{VERSION},")?;
        if let Some(shard) = &self.shard {
            write!(file, "\"shard\":\"{shard}\",")?;
        }
        let line = line.map(|tag| {
            let (piece, line) = untag(tag);
            (self.pieces.get(piece), line)
        });
        if let Some((Some(piece), _)) = line {
            write!(file, "\"object\":{},", Value::String(piece.clone()))?;
        }
        file.write_all(b"\"line\":")?;
        match line.map(|(_, line)| line) {
            Some(n) => write!(file, "{n}")?,
            None => file.write_all(b"null")?,
        }
        write!(file, ",\"error\":{error},")?;
        match record {
            Record::Raw(text) => write!(file, "\"record\":{text}")?,
            Record::Json(value) => write!(file, "\"record\":{value}")?,
            Record::Text(text) => write!(file, "\"input\":{}", Value::String(text.clone()))?,
            Record::Bytes(bytes) => write!(
                file,
                "\"input_base64\":\"{}\"",
                aws_smithy_types::base64::encode(bytes)
            )?,
        }
        file.write_all(b"}\n")
    }

    /// Writes everything buffered through to the disk; returns the file's length.
    pub(crate) fn sync(&mut self) -> io::Result<u64> {
        let Some(file) = self.file.as_mut() else {
            return Ok(0);
        };
        file.flush()?;
        file.get_ref().sync_data()?;
        file.get_ref().metadata().map(|m| m.len())
    }

    /// Records written.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Records written, by error code.
    pub(crate) fn by_code(&self) -> &BTreeMap<String, u64> {
        &self.by_code
    }
}

/// What a line of the unprocessed file holds, when a line is one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unwrapped {
    /// The record, as JSON text.
    Record(String),
    /// The text of a line that was not JSON.
    Text(String),
    /// The bytes of a line that was not UTF-8.
    Bytes(Vec<u8>),
}

/// The record inside a line of an unprocessed file; `None` for any other line.
pub(crate) fn unwrap(line: &str) -> Option<Result<Unwrapped, String>> {
    #[derive(Deserialize)]
    struct Entry<'a> {
        #[serde(borrow)]
        record: Option<&'a serde_json::value::RawValue>,
        input: Option<String>,
        input_base64: Option<String>,
    }
    if !line.starts_with(PREFIX) {
        return None;
    }
    let entry: Entry<'_> = match serde_json::from_str(line) {
        Ok(entry) => entry,
        Err(e) => return Some(Err(format!("a damaged line of an unprocessed file: {e}"))),
    };
    Some(match (entry.record, entry.input, entry.input_base64) {
        (Some(record), _, _) => Ok(Unwrapped::Record(record.get().to_owned())),
        (None, Some(text), _) => Ok(Unwrapped::Text(text)),
        (None, None, Some(encoded)) => aws_smithy_types::base64::decode(&encoded)
            .map(Unwrapped::Bytes)
            .map_err(|e| format!("\"input_base64\" of an unprocessed file: {e}")),
        (None, None, None) => Err("a line of an unprocessed file without a record".into()),
    })
}

/// `first`, then each cause in `source`'s chain that it does not already say.
pub(crate) fn with_causes(first: String, mut source: Option<&dyn std::error::Error>) -> String {
    let mut told = first;
    while let Some(cause) = source {
        let text = cause.to_string();
        if !told.contains(&text) {
            told.push_str(": ");
            told.push_str(&text);
        }
        source = cause.source();
    }
    told
}

/// Whether two paths name the same file (the second may not exist yet).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => absolute(a) == absolute(b),
    }
}

fn absolute(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(parent)
        .unwrap_or_else(|_| parent.to_path_buf())
        .join(path.file_name().unwrap_or_default())
}

/// How far a run got: every line before `offset` is delivered or in the unprocessed file,
/// which was `unprocessed_bytes` long then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) version: u32,
    /// The input file, as given.
    pub(crate) input: PathBuf,
    /// The part of the input (`I/N`) of a sharded run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<String>,
    /// The object being read, of an S3 input: the objects before it in key order are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) object: Option<String>,
    pub(crate) offset: u64,
    /// The number of the line at `offset` (in the shard's part, when sharded).
    pub(crate) next_line: u64,
    pub(crate) unprocessed_bytes: u64,
}

impl Checkpoint {
    /// A run of `input` (or of part `shard` of it) that has not started: it is at `offset`.
    pub(crate) fn new(input: &Path, shard: Option<String>, offset: u64) -> Self {
        Self {
            version: VERSION,
            input: input.to_path_buf(),
            shard,
            object: None,
            offset,
            next_line: 1,
            unprocessed_bytes: 0,
        }
    }

    /// The checkpoint at `path`, if there is one.
    pub(crate) fn load(path: &Path) -> Result<Option<Self>, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("--checkpoint {}: {e}", path.display()).into()),
        };
        let checkpoint: Self = serde_json::from_str(&text)
            .map_err(|e| format!("--checkpoint {}: not a checkpoint: {e}", path.display()))?;
        if checkpoint.version != VERSION {
            return Err(format!(
                "--checkpoint {}: version {} is not {VERSION}",
                path.display(),
                checkpoint.version
            )
            .into());
        }
        Ok(Some(checkpoint))
    }

    /// Replaces the file at `path` with this checkpoint, atomically and durably.
    pub(crate) fn save(&self, path: &Path) -> io::Result<()> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        let temp = path.with_file_name(name);
        let mut file = private_file().truncate(true).open(&temp)?;
        serde_json::to_writer(&mut file, self)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the directory is; some file systems refuse this.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(record: &Record, line: Option<u64>) -> String {
        let dir = std::env::temp_dir().join(format!("aws-batch-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join(format!("{}.ndjson", fastrand::u64(..)));
        let mut out = Unprocessed::open(Some(&path), None, None, Vec::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let problem = Problem::refused("InvalidJson", "expected value");
        out.write(line, &problem, record).unwrap_or_default();
        out.sync().unwrap_or_default();
        std::fs::read_to_string(&path).unwrap_or_default()
    }

    #[test]
    fn every_kind_of_record_reads_back_as_it_was() {
        let raw = r#"{"b":1, "a":1E2,"a":3}"#;
        let cases = [
            (Record::Raw(raw.into()), Unwrapped::Record(raw.into())),
            (
                Record::Text("not json \"quoted\"".into()),
                Unwrapped::Text("not json \"quoted\"".into()),
            ),
            (
                Record::Bytes(vec![0xFF, b'a', 0]),
                Unwrapped::Bytes(vec![0xFF, b'a', 0]),
            ),
        ];
        for (record, expected) in cases {
            let text = written(&record, Some(7));
            let line = text.trim_end();
            let parsed: Value = serde_json::from_str(line).unwrap_or_default();
            assert_eq!(parsed["line"], 7, "{line}");
            assert_eq!(parsed["error"]["code"], "InvalidJson");
            assert_eq!(unwrap(line), Some(Ok(expected)));
        }
    }

    #[test]
    fn other_lines_are_not_unwrapped() {
        assert_eq!(unwrap(r#"{"record": 1, "line": 2}"#), None);
        assert!(matches!(
            unwrap(r#"{"aws_batch_unprocessed":1,"line":2"#),
            Some(Err(_))
        ));
    }
}
