// The API keys page, as a superuser uses it: a refused form (an unknown
// record, a bad address) with its field errors, a key created with scopes,
// an expiry and an allowlist, its secret shown once with a copy button
// (and working against the API), the list, and a revocation after a
// confirmation, which the API then refuses. Also at phone width and in
// dark mode.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer, watch } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
let server;
let browser;
let context;
let token;
let userId;

before(async () => {
  server = await startServer({ superuser: admin });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', type: 'base', listRule: '', viewRule: '', fields: [{ name: 'title', type: 'text' }],
  });
  const user = await api(server.base, token, 'POST', '/api/collections/users/records', {
    email: 'robot@example.com', password: 'robot-pass-123', passwordConfirm: 'robot-pass-123',
  });
  userId = user.id;
  context = await signedInContext(browser, server.base, admin);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const call = (secret, path) => fetch(`${server.base}${path}`, { headers: { authorization: `Bearer ${secret}` } });

test('keys: create with scopes, copy the secret once, list, revoke', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/keys"]');
  await page.locator('h1', { hasText: 'API keys' }).waitFor();
  await page.locator('.empty', { hasText: 'No API keys yet' }).waitFor();

  // Refused: an unknown record and an address that is none.
  w.expect(400, 'POST', '/api/keys');
  await page.fill('input[name=key-name]', 'nightly export');
  await page.selectOption('select[name=key-collection]', 'users');
  await page.fill('input[name=key-record]', 'nobody@example.com');
  await page.fill('input[name=key-ips]', '127.0.0.1, 10.0.0.0/33');
  await page.click('button:text-is("Create key")');
  await page.locator('.field-error', { hasText: 'No record of this collection' }).waitFor();
  await page.locator('.field-error', { hasText: '10.0.0.0/33' }).waitFor();
  assert.equal(await page.locator('input[name=key-record]').getAttribute('class'), 'invalid');
  await shot(page, 'keys-refused');

  // Fixed: the record by email, scopes on posts, an expiry.
  await page.fill('input[name=key-record]', 'robot@example.com');
  await page.fill('input[name=key-ips]', '127.0.0.1, 10.0.0.0/8');
  await page.check('input[name=key-limited]');
  await page.check('input[name=scope-posts-list]');
  await page.check('input[name=scope-posts-view]');
  await page.fill('input[name=key-expires]', '2999-01-02T03:04');
  await shot(page, 'keys-scopes');
  await page.click('button:text-is("Create key")');
  const secretBox = page.locator('.key-secret');
  await secretBox.waitFor();
  assert.match(await secretBox.textContent(), /you will not see it again/);
  const secret = await page.inputValue('input[name=key-secret]');
  assert.match(secret, /^cairn_sk_[A-Za-z0-9]{48}$/);
  await page.click('.key-secret button:text-is("Copy")');
  await page.locator('.key-secret button:text-is("Copied")').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const row = page.locator('table.keys tbody tr');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  const text = await row.first().textContent();
  assert.ok(text.includes('nightly export') && text.includes(secret.slice(0, 17)), text);
  assert.ok(text.includes('posts: list, view') && text.includes('2999-01-02 03:04') && text.includes(userId), text);
  assert.ok(!text.includes(secret), 'the list never shows the secret');
  await shot(page, 'keys-created');

  // The key works as the form said: posts listed, users not in scope.
  assert.equal((await call(secret, '/api/collections/posts/records')).status, 200);
  assert.equal((await call(secret, `/api/collections/users/records/${userId}`)).status, 403);
  // Used once: the list says when, after a refresh.
  await page.click('.key-secret button:text-is("Done")');
  await page.locator('.key-secret').waitFor({ state: 'detached' });
  await page.click('button:text-is("Refresh")');
  await page.waitForFunction(() => document.querySelector('table.keys tbody tr td:nth-child(5)')?.textContent.includes('127.0.0.1'));
  // Gone on reload: the secret is not kept anywhere in the page.
  await page.reload();
  await row.first().waitFor();
  assert.equal(await page.locator('.key-secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret));

  // Edit: the form comes filled in; viewing its own users record is
  // added to the scopes, and the key may do so from its next request.
  await page.click('button[aria-label="Edit nightly export"]');
  await page.locator('h2', { hasText: 'Edit “nightly export”' }).waitFor();
  assert.equal(await page.inputValue('input[name=key-name]'), 'nightly export');
  assert.equal(await page.inputValue('input[name=key-expires]'), '2999-01-02T03:04');
  assert.equal(await page.inputValue('input[name=key-ips]'), '127.0.0.1, 10.0.0.0/8');
  assert.ok(await page.isChecked('input[name=scope-posts-list]') && await page.isChecked('input[name=scope-posts-view]'));
  assert.equal(await page.locator('input[name=key-record]').count(), 0, 'the bound record cannot change');
  await page.check('input[name=scope-users-view]');
  await page.fill('input[name=key-name]', 'nightly export v2');
  await shot(page, 'keys-edit');
  await page.click('button:text-is("Save key")');
  await page.locator('.note.ok', { hasText: 'Saved “nightly export v2”' }).waitFor();
  await page.locator('table.keys tbody tr', { hasText: 'users: view' }).waitFor();
  assert.equal((await call(secret, `/api/collections/users/records/${userId}`)).status, 200);
  // Back to the name the rest of the scenario uses, through the same form.
  await page.click('button[aria-label="Edit nightly export v2"]');
  await page.fill('input[name=key-name]', 'nightly export');
  await page.click('button:text-is("Save key")');
  await page.locator('.note.ok', { hasText: 'Saved “nightly export”' }).waitFor();

  // Phone width and dark mode.
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'keys-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'keys-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Revoke, after a confirmation; cancelling first changes nothing.
  await page.click('button[aria-label="Revoke nightly export"]');
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await shot(page, 'keys-revoke');
  await dialog.locator('button:text-is("Cancel")').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await call(secret, '/api/collections/posts/records')).status, 200);
  await page.click('button[aria-label="Revoke nightly export"]');
  await page.locator('dialog[open] button:text-is("Revoke key")').click();
  await page.locator('.note.ok', { hasText: 'Revoked' }).waitFor();
  await page.locator('.empty', { hasText: 'No API keys yet' }).waitFor();
  assert.equal((await call(secret, '/api/collections/posts/records')).status, 401);

  // A key whose record is deleted goes with it; one whose collection is
  // deleted stays, and says so in the list.
  const temp = await api(server.base, token, 'POST', '/api/collections/users/records', {
    email: 'temp@example.com', password: 'temp-pass-1234', passwordConfirm: 'temp-pass-1234',
  });
  await api(server.base, token, 'POST', '/api/keys', { name: 'gone-with-record', collection: 'users', record: temp.id });
  await api(server.base, token, 'DELETE', `/api/collections/users/records/${temp.id}`);
  await api(server.base, token, 'POST', '/api/collections', { name: 'robots', type: 'auth', fields: [] });
  const robot = await api(server.base, token, 'POST', '/api/collections/robots/records', {
    email: 'r2@example.com', password: 'robot-pass-1234', passwordConfirm: 'robot-pass-1234',
  });
  await api(server.base, token, 'POST', '/api/keys', { name: 'orphan', collection: 'robots', record: robot.id });
  await api(server.base, token, 'DELETE', '/api/collections/robots');
  await page.click('button:text-is("Refresh")');
  await page.locator('table.keys tbody tr', { hasText: 'orphan' }).locator('text=its collection was deleted').waitFor();
  assert.equal(await page.locator('table.keys tbody tr', { hasText: 'gone-with-record' }).count(), 0);
  w.check();
  await page.close();
});
