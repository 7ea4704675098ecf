// The record form's relation picker and file drop zone, as a person uses
// them: search the related collection (only matches are fetched, never
// the whole collection), pick with the keyboard, remove a pick; drop
// files, see their previews, take one back before saving; on a stored
// record, mark a file for removal, keep it again, then remove it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer, watch } from './harness.mjs';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGPQz4/DihiGlgQAknA/AQHfICkAAAAASUVORK5CYII=';
const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
let server;
let browser;
let context;
let token;

before(async () => {
  server = await startServer({ superuser: admin });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  const tags = await api(server.base, token, 'POST', '/api/collections', {
    name: 'tags', type: 'base', fields: [{ name: 'label', type: 'text', presentable: true }],
  });
  // More tags than one page of matches: the picker must search, not list.
  for (let i = 1; i <= 60; i += 1) {
    await api(server.base, token, 'POST', '/api/collections/tags/records', { label: `tag ${String(i).padStart(2, '0')}` });
  }
  for (const label of ['poetry', 'prose', 'history']) {
    await api(server.base, token, 'POST', '/api/collections/tags/records', { label });
  }
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'notes', type: 'base',
    fields: [{ name: 'title', type: 'text' },
      { name: 'tags', type: 'relation', collectionId: tags.id, maxSelect: 3 },
      { name: 'attachments', type: 'file', maxSelect: 4, maxSize: 1048576 }],
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const drop = (page, selector, files) => page.evaluate(({ selector, files }) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
  zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}, { selector, files });

test('relations by search, files by drop, with previews and removal', async () => {
  const page = await context.newPage();
  const w = watch(page);
  const searches = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/collections/tags/records' || u.pathname.endsWith('/records') && u.pathname.includes('pbc_')) searches.push(u);
  });
  await page.goto(`${server.base}/_/#/collections/notes/records/new`);
  await page.fill('#f-title', 'reading list');

  // Search: typing narrows on the server.
  await page.fill('#f-tags', 'poetr');
  await page.locator('#f-tags-matches li', { hasText: 'poetry' }).waitFor();
  assert.deepEqual(await page.locator('#f-tags-matches li span').allTextContents(), ['poetry']);
  const asked = searches.at(-1);
  assert.match(asked.searchParams.get('filter'), /label ~ "poetr"/);
  assert.ok(Number(asked.searchParams.get('perPage')) <= 20, 'one page of matches');
  await page.keyboard.press('Enter');
  await page.locator('.picker .chip', { hasText: 'poetry' }).waitFor();

  // Keyboard: down to the second match, Enter.
  await page.fill('#f-tags', 'tag 0');
  await page.locator('#f-tags-matches li', { hasText: 'tag 02' }).waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('.picker .chip', { hasText: 'tag 02' }).waitFor();
  await page.fill('#f-tags', 'histor');
  await page.locator('#f-tags-matches li', { hasText: 'history' }).click();
  assert.equal(await page.locator('#f-tags').count(), 0, 'full at three: the search goes');
  await page.click('button[aria-label="Remove tag 02"]');
  assert.deepEqual(await page.locator('.picker .chip span').allTextContents(), ['poetry', 'history']);

  // Files: two dropped, previews shown, one taken back.
  await drop(page, '.dropzone[data-field=attachments]', [
    { name: 'cover.png', type: 'image/png', b64: PNG },
    { name: 'notes.txt', type: 'text/plain', b64: btoa('hello') },
  ]);
  await page.locator('li.pending', { hasText: 'notes.txt' }).waitFor();
  assert.ok(await page.locator('li.pending', { hasText: 'cover.png' }).locator('img').evaluate((img) => img.src.startsWith('blob:') && img.complete && img.naturalWidth === 8),
    'the image previews from the file itself');
  await shot(page, 'record-pickers');
  await page.click('button[aria-label="Do not upload notes.txt"]');
  assert.equal(await page.locator('li.pending').count(), 1);

  await page.click('button:text-is("Create record")');
  await page.locator('table.records tbody tr').first().waitFor();
  const [note] = (await api(server.base, token, 'GET', '/api/collections/notes/records?expand=tags')).items;
  assert.deepEqual(note.expand.tags.map((t) => t.label), ['poetry', 'history']);
  assert.equal(note.attachments.length, 1);
  assert.match(note.attachments[0], /^cover_\w+\.png$/);

  // The stored record: its picks by label, its file with a thumbnail; remove, keep, remove.
  await page.goto(`${server.base}/_/#/collections/notes/records/${note.id}`);
  await page.locator('.picker .chip', { hasText: 'history' }).waitFor();
  const stored = note.attachments[0];
  await page.click(`button[aria-label="Remove ${stored}"]`);
  await page.locator('li.removed', { hasText: 'removed on save' }).waitFor();
  await page.click(`button[aria-label="Keep ${stored}"]`);
  assert.equal(await page.locator('li.removed').count(), 0);
  await page.click(`button[aria-label="Remove ${stored}"]`);
  await page.setInputFiles('#f-attachments', { name: 'second.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await page.locator('li.pending', { hasText: 'second.png' }).waitFor();
  await shot(page, 'record-pickers-edit');
  await page.click('button:text-is("Save changes")');
  await page.locator('table.records tbody tr').first().waitFor();
  const after = await api(server.base, token, 'GET', `/api/collections/notes/records/${note.id}`);
  assert.equal(after.attachments.length, 1);
  assert.match(after.attachments[0], /^second_\w+\.png$/);
  w.check();
  await page.close();
});

test('duplicate: a new record from another one, its values and picks but not its files', async () => {
  const page = await context.newPage();
  const w = watch(page);
  const [original] = (await api(server.base, token, 'GET', '/api/collections/notes/records')).items;
  await page.goto(`${server.base}/_/#/collections/notes/records/${original.id}`);
  await page.locator('.picker .chip', { hasText: 'history' }).waitFor();
  await page.click('a.btn:text-is("Duplicate")');
  await page.locator('h1', { hasText: 'notes · duplicate record' }).waitFor();
  assert.equal(await page.inputValue('#f-title'), original.title);
  // The picks show '…' until their labels are read: wait for them.
  await page.locator('.picker .chip', { hasText: 'history' }).waitFor();
  assert.deepEqual(await page.locator('.picker .chip span').allTextContents(), ['poetry', 'history']);
  assert.equal(await page.locator('.file-list li').count(), 0, 'no files: they belong to the original');
  await page.fill('#f-title', 'reading list, again');
  await shot(page, 'record-duplicate');
  await page.click('button:text-is("Create record")');
  await page.locator('td', { hasText: 'reading list, again' }).waitFor();
  const all = (await api(server.base, token, 'GET', '/api/collections/notes/records?filter=' + encodeURIComponent('title = "reading list, again"'))).items;
  assert.equal(all.length, 1);
  assert.notEqual(all[0].id, original.id);
  assert.deepEqual(all[0].tags, original.tags);
  assert.deepEqual(all[0].attachments, []);
  const still = await api(server.base, token, 'GET', `/api/collections/notes/records/${original.id}`);
  assert.equal(still.attachments.length, 1, 'the original keeps its file');
  w.check();
  await page.close();
});
