// Destructive and unsaved: emptying a collection only after typing its
// name (the collection stays, its records go); leaving a collection or a
// record with unsaved changes asks first, and staying keeps every change;
// a saved form or an untouched one leaves without asking.
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
  for (const name of ['notes', 'drafts']) {
    await api(server.base, token, 'POST', '/api/collections', { name, type: 'base', fields: [{ name: 'title', type: 'text' }] });
  }
  for (const title of ['one', 'two', 'three']) {
    await api(server.base, token, 'POST', '/api/collections/notes/records', { title });
  }
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Every native dialog the page opens, answered with `answer` (true: accept). */
function dialogs(page) {
  const seen = [];
  let answer = false;
  page.on('dialog', async (d) => {
    seen.push(d.message());
    if (answer) await d.accept(); else await d.dismiss();
  });
  return { seen, answer(v) { answer = v; } };
}

test('delete all records: only after typing the name; the collection stays', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/notes/settings`);
  await page.locator('h1', { hasText: 'Settings of notes' }).waitFor();
  await page.click('button:text-is("Delete all records")');
  const dialog = page.locator('dialog[open]');
  const go = dialog.locator('button:has-text("Delete all records")');
  assert.ok(await go.isDisabled(), 'not before the name is typed');
  await dialog.locator('input').fill('note');
  assert.ok(await go.isDisabled(), 'not for a near miss');
  await dialog.locator('input').fill('notes');
  await shot(page, 'truncate-confirm');
  await go.click();
  await page.locator('.note.ok', { hasText: 'Every record of notes was deleted' }).waitFor();
  const list = await api(server.base, token, 'GET', '/api/collections/notes/records');
  assert.equal(list.totalItems, 0);
  assert.equal((await api(server.base, token, 'GET', '/api/collections/notes')).name, 'notes', 'the collection stays');
  await page.click('text=Back to records');
  await page.locator('.empty', { hasText: 'No records yet' }).waitFor();
  w.check();
  await page.close();
});

test('unsaved collection changes: leaving asks; staying keeps them; saving leaves without asking', async () => {
  const page = await context.newPage();
  const w = watch(page);
  const asked = dialogs(page);
  await page.goto(`${server.base}/_/#/collections/drafts/settings`);
  await page.locator('h1', { hasText: 'Settings of drafts' }).waitFor();
  // Untouched: leaving does not ask.
  await page.click('.sidebar a:has-text("notes")');
  await page.locator('h1', { hasText: /^notes$/ }).waitFor();
  assert.deepEqual(asked.seen, []);

  await page.goto(`${server.base}/_/#/collections/drafts/settings`);
  await page.locator('h1', { hasText: 'Settings of drafts' }).waitFor();
  await page.click('.add-field button:text-is("+ Number")');
  await page.locator('.field-row').last().locator('input[name=field-name]').fill('words');
  await page.click('.sidebar a:has-text("notes")');
  await page.waitForTimeout(200);
  assert.equal(asked.seen.length, 1, 'leaving asked');
  assert.match(asked.seen[0], /unsaved changes/);
  assert.ok(await page.locator('h1', { hasText: 'Settings of drafts' }).isVisible(), 'stayed');
  assert.match(page.url(), /#\/collections\/drafts\/settings$/);
  assert.equal(await page.locator('.field-row').last().locator('input[name=field-name]').inputValue(), 'words', 'the change is kept');

  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^drafts$/ }).waitFor();
  assert.equal(asked.seen.length, 1, 'saving did not ask');
  const saved = await api(server.base, token, 'GET', '/api/collections/drafts');
  assert.ok(saved.fields.some((f) => f.name === 'words'));
  w.check();
  await page.close();
});

test('unsaved record: Cancel asks; accepting leaves and drops it', async () => {
  const page = await context.newPage();
  const w = watch(page);
  const asked = dialogs(page);
  await page.goto(`${server.base}/_/#/collections/drafts/records/new`);
  await page.locator('#f-title').waitFor();
  await page.fill('#f-title', 'half-written');
  await page.click('a.btn:text-is("Cancel")');
  await page.waitForTimeout(200);
  assert.equal(asked.seen.length, 1);
  assert.equal(await page.inputValue('#f-title'), 'half-written', 'staying keeps the text');
  await shot(page, 'record-unsaved-stay');

  asked.answer(true);
  await page.click('a.btn:text-is("Cancel")');
  await page.locator('h1', { hasText: /^drafts$/ }).waitFor();
  assert.equal(asked.seen.length, 2);
  assert.equal((await api(server.base, token, 'GET', '/api/collections/drafts/records')).totalItems, 0, 'nothing saved');
  w.check();
  await page.close();
});
