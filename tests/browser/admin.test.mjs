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

test('the home page says what Cairn is and links the API reference', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}/_/`);
  assert.equal(await page.locator('h1').textContent(), 'Cairn');
  assert.ok(await page.locator('a[href="/api/docs"]').isVisible());
  assert.equal(await page.locator('#install').isVisible(), false);
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await page.close();
});

test('the installer link creates the first superuser, once', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 4') && errors.push(m.text()));
  await page.goto(installLink);
  assert.ok(await page.locator('#install').isVisible());

  // A mismatch is reported in the page, field by field.
  await page.fill('input[name=email]', 'first@example.com');
  await page.fill('input[name=password]', 'first-pass-123');
  await page.fill('input[name=passwordConfirm]', 'not-the-same');
  await page.click('button[type=submit]');
  await page.locator('#install-status.error').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('#install-status').textContent(), /passwordConfirm/);

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
  await page.fill('input[name=email]', 'second@example.com');
  await page.fill('input[name=password]', 'second-pass-123');
  await page.fill('input[name=passwordConfirm]', 'second-pass-123');
  await page.click('button[type=submit]');
  await page.locator('#install-status.error').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('#install-status').textContent(), /already exists/);
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
  assert.equal(await page.locator('#home').isVisible(), false);
  await page.goto(`${base}/_/#/auth/oauth2-redirect-success`);
  await page.locator('#oauth2-title').filter({ hasText: 'Signed in' }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator('#oauth2-text').textContent(), /close this window/);
  assert.deepEqual(errors, [], 'no script or CSP errors');
  await page.close();
});
