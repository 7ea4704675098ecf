// An `editor` field holding hostile HTML, as any client may store it: the
// records table shows only its text, and the record editor's preview
// renders it in a sandbox where its script never runs and its event
// handlers do nothing to the dashboard.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
const HOSTILE = '<p>Hello <b>bold</b> world</p><script>parent.document.title = "pwned"</script>'
  + '<img src="x" onerror="parent.document.title = \'pwned too\'">';
let server;
let browser;
let context;
let token;

before(async () => {
  server = await startServer({ superuser: admin });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'pages', type: 'base', fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'editor' }],
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('hostile HTML in an editor field: text in the table, a sandboxed preview', async () => {
  const record = await api(server.base, token, 'POST', '/api/collections/pages/records', { title: 'Home', body: HOSTILE });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.base}/_/#/collections/pages`);
  const cell = page.locator('td', { hasText: 'Hello bold world' });
  await cell.waitFor();
  assert.equal(await page.locator('td', { hasText: '<p>' }).count(), 0, 'no markup in the table');
  const title = await page.title();

  await page.locator('td a', { hasText: record.id }).click();
  const box = page.locator('textarea[name=body]');
  await box.waitFor();
  assert.equal(await box.inputValue(), HOSTILE, 'the HTML is there to edit, as stored');
  await page.click('.rich-text button:text-is("Preview")');
  const frame = page.locator('iframe.rich-preview');
  await frame.waitFor();
  assert.equal(await frame.getAttribute('sandbox'), '', 'a sandbox with nothing allowed');
  const inner = page.frameLocator('iframe.rich-preview');
  await inner.locator('b', { hasText: 'bold' }).waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.title(), title, 'neither the script nor the handler reached the dashboard');
  // The preview follows what is typed.
  await box.fill('<p>Now <i>edited</i></p>');
  await inner.locator('i', { hasText: 'edited' }).waitFor();
  await shot(page, 'record-rich-text');
  // Chromium says it blocked the sandboxed script; nothing else went wrong.
  assert.deepEqual(errors.filter((e) => !/sandboxed|Content Security Policy/.test(e)), []);
  await page.close();
});
