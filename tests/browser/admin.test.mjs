// The admin UI in a real browser: the first-run installer link that
// `cairn serve` prints opens a form that creates the first superuser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const bin = process.env.CAIRN_BIN;
const chromiumPath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
let server;
let base;
let installLink;
let dir;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-browser-'));
  server = spawn(bin, ['serve', '--http', '127.0.0.1:0', '--dir', join(dir, 'data')], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: server.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('cairn did not print its banner')), 30_000);
    lines.on('line', (line) => {
      const started = line.match(/^Server started at (http:\/\/\S+)/);
      if (started) base = started[1];
      const link = line.match(/(http:\/\/\S+\/_\/#\/install\/\S+)/);
      if (link) {
        installLink = link[1];
        clearTimeout(timer);
        resolve();
      }
    });
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('the dashboard opens on sign-in, with no session to resume and no request failing', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${base}/_/`);
  await page.locator('h1', { hasText: 'Sign in' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#install').count(), 0);
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await page.close();
});

test('entry files are cached for good under their version; modules imported from them revalidate', async () => {
  const html = await (await fetch(`${base}/_/`)).text();
  const entry = html.match(/src="(\/_\/js\/main\.js\?v=[0-9a-f]+)"/);
  assert.ok(entry, 'index.html loads main.js with a version');
  const versioned = await fetch(`${base}${entry[1]}`);
  assert.match(versioned.headers.get('cache-control'), /immutable/);
  for (const path of ['/_/js/api.js', '/_/js/main.js?v=stale', '/_/vendor/htm-preact-standalone.module.js']) {
    const r = await fetch(`${base}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('cache-control'), 'no-cache', path);
    const again = await fetch(`${base}${path}`, { headers: { 'if-none-match': r.headers.get('etag') } });
    assert.equal(again.status, 304, path);
  }
});

test('the installer link creates the first superuser, once', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 4') && errors.push(m.text()));
  await page.goto(installLink);
  await page.locator('#install').waitFor({ timeout: 10_000 });

  // A mismatch is reported in the page, on the field, and nothing typed is lost.
  await page.fill('input[name=email]', 'first@example.com');
  await page.fill('input[name=password]', 'first-pass-123');
  await page.fill('input[name=passwordConfirm]', 'not-the-same');
  await page.click('button[type=submit]');
  const confirmError = page.locator('label:has(input[name=passwordConfirm]) + .field-error');
  await confirmError.waitFor({ timeout: 10_000 });
  assert.ok((await confirmError.textContent()).length > 0);
  assert.equal(await page.inputValue('input[name=email]'), 'first@example.com');

  await page.fill('input[name=passwordConfirm]', 'first-pass-123');
  await page.click('button[type=submit]');
  await page.locator('#install-status.ok').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('#install-status').textContent(), /first@example\.com/);
  assert.deepEqual(errors, []);

  // The new superuser can sign in; the link is spent.
  const login = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: 'first@example.com', password: 'first-pass-123' }),
  });
  assert.equal(login.status, 200);
  await page.goto(installLink);
  await page.reload();
  await page.fill('input[name=email]', 'second@example.com');
  await page.fill('input[name=password]', 'second-pass-123');
  await page.fill('input[name=passwordConfirm]', 'second-pass-123');
  await page.click('button[type=submit]');
  await page.locator('.note.error').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('.note.error').textContent(), /already exists/);
  await page.close();
});

test('an OAuth2 redirect lands on a page that says how the sign-in went', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // As a provider's redirect does it: through /api/oauth2-redirect, which
  // sends the browser on (no client waits here, so it is the failure page).
  await page.goto(`${base}/api/oauth2-redirect?state=nobody&code=abc`);
  await page.locator('#oauth2').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.locator('#oauth2-title').textContent(), 'Sign-in failed');
  await page.goto(`${base}/_/#/auth/oauth2-redirect-success`);
  await page.locator('#oauth2-title').filter({ hasText: 'Signed in' }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator('#oauth2-text').textContent(), /close this window/);
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await page.close();
});
