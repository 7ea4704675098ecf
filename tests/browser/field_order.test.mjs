// Putting a collection's fields in order: a server's error on a field stays
// with that field as rows are moved or removed.
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
  for (const name of ['errors', 'dragged', 'phone']) {
    await api(server.base, token, 'POST', '/api/collections', {
      name, type: 'base',
      fields: [{ name: 'alpha', type: 'text' }, { name: 'beta', type: 'number' }, { name: 'gamma', type: 'bool' },
        { name: 'delta', type: 'text' }],
    });
  }
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const names = (page) => page.locator('.field-row input[name=field-name]').evaluateAll((els) => els.map((e) => e.value));
/** The names in the rows that show an error under their name. */
const marked = (page) => page.locator('.field-row:has(> .field-error) input[name=field-name]').evaluateAll((els) => els.map((e) => e.value));

test('a field\'s error stays with it when rows are moved or removed', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/errors/settings`);
  await page.locator('h1', { hasText: 'Settings of errors' }).waitFor();
  await page.locator('.field-row[data-field=gamma] input[name=field-name]').fill('bad name!');
  w.expect(400, 'PATCH', '/api/collections/');
  await page.click('button:text-is("Save changes")');
  await page.locator('.field-row .field-error').first().waitFor();
  assert.deepEqual(await marked(page), ['bad name!'], 'the error is on the field that has it');
  assert.ok(await page.locator('.field-row:has(> .field-error) input.name.invalid').count() === 1);

  await page.getByRole('button', { name: 'Move field bad name! up' }).click();
  assert.deepEqual(await names(page), ['alpha', 'bad name!', 'beta', 'delta']);
  assert.deepEqual(await marked(page), ['bad name!'], 'moved up, the error moved with it');
  assert.deepEqual(await page.locator('input.name.invalid').evaluateAll((els) => els.map((e) => e.value)), ['bad name!']);
  await page.getByRole('button', { name: 'Move field bad name! down' }).click();
  await page.getByRole('button', { name: 'Move field bad name! down' }).click();
  assert.deepEqual(await marked(page), ['bad name!'], 'moved down, too');
  await shot(page, 'field-error-moved');

  // Removing a field above it (not saved yet: the question first).
  await page.getByRole('button', { name: 'Remove field alpha' }).click();
  await page.locator('dialog[open] button:text-is("Remove field")').click();
  assert.deepEqual(await names(page), ['beta', 'delta', 'bad name!']);
  assert.deepEqual(await marked(page), ['bad name!'], 'a row removed above it: still on its field');

  // A new field added after the save has no error of its own.
  await page.click('.add-field button:text-is("+ Text")');
  assert.deepEqual(await marked(page), ['bad name!']);

  // Fixed and saved: the order on the page is what is kept.
  await page.locator('.field-row[data-field="bad name!"] input[name=field-name]').fill('gamma');
  await page.locator('.field-row').last().locator('input[name=field-name]').fill('epsilon');
  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^errors$/ }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/collections/errors');
  assert.deepEqual(saved.fields.map((f) => f.name), ['id', 'beta', 'delta', 'gamma', 'epsilon']);
  w.check();
  await page.close();
});
