// View collections, as a person makes one: pick "View", write the SQL,
// see the server refuse a query that cannot make a view (with its reason
// in place), fix it and watch the preview show the columns, their types
// and the first rows, save, and find the rows on the view's page.
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
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', type: 'base',
    fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }, { name: 'secret', type: 'text', hidden: true }],
  });
  for (let i = 1; i <= 12; i += 1) {
    await api(server.base, token, 'POST', '/api/collections/posts/records', { title: `post ${i}`, n: i, secret: 'psst' });
  }
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('a view: a refused query says why, the fixed one previews its columns and rows, and saves', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/new`);
  await page.locator('h1', { hasText: 'New collection' }).waitFor();
  await page.fill('input[name=name]', 'doubled');
  await page.locator('label.kind-choice', { hasText: 'View' }).click();
  assert.equal(await page.locator('.add-field').count(), 0, 'a view has no field editor');
  assert.deepEqual(await page.locator('fieldset.rule legend').allTextContents(), ['List', 'View'], 'only the read rules');

  // No id column: the server's reason shows under the query.
  w.expect(400, 'POST', '/api/collections/meta/dry-run-view');
  await page.fill('textarea[name=viewQuery]', 'SELECT title FROM posts');
  const note = page.locator('.preview .note.error');
  await note.waitFor();
  assert.match(await note.textContent(), /id column/);
  assert.ok(await page.locator('textarea[name=viewQuery].invalid').isVisible());
  await shot(page, 'view-query-error');

  // A column the preview accepts but a save refuses (a name records
  // reserve): a view has no field editor to mark, so the note at the top
  // says which column and why, and is brought into view.
  await page.fill('textarea[name=viewQuery]', 'SELECT id, title AS expand FROM posts');
  await page.locator('.preview table.sample').waitFor();
  w.expect(400, 'POST', '/api/collections');
  await page.click('button:text-is("Create collection")');
  const listed = page.locator('form .note.error .error-list li', { hasText: 'fields.1.name' });
  await listed.waitFor();
  assert.ok(await listed.isVisible() && await listed.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }), 'the reason is on screen after Create');
  await shot(page, 'view-save-error');

  await page.fill('textarea[name=viewQuery]', 'SELECT id, title, n * 2 AS twice, secret FROM posts ORDER BY n');
  await page.locator('.preview .columns li code', { hasText: 'twice' }).waitFor();
  const columns = await page.locator('.preview .columns li code').allTextContents();
  assert.deepEqual(columns, ['id', 'title', 'twice', 'secret']);
  const types = await page.locator('.preview .columns li .type').allTextContents();
  assert.deepEqual(types, ['Text', 'Text', 'JSON', 'Text'], 'a field keeps its type; a computed column is JSON');
  assert.deepEqual(await page.locator('.preview thead th').allTextContents(), ['id', 'title', 'twice'], 'hidden columns not shown');
  assert.equal(await page.locator('.preview tbody tr').count(), 10, 'the first ten rows');
  assert.deepEqual((await page.locator('.preview tbody tr').first().locator('td').allTextContents()).slice(1), ['post 1', '2']);
  assert.equal(await page.locator('.preview', { hasText: 'psst' }).count(), 0, 'no hidden value shown');
  await page.locator('.preview').scrollIntoViewIfNeeded();
  await shot(page, 'view-query-preview');

  await page.locator('fieldset.rule', { hasText: 'List' }).locator('label', { hasText: 'Public' }).click();
  await page.click('button:text-is("Create collection")');
  await page.locator('h1', { hasText: /^doubled$/ }).waitFor();
  await page.locator('td', { hasText: 'post 12' }).waitFor();
  assert.equal(await page.locator('text=+ New record').count(), 0, 'no new records in a view');
  await shot(page, 'view-records');

  const saved = await api(server.base, token, 'GET', '/api/collections/doubled');
  assert.equal(saved.type, 'view');
  assert.equal(saved.listRule, '');
  assert.deepEqual(saved.fields.map((f) => f.name), ['id', 'title', 'twice', 'secret']);

  // Its settings show the query and preview it again.
  await page.click('.page-head a:text-is("Settings")');
  await page.locator('h1', { hasText: 'Settings of doubled' }).waitFor();
  assert.equal(await page.inputValue('textarea[name=viewQuery]'), 'SELECT id, title, n * 2 AS twice, secret FROM posts ORDER BY n');
  await page.locator('.preview table.sample').waitFor();
  w.check();
  await page.close();
});
