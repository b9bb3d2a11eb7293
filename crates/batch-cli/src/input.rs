//! Reading the input: lines as bytes on a thread of their own, so a signal is handled while
//! a read waits on a pipe, with their numbers and the offset after each.

use std::io::BufRead;

use tokio::sync::mpsc;

/// The UTF-8 byte order mark, skipped at the start of the input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One non-empty input line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// 1-based line number in the input.
    pub(crate) number: u64,
    /// Byte offset just after the line (and its line end) in the input.
    pub(crate) end: u64,
    pub(crate) content: Content,
}

/// What a line holds, without its line end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Content {
    Text(String),
    /// Bytes that are not UTF-8, kept as they were.
    NotUtf8 {
        bytes: Vec<u8>,
        valid_up_to: usize,
    },
}

/// What the reader sends.
#[derive(Debug)]
pub(crate) enum Event {
    /// The start of piece `index` of an input of several (the objects under an S3 prefix):
    /// the lines that follow are its, numbered from `start`.
    Piece {
        index: u32,
        start: Start,
    },
    Line(Line),
    /// The end of the piece being read (or of the input), at this offset in it.
    End(u64),
    /// A piece read to its end is not what it should be (a data file whose item count or
    /// checksum differs from its manifest's).
    Problem(String),
    Failed(std::io::Error),
}

/// The check of a piece read to its end, given the number of its last line.
pub(crate) type Verify = Box<dyn FnOnce(u64) -> Option<String> + Send>;

/// A piece of the input, opened when the reader comes to it.
pub(crate) struct Piece {
    /// Whether the lines are numbered per piece, announced by [`Event::Piece`].
    pub(crate) announced: bool,
    pub(crate) open: Box<dyn FnOnce() -> std::io::Result<Box<dyn BufRead + Send>> + Send>,
    pub(crate) start: Start,
    /// Lines that start at or after this offset are not read.
    pub(crate) until: u64,
    pub(crate) verify: Option<Verify>,
}

impl Piece {
    /// The whole input, already open.
    pub(crate) fn whole(reader: Box<dyn BufRead + Send>, start: Start, until: u64) -> Self {
        Self {
            announced: false,
            open: Box::new(move || Ok(reader)),
            start,
            until,
            verify: None,
        }
    }
}

/// Where reading starts: the first line's number and its offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    pub(crate) line: u64,
    pub(crate) offset: u64,
}

impl Start {
    pub(crate) const BEGINNING: Self = Self { line: 1, offset: 0 };
}

/// Reads the pieces one after the other on a new thread. The thread ends after the last, on
/// an error, or when the receiver is gone; a thread blocked in a read of a pipe that stays
/// open is left behind when the program exits.
pub(crate) fn spawn(pieces: Vec<Piece>) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(1_024);
    std::thread::Builder::new()
        .name("aws-batch-reader".into())
        .spawn(move || {
            let mut send = |event| tx.blocking_send(event).is_ok();
            for (index, piece) in (0_u32..).zip(pieces) {
                if piece.announced {
                    let start = piece.start;
                    if !send(Event::Piece { index, start }) {
                        return;
                    }
                }
                let input = match (piece.open)() {
                    Ok(input) => input,
                    Err(e) => {
                        send(Event::Failed(e));
                        return;
                    }
                };
                let Some(next_line) = read_lines(input, piece.start, piece.until, &mut send) else {
                    return;
                };
                let problem = piece.verify.and_then(|verify| verify(next_line - 1));
                if let Some(problem) = problem
                    && !send(Event::Problem(problem))
                {
                    return;
                }
            }
        })
        .map_or_else(
            |e| {
                // No thread: the receiver reports it as a failed read.
                let (tx, rx) = mpsc::channel(1);
                let _ = tx.try_send(Event::Failed(e));
                rx
            },
            |_| rx,
        )
}

/// Reads lines until one would start at or after offset `until`, the end, an error, or
/// `send` returns false; the number the next line would have when it reached the end (or
/// `until`).
pub(crate) fn read_lines(
    mut input: impl BufRead,
    start: Start,
    until: u64,
    mut send: impl FnMut(Event) -> bool,
) -> Option<u64> {
    let mut number = start.line;
    let mut offset = start.offset;
    let mut buf = Vec::with_capacity(4_096);
    loop {
        if offset >= until {
            return send(Event::End(offset)).then_some(number);
        }
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return send(Event::End(offset)).then_some(number),
            Ok(n) => {
                let first = offset == 0;
                offset += n as u64;
                let content = decode(std::mem::take(&mut buf), first);
                if let Some(content) = content {
                    let line = Line {
                        number,
                        end: offset,
                        content,
                    };
                    if !send(Event::Line(line)) {
                        return None;
                    }
                }
                number += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                send(Event::Failed(e));
                return None;
            }
        }
    }
}

/// A raw line without its line end (and, on the first line, a byte order mark); `None` when
/// nothing but white space is left.
pub(crate) fn decode(mut bytes: Vec<u8>, first_line: bool) -> Option<Content> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if first_line && bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match String::from_utf8(bytes) {
        Ok(text) => Content::Text(text),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            Content::NotUtf8 {
                bytes: e.into_bytes(),
                valid_up_to,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines_of(input: &[u8]) -> (Vec<Line>, u64) {
        let mut lines = Vec::new();
        let mut end = None;
        read_lines(input, Start::BEGINNING, u64::MAX, |event| {
            match event {
                Event::Line(line) => lines.push(line),
                Event::End(at) => end = Some(at),
                Event::Failed(e) => panic!("{e}"),
                Event::Piece { .. } | Event::Problem(_) => {}
            }
            true
        });
        (lines, end.unwrap_or_default())
    }

    #[test]
    fn line_ends_bom_blank_lines_and_bad_bytes() {
        let input = b"\xEF\xBB\xBF{\"a\":1}\r\n\n  \r\n{\"b\":\xFF}\n{\"c\":3}";
        let (lines, end) = lines_of(input);
        assert_eq!(end, input.len() as u64);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].number, 1);
        assert_eq!(lines[0].content, Content::Text("{\"a\":1}".into()));
        assert_eq!(lines[1].number, 4);
        assert_eq!(
            lines[1].content,
            Content::NotUtf8 {
                bytes: b"{\"b\":\xFF}".to_vec(),
                valid_up_to: 5
            }
        );
        assert_eq!(lines[2].number, 5);
        assert_eq!(lines[2].end, input.len() as u64);
    }

    #[test]
    fn a_bom_after_the_first_line_is_kept() {
        let (lines, _) = lines_of(b"1\n\xEF\xBB\xBF2\n");
        assert_eq!(lines[1].content, Content::Text("\u{feff}2".into()));
    }

    /// One generated input line and what it must become.
    #[derive(Debug, Clone)]
    enum Gen {
        Text(String),
        Blank(String),
        Bad(Vec<u8>),
    }

    fn gen_line() -> impl Strategy<Value = Gen> {
        prop_oneof![
            4 => "[a-z{}\":0-9 ,é]{1,20}".prop_filter("not blank", |s| !s.trim().is_empty()).prop_map(Gen::Text),
            1 => "[ \t]{0,3}".prop_map(Gen::Blank),
            1 => proptest::collection::vec(any::<u8>(), 1..10)
                .prop_map(|mut b| { b.retain(|&x| x != b'\n'); b.push(0xFF); Gen::Bad(b) }),
        ]
    }

    proptest! {
        #[test]
        fn every_line_is_numbered_and_kept_exactly(
            lines in proptest::collection::vec((gen_line(), any::<bool>()), 0..40),
            bom in any::<bool>(),
            last_newline in any::<bool>(),
        ) {
            let mut input = Vec::new();
            if bom {
                input.extend_from_slice(BOM);
            }
            let count = lines.len();
            for (i, (line, crlf)) in lines.iter().enumerate() {
                match line {
                    Gen::Text(t) | Gen::Blank(t) => input.extend_from_slice(t.as_bytes()),
                    Gen::Bad(b) => input.extend_from_slice(b),
                }
                if i + 1 < count || last_newline {
                    input.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                }
            }
            let (read, end) = lines_of(&input);
            prop_assert_eq!(end, input.len() as u64);
            let mut expected = Vec::new();
            for (i, (line, _)) in lines.iter().enumerate() {
                let number = i as u64 + 1;
                match line {
                    Gen::Text(t) => expected.push((number, Content::Text(t.clone()))),
                    Gen::Blank(_) => {}
                    Gen::Bad(b) => {
                        let valid_up_to = std::str::from_utf8(b).err().map_or(b.len(), |e| e.valid_up_to());
                        expected.push((number, Content::NotUtf8 { bytes: b.clone(), valid_up_to }));
                    }
                }
            }
            let got: Vec<(u64, Content)> = read.into_iter().map(|l| (l.number, l.content)).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
