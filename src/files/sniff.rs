//! Content types from the bytes themselves, never from what the client
//! claims: the type decides how a file is served, and `mimeTypes` on a
//! field is checked against it. Only the types Cairn treats specially are
//! recognised, and the text formats PocketBase tells apart from plain
//! text (JSON, CSV), so a field's `mimeTypes` accepts and refuses the same
//! uploads; everything else is text (valid UTF-8) or binary.

/// A sniffed type: its MIME name and the extension a nameless upload gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub ext: &'static str,
}

const fn t(mime: &'static str, ext: &'static str) -> Sniffed {
    Sniffed { mime, ext }
}

/// Types a browser may show in place: inert media and PDF. Everything else
/// (HTML, SVG, scripts, XML, text) is served as an attachment, so an upload
/// can never run as a page of this origin.
const INLINE: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/x-icon",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/wav",
    "audio/ogg",
    "application/pdf",
];

pub fn is_inline(mime: &str) -> bool {
    INLINE.contains(&mime)
}

/// Types known by their leading bytes.
const MAGIC: &[(&[u8], Sniffed)] = &[
    (b"\x89PNG\r\n\x1a\n", t("image/png", ".png")),
    (b"\xff\xd8\xff", t("image/jpeg", ".jpg")),
    (b"GIF87a", t("image/gif", ".gif")),
    (b"GIF89a", t("image/gif", ".gif")),
    (b"\x00\x00\x01\x00", t("image/x-icon", ".ico")),
    (b"%PDF-", t("application/pdf", ".pdf")),
    (b"PK\x03\x04", t("application/zip", ".zip")),
    (b"\x1f\x8b", t("application/gzip", ".gz")),
    (b"OggS", t("audio/ogg", ".ogg")),
    (b"ID3", t("audio/mpeg", ".mp3")),
    (b"\xff\xfb", t("audio/mpeg", ".mp3")),
    (b"\x1a\x45\xdf\xa3", t("video/webm", ".webm")),
];

/// How many leading bytes decide a type (as many as PocketBase reads):
/// callers that read a stored file read this much of it.
pub const SAMPLE: usize = 3072;

/// The type of `bytes` (only the first `SAMPLE` are looked at).
pub fn sniff(bytes: &[u8]) -> Sniffed {
    let head = &bytes[..bytes.len().min(SAMPLE)];
    if let Some((_, found)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return *found;
    }
    // RIFF containers say what they hold at byte 8; MP4 names its brand at 4.
    match (head.get(..4), head.get(4..8), head.get(8..12)) {
        (Some(b"RIFF"), _, Some(b"WEBP")) => return t("image/webp", ".webp"),
        (Some(b"RIFF"), _, Some(b"WAVE")) => return t("audio/wav", ".wav"),
        (_, Some(b"ftyp"), _) => return t("video/mp4", ".mp4"),
        _ => {}
    }
    if head.starts_with(b"BM") && head.len() > 14 {
        return t("image/bmp", ".bmp");
    }
    if let Some(markup) = markup(head) {
        return markup;
    }
    // A cut-off multi-byte character at the end of the sample is fine.
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if text && !head.contains(&0) {
        // A sample of exactly `SAMPLE` bytes may have been cut short.
        let cut = head.len() == SAMPLE;
        if is_json(head, cut) {
            return t("application/json", ".json");
        }
        if is_csv(head, cut) {
            return t("text/csv", ".csv");
        }
        return t("text/plain", ".txt");
    }
    t("application/octet-stream", "")
}

/// HTML, SVG and XML, recognised the way browsers would treat them:
/// leading whitespace and case do not matter.
fn markup(head: &[u8]) -> Option<Sniffed> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = String::from_utf8_lossy(&head[start..]).to_ascii_lowercase();
    if !text.starts_with('<') {
        return None;
    }
    if text.contains("<svg") {
        return Some(t("image/svg+xml", ".svg"));
    }
    const HTML: &[&str] = &[
        "<!doctype html",
        "<html",
        "<head",
        "<script",
        "<body",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a",
        "<style",
        "<title",
        "<b",
        "<br",
        "<p",
        "<!--",
    ];
    if HTML.iter().any(|tag| {
        text.strip_prefix(tag)
            .is_some_and(|rest| rest.starts_with([' ', '>', '\t', '\n', '\r']) || rest.is_empty())
    }) {
        return Some(t("text/html", ".html"));
    }
    if text.starts_with("<?xml") {
        return Some(t("text/xml", ".xml"));
    }
    None
}

/// A JSON object or array (a bare number or string is plain text); one
/// cut short by the sample counts if all of it that was read is valid.
fn is_json(head: &[u8], cut: bool) -> bool {
    if !matches!(head.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'[')) {
        return false;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(head) {
        Ok(_) => true,
        Err(e) => cut && e.is_eof(),
    }
}

/// Comma-separated values: at least two records (blank and `#` lines
/// skipped, and a last line the sample may have cut left out), all with
/// the same number of fields, more than one. Commas inside double quotes
/// separate nothing.
fn is_csv(head: &[u8], cut: bool) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    if cut {
        lines.pop();
    }
    let fields = |line: &str| {
        let mut quoted = false;
        1 + line
            .chars()
            .filter(|c| {
                if *c == '"' {
                    quoted = !quoted;
                }
                *c == ',' && !quoted
            })
            .count()
    };
    let Some(first) = lines.first().map(|l| fields(l)) else {
        return false;
    };
    lines.len() > 1 && first > 1 && lines.iter().all(|l| fields(l) == first)
}

/// The `Content-Type` header for a sniffed type.
pub fn content_type(mime: &str) -> String {
    // As PocketBase names them: CSV goes without a charset.
    if mime.starts_with("text/") && mime != "text/csv" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").mime, "image/png");
        assert_eq!(sniff(b"GIF89a....").mime, "image/gif");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").mime, "image/webp");
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x").mime, "text/html");
        assert_eq!(sniff(b"<html><script>alert(1)</script>").mime, "text/html");
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=''/>").mime,
            "image/svg+xml"
        );
        assert_eq!(sniff(b"hello").mime, "text/plain");
        assert_eq!(sniff(b" {\"a\": [1, 2]}\n").mime, "application/json");
        assert_eq!(sniff(b"[1, 2]").mime, "application/json");
        assert_eq!(sniff(b"123").mime, "text/plain", "a bare number is no document");
        assert_eq!(
            sniff(b"{\"a\": 1").mime,
            "text/plain",
            "cut short, but not by the sample"
        );
        let long = format!("[{}1]", "1, ".repeat(SAMPLE));
        assert_eq!(
            sniff(long.as_bytes()).mime,
            "application/json",
            "cut by the sample"
        );
        assert_eq!(sniff(b"a,b,c\n1,\"2,5\",3\n\n4,5,6\n").mime, "text/csv");
        assert_eq!(sniff(b"a,b\n1,2,3\n").mime, "text/plain", "ragged rows");
        assert_eq!(sniff(b"a,b\n").mime, "text/plain", "one row");
        assert_eq!(sniff(b"a\nb\n").mime, "text/plain", "one column");
        assert_eq!(sniff(b"\0\x01\x02").mime, "application/octet-stream");
        assert!(!is_inline("text/html") && !is_inline("image/svg+xml") && is_inline("image/png"));
    }
}
