//! Sharded runs: copy `I` of `N` takes its own part of the input, so that N copies started
//! together (an array job, an indexed job) read the input exactly once between them.
//!
//! A file is cut into N byte ranges of equal size; a line belongs to the part its first byte
//! falls in, so every line is in exactly one part whatever the cuts hit.

use std::fmt;
use std::io::{self, BufRead};

/// Where an array job's copies find their index: AWS Batch, then Kubernetes indexed jobs.
pub(crate) const INDEX_VARIABLES: [&str; 2] = ["AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX"];

/// Part `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: u64,
    pub(crate) count: u64,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard` as given: the index, or `auto` to read it from the environment when the run
/// starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardArg {
    index: Option<u64>,
    count: u64,
}

/// Parses `I/N` or `auto/N`.
pub(crate) fn parse(text: &str) -> Result<ShardArg, String> {
    let usage = || format!("`{text}` is not I/N or auto/N (e.g. 0/4: the first of 4 parts)");
    let (index, count) = text.split_once('/').ok_or_else(usage)?;
    let count: u64 = count.trim().parse().map_err(|_| usage())?;
    if count == 0 {
        return Err(format!("`{text}`: the number of parts must be at least 1"));
    }
    let index = match index.trim() {
        "auto" => None,
        index => Some(index.parse().map_err(|_| usage())?),
    };
    if let Some(index) = index {
        check_index(index, count, &format!("`{text}`"))?;
    }
    Ok(ShardArg { index, count })
}

fn check_index(index: u64, count: u64, from: &str) -> Result<(), String> {
    if index >= count {
        return Err(format!(
            "{from}: part {index} of {count} does not exist (parts count from 0 to {})",
            count - 1
        ));
    }
    Ok(())
}

impl ShardArg {
    /// The shard, its index read from `env` when it was `auto`.
    pub(crate) fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let count = self.count;
        let index = match self.index {
            Some(index) => index,
            None => {
                let found = INDEX_VARIABLES
                    .iter()
                    .find_map(|name| env(name).map(|value| (*name, value)));
                let Some((name, value)) = found else {
                    return Err(format!(
                        "--shard auto/{count}: neither {} is set; give the index as I/{count}",
                        INDEX_VARIABLES.join(" nor ")
                    ));
                };
                let index = value.trim().parse().map_err(|_| {
                    format!("--shard auto/{count}: {name}={value} is not a whole number")
                })?;
                check_index(index, count, &format!("--shard auto/{count} ({name})"))?;
                index
            }
        };
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The byte range `[start, end)` this part's lines start in, for a file of `size` bytes.
    pub(crate) fn bounds(self, size: u64) -> (u64, u64) {
        let cut = |k: u64| {
            let at = u128::from(size) * u128::from(k) / u128::from(self.count);
            u64::try_from(at).unwrap_or(size)
        };
        (cut(self.index), cut(self.index + 1))
    }
}

/// Moves `input`, which is at byte `cut - 1` of a file (or at 0 when `cut` is 0), to the
/// first line that starts at or after `cut`; returns that line's offset.
pub(crate) fn to_first_line(input: &mut impl BufRead, cut: u64) -> io::Result<u64> {
    if cut == 0 {
        return Ok(0);
    }
    // The line that holds byte `cut - 1` belongs to an earlier part, unless that byte ends
    // it: then the next line starts exactly at the cut.
    let mut skipped = 0u64;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(cut - 1 + skipped);
        }
        if let Some(at) = buf.iter().position(|&b| b == b'\n') {
            input.consume(at + 1);
            return Ok(cut + skipped + at as u64);
        }
        let n = buf.len();
        input.consume(n);
        skipped += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Event, Start, read_lines};
    use proptest::prelude::*;

    /// The error's message, or nothing when there was none.
    fn error<T>(result: Result<T, String>) -> String {
        result.err().unwrap_or_default()
    }

    #[test]
    fn the_argument_is_checked_naming_what_is_wrong() {
        assert_eq!(
            parse("2/4"),
            Ok(ShardArg {
                index: Some(2),
                count: 4
            })
        );
        assert!(error(parse("4/4")).contains("from 0 to 3"));
        assert!(error(parse("1/0")).contains("at least 1"));
        assert!(error(parse("1")).contains("I/N"));
        assert!(error(parse("x/3")).contains("I/N"));
        let auto = parse("auto/3").unwrap_or_else(|e| panic!("{e}"));
        let env = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "2".to_owned());
        assert_eq!(auto.resolve(env), Ok(Shard { index: 2, count: 3 }));
        let both = |name: &str| Some(if name == INDEX_VARIABLES[0] { "1" } else { "2" }.into());
        assert_eq!(auto.resolve(both), Ok(Shard { index: 1, count: 3 }));
        assert!(error(auto.resolve(|_| None)).contains("neither"));
        let too_big = error(auto.resolve(|_| Some("3".into())));
        assert!(too_big.contains("AWS_BATCH_JOB_ARRAY_INDEX"), "{too_big}");
        assert!(auto.resolve(|_| Some("one".into())).is_err());
    }

    /// The lines of part `shard` of `input`, as (offset of the line's start, text).
    fn part(input: &[u8], shard: Shard) -> Vec<(u64, String)> {
        let (cut, end) = shard.bounds(input.len() as u64);
        let mut reader = &input[usize::try_from(cut.saturating_sub(1)).unwrap_or(0)..];
        let first = to_first_line(&mut reader, cut).unwrap_or_else(|e| panic!("{e}"));
        let mut lines = Vec::new();
        let mut start = first;
        let begin = Start {
            line: 1,
            offset: first,
        };
        read_lines(reader, begin, end, |event| {
            if let Event::Line(line) = event {
                let text = match line.content {
                    crate::input::Content::Text(text) => text,
                    crate::input::Content::NotUtf8 { .. } => String::new(),
                };
                lines.push((start, text));
                start = line.end;
            }
            true
        });
        lines
    }

    proptest! {
        #[test]
        fn the_parts_hold_every_line_exactly_once(
            lines in proptest::collection::vec("[a-z]{1,12}", 0..40),
            blank_every in 0usize..5,
            last_newline in any::<bool>(),
            count in 1u64..9,
        ) {
            let mut input = String::new();
            for (i, line) in lines.iter().enumerate() {
                input.push_str(line);
                if blank_every > 0 && i % blank_every == 0 {
                    input.push('\n');
                }
                if i + 1 < lines.len() || last_newline {
                    input.push('\n');
                }
            }
            let mut all = Vec::new();
            for index in 0..count {
                let shard = Shard { index, count };
                let (cut, end) = shard.bounds(input.len() as u64);
                for (start, text) in part(input.as_bytes(), shard) {
                    prop_assert!(start >= cut && start < end, "{start} in {cut}..{end}");
                    all.push(text);
                }
            }
            prop_assert_eq!(all, lines);
        }
    }
}
