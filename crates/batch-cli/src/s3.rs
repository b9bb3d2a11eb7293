//! Input from Amazon S3: `s3://bucket/key` (one object) or `s3://bucket/prefix/` (every
//! object under the prefix, in key order), each read as a stream on the reader thread.

use std::io::{self, Read};

use aws_config::SdkConfig;
use aws_sdk_s3::error::DisplayErrorContext;
use bytes::Bytes;
use tokio::runtime::Handle;

use crate::{Error, shard};

/// Attempts per S3 call, the first included: reading the input is retried by the SDK (unlike
/// the destination's requests, which the dispatcher retries and paces).
const S3_MAX_ATTEMPTS: u32 = 5;

/// Where `--input s3://...` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) bucket: String,
    /// The key, or the prefix when it is empty or ends with `/`.
    pub(crate) key: String,
}

impl Location {
    /// The location `input` names, when it is an `s3://` URL.
    pub(crate) fn parse(input: &str) -> Option<Result<Self, String>> {
        let rest = input.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!(
                "--input {input}: no bucket (s3://bucket/key or s3://bucket/prefix/)"
            )));
        }
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }))
    }

    fn is_prefix(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }
}

/// One object to read.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    client: aws_sdk_s3::Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) size: u64,
}

/// An S3 client for the input: the SDK's retries on, path-style addresses at a custom
/// endpoint (as local emulators need).
pub(crate) fn client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut config = aws_sdk_s3::config::Builder::from(sdk).retry_config(
        aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(S3_MAX_ATTEMPTS),
    );
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    if endpoint.is_some() || sdk.endpoint_url().is_some() {
        config = config.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

/// The objects `location` names: the one object, or every object under the prefix (folder
/// markers aside) in key order. An empty prefix or a missing object is an error.
pub(crate) async fn objects(
    client: &aws_sdk_s3::Client,
    location: &Location,
) -> Result<Vec<Object>, Error> {
    let shown = format!("s3://{}/{}", location.bucket, location.key);
    let object = |key: String, size: Option<i64>| Object {
        client: client.clone(),
        bucket: location.bucket.clone(),
        key,
        size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
    };
    if !location.is_prefix() {
        let head = client
            .head_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|e| {
                let missing = e.as_service_error().is_some_and(|e| e.is_not_found());
                let hint = if missing {
                    " (no such object; end the URL with / to read every object under a prefix)"
                } else {
                    ""
                };
                format!("--input {shown}{hint}: {}", DisplayErrorContext(&e))
            })?;
        return Ok(vec![object(location.key.clone(), head.content_length())]);
    }
    let mut found = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&location.key)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("--input {shown}: {}", DisplayErrorContext(&e)))?;
        for listed in page.contents() {
            let Some(key) = listed.key() else { continue };
            if !key.ends_with('/') {
                found.push(object(key.to_owned(), listed.size()));
            }
        }
    }
    if found.is_empty() {
        return Err(format!("--input {shown}: no object under this prefix").into());
    }
    // Listed in UTF-8 byte order already; sorted again so that resuming can rely on it.
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

impl Object {
    /// `s3://bucket/key`.
    pub(crate) fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The object's bytes from `offset` on (up to `length` of them), as they arrive.
    pub(crate) async fn body_at(
        &self,
        offset: u64,
        length: Option<u64>,
    ) -> io::Result<aws_sdk_s3::primitives::ByteStream> {
        let range = match length {
            Some(0) => return Ok(aws_sdk_s3::primitives::ByteStream::from_static(b"")),
            Some(length) => Some(format!("bytes={offset}-{}", offset + length - 1)),
            None if offset > 0 => Some(format!("bytes={offset}-")),
            None => None,
        };
        if offset >= self.size && offset > 0 {
            return Ok(aws_sdk_s3::primitives::ByteStream::from_static(b""));
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_range(range)
            .send()
            .await
            .map_err(|e| {
                io::Error::other(format!("{}: {}", self.url(), DisplayErrorContext(&e)))
            })?;
        Ok(output.body)
    }

    /// The object from `offset` on, read by blocking on `runtime` (from a thread of its own,
    /// never one of the runtime's).
    pub(crate) fn reader_at(&self, runtime: &Handle, offset: u64) -> io::Result<ObjectReader> {
        let body = runtime.block_on(self.body_at(offset, None))?;
        Ok(ObjectReader {
            runtime: runtime.clone(),
            url: self.url(),
            body,
            chunk: Bytes::new(),
        })
    }

    /// Its first bytes (up to 4), to tell whether it is compressed.
    pub(crate) async fn head_bytes(&self) -> io::Result<Vec<u8>> {
        let mut body = self.body_at(0, Some(self.size.min(4))).await?;
        let mut head = Vec::new();
        while let Some(chunk) = body.next().await {
            head.extend_from_slice(&chunk.map_err(io::Error::other)?);
        }
        Ok(head)
    }

    /// The offset of the first line that starts at or after `cut`, by the rule a local file's
    /// parts follow ([`shard::to_first_line`]), read from the object's bytes from `cut - 1` on.
    pub(crate) async fn first_line_at(&self, cut: u64) -> io::Result<u64> {
        if cut == 0 {
            return Ok(0);
        }
        let (object, runtime) = (self.clone(), Handle::current());
        // The reader blocks on the runtime: it runs on a thread of its own.
        tokio::task::spawn_blocking(move || {
            let reader = object.reader_at(&runtime, cut - 1)?;
            shard::to_first_line(&mut io::BufReader::new(reader), cut)
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// An object's body as a blocking reader.
pub(crate) struct ObjectReader {
    runtime: Handle,
    url: String,
    body: aws_sdk_s3::primitives::ByteStream,
    chunk: Bytes,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.body.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    return Err(io::Error::other(format!("reading {}: {e}", self.url)));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_an_object_or_a_prefix() {
        let parse = |text: &str| Location::parse(text).map(|r| r.map(|l| (l.is_prefix(), l)));
        assert!(parse("/data/in.ndjson").is_none());
        let Some(Ok((prefix, location))) = parse("s3://b/exports/2026/") else {
            panic!("a prefix");
        };
        assert!(prefix);
        assert_eq!(
            (location.bucket.as_str(), location.key.as_str()),
            ("b", "exports/2026/")
        );
        assert!(matches!(parse("s3://b/in.ndjson.gz"), Some(Ok((false, _)))));
        assert!(matches!(parse("s3://b"), Some(Ok((true, _)))));
        assert!(matches!(parse("s3:///key"), Some(Err(_))));
    }
}
