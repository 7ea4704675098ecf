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

/** The page's question before unsaved changes are lost (in the page, not the browser's). */
const question = (page) => page.locator('dialog[open]', { hasText: 'Leave without saving?' });
const asked = async (page) => (await question(page).count()) === 1;

/** Fails on any native dialog: the question is asked in the page. */
function noNativeDialogs(page) {
  const seen = [];
  page.on('dialog', async (d) => { seen.push(d.message()); await d.dismiss(); });
  return seen;
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
  const native = noNativeDialogs(page);
  await page.goto(`${server.base}/_/#/collections/drafts/settings`);
  await page.locator('h1', { hasText: 'Settings of drafts' }).waitFor();
  // Untouched: leaving does not ask.
  await page.click('.sidebar a:has-text("notes")');
  await page.locator('h1', { hasText: /^notes$/ }).waitFor();
  assert.equal(await asked(page), false);

  await page.goto(`${server.base}/_/#/collections/drafts/settings`);
  await page.locator('h1', { hasText: 'Settings of drafts' }).waitFor();
  await page.click('.add-field button:text-is("+ Number")');
  await page.locator('.field-row').last().locator('input[name=field-name]').fill('words');
  await page.click('.sidebar a:has-text("notes")');
  await question(page).waitFor();
  assert.match(await question(page).textContent(), /unsaved changes/);
  await question(page).locator('button:text-is("Stay")').click();
  await question(page).waitFor({ state: 'hidden' });
  assert.ok(await page.locator('h1', { hasText: 'Settings of drafts' }).isVisible(), 'stayed');
  assert.match(page.url(), /#\/collections\/drafts\/settings$/);
  assert.equal(await page.locator('.field-row').last().locator('input[name=field-name]').inputValue(), 'words', 'the change is kept');

  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^drafts$/ }).waitFor();
  assert.equal(await asked(page), false, 'saving did not ask');
  assert.deepEqual(native, []);
  const saved = await api(server.base, token, 'GET', '/api/collections/drafts');
  assert.ok(saved.fields.some((f) => f.name === 'words'));
  w.check();
  await page.close();
});

test('unsaved record: Cancel asks; leaving drops it', async () => {
  const page = await context.newPage();
  const w = watch(page);
  const native = noNativeDialogs(page);
  await page.goto(`${server.base}/_/#/collections/drafts/records/new`);
  await page.locator('#f-title').waitFor();
  await page.fill('#f-title', 'half-written');
  await page.click('a.btn:text-is("Cancel")');
  await question(page).waitFor();
  await shot(page, 'record-unsaved-stay');
  await question(page).locator('button:text-is("Stay")').click();
  assert.equal(await page.inputValue('#f-title'), 'half-written', 'staying keeps the text');

  await page.click('a.btn:text-is("Cancel")');
  await question(page).locator('button:text-is("Leave without saving")').click();
  await page.locator('h1', { hasText: /^drafts$/ }).waitFor();
  assert.deepEqual(native, []);
  assert.equal((await api(server.base, token, 'GET', '/api/collections/drafts/records')).totalItems, 0, 'nothing saved');
  w.check();
  await page.close();
});
