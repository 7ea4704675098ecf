// What a collection's API looks like from a client: its endpoints, the
// rule that guards each, and request and answer examples built from the
// collection's own fields, as official JS SDK calls and as curl commands.
// Pure functions of a collection definition (and the server's origin), so
// they can be checked without a page; api_page.js draws them.
//
// The examples respect the field options the server validates (lengths,
// ranges, select values, allowed domains) so that the create example of a
// collection anyone may write to is accepted as it stands.

/** The placeholder for a record id in paths and relation values. */
export const RECORD_ID = 'RECORD_ID';
const SAMPLE_IDS = ['k3v9x2m7q1p4w8z', 'a7d2n5r8t1y4u6i', 'b4c8e1g5j9l2o6s'];
const SAMPLE_DATE = '2025-06-01 09:30:00.000Z';

/** A rule as shown: locked (superusers only), public (everyone) or an expression. */
export function ruleOf(value) {
  if (value === null || value === undefined) return { mode: 'locked', label: 'Superusers only', expr: '' };
  if (String(value).trim() === '') return { mode: 'public', label: 'Everyone', expr: '' };
  return { mode: 'expr', label: 'Matching the rule', expr: String(value) };
}

const isAuth = (c) => c.type === 'auth';
const isView = (c) => c.type === 'view';
const AUTH_SYSTEM = new Set(['password', 'tokenKey', 'email', 'emailVisibility', 'verified']);

/** A text value for a field named `name`, a little more telling than "text". */
function textFor(name) {
  const n = name.toLowerCase();
  if (/(^|_)(first_?)?name$|^name/.test(n)) return 'Ada Lovelace';
  if (/title|subject|heading/.test(n)) return 'Notes on the engine';
  if (/slug/.test(n)) return 'notes-on-the-engine';
  if (/phone|tel/.test(n)) return '+44 20 7946 0000';
  if (/city|town/.test(n)) return 'London';
  if (/country/.test(n)) return 'United Kingdom';
  if (/color|colour/.test(n)) return 'teal';
  if (/code|sku|ref/.test(n)) return 'AE-1843';
  if (/desc|body|content|summary|bio|note|comment|message/.test(n)) return 'A short paragraph of plain text.';
  return `Example ${name}`;
}

/** `s` cut to `max` and padded to `min` characters (0 = no bound). */
function fitLength(s, min = 0, max = 0) {
  let out = s;
  while (min > 0 && out.length < min) out += ` ${s}`;
  if (max > 0 && out.length > max) out = out.slice(0, max).trimEnd();
  if (min > 0 && out.length < min) out = out.padEnd(min, 'x');
  return out;
}

const firstOf = (list) => (Array.isArray(list) && list.length ? list[0] : '');

/**
 * An example value of `field`: what a client sends (`side` 'request') or
 * gets back ('answer'). Files are names in answers; in requests they are
 * uploads, which the snippets write apart (see `fileFields`).
 */
export function exampleValue(field, side = 'answer', index = 0) {
  const many = (field.maxSelect || 1) > 1;
  switch (field.type) {
    case 'text': {
      if (field.name === 'id') return SAMPLE_IDS[index % SAMPLE_IDS.length];
      return fitLength(textFor(field.name), field.min || 0, field.max || 0);
    }
    case 'number': {
      const lo = Number.isFinite(field.min) && field.min !== null ? field.min : null;
      const hi = Number.isFinite(field.max) && field.max !== null ? field.max : null;
      let n = field.onlyInt ? 42 : 4.5;
      if (lo !== null && n < lo) n = lo;
      if (hi !== null && n > hi) n = hi;
      // A zero that is not allowed (nonempty) is nudged to the range's inside.
      if (n === 0 && field.required) n = hi !== null && hi < 0 ? -1 : 1;
      return n;
    }
    case 'bool': return true;
    case 'email': {
      const domain = firstOf(field.onlyDomains) || 'example.com';
      const local = /^(author|owner|user|contact)/i.test(field.name) ? field.name.toLowerCase() : 'ada';
      return `${local}@${domain}`;
    }
    case 'url': return `https://${firstOf(field.onlyDomains) || 'example.com'}/page`;
    case 'date': return field.min && SAMPLE_DATE < field.min ? field.min : field.max && SAMPLE_DATE > field.max ? field.max : SAMPLE_DATE;
    case 'autodate': return side === 'answer' ? SAMPLE_DATE : undefined;
    case 'select': {
      const v = firstOf(field.values);
      return many ? (v ? [v] : []) : v;
    }
    case 'json': return { tags: ['alpha', 'beta'], count: 2 };
    case 'editor': return '<p>Some <strong>rich</strong> text.</p>';
    case 'geoPoint': return { lon: -0.1276, lat: 51.5072 };
    case 'relation': {
      const id = side === 'answer' ? SAMPLE_IDS[(index + 1) % SAMPLE_IDS.length] : RECORD_ID;
      return many ? [id] : id;
    }
    case 'file': {
      const name = `${field.name}_${SAMPLE_IDS[2].slice(0, 10)}.png`;
      return many ? [name] : name;
    }
    case 'password': return side === 'request' ? 'a-long-secret-1' : undefined;
    default: return null;
  }
}

/** The fields a create or update request may carry (files apart). */
export function writableFields(c) {
  return (c.fields || []).filter((f) => !f.system && !['autodate', 'password', 'file'].includes(f.type));
}

/** The file fields, which go as multipart uploads. */
export const fileFields = (c) => (c.fields || []).filter((f) => f.type === 'file');

/** Fields left out of every answer (hidden ones, and auth secrets). */
export const hiddenFields = (c) => (c.fields || []).filter((f) => f.hidden || f.type === 'password' || f.name === 'tokenKey');

/** Text fields with a pattern, which an example cannot be sure to match. */
const patterned = (c) => writableFields(c).filter((f) => f.type === 'text' && f.pattern);

/** The body of a create request (without files). */
export function createBody(c) {
  const body = {};
  if (isAuth(c)) {
    body.email = exampleValue({ type: 'email', name: 'email' }, 'request');
    body.emailVisibility = true;
    body.password = exampleValue({ type: 'password' }, 'request');
    body.passwordConfirm = body.password;
  }
  for (const f of writableFields(c)) {
    if (isAuth(c) && AUTH_SYSTEM.has(f.name)) continue;
    body[f.name] = exampleValue(f, 'request');
  }
  return body;
}

/** The body of an update request: a few of the fields, as a change would carry. */
export function updateBody(c) {
  const body = {};
  for (const f of writableFields(c).filter((x) => !(isAuth(c) && AUTH_SYSTEM.has(x.name))).slice(0, 3)) {
    body[f.name] = exampleValue(f, 'request');
  }
  return body;
}

/** A record as the API returns it to a client that is not a superuser. */
export function exampleRecord(c, index = 0) {
  const record = { collectionId: c.id, collectionName: c.name };
  const hidden = new Set(hiddenFields(c).map((f) => f.name));
  for (const f of c.fields || []) {
    if (hidden.has(f.name)) continue;
    const v = f.name === 'emailVisibility' ? true : f.name === 'verified' ? false : exampleValue(f, 'answer', index);
    if (v !== undefined) record[f.name] = v;
  }
  if (!(c.fields || []).some((f) => f.name === 'id')) record.id = SAMPLE_IDS[index % SAMPLE_IDS.length];
  // The id first, as the API lists it.
  return { id: record.id, ...record };
}

/** A filter that reads naturally for this collection's fields. */
export function exampleFilter(c) {
  const fields = (c.fields || []).filter((f) => !f.hidden && !f.system);
  const text = fields.find((f) => ['text', 'editor', 'email'].includes(f.type));
  const num = fields.find((f) => f.type === 'number');
  const bool = fields.find((f) => f.type === 'bool');
  const parts = [];
  if (text) parts.push(`${text.name} ~ "${String(exampleValue(text, 'request')).split(/\s+/)[0].replace(/[<>"]/g, '') || 'a'}"`);
  if (num) parts.push(`${num.name} >= ${exampleValue(num, 'request')}`);
  else if (bool) parts.push(`${bool.name} = true`);
  if (!parts.length) parts.push("id != ''");
  return parts.join(' && ');
}

const sortOf = (c) => ((c.fields || []).some((f) => f.name === 'created') ? '-created' : '-id');

// --- rendering: JS object literals, shell quoting --------------------------

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** `v` as JS source, indented by `pad`: keys bare when they can be, strings in single quotes. */
export function jsLiteral(v, pad = '') {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map((x) => jsLiteral(x, pad)).join(', ')}]`;
  if (v && typeof v === 'object') {
    const inner = `${pad}  `;
    const rows = Object.entries(v).map(([k, x]) => `${inner}${IDENT.test(k) ? k : jsLiteral(k)}: ${jsLiteral(x, inner)},`);
    return rows.length ? `{\n${rows.join('\n')}\n${pad}}` : '{}';
  }
  return JSON.stringify(v);
}

/** `s` as one single-quoted shell word. */
export const shellQuote = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

const jsString = (s) => jsLiteral(String(s));
/** JSON as the API would answer it, with short lists of plain values kept on one line. */
export function pretty(v) {
  return JSON.stringify(v, null, 2).replace(/\[\n\s*([^[\]{}]*?)\n\s*\]/g, (all, inner) => (inner.length > 60 ? all : `[${inner.replace(/,\n\s*/g, ', ')}]`));
}

function curl({ origin, method = 'GET', path, query, auth, json, form, files }) {
  // Query parameters one per line, encoded by curl itself (-G), so a
  // filter stays readable.
  const lines = [`curl${query ? ' -G' : ''}${method === 'GET' ? '' : ` -X ${method}`} ${shellQuote(`${origin}${path}`)}`];
  for (const [k, v] of Object.entries(query || {})) lines.push(`--data-urlencode ${shellQuote(`${k}=${v}`)}`);
  if (auth) lines.push(`-H "Authorization: $TOKEN"`);
  if (files?.length) {
    lines.push(`-F ${shellQuote(`@jsonPayload=${JSON.stringify(form || {})}`)}`);
    for (const f of files) lines.push(`-F ${shellQuote(`${f.name}=@./${f.name}.png`)}`);
  } else if (json !== undefined) {
    lines.push(`-H 'Content-Type: application/json'`);
    lines.push(`-d ${shellQuote(JSON.stringify(json))}`);
  }
  return lines.join(' \\\n  ');
}

/** Whether a request under `rule` needs a token (any but a public rule). */
const needsToken = (rule) => rule.mode !== 'public';

// --- the endpoints ---------------------------------------------------------

/**
 * The whole preview of collection `c`: the SDK setup and each endpoint
 * with its method, path, rule, snippets (js, curl), answer and notes.
 * `origin` is the server's own (location.origin in the page).
 */
export function buildPreview(c, origin) {
  const name = c.name;
  const col = `pb.collection(${jsString(name)})`;
  const base = `/api/collections/${encodeURIComponent(name)}`;
  const records = `${base}/records`;
  const one = `${records}/${RECORD_ID}`;
  const rule = (key) => ruleOf(c[key]);
  const sample = exampleRecord(c, 0);
  const hidden = hiddenFields(c).map((f) => f.name);
  const files = fileFields(c);
  const endpoints = [];
  const add = (e) => endpoints.push({ notes: [], answerStatus: 200, ...e });

  const filter = exampleFilter(c);
  const sort = sortOf(c);
  add({
    id: 'list', title: 'List and search', method: 'GET', path: records, rule: rule('listRule'),
    js: `// a page of 20, filtered and sorted\nconst result = await ${col}.getList(1, 20, {\n  filter: ${jsString(filter)},\n  sort: ${jsString(sort)},\n});\n\n// or every matching record, fetched in batches\nconst all = await ${col}.getFullList({ sort: ${jsString(sort)} });\n\n// or the first match\nconst first = await ${col}.getFirstListItem(${jsString(filter)});`,
    curl: curl({ origin, path: records, query: { page: '1', perPage: '20', filter, sort }, auth: needsToken(rule('listRule')) }),
    answer: pretty({ page: 1, perPage: 20, totalItems: 1, totalPages: 1, items: [sample] }),
    notes: ['Query parameters: page, perPage (up to 1000), sort, filter, expand, fields, skipTotal.',
      'With a rule expression, the records it does not match are left out of the list (no error).'],
  });
  add({
    id: 'view', title: 'View one record', method: 'GET', path: one, rule: rule('viewRule'),
    js: `const record = await ${col}.getOne(${jsString(RECORD_ID)});`,
    curl: curl({ origin, path: one, auth: needsToken(rule('viewRule')) }),
    answer: pretty(sample),
    notes: ['A record the rule does not match answers 404.'],
  });
  if (!isView(c)) {
    const body = createBody(c);
    const jsBody = files.length
      ? jsLiteral(body).replace(/\n}$/, `\n${files.map((f) => `  ${IDENT.test(f.name) ? f.name : jsString(f.name)}: fileInput.files[0], // a File or Blob`).join('\n')}\n}`)
      : jsLiteral(body);
    add({
      id: 'create', title: 'Create a record', method: 'POST', path: records, rule: rule('createRule'),
      js: `const record = await ${col}.create(${jsBody});`,
      curl: curl({ origin, method: 'POST', path: records, auth: needsToken(rule('createRule')), json: body, form: body, files }),
      answer: pretty(sample),
      notes: [
        ...(files.length ? ['Files go as multipart form data: the other fields as one @jsonPayload part (or one part each).'] : []),
        ...((c.fields || []).some((f) => f.type === 'relation') ? [`Relation fields take the id of an existing record (${RECORD_ID} above).`] : []),
        ...patterned(c).map((f) => `${f.name} must match the pattern ${f.pattern}: the example may not.`),
      ],
    });
    const change = updateBody(c);
    add({
      id: 'update', title: 'Update a record', method: 'PATCH', path: one, rule: rule('updateRule'),
      js: `const record = await ${col}.update(${jsString(RECORD_ID)}, ${jsLiteral(change)});`,
      curl: curl({ origin, method: 'PATCH', path: one, auth: needsToken(rule('updateRule')), json: change }),
      answer: pretty(sample),
      notes: ['Only the fields sent change. Numbers take "field+" and "field-" to add or subtract; lists take "field+" and "field-" to append or remove.'],
    });
    add({
      id: 'delete', title: 'Delete a record', method: 'DELETE', path: one, rule: rule('deleteRule'),
      js: `await ${col}.delete(${jsString(RECORD_ID)});`,
      curl: curl({ origin, method: 'DELETE', path: one, auth: needsToken(rule('deleteRule')) }),
      answer: null, answerStatus: 204,
    });
  }
  if (isAuth(c)) authEndpoints(c, { origin, col, base, sample, add });
  add({
    id: 'realtime', title: 'Realtime', method: 'SSE', path: '/api/realtime', rule: rule('listRule'),
    js: `// every change in the collection\nawait ${col}.subscribe('*', (e) => {\n  console.log(e.action, e.record); // create, update or delete\n});\n\n// one record's changes\nawait ${col}.subscribe(${jsString(RECORD_ID)}, (e) => console.log(e.record));\n\n// and to stop\nawait ${col}.unsubscribe();`,
    curl: `# 1. open the stream: its first event, PB_CONNECT, carries a clientId\ncurl -N ${shellQuote(`${origin}/api/realtime`)}\n\n# 2. in another shell, subscribe that client to the topics\n${curl({ origin, method: 'POST', path: '/api/realtime', auth: needsToken(rule('listRule')),
      json: { clientId: 'CLIENT_ID', subscriptions: [`${name}/*`, `${name}/${RECORD_ID}`] } })}`,
    answer: pretty({ action: 'create', record: sample }),
    notes: [`Topics: ${name}/* follows every record (guarded by the list rule), ${name}/${RECORD_ID} one record (guarded by the view rule). Each event is sent only to subscribers the rule lets see the record.`],
  });
  if (files.length) {
    const f = files[0];
    const fname = [].concat(exampleValue(f, 'answer'))[0];
    const filePath = `/api/files/${encodeURIComponent(name)}/${sample.id}/${fname}`;
    const anyProtected = files.some((x) => x.protected);
    add({
      id: 'files', title: 'File URLs', method: 'GET', path: `/api/files/${name}/${RECORD_ID}/FILENAME`, rule: rule('viewRule'),
      js: `// the record's "${f.name}" file; a thumbnail of an image with { thumb: '100x100' }\nconst url = pb.files.getURL(record, record.${IDENT.test(f.name) ? f.name : `[${jsString(f.name)}]`}, { thumb: '100x100' });${anyProtected
        ? `\n\n// protected files need a short-lived file token\nconst token = await pb.files.getToken();\nconst privateUrl = pb.files.getURL(record, record.${f.name}, { token });` : ''}`,
      curl: `curl -O ${shellQuote(`${origin}${filePath}`)}\n\n# a 100×100 thumbnail of an image\ncurl -o thumb.png ${shellQuote(`${origin}${filePath}?thumb=100x100`)}${anyProtected
        ? `\n\n# protected files: a file token first (needs a signed-in user)\n${curl({ origin, method: 'POST', path: '/api/files/token', auth: true })}` : ''}`,
      answer: null, answerStatus: 200,
      notes: [`File fields: ${files.map((x) => `${x.name}${x.protected ? ' (protected: needs ?token=)' : ''}`).join(', ')}. Add ?download=1 to have the browser save the file.`],
    });
  }
  return {
    setup: {
      js: `import PocketBase from 'pocketbase';\n\nconst pb = new PocketBase(${jsString(origin)});`,
      curl: `# a token for the requests that need one (any rule but "Everyone")\nexport TOKEN='…' # from an auth-with-password answer`,
    },
    hidden,
    endpoints,
  };
}

function authEndpoints(c, { origin, col, base, sample, add }) {
  const password = c.passwordAuth?.enabled !== false;
  const identityFields = c.passwordAuth?.identityFields?.length ? c.passwordAuth.identityFields : ['email'];
  const email = exampleValue({ type: 'email', name: 'email' }, 'request');
  const secret = exampleValue({ type: 'password' }, 'request');
  const signedIn = pretty({ token: 'JWT_TOKEN', record: sample });
  const authRule = ruleOf(c.authRule);
  const everyone = ruleOf('');
  if (password) {
    add({
      id: 'auth-with-password', title: 'Sign in with a password', method: 'POST', path: `${base}/auth-with-password`, rule: authRule,
      js: `const auth = await ${col}.authWithPassword(${jsString(email)}, ${jsString(secret)});\n// pb.authStore.token and pb.authStore.record now hold the session`,
      curl: curl({ origin, method: 'POST', path: `${base}/auth-with-password`, json: { identity: email, password: secret } }),
      answer: signedIn,
      notes: [`The identity is one of: ${identityFields.join(', ')}. The sign-in rule is checked after the password is right.`],
    });
  }
  add({
    id: 'auth-refresh', title: 'Refresh the session', method: 'POST', path: `${base}/auth-refresh`, rule: { mode: 'auth', label: 'Signed-in record of this collection', expr: '' },
    js: `await ${col}.authRefresh(); // a new token for the signed-in record`,
    curl: curl({ origin, method: 'POST', path: `${base}/auth-refresh`, auth: true }),
    answer: signedIn,
  });
  add({
    id: 'auth-methods', title: 'Sign-in methods', method: 'GET', path: `${base}/auth-methods`, rule: everyone,
    js: `const methods = await ${col}.listAuthMethods();`,
    curl: curl({ origin, path: `${base}/auth-methods` }),
    answer: pretty({
      password: { enabled: password, identityFields },
      oauth2: { enabled: Boolean(c.oauth2?.enabled), providers: [] },
      mfa: { enabled: Boolean(c.mfa?.enabled), duration: c.mfa?.duration ?? 1800 },
      otp: { enabled: Boolean(c.otp?.enabled), duration: c.otp?.duration ?? 180 },
    }),
  });
  add({
    id: 'request-verification', title: 'Ask for a verification email', method: 'POST', path: `${base}/request-verification`, rule: everyone,
    js: `await ${col}.requestVerification(${jsString(email)});\n// then, with the token from the email:\nawait ${col}.confirmVerification('TOKEN_FROM_EMAIL');`,
    curl: curl({ origin, method: 'POST', path: `${base}/request-verification`, json: { email } }),
    answer: null, answerStatus: 204,
    notes: ['Answers 204 whether or not the address has an account.'],
  });
  if (password) {
    add({
      id: 'request-password-reset', title: 'Ask for a password reset', method: 'POST', path: `${base}/request-password-reset`, rule: everyone,
      js: `await ${col}.requestPasswordReset(${jsString(email)});\n// then, with the token from the email:\nawait ${col}.confirmPasswordReset('TOKEN_FROM_EMAIL', 'a-new-secret-2', 'a-new-secret-2');`,
      curl: curl({ origin, method: 'POST', path: `${base}/request-password-reset`, json: { email } }),
      answer: null, answerStatus: 204,
      notes: ['Answers 204 whether or not the address has an account.'],
    });
  }
  if (c.otp?.enabled) {
    add({
      id: 'request-otp', title: 'Sign in with a one-time code', method: 'POST', path: `${base}/request-otp`, rule: authRule,
      js: `const { otpId } = await ${col}.requestOTP(${jsString(email)});\n// then, with the code from the email:\nconst auth = await ${col}.authWithOTP(otpId, '123456');`,
      curl: `${curl({ origin, method: 'POST', path: `${base}/request-otp`, json: { email } })}\n\n${curl({ origin, method: 'POST', path: `${base}/auth-with-otp`, json: { otpId: 'OTP_ID', password: '123456' } })}`,
      answer: pretty({ otpId: 'OTP_ID' }),
      notes: ['auth-with-otp answers like a password sign-in: a token and the record.'],
    });
  }
  if (c.oauth2?.enabled) {
    add({
      id: 'auth-with-oauth2', title: 'Sign in with OAuth2', method: 'POST', path: `${base}/auth-with-oauth2`, rule: authRule,
      js: `// opens the provider's page in a popup and waits for the answer\nconst auth = await ${col}.authWithOAuth2({ provider: 'google' });`,
      curl: `# OAuth2 runs in a browser: use the SDK (or send the provider's code to auth-with-oauth2)`,
      answer: signedIn,
    });
  }
}
