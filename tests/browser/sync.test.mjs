// Collection definitions out and in, as a person moves a schema: export
// (shown and downloaded), then an edited file imported after reviewing
// what it changes — a file that is not JSON is caught in place, the plan
// names the added, changed and (only when asked) deleted collections, a
// renamed field keeps its data — and an import the server refuses says
// why, with nothing changed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'text' }],
  });
  await api(server.base, token, 'POST', '/api/collections', { name: 'tags', type: 'base', fields: [{ name: 'label', type: 'text' }] });
  await api(server.base, token, 'POST', '/api/collections/posts/records', { title: 'first', body: 'kept through the rename' });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('export, then import an edited file after reviewing its plan', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/sync"]');
  await page.locator('h1', { hasText: 'Import and export' }).waitFor();

  const shown = JSON.parse(await page.inputValue('textarea[name=export]'));
  assert.deepEqual(shown.map((c) => c.name).sort(), ['posts', 'tags', 'users']);
  assert.ok(shown.every((c) => !('created' in c) && !c.system));
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download collections.json")')]);
  assert.equal(file.suggestedFilename(), 'collections.json');
  assert.deepEqual(JSON.parse(readFileSync(await file.path(), 'utf8')), shown);

  // The edit: posts.body renamed (same field id), a field added, a rule; a
  // new collection; tags left out.
  const posts = shown.find((c) => c.name === 'posts');
  const body = posts.fields.find((f) => f.name === 'body');
  const edited = [
    { ...posts, listRule: '', fields: [...posts.fields.map((f) => (f === body ? { ...f, name: 'content' } : f)), { name: 'summary', type: 'text' }] },
    shown.find((c) => c.name === 'users'),
    { name: 'notes', type: 'base', fields: [{ name: 'text', type: 'text' }] },
  ];

  await page.fill('textarea[name=import]', '[{"name": "posts",');
  await page.click('button:has-text("Review changes")');
  await page.locator('#import-problem', { hasText: 'Not valid JSON' }).waitFor();
  assert.equal(await page.locator('section.plan').count(), 0, 'no plan for a broken file');

  await page.fill('textarea[name=import]', JSON.stringify(edited, null, 2));
  await page.click('button:has-text("Review changes")');
  const plan = page.locator('section.plan');
  await plan.waitFor();
  assert.match(await plan.locator('li.plan-added').innerText(), /notes/);
  const changed = await plan.locator('li.plan-changed').innerText();
  assert.match(changed, /field body renamed to content \(its data is kept\)/);
  assert.match(changed, /field summary \(text\) added/);
  assert.match(changed, /listRule: locked → public/);
  assert.equal(await plan.locator('li.plan-deleted').count(), 0, 'nothing deleted unless asked');
  assert.match(await plan.innerText(), /Unchanged: users/);

  await page.check('input[name=delete-missing]');
  assert.match(await plan.locator('li.plan-deleted').innerText(), /tags/);
  await plan.scrollIntoViewIfNeeded();
  await shot(page, 'sync-plan');
  await page.click('button:has-text("Apply the import")');
  await page.locator('.note.ok', { hasText: 'Imported: 1 added, 1 changed, 1 deleted.' }).waitFor();

  const after = await api(server.base, token, 'GET', '/api/collections/posts');
  assert.deepEqual(after.fields.map((f) => f.name), ['id', 'title', 'content', 'summary']);
  assert.equal(after.listRule, '');
  const [record] = (await api(server.base, token, 'GET', '/api/collections/posts/records')).items;
  assert.equal(record.content, 'kept through the rename');
  const names = (await api(server.base, token, 'GET', '/api/collections?perPage=100')).items.map((c) => c.name);
  assert.ok(names.includes('notes') && !names.includes('tags'));
  await page.locator('.sidebar a', { hasText: 'notes' }).waitFor();

  // Refused by the server: its reason, and nothing changed.
  await page.uncheck('input[name=delete-missing]');
  await page.fill('textarea[name=import]', JSON.stringify([{ name: 'broken', type: 'base', fields: [], listRule: 'nope =' }]));
  await page.click('button:has-text("Review changes")');
  w.expect(400, 'PUT', '/api/collections/import');
  await page.click('button:has-text("Apply the import")');
  const refused = page.locator('section.plan .note.error');
  await refused.waitFor();
  assert.match(await refused.innerText(), /Request id/);
  assert.match(await page.locator('section.plan .field-error').innerText(), /listRule/, 'the server\'s detail: which rule');
  await shot(page, 'sync-refused');
  const still = (await api(server.base, token, 'GET', '/api/collections?perPage=100')).items.map((c) => c.name);
  assert.ok(!still.includes('broken'));
  w.check();
  await page.close();
});
