//! The input a run reads (a local file or standard input, S3 objects, the data files of an
//! export), the shard's part of it, where the run starts in it, and the checkpoint it keeps.

use std::io::{BufRead, BufReader, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::cli::Common;
use crate::input::{self, Piece, Start};
use crate::output::{self, Checkpoint};
use crate::report::{Part, Share};
use crate::shard::{self, Shard};
use crate::sources::{self, Source};
use crate::{Error, compression, s3};

/// The input, where to start in it, and the checkpoint to keep.
pub(crate) struct Input {
    /// What to read, in order: the file, or the S3 objects.
    pub(crate) pieces: Vec<Piece>,
    /// The names of the pieces, when they are named (S3 objects).
    pub(crate) names: Vec<String>,
    /// The bytes to read, when they are known (its part's, in a sharded run).
    pub(crate) bytes: Option<u64>,
    /// The input's bytes read so far, when they are not the lines' offsets (compressed or
    /// S3 input).
    pub(crate) read: Option<Arc<AtomicU64>>,
    /// Where the first piece starts.
    pub(crate) start: Start,
    /// The offset progress counts from: the part's first byte in a sharded run.
    pub(crate) base: u64,
    /// The part of the input read, in a sharded run.
    pub(crate) part: Option<Part>,
    pub(crate) checkpoint: Option<Checkpoint>,
}

/// Opens the input (the shard's part of it, in a sharded run), and the checkpoint to
/// continue from.
pub(crate) fn open_input(common: &Common, shard: Option<Shard>) -> Result<Input, Error> {
    let path = common.input.as_ref().filter(|p| p.as_os_str() != "-");
    let Some(path) = path else {
        return stdin_input(shard);
    };
    let shown = path.display();
    let mut file = std::fs::File::open(path).map_err(|e| format!("--input {shown}: {e}"))?;
    let bytes = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let compression = if bytes.is_some() {
        compression::sniff(&mut file).map_err(|e| format!("--input {shown}: {e}"))?
    } else {
        None
    };
    log_compression(compression);
    let part = match shard {
        None => None,
        Some(shard) => Some(find_part(&mut file, path, shard, bytes, compression)?),
    };
    let (first_byte, end_byte) = part.and_then(Part::bytes).unwrap_or((0, u64::MAX));
    let checkpoint = match &common.checkpoint {
        Some(checkpoint_path) => Some((checkpoint_path, resumable(checkpoint_path, path, part)?)),
        None => None,
    };
    let offset = checkpoint.as_ref().map_or(first_byte, |(_, c)| c.offset);
    let checkpoint_path = checkpoint.as_ref().map(|(p, _)| p.as_path());
    let (reader, read) = file_reader(file, path, bytes, compression, offset, checkpoint_path)?;
    let start = match &checkpoint {
        Some((_, checkpoint)) => Start {
            line: checkpoint.next_line,
            offset: checkpoint.offset,
        },
        None => Start {
            line: 1,
            offset: first_byte,
        },
    };
    Ok(Input {
        pieces: vec![Piece::whole(reader, start, end_byte)],
        names: Vec::new(),
        bytes: part.map_or(bytes, |_| Some(end_byte - first_byte)),
        read,
        start,
        base: first_byte,
        part,
        checkpoint: checkpoint.map(|(_, c)| c),
    })
}

/// Lines to read, decompressed.
type Reader = Box<dyn BufRead + Send>;

/// Standard input, read whole, decompressed if it is compressed.
fn stdin_input(shard: Option<Shard>) -> Result<Input, Error> {
    if let Some(shard) = shard {
        return Err(
            format!("--shard {shard} needs --input FILE: standard input cannot be split").into(),
        );
    }
    let (reader, compression) = compression::decompressed(BufReader::new(std::io::stdin()))
        .map_err(|e| format!("standard input: {e}"))?;
    log_compression(compression);
    Ok(Input {
        pieces: vec![Piece::whole(reader, Start::BEGINNING, u64::MAX)],
        names: Vec::new(),
        bytes: None,
        read: None,
        start: Start::BEGINNING,
        base: 0,
        part: None,
        checkpoint: None,
    })
}

/// A reader of `file` (at `path`, of `bytes` when a regular file) from `offset`, the place a
/// checkpoint at `checkpoint_path` (if any) or a part starts at, decompressed if it is; and
/// the count of compressed bytes read, when it is compressed.
fn file_reader(
    mut file: std::fs::File,
    path: &Path,
    bytes: Option<u64>,
    compression: Option<compression::Compression>,
    offset: u64,
    checkpoint_path: Option<&Path>,
) -> Result<(Reader, Option<Arc<AtomicU64>>), Error> {
    let shown = path.display();
    let not_this_input = |what: String| -> Error {
        let checkpoint = checkpoint_path
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!("--checkpoint {checkpoint}: {what}: not this input").into()
    };
    let Some(compression) = compression else {
        if let (Some(size), Some(_)) = (bytes, checkpoint_path)
            && offset > size
        {
            return Err(not_this_input(format!(
                "it is at byte {offset} of {shown}, which has {size}"
            )));
        }
        file.seek(std::io::SeekFrom::Start(offset))
            .map_err(|e| format!("--input {shown}: {e}"))?;
        return Ok((Box::new(BufReader::with_capacity(1 << 16, file)), None));
    };
    // Progress follows the compressed bytes, which the file's size counts.
    let (counted, read) = compression::Counting::new(file);
    let reader = BufReader::with_capacity(1 << 16, counted);
    let mut reader =
        compression::decoder(compression, reader).map_err(|e| format!("--input {shown}: {e}"))?;
    // A compressed stream cannot be sought: read up to the checkpoint's place.
    if offset > 0
        && !compression::skip(&mut reader, offset).map_err(|e| format!("--input {shown}: {e}"))?
    {
        return Err(not_this_input(format!(
            "it is at byte {offset} of what {shown} holds, which ends before"
        )));
    }
    Ok((reader, Some(read)))
}

/// The part of `file` that `shard` reads: from the first line that starts in its byte range.
fn find_part(
    file: &mut std::fs::File,
    path: &Path,
    shard: Shard,
    size: Option<u64>,
    compression: Option<compression::Compression>,
) -> Result<Part, Error> {
    let shown = path.display();
    let Some(size) = size else {
        return Err(format!("--shard {shard}: {shown} is not a regular file").into());
    };
    if let Some(compression) = compression {
        return Err(format!(
            "--shard {shard}: {shown} is {}-compressed, and a compressed file cannot be cut \
             into parts by bytes: decompress it, or split it into files",
            compression.name()
        )
        .into());
    }
    let (cut, end_byte) = shard.bounds(size);
    file.seek(std::io::SeekFrom::Start(cut.saturating_sub(1)))
        .map_err(|e| format!("--input {shown}: {e}"))?;
    let first_byte = shard::to_first_line(&mut BufReader::new(&mut *file), cut)
        .map_err(|e| format!("--input {shown}: {e}"))?;
    Ok(Part {
        shard,
        share: Share::Bytes {
            // A part no line starts in is empty.
            first_byte: first_byte.min(end_byte),
            end_byte,
        },
    })
}

/// Lists the objects of an S3 input (this shard's), and the checkpoint to continue from.
/// The objects are read on the reader thread, each opened when it comes.
pub(crate) async fn open_s3_input(
    common: &Common,
    shard: Option<Shard>,
    sdk: &aws_config::SdkConfig,
    location: &s3::Location,
) -> Result<Input, Error> {
    let client = s3::client(sdk, common.s3_endpoint_url.as_deref());
    let objects = s3::objects(&client, location).await?;
    let byte_part = match (shard, objects.as_slice()) {
        (Some(shard), [object]) => {
            let compression = compression::Compression::of(&object.head_bytes().await?);
            if let Some(compression) = compression {
                return Err(format!(
                    "--shard {shard}: {} is {}-compressed, and a compressed object cannot be \
                     cut into parts by bytes: give a prefix of several objects",
                    object.url(),
                    compression.name()
                )
                .into());
            }
            let (cut, end_byte) = shard.bounds(object.size);
            let first_byte = object.first_line_at(cut).await?.min(end_byte);
            Some(Part {
                shard,
                share: Share::Bytes {
                    first_byte,
                    end_byte,
                },
            })
        }
        _ => None,
    };
    let sources = objects
        .into_iter()
        .map(|object| (Source::Object(object), None))
        .collect();
    let shown = common.input.as_deref().unwrap_or(Path::new("-"));
    pieces_input(common, shard, byte_part, sources, shown)
}

/// What a piece must hold when it is read to its end: the data file of an export.
pub(crate) struct Expected {
    pub(crate) items: u64,
    /// The base64 MD5 of its bytes.
    pub(crate) md5: String,
}

/// The input made of `sources` read in turn: this shard's share of them (every N-th, or
/// `byte_part` of a single one), from the checkpoint on; each checked against what it is
/// `Expected` to hold when that is given.
pub(crate) fn pieces_input(
    common: &Common,
    shard: Option<Shard>,
    byte_part: Option<Part>,
    mut sources: Vec<(Source, Option<Expected>)>,
    shown: &Path,
) -> Result<Input, Error> {
    if sources.len() > output::MAX_PIECES {
        return Err(format!(
            "{}: {} pieces, more than the {} a run reads: give a longer prefix or --shard",
            shown.display(),
            sources.len(),
            output::MAX_PIECES
        )
        .into());
    }
    let part = byte_part.or_else(|| shard.map(|shard| take_share(&mut sources, shard)));
    let checkpoint = match &common.checkpoint {
        Some(path) => Some(resumable(path, shown, part)?),
        None => None,
    };
    let resume = match &checkpoint {
        Some(checkpoint) => skip_done(&mut sources, checkpoint, shown)?,
        None => None,
    };
    let (first_byte, end_byte) = part.and_then(Part::bytes).unwrap_or((0, u64::MAX));
    let begin = Start {
        line: 1,
        offset: first_byte,
    };
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let runtime = tokio::runtime::Handle::current();
    let bytes = match part.and_then(Part::bytes) {
        Some((first, end)) => end - first,
        None => sources.iter().map(|(s, _)| s.size()).sum(),
    };
    let names = sources.iter().map(|(s, _)| s.name()).collect();
    let pieces = (0..)
        .zip(sources)
        .map(|(i, (source, expected))| {
            let start = if i == 0 {
                resume.unwrap_or(begin)
            } else {
                begin
            };
            let runtime = runtime.clone();
            let read = Arc::clone(&read);
            let md5 = expected.as_ref().map(|_| sources::md5_state());
            let verify = expected.map(|expected| {
                let md5 = md5.clone();
                let name = source.name();
                Box::new(move |items: u64| check_piece(&name, &expected, items, md5.as_ref()))
                    as input::Verify
            });
            Piece {
                announced: true,
                open: Box::new(move || {
                    sources::open_lines(&runtime, &source, start.offset, &read, md5)
                }),
                start,
                until: end_byte,
                verify,
            }
        })
        .collect::<Vec<_>>();
    let start = pieces.first().map_or(begin, |p| p.start);
    Ok(Input {
        pieces,
        names,
        bytes: Some(bytes),
        read: Some(read),
        start,
        base: first_byte,
        part,
        checkpoint,
    })
}

/// Keeps every N-th of `sources` for `shard`, and says which part of them that is.
fn take_share(sources: &mut Vec<(Source, Option<Expected>)>, shard: Shard) -> Part {
    let listed = sources.len() as u64;
    let all = std::mem::take(sources);
    *sources = (0_u64..)
        .zip(all)
        .filter(|(i, _)| i % shard.count == shard.index)
        .map(|(_, source)| source)
        .collect();
    Part {
        shard,
        share: Share::Objects {
            taken: sources.len() as u64,
            listed,
        },
    }
}

/// Resuming: drops the pieces before the checkpoint's, which are done, and says where the
/// checkpoint's piece continues (`None` for a checkpoint in no piece yet).
fn skip_done(
    sources: &mut Vec<(Source, Option<Expected>)>,
    checkpoint: &Checkpoint,
    shown: &Path,
) -> Result<Option<Start>, Error> {
    let Some(name) = &checkpoint.object else {
        return Ok(None);
    };
    let Some(at) = sources.iter().position(|(s, _)| &s.name() == name) else {
        return Err(format!(
            "--checkpoint: it is in {name}, which is not among the pieces of {}: not this input",
            shown.display()
        )
        .into());
    };
    sources.drain(..at);
    Ok(Some(Start {
        line: checkpoint.next_line,
        offset: checkpoint.offset,
    }))
}

/// What is wrong with a piece read to its end, holding `items` lines, against what it is
/// expected to hold.
fn check_piece(
    name: &str,
    expected: &Expected,
    items: u64,
    md5: Option<&sources::Md5State>,
) -> Option<String> {
    let mut wrong = Vec::new();
    if items != expected.items {
        wrong.push(format!(
            "{items} items, the manifest says {}",
            expected.items
        ));
    }
    if let Some(md5) = md5.and_then(sources::md5_base64)
        && md5 != expected.md5
    {
        wrong.push(format!("MD5 {md5}, the manifest says {}", expected.md5));
    }
    (!wrong.is_empty()).then(|| format!("{name}: {}", wrong.join("; ")))
}

/// The checkpoint at `checkpoint_path` when it is one of this run's, or a new one.
fn resumable(
    checkpoint_path: &Path,
    input: &Path,
    part: Option<Part>,
) -> Result<Checkpoint, Error> {
    let shard = part.map(|p| p.shard.to_string());
    let first_byte = part.and_then(Part::bytes).map_or(0, |(first, _)| first);
    let Some(checkpoint) = Checkpoint::load(checkpoint_path)? else {
        return Ok(Checkpoint::new(input, shard, first_byte));
    };
    if checkpoint.shard != shard {
        let of = |shard: &Option<String>| {
            shard.as_ref().map_or_else(
                || "a run without --shard".to_owned(),
                |s| format!("shard {s}"),
            )
        };
        return Err(format!(
            "--checkpoint {} was saved by {}, and this is {}: give the same --shard",
            checkpoint_path.display(),
            of(&checkpoint.shard),
            of(&shard)
        )
        .into());
    }
    if let Some(part) = part
        && part.bytes().is_some()
        && checkpoint.offset < first_byte
    {
        // Past the end is done: the part's last line ends after its last byte.
        return Err(format!(
            "--checkpoint {}: byte {} is before part {} of {}, which starts at byte {}: \
             not this input",
            checkpoint_path.display(),
            checkpoint.offset,
            part.shard,
            input.display(),
            first_byte
        )
        .into());
    }
    Ok(checkpoint)
}

fn log_compression(compression: Option<compression::Compression>) {
    if let Some(compression) = compression {
        tracing::info!(compression = compression.name(), "the input is compressed");
    }
}
