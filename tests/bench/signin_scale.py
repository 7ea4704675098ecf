#!/usr/bin/env python3
"""What a password sign-in costs as an auth collection grows: N accounts
written straight into `users` (their passwords unusable), one real
account made through the API, then password sign-ins by its exact
address, by the address in another case, and by an address nobody has,
timed one at a time (median of `--tries`). One server per binary, in
turn, with rate limits off. The hashing is a constant part of each
answer; what grows with N is finding the account (src/auth/account.rs).

    python3 tests/bench/signin_scale.py --bins target/release/cairn[,OTHER] [--accounts 300000]
"""
import argparse, os, shutil, sqlite3, statistics, tempfile, time

from bench import Server, call

PASSWORD = "signin-pass-123"


def measure(binary, accounts, tries):
    work = tempfile.mkdtemp(prefix="cairn-signin-")
    data = os.path.join(work, "data")
    server = Server(binary, [binary, "serve"], [binary, "superuser", "upsert"], data)
    base = server.base
    try:
        call(base, "PATCH", "/api/settings", {"rateLimits": {"enabled": False}}, server.token)
        call(base, "POST", "/api/collections/users/records",
             {"email": "ada@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD})
        db = sqlite3.connect(os.path.join(data, "data.db"), timeout=30)
        db.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO users (id, email, password, tokenKey, created, updated)
            SELECT printf('u%014d', i), printf('user%d@example.com', i), 'x', printf('k%d', i),
                   '2026-01-01 00:00:00.000Z', '2026-01-01 00:00:00.000Z' FROM n""", (accounts,))
        db.commit()
        db.close()
        out = {}
        for label, identity in [("exact", "ada@example.com"), ("other case", "ADA@Example.com"),
                                ("nobody", "nobody{}@example.com")]:
            times = []
            # A new unknown address each time: failures for one address
            # are soon answered by the sign-in backoff, without a lookup.
            for i in range(tries):
                start = time.perf_counter()
                try:
                    call(base, "POST", "/api/collections/users/auth-with-password",
                         {"identity": identity.format(i), "password": PASSWORD})
                except Exception:  # the unknown address is a 400
                    pass
                times.append((time.perf_counter() - start) * 1000)
            out[label] = statistics.median(times)
        return out
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bins", required=True)
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--tries", type=int, default=9)
    args = ap.parse_args()
    print(f"| binary | accounts | exact ms | other case ms | nobody ms |\n|---|---:|---:|---:|---:|")
    for binary in args.bins.split(","):
        r = measure(binary, args.accounts, args.tries)
        print(f"| {binary} | {args.accounts} | {r['exact']:.1f} | {r['other case']:.1f} | {r['nobody']:.1f} |")


if __name__ == "__main__":
    main()
