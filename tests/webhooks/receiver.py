#!/usr/bin/env python3
"""A webhook receiver for Cairn's tests: it verifies every request with the
`standardwebhooks` library (PyPI; the Standard Webhooks project's own, not
Cairn's code) and keeps what it got, for the test to read at GET /_log.

    python3 tests/webhooks/receiver.py --secret whsec_...

prints `PORT <n>` once it listens on 127.0.0.1. What it answers depends on
the path the webhook points at:

    /ok              200
    /fail/N          500 to the first N requests on this path, then 200
    /hold/N          holds the first N requests until POST /_release (or
                     60 s), answering none of them, then 200
    /redirect        302 to the receiver's own /landed (which a test
                     asserts was never requested)
    /big             200 with a 10 MiB body, sent slowly after the first MiB
    /slow/S/N        sleeps S seconds before answering the first N requests
                     on this path (200), then answers at once

Every request is verified with the start-up secret (`verified`) and with
each secret added since by POST /_secret (body: the secret);
`verifiedWith` lists the indices of those that verify it (0: start-up).

Installed by tests/run.sh (`pip install standardwebhooks`).
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

lock = threading.Lock()
log = []
counts = {}
release = threading.Event()
verifiers = []


def make_handler(secret):
    verifiers.append(Webhook(secret))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"ok", headers=()):
            try:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

        def do_GET(self):
            if self.path == "/_log":
                with lock:
                    body = json.dumps(log).encode()
                return self.answer(200, body, [("Content-Type", "application/json")])
            self.record(b"")
            self.answer(200)

        def do_POST(self):
            if self.path == "/_release":
                release.set()
                return self.answer(200)
            if self.path == "/_secret":
                length = int(self.headers.get("Content-Length") or 0)
                added = Webhook(self.rfile.read(length).decode().strip())
                with lock:
                    verifiers.append(added)
                return self.answer(200)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            n = self.record(body)
            parts = self.path.strip("/").split("/")
            if parts[0] == "fail" and n <= int(parts[1]):
                return self.answer(500, b"receiver failing on purpose")
            if parts[0] == "hold" and n <= int(parts[1]):
                release.wait(60)
                return self.answer(200)
            if parts[0] == "redirect":
                port = self.server.server_address[1]
                return self.answer(302, b"", [("Location", f"http://127.0.0.1:{port}/landed")])
            if parts[0] == "big":
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(10 * 1024 * 1024))
                    self.end_headers()
                    chunk = b"x" * 65536
                    for i in range(160):
                        self.wfile.write(chunk)
                        if i >= 16:
                            time.sleep(0.05)
                except OSError:
                    pass
                return
            if parts[0] == "slow" and n <= int(parts[2]):
                time.sleep(float(parts[1]))
            self.answer(200)

        def record(self, body):
            headers = {k.lower(): v for k, v in self.headers.items()}
            entry = {
                "path": self.path,
                "method": self.command,
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "signature": headers.get("webhook-signature"),
                "contentType": headers.get("content-type"),
                "body": body.decode("utf-8", "replace"),
                "received": time.time(),
            }
            with lock:
                current = list(verifiers)
            entry["verifiedWith"] = []
            for i, verifier in enumerate(current):
                try:
                    payload = verifier.verify(body, headers)
                    entry["verifiedWith"].append(i)
                    entry.setdefault("payload", payload)
                except Exception as e:  # the library's verification error, or a missing header
                    if i == 0:
                        entry["error"] = f"{type(e).__name__}: {e}"
            entry["verified"] = 0 in entry["verifiedWith"]
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
                log.append(entry)
            return n

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.secret))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
