//! Compressed input: gzip and zstd, found by their magic bytes (whatever the file's name),
//! read as the lines they hold. Line numbers and checkpoint offsets count the decompressed
//! bytes; progress counts the compressed bytes read, against the file's size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A compression the input may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// gzip (RFC 1952); several members one after the other are read as one stream, as
    /// `gzip -d` reads them.
    Gzip,
    /// Zstandard (RFC 8878); several frames are read one after the other.
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// The compression whose magic bytes `head` starts with.
    pub(crate) fn of(head: &[u8]) -> Option<Self> {
        if head.starts_with(GZIP_MAGIC) {
            Some(Self::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            Some(Self::Zstd)
        } else {
            None
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

/// Bytes read through it, counted where progress can see them.
pub(crate) struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    /// Counts into `read`, which other readers may share.
    pub(crate) fn into(inner: R, read: Arc<AtomicU64>) -> Self {
        Self { inner, read }
    }

    pub(crate) fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let read = Arc::new(AtomicU64::new(0));
        (
            Self {
                inner,
                read: Arc::clone(&read),
            },
            read,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// The compression of `file` by its first bytes; the file is left at its start.
pub(crate) fn sniff(file: &mut File) -> io::Result<Option<Compression>> {
    let mut head = [0_u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(Compression::of(&head[..filled]))
}

/// `input` decompressed when its first bytes say it is compressed (for a pipe, which cannot
/// be read twice), and which compression.
pub(crate) fn decompressed(
    mut input: impl BufRead + Send + 'static,
) -> io::Result<(Box<dyn BufRead + Send>, Option<Compression>)> {
    let head = loop {
        match input.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    match Compression::of(head) {
        None => Ok((Box::new(input), None)),
        Some(compression) => Ok((decoder(compression, input)?, Some(compression))),
    }
}

/// The lines `compression` holds in `input`.
pub(crate) fn decoder(
    compression: Compression,
    input: impl BufRead + Send + 'static,
) -> io::Result<Box<dyn BufRead + Send>> {
    Ok(match compression {
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(input),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::stream::read::Decoder::with_buffer(input)?,
        )),
    })
}

/// Reads and drops the first `offset` bytes of `input` (a checkpoint's place in a compressed
/// stream, which cannot be sought); false when the input ends before.
pub(crate) fn skip(input: &mut dyn BufRead, offset: u64) -> io::Result<bool> {
    let skipped = io::copy(&mut input.take(offset), &mut io::sink())?;
    Ok(skipped == offset)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    fn lines(text: &str) -> Vec<u8> {
        text.as_bytes().to_vec()
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<u8>, Option<Compression>) {
        let (mut reader, compression) = decompressed(io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        (out, compression)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_input_is_read_as_it_is() {
        let text = lines("{\"n\":1}\n{\"n\":2}\n");
        assert_eq!(read_all(text.clone()), (text, None));
    }

    #[test]
    fn gzip_members_one_after_the_other_are_one_stream() {
        let mut bytes = gzip(b"{\"n\":1}\n");
        bytes.extend(gzip(b"{\"n\":2}\n"));
        assert_eq!(
            read_all(bytes),
            (lines("{\"n\":1}\n{\"n\":2}\n"), Some(Compression::Gzip))
        );
    }

    #[test]
    fn zstd_frames_one_after_the_other_are_one_stream() {
        let mut bytes = zstd::encode_all(&b"{\"n\":1}\n"[..], 3).unwrap();
        bytes.extend(zstd::encode_all(&b"{\"n\":2}\n"[..], 3).unwrap());
        assert_eq!(
            read_all(bytes),
            (lines("{\"n\":1}\n{\"n\":2}\n"), Some(Compression::Zstd))
        );
    }

    #[test]
    fn a_truncated_gzip_stream_is_an_error_not_an_early_end() {
        let mut bytes = gzip(&b"{\"n\":1}\n".repeat(1_000));
        bytes.truncate(bytes.len() / 2);
        let (mut reader, _) = decompressed(io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).is_err());
    }

    #[test]
    fn a_file_is_sniffed_and_left_at_its_start() {
        let path = std::env::temp_dir().join(format!("sniff-{}.bin", std::process::id()));
        std::fs::write(&path, gzip(b"x\n")).unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(sniff(&mut file).unwrap(), Some(Compression::Gzip));
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        assert!(all.starts_with(GZIP_MAGIC));
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(sniff(&mut File::open(&path).unwrap()).unwrap(), None);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn skipping_past_the_end_says_so() {
        let (mut reader, _) = decompressed(io::Cursor::new(gzip(b"0123456789"))).unwrap();
        assert!(skip(&mut reader, 4).unwrap());
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "456789");
        let (mut reader, _) = decompressed(io::Cursor::new(gzip(b"0123"))).unwrap();
        assert!(!skip(&mut reader, 5).unwrap());
    }
}
