//! An input of several named pieces (the objects under an S3 prefix, the data files of a
//! table export), each a local file or an S3 object, opened on the reader thread when it
//! comes, decompressed when its first bytes say so, and hashed when it is to be checked.

use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use md5::{Digest, Md5};
use tokio::runtime::Handle;

use crate::compression::{self, Counting};
use crate::s3;

/// Where one piece's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    File { path: PathBuf, size: u64 },
    Object(s3::Object),
}

impl Source {
    /// How the piece is named in messages, the unprocessed file and the checkpoint.
    pub(crate) fn name(&self) -> String {
        match self {
            Self::File { path, .. } => path.display().to_string(),
            Self::Object(object) => object.url(),
        }
    }

    pub(crate) fn size(&self) -> u64 {
        match self {
            Self::File { size, .. } => *size,
            Self::Object(object) => object.size,
        }
    }

    /// The raw bytes from `offset` on; blocks on `runtime` for an object (so never called
    /// from one of its threads).
    fn reader_at(&self, runtime: &Handle, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Self::File { path, .. } => {
                let mut file = std::fs::File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                io::Seek::seek(&mut file, io::SeekFrom::Start(offset))?;
                Ok(Box::new(file))
            }
            Self::Object(object) => Ok(Box::new(object.reader_at(runtime, offset)?)),
        }
    }
}

/// The MD5 of the raw bytes of a piece read from its start; `None` once it cannot be whole
/// (a plain piece resumed past its start).
pub(crate) type Md5State = Arc<Mutex<Option<Md5>>>;

/// A new MD5 state.
pub(crate) fn md5_state() -> Md5State {
    Arc::new(Mutex::new(Some(Md5::new())))
}

/// The base64 MD5 of what went through, if it was all of the piece.
pub(crate) fn md5_base64(state: &Md5State) -> Option<String> {
    let digest = state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()?
        .finalize();
    Some(aws_smithy_types::base64::encode(digest.as_slice()))
}

struct Hashing<R> {
    inner: R,
    state: Md5State,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(md5) = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            md5.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The lines of `source` from decompressed `offset` on: its raw bytes counted into `read`
/// and hashed into `md5` when given.
pub(crate) fn open_lines(
    runtime: &Handle,
    source: &Source,
    offset: u64,
    read: &Arc<AtomicU64>,
    md5: Option<Md5State>,
) -> io::Result<Box<dyn BufRead + Send>> {
    let open = |at: u64, md5: Option<Md5State>| -> io::Result<Box<dyn BufRead + Send>> {
        let raw = source.reader_at(runtime, at)?;
        let raw: Box<dyn Read + Send> = match md5 {
            Some(state) => Box::new(Hashing { inner: raw, state }),
            None => raw,
        };
        let counted = Counting::into(raw, Arc::clone(read));
        Ok(Box::new(BufReader::with_capacity(1 << 16, counted)))
    };
    let (mut reader, compression) = compression::decompressed(open(0, md5.clone())?)?;
    if let Some(compression) = compression {
        tracing::info!(input = %source.name(), compression = compression.name(), "compressed");
    }
    if offset == 0 {
        return Ok(reader);
    }
    if compression.is_none() {
        // Plain bytes are fetched from the offset on; the hash cannot be whole then.
        if let Some(state) = &md5 {
            *state.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        return open(offset, None);
    }
    if !compression::skip(&mut reader, offset)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the checkpoint is at byte {offset} of what {} holds, which ends before",
                source.name()
            ),
        ));
    }
    Ok(reader)
}
