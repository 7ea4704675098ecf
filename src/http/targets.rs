//! Request targets as PocketBase takes them.
//!
//! PocketBase (Go's server) takes a request line's target as sent, so a
//! client that writes `?filter=title="a"&sort=>` without percent-encoding
//! it gets its answer. hyper hands the target to the `http` crate, which
//! refuses `"`, `<` and `>` in a query and `<`, `>` and `` ` `` in a path,
//! and hyper then answers an empty 400 and closes the connection: curl,
//! Go's `http.Get`, Python's `urllib` and PHP all send such targets raw.
//!
//! [`EncodedTargets`] sits under hyper and percent-encodes exactly those
//! bytes in each HTTP/1.1 request line, so the `http` crate takes the
//! target and the query decodes to what the client wrote. A request hyper
//! took before passes unchanged, byte for byte.
//!
//! To find each request line it follows the connection's framing:
//! a request line, headers to the empty line, then a `Content-Length`
//! body. Anything else stops it for the rest of the connection, and the
//! bytes go to hyper untouched: a chunked or upgraded request, CONNECT,
//! more than one length, a length it cannot read, a folded header, a
//! version other than HTTP/1.0 or 1.1 (so HTTP/2's preface too). Its
//! only change is an inserted `%XX` in what it takes for a target. If it
//! ever read framing otherwise than hyper, the worst is that hyper sees
//! a malformed request and closes, as it would without this layer; a
//! length is only ever read when it is one plain number, the case where
//! no reader can differ.

use std::{
    io::{self, IoSlice},
    pin::Pin,
    task::{Context, Poll, ready},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose request targets reach hyper with the bytes it
/// refuses percent-encoded (see the module's text).
pub struct EncodedTargets<S> {
    inner: S,
    scanner: Scanner,
    /// Rewritten bytes not yet handed to the reader, from `handed` on.
    spill: Vec<u8>,
    handed: usize,
}

impl<S> EncodedTargets<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            scanner: Scanner::default(),
            spill: Vec::new(),
            handed: 0,
        }
    }

    /// Hands over what it can of the spill; true if it handed anything.
    fn hand_spill(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let left = &self.spill[self.handed..];
        let n = left.len().min(buf.remaining());
        buf.put_slice(&left[..n]);
        self.handed += n;
        if self.handed == self.spill.len() {
            self.spill.clear();
            self.handed = 0;
        }
        n > 0
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EncodedTargets<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.spill.is_empty() && this.hand_spill(buf) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        let kept = this.scanner.scan(new);
        if kept < new.len() {
            // The usual request never gets here: its bytes stay where the
            // read put them. This one is cut at its first byte to encode;
            // the rest goes out rewritten, now and on the next reads.
            this.scanner.rewrite(&new[kept..], &mut this.spill);
            buf.set_filled(before + kept);
            this.hand_spill(buf);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EncodedTargets<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Where in the connection's bytes the scanner is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    /// Before a request line (blank lines there are skipped, as hyper does).
    #[default]
    LineStart,
    Method,
    Path,
    Query,
    Version,
    HeaderStart,
    /// After a head's last header line's CR, before its LF.
    HeadEnd,
    HeaderName,
    HeaderValue(Interest),
    /// Body bytes still to come.
    Body(u64),
    /// Not followed any further: everything passes as it is.
    Through,
}

/// The headers that decide where a request ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interest {
    None,
    Length,
    /// Transfer-Encoding or Upgrade: the request is not followed further.
    Unfollowable,
}

/// Longest method, version or header name it needs to tell apart.
const WORD: usize = 24;
/// Longest `Content-Length` value it reads (padding included).
const VALUE: usize = 32;

#[derive(Default)]
struct Scanner {
    stage: Stage,
    word: [u8; WORD],
    /// `WORD + 1` once a word is longer than any it tells apart.
    word_len: usize,
    value: [u8; VALUE],
    value_len: usize,
    head: Head,
}

/// What one request's head says of its framing.
#[derive(Default)]
struct Head {
    connect: bool,
    lengths: u8,
    length: u64,
    /// Transfer-Encoding, Upgrade, or a length it could not read.
    unfollowable: bool,
}

/// What ends a run of a target's bytes: the target's end, the query's
/// start, a byte to encode, or a line end (a request line without a
/// version, which is not followed).
const TARGET_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let stops = b" ?<>\"`\r\n";
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] = true;
        i += 1;
    }
    t
};

impl Scanner {
    /// Reads `bytes` on from where the connection is, and returns how many
    /// of them pass as they are. Fewer than all: the byte after them is one
    /// of a target's to encode (the scanner has taken it as read).
    ///
    /// It goes a run of bytes at a time (to a line's end, a name's colon,
    /// a body's end), not byte by byte: it runs on every request.
    fn scan(&mut self, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            match self.stage {
                Stage::Through => return bytes.len(),
                Stage::Body(left) => {
                    let n = left.min(rest.len() as u64);
                    i += n as usize; // at most rest.len()
                    self.stage = match left - n {
                        0 => Stage::LineStart,
                        left => Stage::Body(left),
                    };
                }
                Stage::LineStart => match rest[0] {
                    b'\r' | b'\n' => i += 1,
                    _ => {
                        self.head = Head::default();
                        self.start_word(Stage::Method);
                    }
                },
                // A method is a few letters: a plain loop beats memchr's setup.
                Stage::Method => match rest.iter().position(|&b| b == b' ' || b == b'\n') {
                    Some(at) if rest[at] == b' ' => {
                        self.push_word(&rest[..at]);
                        self.head.connect = self.word() == Some(b"CONNECT");
                        i += at + 1;
                        // Tried once, at the target's start: tried again
                        // after each stop, a target of many would cost
                        // its length squared.
                        match clean_target(&bytes[i..]) {
                            Some(end) => {
                                self.start_word(Stage::Version);
                                i += end + 1;
                            }
                            None => self.stage = Stage::Path,
                        }
                    }
                    Some(_) => self.stage = Stage::Through,
                    None => {
                        self.push_word(rest);
                        i = bytes.len();
                    }
                },
                Stage::Path | Stage::Query => {
                    let Some(at) = rest.iter().position(|&b| TARGET_STOP[usize::from(b)]) else {
                        i = bytes.len();
                        continue;
                    };
                    let query = self.stage == Stage::Query;
                    match rest[at] {
                        b' ' => self.start_word(Stage::Version),
                        b'?' => self.stage = Stage::Query,
                        b'"' if !query => {}
                        b'`' if query => {}
                        b'\r' | b'\n' => self.stage = Stage::Through,
                        _ => return i + at,
                    }
                    i += at + 1;
                }
                Stage::Version if self.word_len == 0 && rest.starts_with(b"HTTP/1.1\r\n") => {
                    self.stage = Stage::HeaderStart;
                    i += 10;
                }
                Stage::Version => match memchr::memchr(b'\n', rest) {
                    Some(at) => {
                        self.push_word(&rest[..at]);
                        let version = self.word().map(|w| w.strip_suffix(b"\r").unwrap_or(w));
                        self.stage = match version {
                            Some(b"HTTP/1.1" | b"HTTP/1.0") => Stage::HeaderStart,
                            _ => Stage::Through,
                        };
                        i += at + 1;
                    }
                    None => {
                        self.push_word(rest);
                        i = bytes.len();
                    }
                },
                Stage::HeaderStart => {
                    match rest[0] {
                        b'\r' => self.stage = Stage::HeadEnd,
                        b'\n' => self.end_head(),
                        // A folded line continues the one before: not followed.
                        b' ' | b'\t' => self.stage = Stage::Through,
                        // Only three names matter; most lines are passed
                        // over by their first letter without reading the
                        // name. (A line without a colon is hyper's to refuse.)
                        b'c' | b'C' | b't' | b'T' | b'u' | b'U' => {
                            self.start_word(Stage::HeaderName);
                            continue;
                        }
                        _ => self.stage = Stage::HeaderValue(Interest::None),
                    }
                    i += 1;
                }
                Stage::HeadEnd => {
                    match rest[0] {
                        b'\n' => self.end_head(),
                        _ => self.stage = Stage::Through,
                    }
                    i += 1;
                }
                Stage::HeaderName => match memchr::memchr2(b':', b'\n', rest) {
                    Some(at) if rest[at] == b':' => {
                        self.push_word(&rest[..at]);
                        let interest = match self.word() {
                            Some(w) if w.eq_ignore_ascii_case(b"content-length") => Interest::Length,
                            Some(w)
                                if w.eq_ignore_ascii_case(b"transfer-encoding")
                                    || w.eq_ignore_ascii_case(b"upgrade") =>
                            {
                                Interest::Unfollowable
                            }
                            _ => Interest::None,
                        };
                        self.value_len = 0;
                        self.stage = Stage::HeaderValue(interest);
                        i += at + 1;
                    }
                    // A line without a colon: hyper refuses it.
                    Some(_) => self.stage = Stage::Through,
                    None => {
                        self.push_word(rest);
                        i = bytes.len();
                    }
                },
                Stage::HeaderValue(interest) => {
                    let (value, end) = match memchr::memchr(b'\n', rest) {
                        Some(at) => (&rest[..at], Some(at)),
                        None => (rest, None),
                    };
                    if interest != Interest::None {
                        self.push_value(value);
                    }
                    match end {
                        Some(at) => {
                            self.end_header(interest);
                            i += at + 1;
                        }
                        None => i = bytes.len(),
                    }
                }
            }
        }
        bytes.len()
    }

    /// Rewrites `rest`, whose first byte `scan` stopped at, into `out`.
    fn rewrite(&mut self, mut rest: &[u8], out: &mut Vec<u8>) {
        out.clear();
        while let Some((&first, after)) = rest.split_first() {
            out.extend_from_slice(percent_encoding::percent_encode_byte(first).as_bytes());
            let kept = self.scan(after);
            out.extend_from_slice(&after[..kept]);
            rest = &after[kept..];
        }
    }

    fn start_word(&mut self, stage: Stage) {
        self.word_len = 0;
        self.stage = stage;
    }

    /// Adds to the word; past `WORD` bytes it is none it tells apart.
    fn push_word(&mut self, part: &[u8]) {
        if !append(&mut self.word, &mut self.word_len, part) {
            self.word_len = WORD + 1;
        }
    }

    fn word(&self) -> Option<&[u8]> {
        self.word.get(..self.word_len)
    }

    fn push_value(&mut self, part: &[u8]) {
        if !append(&mut self.value, &mut self.value_len, part) {
            self.head.unfollowable = true;
        }
    }

    fn end_header(&mut self, interest: Interest) {
        self.stage = Stage::HeaderStart;
        match interest {
            Interest::Length => {
                self.head.lengths = self.head.lengths.saturating_add(1);
                match plain_number(&self.value[..self.value_len]) {
                    Some(n) => self.head.length = n,
                    None => self.head.unfollowable = true,
                }
            }
            Interest::Unfollowable => self.head.unfollowable = true,
            Interest::None => {}
        }
    }

    fn end_head(&mut self) {
        let head = &self.head;
        self.stage = if head.unfollowable || head.connect || head.lengths > 1 {
            Stage::Through
        } else if head.length > 0 {
            Stage::Body(head.length)
        } else {
            Stage::LineStart
        };
    }
}

/// Copies `part` into `buf` after its first `*len` bytes, if it fits.
fn append(buf: &mut [u8], len: &mut usize, part: &[u8]) -> bool {
    let end = *len + part.len();
    let Some(room) = buf.get_mut(*len..end) else {
        return false;
    };
    room.copy_from_slice(part);
    *len = end;
    true
}

/// Where the target starting `rest` ends, if it ends there and has no
/// byte to encode: most do, and three passes of memchr over it cost less
/// than looking at each byte.
fn clean_target(rest: &[u8]) -> Option<usize> {
    let end = memchr::memchr2(b' ', b'\n', rest)?;
    let target = &rest[..end];
    let clean = rest[end] == b' '
        && memchr::memchr3(b'"', b'<', b'>', target).is_none()
        && memchr::memchr(b'`', target).is_none();
    clean.then_some(end)
}

/// A length as every reader reads it: digits only, around them spaces,
/// tabs and the line's CR.
fn plain_number(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
