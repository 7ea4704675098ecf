//! Tolerance for raw `"`, `<` and `>` in a request's query string.
//!
//! Clients write filters straight into URLs (`?filter=email="x"`), and
//! PocketBase (Go's server) takes them. The `http` crate under hyper
//! refuses those three bytes in a query, so hyper answers a bare 400
//! before any of our code runs. This layer sits between the socket and
//! hyper and percent-encodes them in the query part of each request line;
//! the query decoder then reads `%22` exactly as it would have read `"`.
//!
//! It follows HTTP/1 framing just far enough to find each request line on
//! a keep-alive connection: a head, then `Content-Length` bytes of body.
//! Anything it does not model exactly (`Transfer-Encoding`, an `Upgrade`,
//! `CONNECT`, a repeated or odd length, folded headers, HTTP/2, an
//! over-long line) switches the connection to plain pass-through for
//! good, so it can never alter a body: at worst hyper sees the raw bytes
//! and answers as it would without this layer.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps an acceptor so that every connection goes through `RawQueryIo`.
pub struct RawQueryAcceptor<A>(pub A);

impl<A: Acceptor> Acceptor for RawQueryAcceptor<A> {
    type Io = RawQueryIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        Ok((
            RawQueryIo {
                inner: io,
                framing: Framing::default(),
                pending: Vec::new(),
                sent: 0,
            },
            local,
            remote,
            scheme,
        ))
    }
}

/// A connection whose request lines are rewritten on the way in.
pub struct RawQueryIo<T> {
    inner: T,
    framing: Framing,
    /// Rewritten bytes not yet handed to hyper, from `sent` on.
    pending: Vec<u8>,
    sent: usize,
}

/// Longer header lines are refused by hyper anyway; past this the layer
/// stops tracking rather than buffer without bound.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Default, PartialEq)]
enum Where {
    /// Before a request line (blank lines there are allowed).
    #[default]
    Start,
    Method,
    Target {
        query: bool,
    },
    Version,
    Headers,
    Body(u64),
    PassThrough,
}

#[derive(Debug, Default)]
struct Framing {
    at: Where,
    /// The method, the version or the header line being read.
    line: Vec<u8>,
    length: Option<u64>,
    /// Seen something whose body or protocol this layer does not model.
    opaque: bool,
}

impl Framing {
    /// Appends `input`, rewritten, to `out`.
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.at {
                Where::PassThrough => {
                    out.extend_from_slice(input);
                    return;
                }
                Where::Body(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.at = if left == 0 {
                        Where::Start
                    } else {
                        Where::Body(left)
                    };
                }
                _ => {
                    self.byte(input[0], out);
                    input = &input[1..];
                }
            }
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.at {
            Where::Start if b == b'\r' || b == b'\n' => out.push(b),
            Where::Start => {
                self.line.clear();
                self.length = None;
                self.opaque = false;
                self.at = Where::Method;
                self.byte(b, out);
            }
            Where::Method if b == b' ' => {
                self.opaque = self.line.eq_ignore_ascii_case(b"CONNECT");
                self.at = Where::Target { query: false };
                out.push(b);
            }
            Where::Method => {
                self.line.push(b);
                out.push(b);
                if self.line.len() > MAX_LINE {
                    self.at = Where::PassThrough;
                }
            }
            Where::Target { query } => match b {
                b' ' => {
                    self.line.clear();
                    self.at = Where::Version;
                    out.push(b);
                }
                b'\r' | b'\n' => {
                    self.at = Where::PassThrough;
                    out.push(b);
                }
                b'"' if query => out.extend_from_slice(b"%22"),
                b'<' if query => out.extend_from_slice(b"%3C"),
                b'>' if query => out.extend_from_slice(b"%3E"),
                b'?' => {
                    self.at = Where::Target { query: true };
                    out.push(b);
                }
                // The fragment is not the query; leave it as it came.
                b'#' => {
                    self.at = Where::Target { query: false };
                    out.push(b);
                }
                _ => out.push(b),
            },
            Where::Version | Where::Headers => {
                out.push(b);
                if b != b'\n' {
                    self.line.push(b);
                    if self.line.len() > MAX_LINE {
                        self.at = Where::PassThrough;
                    }
                    return;
                }
                let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                self.at = if self.at == Where::Version {
                    if line == b"HTTP/1.1" || line == b"HTTP/1.0" {
                        Where::Headers
                    } else {
                        Where::PassThrough
                    }
                } else if line.is_empty() {
                    match (self.opaque, self.length) {
                        (true, _) => Where::PassThrough,
                        (false, Some(n)) if n > 0 => Where::Body(n),
                        (false, _) => Where::Start,
                    }
                } else {
                    self.header(line.to_vec());
                    Where::Headers
                };
                self.line.clear();
            }
            Where::Body(_) | Where::PassThrough => out.push(b),
        }
    }

    /// Notes what a header line says about the framing.
    fn header(&mut self, line: Vec<u8>) {
        if line.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            self.opaque = true;
            return;
        }
        let Some(colon) = line.iter().position(|c| *c == b':') else {
            self.opaque = true;
            return;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = (!value.is_empty() && value.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(value).ok()?.parse::<u64>().ok())
                .flatten();
            match (self.length, parsed) {
                (None, Some(n)) => self.length = Some(n),
                _ => self.opaque = true,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") || name.eq_ignore_ascii_case(b"upgrade") {
            self.opaque = true;
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for RawQueryIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.sent < this.pending.len() {
                let n = buf.remaining().min(this.pending.len() - this.sent);
                buf.put_slice(&this.pending[this.sent..this.sent + n]);
                this.sent += n;
                return Poll::Ready(Ok(()));
            }
            this.pending.clear();
            this.sent = 0;
            if this.framing.at == Where::PassThrough {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.framing.feed(read.filled(), &mut this.pending);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for RawQueryIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::Framing;

    /// Rewrites `input` fed whole and fed byte by byte; both must agree.
    fn rewrite(input: &str) -> String {
        let mut whole = Vec::new();
        Framing::default().feed(input.as_bytes(), &mut whole);
        let mut framing = Framing::default();
        let mut split = Vec::new();
        for b in input.as_bytes() {
            framing.feed(std::slice::from_ref(b), &mut split);
        }
        assert_eq!(whole, split);
        String::from_utf8_lossy(&whole).into_owned()
    }

    #[test]
    fn quotes_in_the_query_are_encoded_and_nothing_else() {
        assert_eq!(
            rewrite("GET /a\"b?f=x=\"1\"&g=<>#\"z HTTP/1.1\r\nX: \"\r\n\r\n"),
            "GET /a\"b?f=x=%221%22&g=%3C%3E#\"z HTTP/1.1\r\nX: \"\r\n\r\n"
        );
    }

    #[test]
    fn a_body_is_left_alone_and_the_next_request_is_rewritten() {
        let body = "?a=\"b\" GET /?x=\"";
        let input = format!(
            "\r\nPOST /r?q=\" HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}GET /?q=\" HTTP/1.1\r\n\r\n",
            body.len()
        );
        let expected = format!(
            "\r\nPOST /r?q=%22 HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}GET /?q=%22 HTTP/1.1\r\n\r\n",
            body.len()
        );
        assert_eq!(rewrite(&input), expected);
    }

    #[test]
    fn framing_it_does_not_model_stops_all_rewriting() {
        for head in [
            "transfer-encoding: chunked",
            "content-length: 3\r\ncontent-length: 3",
            "content-length: +3",
            "upgrade: websocket",
            " folded",
        ] {
            let input = format!("POST /?a=\" HTTP/1.1\r\n{head}\r\n\r\nabcGET /?q=\" HTTP/1.1\r\n\r\n");
            let out = rewrite(&input);
            assert!(out.starts_with("POST /?a=%22 "), "{out}");
            assert!(out.ends_with("abcGET /?q=\" HTTP/1.1\r\n\r\n"), "{head}: {out}");
        }
        let h2 = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET /?q=\" HTTP/1.1\r\n";
        assert_eq!(rewrite(h2), h2);
    }
}
