// Creates the same collections on one server, through the collections API,
// for tests/clients/typegen.sh to run pocketbase-typegen against.
//
//   node schema.mjs BASE_URL EMAIL PASSWORD            the shared schema
//   node schema.mjs BASE_URL EMAIL PASSWORD --skew     one extra field on
//                                                      `things` (the control
//                                                      that proves the diff
//                                                      can fail)
//
// Waits (bounded) for /api/health first. Every request has a timeout.
const [base, email, password, mode] = process.argv.slice(2);
if (!base || !email || !password) {
  console.error("usage: node schema.mjs BASE_URL EMAIL PASSWORD [--skew]");
  process.exit(2);
}

const timeout = () => AbortSignal.timeout(10_000);

async function waitHealthy() {
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`${base}/api/health`, { signal: timeout() });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${base} did not answer /api/health within 30 s`);
}

async function call(method, path, token, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: token } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeout(),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

await waitHealthy();
const { token } = await call("POST", "/api/collections/_superusers/auth-with-password", null, {
  identity: email,
  password,
});

// Loopback out of Cairn's sign-in rate limit (on by default, off in
// PocketBase): this script and typegen sign in several times in a row.
await call("PATCH", "/api/settings", token, { rateLimits: { excludedIPs: ["127.0.0.1"] } });

if (mode === "--skew") {
  const things = await call("GET", "/api/collections/things", token);
  await call("PATCH", "/api/collections/things", token, {
    fields: [...things.fields, { name: "skew_extra", type: "text" }],
  });
  process.exit(0);
}

const users = await call("GET", "/api/collections/users", token);

// Created first so `things` can point at it (single and multiple relation).
const tags = await call("POST", "/api/collections", token, {
  name: "tags",
  type: "base",
  fields: [{ name: "label", type: "text", required: true, max: 40 }],
});

// Every common field type, each with options that change typegen's output
// (required, maxSelect, values, onCreate/onUpdate) and some that do not.
const things = await call("POST", "/api/collections", token, {
  name: "things",
  type: "base",
  listRule: "",
  viewRule: "",
  fields: [
    { name: "title", type: "text", required: true, min: 1, max: 200 },
    { name: "slug", type: "text", pattern: "^[a-z0-9-]+$" },
    { name: "count", type: "number", required: true, onlyInt: true, min: 0 },
    { name: "ratio", type: "number", max: 1 },
    { name: "active", type: "bool" },
    { name: "contact", type: "email", exceptDomains: ["example.org"] },
    { name: "homepage", type: "url", onlyDomains: ["example.com"] },
    { name: "due", type: "date", required: true },
    { name: "status", type: "select", required: true, maxSelect: 1, values: ["draft", "published", "archived"] },
    { name: "labels", type: "select", maxSelect: 3, values: ["red", "green", "blue", "red"] },
    { name: "level", type: "select", maxSelect: 1, values: ["1", "2", "3"] },
    { name: "meta", type: "json", maxSize: 2000 },
    { name: "config", type: "json", required: true },
    { name: "cover", type: "file", maxSelect: 1, maxSize: 1048576, mimeTypes: ["image/png", "image/jpeg"], thumbs: ["100x100"] },
    { name: "attachments", type: "file", maxSelect: 5, maxSize: 5242880 },
    { name: "owner", type: "relation", required: true, collectionId: users.id, maxSelect: 1, cascadeDelete: true },
    { name: "tag_list", type: "relation", collectionId: tags.id, maxSelect: 10 },
    { name: "body", type: "editor", convertURLs: true },
    { name: "location", type: "geoPoint" },
    { name: "created", type: "autodate", onCreate: true, onUpdate: false },
    { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    { name: "touched", type: "autodate", onCreate: false, onUpdate: true },
    { name: "2fa_code", type: "text" },
  ],
  indexes: ["CREATE INDEX idx_things_slug ON things (slug)"],
});

// An auth collection with fields of its own beside the system ones.
await call("POST", "/api/collections", token, {
  name: "members",
  type: "auth",
  fields: [
    { name: "display_name", type: "text", required: true },
    { name: "avatar", type: "file", maxSelect: 1 },
    { name: "role", type: "select", maxSelect: 1, values: ["admin", "editor", "viewer"] },
    { name: "prefs", type: "json" },
    { name: "birthday", type: "date" },
    { name: "team", type: "relation", collectionId: tags.id, maxSelect: 1 },
  ],
  passwordAuth: { enabled: true, identityFields: ["email"] },
});

// A view collection: column types inferred from the source fields, plus an
// aggregate and an expression.
await call("POST", "/api/collections", token, {
  name: "thing_stats",
  type: "view",
  listRule: "",
  viewQuery:
    "SELECT things.id, things.title, things.count, things.status, things.labels, things.owner, things.meta, things.cover, things.created, (SELECT COUNT(*) FROM tags) AS tag_total, (things.count * 2) AS doubled FROM things",
});
console.log(`schema created on ${base} (things: ${things.fields.length} fields)`);
