//! A DynamoDB table export to copy (`--from-export`): its two manifests read and checked,
//! and its data files as the pieces of the input, each to be checked against the files
//! manifest when it is read to its end.
//!
//! The layout, in S3 or in a local folder: `<root>/AWSDynamoDB/<ExportId>/manifest-summary.json`
//! (the item count and the output format), `manifest-files.json` (a JSON line per data file:
//! its key, item count and base64 MD5), and gzipped data files of one `{"Item": ...}` line
//! per item (full exports) or `{"Keys": ..., "NewImage": ...}` lines (incremental exports),
//! whose keys start at `AWSDynamoDB/`.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use serde::Deserialize;

use crate::cli::Common;
use crate::open::Expected;
use crate::sources::Source;
use crate::{Error, s3};

/// Where the keys of an export's files start.
const EXPORT_FOLDER: &str = "AWSDynamoDB/";
/// The only data format read: the lines are the items' DynamoDB JSON.
const DYNAMODB_JSON: &str = "DYNAMODB_JSON";

/// What the summary manifest says.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    item_count: Option<u64>,
    output_format: Option<String>,
}

/// A line of the files manifest.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataFile {
    item_count: u64,
    md5_checksum: String,
    data_file_s3_key: String,
}

/// The export's data files, what each must hold, and the problems found in the manifests.
pub(crate) struct Export {
    pub(crate) sources: Vec<(Source, Option<Expected>)>,
    /// The item count of the summary manifest.
    pub(crate) items_expected: Option<u64>,
    pub(crate) problems: Vec<String>,
}

/// Where the export's folder is.
enum Folder {
    Local(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        location: s3::Location,
    },
}

impl Folder {
    async fn read(&self, name: &str) -> Result<String, Error> {
        match self {
            Self::Local(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("--from-export: {}: {e}", path.display()).into())
            }
            Self::S3 { client, location } => {
                let key = format!("{}{name}", location.key);
                let shown = format!("s3://{}/{key}", location.bucket);
                let object = client
                    .get_object()
                    .bucket(&location.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "--from-export: {shown}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| format!("--from-export: {shown}: {e}"))?;
                String::from_utf8(bytes.to_vec())
                    .map_err(|e| format!("--from-export: {shown}: {e}").into())
            }
        }
    }

    /// The data file of `key`, with its size.
    async fn data_file(&self, key: &str) -> Result<Source, Error> {
        let Some(at) = key.find(EXPORT_FOLDER) else {
            return Err(format!(
                "--from-export: the files manifest names {key}, which is not under \
                 {EXPORT_FOLDER}"
            )
            .into());
        };
        let relative = &key[at..];
        match self {
            Self::Local(dir) => {
                let path = root_of(&dir.to_string_lossy())
                    .map(|root| Path::new(root).join(relative))
                    .ok_or_else(|| not_an_export_folder(&dir.display().to_string()))?;
                let size = std::fs::metadata(&path)
                    .map_err(|e| format!("--from-export: data file {}: {e}", path.display()))?
                    .len();
                Ok(Source::File { path, size })
            }
            Self::S3 { client, location } => {
                let root = root_of(&location.key).ok_or_else(|| {
                    not_an_export_folder(&format!("s3://{}/{}", location.bucket, location.key))
                })?;
                let file = s3::Location {
                    bucket: location.bucket.clone(),
                    key: format!("{root}{relative}"),
                };
                let mut objects = s3::objects(client, &file)
                    .await
                    .map_err(|e| format!("--from-export: data file: {e}"))?;
                objects
                    .pop()
                    .map(Source::Object)
                    .ok_or_else(|| format!("--from-export: no data file {key}").into())
            }
        }
    }
}

/// What comes before `AWSDynamoDB/` in the export's folder.
fn root_of(folder: &str) -> Option<&str> {
    folder.rfind(EXPORT_FOLDER).map(|at| &folder[..at])
}

fn not_an_export_folder(folder: &str) -> Error {
    format!(
        "--from-export {folder}: not an export's folder (…/{EXPORT_FOLDER}<ExportId>/, the one \
         holding manifest-summary.json)"
    )
    .into()
}

/// Reads the manifests of the export at `location` (an `s3://` URL or a local folder).
pub(crate) async fn open(
    common: &Common,
    sdk: &SdkConfig,
    location: &str,
) -> Result<Export, Error> {
    let folder = match s3::Location::parse(location).transpose()? {
        Some(mut s3_location) => {
            if !s3_location.key.is_empty() && !s3_location.key.ends_with('/') {
                s3_location.key.push('/');
            }
            Folder::S3 {
                client: s3::client(sdk, common.s3_endpoint_url.as_deref()),
                location: s3_location,
            }
        }
        None => Folder::Local(PathBuf::from(location)),
    };
    let summary: Summary = serde_json::from_str(&folder.read("manifest-summary.json").await?)
        .map_err(|e| format!("--from-export {location}: manifest-summary.json: {e}"))?;
    if let Some(format) = summary.output_format.as_deref()
        && format != DYNAMODB_JSON
    {
        return Err(format!(
            "--from-export {location}: the export is in {format}; only {DYNAMODB_JSON} exports \
             are read"
        )
        .into());
    }
    let listing = folder.read("manifest-files.json").await?;
    let mut files = Vec::new();
    for (n, line) in listing.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let file: DataFile = serde_json::from_str(line).map_err(|e| {
            format!(
                "--from-export {location}: manifest-files.json line {}: {e}",
                n + 1
            )
        })?;
        files.push(file);
    }
    let mut problems = Vec::new();
    let listed: u64 = files.iter().map(|f| f.item_count).sum();
    if let Some(expected) = summary.item_count
        && expected != listed
    {
        problems.push(format!(
            "manifest-files.json lists {listed} items in {} files, manifest-summary.json says \
             {expected}",
            files.len()
        ));
    }
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        let source = folder.data_file(&file.data_file_s3_key).await?;
        let expected = Expected {
            items: file.item_count,
            md5: file.md5_checksum,
        };
        sources.push((source, Some(expected)));
    }
    Ok(Export {
        sources,
        items_expected: summary.item_count,
        problems,
    })
}
