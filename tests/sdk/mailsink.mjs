// A tiny SMTP sink on 127.0.0.1 for the SDK suite: both servers are pointed
// at it (settings.smtp), so a test reads the mail the same way on Cairn and
// on PocketBase. It speaks just enough SMTP to accept messages, without
// STARTTLS or AUTH, and keeps each one's recipients and decoded text.
import net from 'node:net';

/** Decodes the message's parts (quoted-printable or base64) into one text. */
function decode(raw) {
  const chunks = [];
  // Split on MIME boundaries loosely: each part's headers, blank line, body.
  for (const part of raw.split(/\r?\n--[^\r\n]+/)) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const headers = part.slice(0, split).toLowerCase();
    const body = part.slice(split).trim();
    if (headers.includes('content-transfer-encoding: base64')) {
      chunks.push(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'));
    } else if (headers.includes('content-transfer-encoding: quoted-printable')) {
      const soft = body.replace(/=\r?\n/g, '');
      const bytes = Buffer.from(
        soft.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      );
      chunks.push(bytes.toString('utf8'));
    } else {
      chunks.push(body);
    }
  }
  return chunks.join('\n');
}

export async function startMailSink() {
  const messages = [];
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    let inData = false;
    let data = '';
    let rcpt = [];
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let at;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const raw = Buffer.from(data, 'latin1').toString('utf8');
            messages.push({ to: rcpt.map((r) => r.toLowerCase()), raw, text: decode(raw) });
            data = '';
            rcpt = [];
            socket.write('250 queued\r\n');
          } else {
            data += (line.startsWith('..') ? line.slice(1) : line) + '\r\n';
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-sink\r\n250 8BITMIME\r\n');
        else if (verb === 'RCPT') {
          rcpt.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1'));
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    /** Waits (at most 10 s) for a message to `to` matching `re`; answers the match. */
    async waitFor(to, re) {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        for (const m of messages) {
          const found = m.to.includes(to.toLowerCase()) && m.text.match(re);
          if (found) {
            messages.splice(messages.indexOf(m), 1);
            return found;
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail to ${to} matching ${re} within 10 s`);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
