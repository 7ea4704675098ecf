// What a PocketBase user reaches for in the dashboard: putting fields in
// order, a word that a change was saved, the keyboard (Escape leaves an
// editor, a new form starts at its first box), an in-page question before
// unsaved changes are lost, cron schedules in words, and a file field that
// refuses more files than it holds as they are chosen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, apiToken, launch, shot, signedInContext, startServer, until, watch } from './harness.mjs';

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
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'ordered', type: 'base',
    fields: [{ name: 'alpha', type: 'text' }, { name: 'beta', type: 'number' }, { name: 'gamma', type: 'bool' },
      { name: 'created', type: 'autodate', onCreate: true }, { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true }],
  });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'notes', type: 'base', fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'text' }],
  });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'albums', type: 'base',
    fields: [{ name: 'title', type: 'text' }, { name: 'photos', type: 'file', maxSelect: 2, maxSize: 1_000_000 }],
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const toast = (page, text) => page.locator('.toasts[role=status] .toast', { hasText: text });

test('field order: moving fields up and down is what the saved collection keeps', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/ordered/settings`);
  await page.locator('h1', { hasText: 'Settings of ordered' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Move field alpha up' }).isVisible());
  await page.getByRole('button', { name: 'Move field gamma up' }).click();
  await page.getByRole('button', { name: 'Move field gamma up' }).click();
  // A new field, named, then moved above the timestamps it was added after.
  await page.click('.add-field button:text-is("+ Text")');
  await page.locator('.field-row').last().locator('input[name=field-name]').fill('delta');
  const names = () => page.locator('.field-row input[name=field-name]').evaluateAll((els) => els.map((e) => e.value));
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Move field delta up' }).click();
  assert.deepEqual(await names(), ['gamma', 'alpha', 'beta', 'delta', 'created', 'updated']);
  assert.ok(await page.getByRole('button', { name: 'Move field updated down' }).isDisabled(), 'the last cannot go lower');
  assert.ok(await page.getByRole('button', { name: 'Move field gamma up' }).isDisabled(), 'nothing passes the system id');
  // A moved row keeps what was typed into it.
  assert.equal(await page.locator('.field-row[data-field=delta] input[name=field-name]').inputValue(), 'delta');
  await shot(page, 'field-order');
  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^ordered$/ }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/collections/ordered');
  assert.deepEqual(saved.fields.map((f) => f.name), ['id', 'gamma', 'alpha', 'beta', 'delta', 'created', 'updated']);
  w.check();
  await page.close();
});

test('toasts: saving, creating and deleting each say so, and the words go by themselves', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/notes/records/new`);
  await page.fill('#f-title', 'first');
  await page.click('button:text-is("Create record")');
  await toast(page, 'Record created in notes').waitFor();
  assert.equal(await page.locator('.toasts').getAttribute('aria-live'), 'polite');
  await page.waitForTimeout(300);
  await shot(page, 'toast-record-created');
  // It does not stand in the way of a click beneath it.
  assert.equal(await page.locator('.toasts').evaluate((el) => getComputedStyle(el).pointerEvents), 'none');
  await until('the toast to go', async () => (await page.locator('.toast').count()) === 0, { tries: 40 });

  const [rec] = (await api(server.base, token, 'GET', '/api/collections/notes/records')).items;
  await page.goto(`${server.base}/_/#/collections/notes/records/${rec.id}`);
  await page.fill('#f-title', 'first, changed');
  await page.click('button:text-is("Save changes")');
  await toast(page, 'Record saved').waitFor();
  await page.goto(`${server.base}/_/#/collections/notes/records/${rec.id}`);
  await page.click('button:text-is("Delete record")');
  await page.locator('dialog[open] button:text-is("Delete")').click();
  await toast(page, 'Record deleted').waitFor();

  await page.goto(`${server.base}/_/#/settings`);
  await page.fill('input[name="meta.appName"]', 'Polished');
  await page.click('button:text-is("Save changes")');
  await toast(page, 'Settings saved').waitFor();

  await page.goto(`${server.base}/_/#/collections/new`);
  await page.fill('input[name=name]', 'scratch');
  // The new collection's records page subscribes to live updates; it is
  // left only once that is done (a subscription cut short is refused).
  const subscribed = page.waitForResponse((r) => r.url().endsWith('/api/realtime') && r.request().method() === 'POST');
  await page.click('button:text-is("Create collection")');
  await toast(page, 'Created the collection scratch').waitFor();
  await subscribed;
  await page.goto(`${server.base}/_/#/collections/scratch/settings`);
  await page.click('button:text-is("Delete collection")');
  await page.locator('dialog[open] input').fill('scratch');
  await page.locator('dialog[open] button:text-is("Delete")').click();
  await toast(page, 'Deleted the collection scratch').waitFor();
  w.check();
  await page.close();
});

test('toasts on the admin pages: a superuser added, an API key created, a webhook created and deleted', async () => {
  await api(server.base, token, 'POST', '/api/collections/users/records',
    { email: 'robot@example.com', password: 'robot-pass-123', passwordConfirm: 'robot-pass-123' });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/superusers`);
  await page.fill('input[name=su-email]', 'second@example.com');
  await page.fill('input[name=su-password]', 'second-pass-123');
  await page.fill('input[name=su-passwordConfirm]', 'second-pass-123');
  await page.click('button:text-is("Add superuser")');
  await toast(page, 'Added the superuser second@example.com').waitFor();

  await page.goto(`${server.base}/_/#/keys`);
  await page.fill('input[name=key-name]', 'robot key');
  await page.selectOption('select[name=key-collection]', 'users');
  await page.fill('input[name=key-record]', 'robot@example.com');
  await page.click('button:text-is("Create key")');
  await toast(page, 'Created the key robot key').waitFor();

  await page.goto(`${server.base}/_/#/webhooks`);
  await page.click('button:has-text("+ New webhook")');
  await page.selectOption('select[name=collection]', { label: 'ordered' });
  await page.fill('input[name=name]', 'Indexer');
  await page.fill('input[name=url]', 'https://hooks.example.com/indexer');
  await page.click('button:has-text("Create webhook")');
  await toast(page, 'Webhook created').waitFor();
  await page.getByRole('button', { name: 'Delete Indexer' }).click();
  await page.locator('dialog[open] button:text-is("Delete webhook")').click();
  await toast(page, 'Webhook deleted').waitFor();
  w.check();
  await page.close();
});

test('keyboard: a new form starts at its first box; Escape leaves an editor, asking when something is unsaved', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/notes/records/new`);
  await until('the first field to have focus', () => page.evaluate(() => document.activeElement?.id === 'f-title'));
  // Untouched: Escape goes back to the records.
  await page.keyboard.press('Escape');
  await page.locator('h1', { hasText: /^notes$/ }).waitFor();

  await page.goto(`${server.base}/_/#/collections/new`);
  await until('the name to have focus', () => page.evaluate(() => document.activeElement?.name === 'name'));
  await page.keyboard.type('halfway');
  await page.keyboard.press('Escape');
  const ask = page.locator('dialog[open]', { hasText: 'Leave without saving?' });
  await ask.waitFor();
  // Escape in the question means stay.
  await page.keyboard.press('Escape');
  await until('the question to close', async () => (await page.locator('dialog[open]').count()) === 0);
  assert.equal(await page.inputValue('input[name=name]'), 'halfway', 'staying keeps the name');
  await page.keyboard.press('Escape');
  await ask.locator('button:text-is("Leave without saving")').click();
  await page.locator('h1', { hasText: 'Welcome' }).waitFor();
  w.check();
  await page.close();
});

test('unsaved changes: the question is in the page, keeps focus inside, and Stay keeps every change', async () => {
  const page = await context.newPage();
  const w = watch(page);
  let native = 0;
  page.on('dialog', (d) => { native++; d.dismiss(); });
  await page.goto(`${server.base}/_/#/collections/notes/records/new`);
  await page.fill('#f-title', 'draft');
  await page.click('.sidebar a:has-text("ordered")');
  const ask = page.locator('dialog[open]', { hasText: 'Leave without saving?' });
  await ask.waitFor();
  assert.equal(native, 0, 'no native confirm');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Stay', 'the safe answer has focus');
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => document.activeElement?.closest('dialog[open]') !== null), 'focus stays in the question');
  }
  await shot(page, 'leave-question');
  await ask.locator('button:text-is("Stay")').click();
  assert.match(page.url(), /#\/collections\/notes\/records\/new$/);
  assert.equal(await page.inputValue('#f-title'), 'draft');
  await page.click('a.btn:text-is("Cancel")');
  await ask.locator('button:text-is("Leave without saving")').click();
  await page.locator('h1', { hasText: /^notes$/ }).waitFor();
  assert.equal(native, 0);
  w.check();
  await page.close();
});

test('cron schedules in words: the formatter, the jobs page and the backup schedule', async () => {
  const src = readFileSync(new URL('../../assets/admin/js/cron_words.js', import.meta.url), 'utf8');
  const { cronWords, cronSaid } = await import(`data:text/javascript,${encodeURIComponent(src)}`);
  const cases = {
    '* * * * *': 'every minute',
    '*/10 * * * *': 'every 10 minutes',
    '0 * * * *': 'every hour',
    '15 * * * *': 'every hour at minute 15',
    '0 */6 * * *': 'every 6 hours',
    '30 */2 * * *': 'every 2 hours at minute 30',
    '0 2 * * *': 'every day at 02:00 UTC',
    '@daily': 'every day at 00:00 UTC',
    '5 14 * * 1': 'every Monday at 14:05 UTC',
    '0 9 * * 1-5': 'every weekday (Monday to Friday) at 09:00 UTC',
    '0 3 22 * *': 'on the 22nd of each month at 03:00 UTC',
    '0 0 1 1 *': '0 0 1 1 *',
    '1,31 * * * *': '1,31 * * * *',
    '61 * * * *': '61 * * * *',
    'nonsense': 'nonsense',
  };
  for (const [expr, words] of Object.entries(cases)) assert.equal(cronWords(expr), words, expr);
  assert.equal(cronSaid('0 0 1 1 *'), '', 'nothing beside an expression with no reading');
  assert.equal(cronSaid(''), '');

  await api(server.base, token, 'PATCH', '/api/settings', { backups: { cron: '15 */6 * * *', cronMaxKeep: 3 } });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/crons`);
  const row = page.locator('tr', { has: page.locator('code.cron-expr', { hasText: '15 */6 * * *' }) });
  await row.locator('.cron-said', { hasText: 'every 6 hours at minute 15' }).waitFor();
  await shot(page, 'crons-words');
  await page.goto(`${server.base}/_/#/settings`);
  const said = page.locator('#settings-backups .cron-said');
  await said.filter({ hasText: 'every 6 hours at minute 15' }).waitFor();
  await page.locator('#settings-backups').scrollIntoViewIfNeeded();
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'settings-backup-words-dark');
  // The words sit on the box's line, beside it, not in a line of their own under it.
  const box = await page.locator('input[name="backups.cron"]').boundingBox();
  const words = await said.boundingBox();
  const kept = await page.locator('input[name="backups.cronMaxKeep"]').boundingBox();
  assert.ok(words.x >= box.x + box.width, 'the words are beside the box');
  assert.ok(Math.abs((words.y + words.height / 2) - (box.y + box.height / 2)) < 2, 'on its line');
  assert.ok(Math.abs(box.y - kept.y) < 1, 'the two boxes of the row line up');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.fill('input[name="backups.cron"]', '0 2 * * *');
  assert.equal(await said.textContent(), 'every day at 02:00 UTC', 'follows the box as it is typed');
  await page.fill('input[name="backups.cron"]', '0 0 1 1 *');
  assert.equal(await said.count(), 0, 'no reading: nothing beside the box');
  await page.fill('input[name="backups.cron"]', '15 */6 * * *');
  w.check();
  await page.close();
});

test('file field: more files than it holds are refused at once and not queued', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/albums/records/new`);
  await page.fill('#f-title', 'trip');
  const file = (name) => ({ name, mimeType: 'text/plain', buffer: Buffer.from(name) });
  await page.setInputFiles('#f-photos', [file('a.txt'), file('b.txt'), file('c.txt')]);
  const refused = page.locator('.files .field-error[role=alert]');
  await refused.filter({ hasText: 'at most 2 files: not added c.txt' }).waitFor();
  assert.equal(await page.locator('.files li.pending').count(), 2, 'only what fits is queued');
  // Full: no drop zone offering room for none, but how to make room.
  const zone = page.locator('.files .dropzone');
  const full = page.locator('.files .files-full', { hasText: 'remove one to add another' });
  assert.equal(await zone.count(), 0, 'no drop zone while full');
  assert.ok(await full.isVisible());
  await shot(page, 'file-refused');
  await page.getByRole('button', { name: 'Do not upload b.txt' }).click();
  await zone.filter({ hasText: 'room for 1 more' }).waitFor();
  assert.equal(await full.count(), 0);
  await page.setInputFiles('#f-photos', [file('d.txt'), file('e.txt')]);
  await refused.filter({ hasText: 'not added e.txt' }).waitFor();
  assert.equal(await page.locator('.files li.pending').count(), 2);
  assert.equal(await zone.count(), 0);
  await page.click('button:text-is("Create record")');
  await toast(page, 'Record created in albums').waitFor();
  const [rec] = (await api(server.base, token, 'GET', '/api/collections/albums/records')).items;
  assert.equal(rec.photos.length, 2, 'the save went through with the two that fit');

  // Stored files fill it too; one marked for removal makes room, kept again fills it.
  await page.goto(`${server.base}/_/#/collections/albums/records/${rec.id}`);
  await page.locator('.files .file-list a').nth(1).waitFor();
  await full.waitFor();
  assert.equal(await zone.count(), 0, 'a record already holding its files shows no drop zone');
  await page.getByRole('button', { name: `Remove ${rec.photos[0]}` }).click();
  await zone.filter({ hasText: 'room for 1 more' }).waitFor();
  await shot(page, 'file-room-again');
  await page.getByRole('button', { name: `Keep ${rec.photos[0]}` }).click();
  await full.waitFor();
  assert.equal(await zone.count(), 0);
  w.check();
  await page.close();
});

test('phone width, dark: the field order buttons, the question and a toast fit', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', storageState: await context.storageState() });
  const page = await phone.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/ordered/settings`);
  await page.locator('.field-row[data-field=alpha]').scrollIntoViewIfNeeded();
  await shot(page, 'phone-dark-field-order');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
  await page.getByRole('button', { name: 'Move field alpha down' }).click();
  await page.click('a.btn:text-is("Cancel")');
  await page.locator('dialog[open]', { hasText: 'Leave without saving?' }).waitFor();
  await shot(page, 'phone-dark-leave-question');
  // Leaving lands on the records, which subscribe to live updates: the
  // next page is opened once that is done (a subscription cut short is
  // refused, and a page opened before the landing is overtaken by it).
  const subscribed = page.waitForResponse((r) => r.url().endsWith('/api/realtime') && r.request().method() === 'POST');
  await page.locator('dialog[open] button:text-is("Leave without saving")').click();
  await subscribed;
  await page.goto(`${server.base}/_/#/collections/notes/records/new`);
  await page.fill('#f-title', 'from a phone');
  await page.click('button:text-is("Create record")');
  await toast(page, 'Record created').waitFor();
  await page.waitForTimeout(300);
  await shot(page, 'phone-dark-toast');
  w.check();
  await phone.close();
});

test('leaving a records page calls off its live-rows subscription still on its way, so no 404 for a gone client', async () => {
  // A context of its own: the phone test before this one used up the
  // shared context's session.
  const own = await signedInContext(browser, server.base, admin);
  const page = await own.newPage();
  const w = watch(page);
  // Hold the subscription until the page has been left: had it not been
  // called off, the server would meet it only after the stream it names
  // had closed, and answer 404.
  let held = null;
  await page.route('**/api/realtime', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    held = route;
    return undefined;
  });
  await page.goto(`${server.base}/_/#/collections/notes`);
  await until('the records page to subscribe', () => held);
  await page.goto(`${server.base}/_/#/settings`);
  await page.locator('h1', { hasText: 'Settings' }).first().waitFor();
  await held.continue().catch(() => {});
  // Time for a 404, had the request gone on, to come back and be seen.
  await page.waitForTimeout(1000);
  w.check();
  await own.close();
});
