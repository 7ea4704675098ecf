// A collection's API preview, as a person uses it: reached from the
// records page (by keyboard too), its snippets name the collection and its
// fields with values that fit their options, hidden fields stay out of the
// answers, each endpoint shows the rule that guards it, and the curl
// examples, run for real against the server, are accepted: a create of a
// public-create collection, its list query, and an auth collection's
// sign-up, sign-in and refresh. Desktop, phone and dark screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer, watch } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
let server;
let browser;
let context;
let token;

before(async () => {
  server = await startServer({ superuser: admin });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  const places = await api(server.base, token, 'POST', '/api/collections', {
    name: 'places', type: 'base',
    listRule: '', viewRule: '', createRule: '', updateRule: '@request.auth.id != ""', deleteRule: null,
    fields: [
      { name: 'title', type: 'text', required: true, min: 3, max: 40 },
      { name: 'visits', type: 'number', min: 1, max: 100, onlyInt: true, required: true },
      { name: 'open', type: 'bool' },
      { name: 'contact', type: 'email', onlyDomains: ['example.org'] },
      { name: 'site', type: 'url' },
      { name: 'opened', type: 'date' },
      { name: 'kind', type: 'select', values: ['park', 'museum'], maxSelect: 1, required: true },
      { name: 'labels', type: 'select', values: ['quiet', 'busy', 'free'], maxSelect: 3 },
      { name: 'meta', type: 'json' },
      { name: 'about', type: 'editor' },
      { name: 'spot', type: 'geoPoint' },
      { name: 'secretNote', type: 'text', hidden: true },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'photos', type: 'base', listRule: null, viewRule: '@request.auth.id != ""', createRule: null, updateRule: null, deleteRule: null,
    fields: [{ name: 'caption', type: 'text' }, { name: 'place', type: 'relation', collectionId: places.id, maxSelect: 1 },
      { name: 'image', type: 'file', maxSelect: 1, maxSize: 1048576, protected: true }],
  });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'members', type: 'auth', listRule: '', viewRule: '', createRule: '', updateRule: null, deleteRule: null,
    authRule: '', otp: { enabled: true },
    fields: [{ name: 'nickname', type: 'text', max: 30 }, { name: 'pin', type: 'text', hidden: true }],
  });
  context = await signedInContext(browser, server.base, admin);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** A curl command as the page shows it, split into words as a shell would (quotes, line continuations). */
function shellWords(text) {
  const words = [];
  let word = null;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (ch === '\\') {
      i += 1;
      if (text[i] !== '\n') word = (word ?? '') + text[i];
    } else if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Runs one curl command (the subset the preview writes) with fetch; $TOKEN becomes `auth`. */
async function runCurl(text, auth = '') {
  const words = shellWords(text.trim());
  assert.equal(words.shift(), 'curl');
  let method = 'GET';
  let url = null;
  let body;
  const headers = {};
  const query = new URLSearchParams();
  while (words.length) {
    const w = words.shift();
    if (w === '-G') continue;
    else if (w === '-X') method = words.shift();
    else if (w === '-H') {
      const [k, ...v] = words.shift().split(':');
      headers[k.trim()] = v.join(':').trim().replace('$TOKEN', auth);
    } else if (w === '-d') body = words.shift();
    else if (w === '--data-urlencode') {
      const kv = words.shift();
      const at = kv.indexOf('=');
      query.append(kv.slice(0, at), kv.slice(at + 1));
    } else if (w.startsWith('-')) throw new Error(`the test does not run curl's ${w}`);
    else url = w;
  }
  const q = query.toString();
  const r = await fetch(q ? `${url}?${q}` : url, { method, headers, body });
  const answer = await r.text();
  return { status: r.status, url, body, json: answer ? JSON.parse(answer) : null };
}

const endpoint = (page, id) => page.locator(`[data-endpoint="${id}"]`);
const snippet = async (page, id, kind) => (await endpoint(page, id).locator(`.snippet-${kind} pre`).textContent());
const ruleOf = async (page, id) => ({
  mode: await endpoint(page, id).locator('.rule-badge').getAttribute('data-mode'),
  expr: (await endpoint(page, id).locator('.rule-expr').count()) ? await endpoint(page, id).locator('.rule-expr').textContent() : '',
});

async function chooseForm(page, label) {
  await page.locator('.api-toolbar label', { hasText: label }).click();
  await page.locator('.api-toolbar label.on', { hasText: label }).waitFor();
}

test('a base collection: reached by keyboard, snippets from its fields, rules, hidden fields left out, curl accepted', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/places`);
  await page.locator('h1', { hasText: /^places$/ }).waitFor();
  // Keyboard: Tab reaches the API button, Enter opens the preview.
  const apiLink = page.locator('.page-head a:text-is("API")');
  let reached = false;
  for (let i = 0; i < 40 && !reached; i += 1) {
    await page.keyboard.press('Tab');
    reached = await apiLink.evaluate((a) => a === document.activeElement);
  }
  assert.ok(reached, 'the API button is reachable with Tab');
  await page.keyboard.press('Enter');
  await page.locator('.page-head .sub', { hasText: 'API preview' }).waitFor();
  assert.match(page.url(), /#\/collections\/places\/api$/);
  assert.equal(await page.locator('a[href="/api/docs"]').first().isVisible(), true, 'a link to the live reference');

  await chooseForm(page, 'JS SDK');
  const list = await snippet(page, 'list', 'request');
  assert.match(list, /pb\.collection\('places'\)\.getList\(1, 20, \{/);
  assert.match(list, /filter: 'title ~ "\w+" && visits >= 42'/);
  const create = await snippet(page, 'create', 'request');
  assert.match(create, /pb\.collection\('places'\)\.create\(\{/);
  for (const [field, value] of [['title', /'[^']{3,40}'/], ['visits', /42/], ['open', /true/], ['contact', /'[a-z]+@example\.org'/],
    ['site', /'https:\/\/[^']+'/], ['opened', /'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z'/], ['kind', /'park'/], ['labels', /\['quiet'\]/],
    ['meta', /\{/], ['about', /'<p>/], ['spot', /\{/]]) {
    assert.match(create, new RegExp(`\\n  ${field}: ${value.source}`), `create names ${field} with a fitting value`);
  }
  assert.doesNotMatch(create, /created|updated/, 'autodate fields are not sent');
  const answer = await snippet(page, 'view', 'answer');
  const record = JSON.parse(answer);
  assert.equal(record.collectionName, 'places');
  assert.ok('title' in record && 'created' in record && 'spot' in record);
  assert.ok(!('secretNote' in record), 'the hidden field is not in the answer');
  assert.ok(!(await snippet(page, 'list', 'answer')).includes('secretNote'), 'nor in the list answer');
  assert.match(await page.locator('.api-hidden').textContent(), /Left out of the answers: secretNote\./);

  assert.deepEqual(await ruleOf(page, 'list'), { mode: 'public', expr: '' });
  assert.deepEqual(await ruleOf(page, 'create'), { mode: 'public', expr: '' });
  assert.deepEqual(await ruleOf(page, 'update'), { mode: 'expr', expr: '@request.auth.id != ""' });
  assert.deepEqual(await ruleOf(page, 'delete'), { mode: 'locked', expr: '' });
  assert.equal(await endpoint(page, 'auth-with-password').count(), 0, 'no auth endpoints on a base collection');
  assert.equal(await endpoint(page, 'files').count(), 0, 'no file URLs without file fields');
  await shot(page, 'apipreview-base-js');

  // The curl form, run for real: the server's own origin, and accepted.
  await chooseForm(page, 'curl');
  const curlCreate = await snippet(page, 'create', 'request');
  assert.ok(curlCreate.startsWith(`curl -X POST '${server.base}/api/collections/places/records'`), curlCreate);
  assert.doesNotMatch(curlCreate, /Authorization/, 'a public create needs no token');
  const created = await runCurl(curlCreate);
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const sent = JSON.parse(created.body);
  for (const k of ['title', 'visits', 'open', 'contact', 'site', 'kind', 'labels', 'meta', 'spot']) {
    assert.deepEqual(created.json[k], sent[k], `the created record holds the example ${k}`);
  }
  // Negative control: the same command with a value outside the field's options is refused.
  const refused = await runCurl(curlCreate.replace('"kind":"park"', '"kind":"zoo"'));
  assert.equal(refused.status, 400, 'a select value not in the list is refused');
  // The list example, run as shown, finds the record just made.
  const listed = await runCurl(await snippet(page, 'list', 'request'));
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.items.map((r) => r.id), [created.json.id]);
  // The update example needs a token (its rule is an expression): refused without one.
  const update = await snippet(page, 'update', 'request');
  assert.match(update, /-H "Authorization: \$TOKEN"/);
  assert.equal((await runCurl(update.replace('RECORD_ID', created.json.id))).status, 404, 'the rule hides the record from a guest');
  assert.equal((await runCurl(update.replace('RECORD_ID', created.json.id), token)).status, 200, 'accepted with a token');
  await shot(page, 'apipreview-base-curl');

  // Copy puts the snippet, as shown, on the clipboard.
  await endpoint(page, 'create').locator('.snippet-request button.copy').click();
  await endpoint(page, 'create').locator('.snippet-request button.copy', { hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curlCreate);
  await chooseForm(page, 'JS SDK');
  w.check();
  await page.close();
});

test('files and relations: file URLs, a protected file needs a token, rules of a locked collection', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/photos/api`);
  await endpoint(page, 'files').waitFor();
  assert.deepEqual(await ruleOf(page, 'list'), { mode: 'locked', expr: '' });
  assert.deepEqual(await ruleOf(page, 'view'), { mode: 'expr', expr: '@request.auth.id != ""' });
  assert.match(await snippet(page, 'files', 'request'), /pb\.files\.getURL\(record, record\.image, \{ thumb: '100x100' \}\)/);
  assert.match(await snippet(page, 'files', 'request'), /pb\.files\.getToken\(\)/, 'a protected field shows the file token');
  assert.match(await snippet(page, 'create', 'request'), /image: fileInput\.files\[0\]/);
  await chooseForm(page, 'curl');
  const create = await snippet(page, 'create', 'request');
  assert.match(create, /-H "Authorization: \$TOKEN"/, 'a locked create needs a (superuser) token');
  assert.match(create, /-F '@jsonPayload=\{"caption":"[^"]+","place":"RECORD_ID"\}'/);
  assert.match(create, /-F 'image=@\.\/image\.png'/);
  assert.match(await snippet(page, 'files', 'request'), new RegExp(`curl -O '${server.base}/api/files/photos/\\w{15}/image_\\w+\\.png'`));
  await chooseForm(page, 'JS SDK');
  w.check();
  await page.close();
});

test('an auth collection: sign-in endpoints as enabled, secrets left out, and sign-up, sign-in, refresh run for real', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/members/api`);
  await endpoint(page, 'auth-with-password').waitFor();
  const ids = await page.locator('[data-endpoint]').evaluateAll((els) => els.map((e) => e.dataset.endpoint));
  assert.deepEqual(ids, ['list', 'view', 'create', 'update', 'delete', 'auth-with-password', 'auth-refresh', 'auth-methods',
    'request-verification', 'request-password-reset', 'request-otp', 'realtime']);
  assert.match(await snippet(page, 'auth-with-password', 'request'), /pb\.collection\('members'\)\.authWithPassword\('ada@example\.com', '[^']+'\)/);
  assert.match(await snippet(page, 'request-otp', 'request'), /requestOTP\('ada@example\.com'\)/);
  const methods = JSON.parse(await snippet(page, 'auth-methods', 'answer'));
  assert.equal(methods.otp.enabled, true);
  assert.deepEqual(methods.password.identityFields, ['email']);
  const signedIn = JSON.parse(await snippet(page, 'auth-with-password', 'answer'));
  for (const secret of ['password', 'tokenKey', 'pin']) assert.ok(!(secret in signedIn.record), `${secret} is not in the answer`);
  assert.ok('nickname' in signedIn.record && 'email' in signedIn.record);
  assert.deepEqual(await ruleOf(page, 'auth-with-password'), { mode: 'public', expr: '' });
  assert.deepEqual(await ruleOf(page, 'update'), { mode: 'locked', expr: '' });
  await shot(page, 'apipreview-auth');

  await chooseForm(page, 'curl');
  const signUp = await runCurl(await snippet(page, 'create', 'request'));
  assert.equal(signUp.status, 200, JSON.stringify(signUp.json));
  assert.equal(signUp.json.email, 'ada@example.com');
  const signIn = await runCurl(await snippet(page, 'auth-with-password', 'request'));
  assert.equal(signIn.status, 200, JSON.stringify(signIn.json));
  assert.equal(signIn.json.record.id, signUp.json.id);
  const refresh = await snippet(page, 'auth-refresh', 'request');
  assert.equal((await runCurl(refresh, signIn.json.token)).status, 200, 'refresh with the token');
  assert.equal((await runCurl(refresh, 'not-a-token')).status, 401, 'and refused without a valid one');
  assert.equal((await runCurl(await snippet(page, 'auth-methods', 'request'))).status, 200);
  await chooseForm(page, 'JS SDK');
  w.check();
  await page.close();
});

test('phone width and dark: the preview fits 390×844 without sideways scroll', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await phone.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/places/api`);
  await page.fill('input[name=email]', admin.email);
  await page.fill('input[name=password]', admin.password);
  await page.click('button[type=submit]');
  await endpoint(page, 'create').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scroll of the page (${overflow}px)`);
  await shot(page, 'apipreview-phone-dark');
  await endpoint(page, 'create').scrollIntoViewIfNeeded();
  await shot(page, 'apipreview-phone-dark-create');
  // Without the clipboard permission, Copy either copies or selects the text for Ctrl+C.
  const copyButton = endpoint(page, 'create').locator('.snippet-request button.copy');
  await copyButton.click();
  await page.waitForFunction((b) => b.textContent.trim() !== 'Copy', await copyButton.elementHandle());
  const said = (await copyButton.textContent()).trim();
  if (said.startsWith('Selected')) {
    assert.equal(await page.evaluate(() => getSelection().toString()), await snippet(page, 'create', 'request'));
  } else {
    assert.equal(said, 'Copied');
  }
  w.check();
  await phone.close();

  const dark = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark', storageState: await context.storageState() });
  const desk = await dark.newPage();
  await desk.goto(`${server.base}/_/#/collections/members/api`);
  await endpoint(desk, 'auth-with-password').scrollIntoViewIfNeeded();
  await shot(desk, 'apipreview-desktop-dark');
  await dark.close();
});
