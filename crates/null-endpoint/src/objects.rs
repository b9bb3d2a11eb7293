//! S3 objects served from a local folder: `GetObject` (with a `Range`), `HeadObject` and
//! `ListObjectsV2`, path-style (`/bucket/key`), bucket `B` being the folder `root/B`. Enough
//! for a command that reads its input from S3 to be measured against a local file; S3's other
//! operations are not answered.

use std::path::{Component, Path, PathBuf};

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use crate::protocol::{Answer, respond};
use crate::{Api, Counters};

impl Api {
    /// S3 `GetObject`.
    pub const GET_OBJECT: Self = Self("GetObject");
    /// S3 `HeadObject`.
    pub const HEAD_OBJECT: Self = Self("HeadObject");
    /// S3 `ListObjectsV2`.
    pub const LIST_OBJECTS_V2: Self = Self("ListObjectsV2");
}

/// Whether `request` is one of S3's REST calls rather than an RPC (which names its
/// operation in `x-amz-target`, a form, or a `/operation/` path).
pub(crate) fn is_object_request(request: &Request<Incoming>) -> bool {
    let method = request.method();
    (method == Method::GET || method == Method::HEAD)
        && !request.headers().contains_key("x-amz-target")
        && !request.uri().path().contains("/operation/")
}

/// The answer to an S3 request for the objects under `root`.
pub(crate) async fn answer(counters: &Counters, root: &Path, request: Request<Incoming>) -> Answer {
    let head = request.method() == Method::HEAD;
    let path = percent_decoded(request.uri().path().trim_start_matches('/'));
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let range = request
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let Some(bucket_folder) = inside(root, bucket) else {
        return error(StatusCode::NOT_FOUND, "NoSuchBucket", head);
    };
    if key.is_empty() {
        counters.count(Api::LIST_OBJECTS_V2, 0, 0);
        let prefix = query
            .iter()
            .find(|(name, _)| name == "prefix")
            .map_or("", |(_, value)| value.as_str())
            .to_owned();
        let name = bucket.to_owned();
        return blocking(move || list(&bucket_folder, &name, &prefix)).await;
    }
    let Some(file) = inside(&bucket_folder, key) else {
        return error(StatusCode::NOT_FOUND, "NoSuchKey", head);
    };
    counters.count(
        if head {
            Api::HEAD_OBJECT
        } else {
            Api::GET_OBJECT
        },
        0,
        0,
    );
    blocking(move || object(&file, head, range.as_deref())).await
}

/// Runs a file-reading answer off the endpoint's async threads.
async fn blocking(read: impl FnOnce() -> Answer + Send + 'static) -> Answer {
    tokio::task::spawn_blocking(read)
        .await
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", false))
}

/// `relative` under `folder`, unless it would leave it.
fn inside(folder: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let plain = relative
        .components()
        .all(|part| matches!(part, Component::Normal(_)));
    (plain && !relative.as_os_str().is_empty()).then(|| folder.join(relative))
}

fn object(file: &Path, head: bool, range: Option<&str>) -> Answer {
    let Ok(bytes) = std::fs::read(file) else {
        return error(StatusCode::NOT_FOUND, "NoSuchKey", head);
    };
    let total = bytes.len();
    let (status, first, end) = match range.and_then(|r| byte_range(r, total)) {
        Some((first, end)) => (StatusCode::PARTIAL_CONTENT, first, end),
        None => (StatusCode::OK, 0, total),
    };
    let length = end - first;
    let body = if head {
        Vec::new()
    } else {
        bytes[first..end].to_vec()
    };
    let mut response = respond(status, "application/octet-stream", body);
    let headers = response.headers_mut();
    headers.insert("content-length", length.into());
    headers.insert("etag", hyper::header::HeaderValue::from_static("\"0\""));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = format!("bytes {first}-{}/{total}", end - 1).parse()
    {
        headers.insert("content-range", value);
    }
    response
}

/// `bytes=FIRST-` or `bytes=FIRST-LAST` within `total` bytes, as `first..end`.
fn byte_range(range: &str, total: usize) -> Option<(usize, usize)> {
    let (first, last) = range.strip_prefix("bytes=")?.split_once('-')?;
    let first: usize = first.parse().ok()?;
    let end = match last {
        "" => total,
        last => last.parse::<usize>().ok()?.saturating_add(1).min(total),
    };
    (first < end).then_some((first, end))
}

/// Every file under `folder` whose key starts with `prefix`, in key order, as S3 lists them.
fn list(folder: &Path, bucket: &str, prefix: &str) -> Answer {
    if !folder.is_dir() {
        return error(StatusCode::NOT_FOUND, "NoSuchBucket", false);
    }
    let mut keys = Vec::new();
    files(folder, "", &mut keys);
    keys.retain(|(key, _)| key.starts_with(prefix));
    keys.sort();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{}</MaxKeys>\
         <IsTruncated>false</IsTruncated>",
        escaped(bucket),
        escaped(prefix),
        keys.len(),
        keys.len().max(1_000),
    );
    for (key, size) in &keys {
        xml.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>\
             <ETag>&quot;0&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass>\
             </Contents>",
            escaped(key)
        ));
    }
    xml.push_str("</ListBucketResult>");
    respond(StatusCode::OK, "application/xml", xml.into_bytes())
}

/// The files under `folder`, as keys after `prefix`, with their sizes.
fn files(folder: &Path, prefix: &str, into: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{prefix}{name}");
        match entry.metadata() {
            Ok(meta) if meta.is_dir() => files(&entry.path(), &format!("{key}/"), into),
            Ok(meta) => into.push((key, meta.len())),
            Err(_) => {}
        }
    }
}

fn error(status: StatusCode, code: &str, head: bool) -> Answer {
    // A HEAD answer has no body: the status says it all.
    let body = if head {
        Vec::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{code}</Message></Error>"
        )
        .into_bytes()
    };
    respond(status, "application/xml", body)
}

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A URL path with its `%XX` escapes decoded (as UTF-8, lossily).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_s3_reads_them() {
        assert_eq!(byte_range("bytes=10-", 100), Some((10, 100)));
        assert_eq!(byte_range("bytes=10-19", 100), Some((10, 20)));
        assert_eq!(byte_range("bytes=90-200", 100), Some((90, 100)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("items=1-2", 100), None);
    }

    #[test]
    fn keys_cannot_leave_the_folder() {
        let root = Path::new("/srv");
        assert_eq!(
            inside(root, "a/b.json"),
            Some(PathBuf::from("/srv/a/b.json"))
        );
        assert_eq!(inside(root, "../etc/passwd"), None);
        assert_eq!(inside(root, "/etc/passwd"), None);
        assert_eq!(inside(root, ""), None);
        assert_eq!(percent_decoded("a%20b/%E2%82%AC"), "a b/€");
    }
}
