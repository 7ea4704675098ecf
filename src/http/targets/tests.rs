//! The request-target layer, fed requests cut into reads of every size.

use tokio::io::AsyncReadExt;

use super::*;

/// `input` through the layer, read `piece` bytes at a time from a
/// source that gives `piece` bytes a read.
fn through(input: &[u8], piece: usize) -> Vec<u8> {
    struct Pieces<'a>(&'a [u8], usize);
    impl AsyncRead for Pieces<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.1.min(self.0.len()).min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut layer = EncodedTargets::new(Pieces(input, piece));
        let mut out = Vec::new();
        let mut buf = vec![0; piece];
        loop {
            let n = layer.read(&mut buf).await.expect("read");
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
}

/// The same result however the bytes are cut into reads.
fn rewritten(input: &str) -> String {
    let whole = through(input.as_bytes(), 1 << 16);
    for piece in [1, 2, 3, 7, 64] {
        assert_eq!(through(input.as_bytes(), piece), whole, "read {piece} at a time");
    }
    String::from_utf8(whole).expect("text")
}

#[test]
fn what_the_http_crate_refuses_in_a_target_is_percent_encoded() {
    assert_eq!(
        rewritten("GET /api/c/records?filter=title=\"a<b\"&sort=>`{|} HTTP/1.1\r\nHost: x\r\n\r\n"),
        "GET /api/c/records?filter=title=%22a%3Cb%22&sort=%3E`{|} HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    // In a path, `"` is taken and `` ` `` is not; the query comes after.
    assert_eq!(
        rewritten("GET /a\"b`c<d>?q=`\" HTTP/1.0\r\n\r\n"),
        "GET /a\"b%60c%3Cd%3E?q=`%22 HTTP/1.0\r\n\r\n"
    );
}

#[test]
fn a_long_target_of_bytes_to_encode_is_rewritten_whole() {
    // The work is linear in the target: a scanner that looked for a
    // clean rest after each stop took 73 s over this one (debug build).
    let quotes = "\"".repeat(256 * 1024);
    let input = format!("GET /?q={quotes} HTTP/1.1\r\n\r\nGET /?q=\" HTTP/1.1\r\n\r\n");
    let expected = format!(
        "GET /?q={} HTTP/1.1\r\n\r\nGET /?q=%22 HTTP/1.1\r\n\r\n",
        "%22".repeat(256 * 1024)
    );
    for piece in [4096, 1 << 20] {
        assert_eq!(
            through(input.as_bytes(), piece),
            expected.as_bytes(),
            "read {piece} at a time"
        );
    }
}

#[test]
fn a_target_hyper_takes_passes_byte_for_byte() {
    let plain = "GET /api/collections/posts/records?filter=%28a%3D%22x%22%29&page=2&x=!$&'()*+,;=:@/?~_-.%ZZ{}|^\\ HTTP/1.1\r\n\
                 Host: 127.0.0.1\r\nAccept: */*\r\nX-Odd: \"<quoted>\" `tick`\r\n\r\n";
    assert_eq!(rewritten(plain), plain);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..200 {
        let target: String = (0..40)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let b = b'!' + (rng % 94) as u8;
                if matches!(b, b'"' | b'<' | b'>' | b'`') {
                    '_'
                } else {
                    char::from(b)
                }
            })
            .collect();
        let line = format!("GET /{target} HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(rewritten(&line), line);
    }
}

#[test]
fn a_body_is_never_rewritten_and_the_next_request_is() {
    let body = "{\"title\":\"<b>\"}";
    let input = format!(
        "POST /a?x=\"1\" HTTP/1.1\r\ncontent-length: {}\r\nContent-Type: application/json\r\n\r\n{body}\
         GET /b?y=\"2\" HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\nGET /c?z=\"3\" HTTP/1.1\r\n\r\n",
        body.len()
    );
    assert_eq!(
        rewritten(&input),
        format!(
            "POST /a?x=%221%22 HTTP/1.1\r\ncontent-length: {}\r\nContent-Type: application/json\r\n\r\n{body}\
             GET /b?y=%222%22 HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\nGET /c?z=%223%22 HTTP/1.1\r\n\r\n",
            body.len()
        )
    );
    // Bare LFs end lines as they do for hyper.
    assert_eq!(
        rewritten("POST /a HTTP/1.1\nContent-Length:  2 \n\n\"\"GET /?q=\" HTTP/1.1\n\n"),
        "POST /a HTTP/1.1\nContent-Length:  2 \n\n\"\"GET /?q=%22 HTTP/1.1\n\n"
    );
}

#[test]
fn framing_it_does_not_follow_leaves_the_rest_of_the_connection_alone() {
    let after = "GET /?q=\"x\" HTTP/1.1\r\n\r\n";
    for head in [
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\"\"\"\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTRANSFER-ENCODING: chunked\r\n\r\n1\r\n\"\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n\"\"",
        "POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n\"\"",
        "POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n\"\"",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        "CONNECT host:443 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A: 1\r\n folded: on\r\n\r\n",
        "GET / HTTP/1.1\r\ncontent-length 2\r\n\r\n\"\"",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET /\r\n",
    ] {
        let input = format!("{head}{after}");
        assert_eq!(rewritten(&input), input, "{head:?}");
    }
    // The control: after a framing it follows, the same line is rewritten.
    assert_eq!(
        rewritten(&format!(
            "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n\"\"{after}"
        )),
        format!("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n\"\"GET /?q=%22x%22 HTTP/1.1\r\n\r\n")
    );
}
