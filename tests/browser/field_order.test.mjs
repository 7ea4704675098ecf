// Putting a collection's fields in order: a server's error on a field stays
// with that field as rows are moved or removed, rows are dragged by their
// handle (a real drag in Chromium) as well as moved by their buttons, and
// at phone width a row's buttons sit on one line and are large enough for
// a finger.
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

test('a real drag by the handle moves a row; the buttons still do, and a drop never passes the id', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/dragged/settings`);
  await page.locator('h1', { hasText: 'Settings of dragged' }).waitFor();
  const row = (name) => page.locator(`.field-row[data-field=${name}]`);
  const grip = (name) => row(name).locator('.grip');
  assert.equal(await grip('alpha').getAttribute('draggable'), 'true');

  // delta dropped on the upper half of alpha: first after the id.
  await grip('delta').dragTo(row('alpha'), { targetPosition: { x: 200, y: 4 } });
  assert.deepEqual(await names(page), ['delta', 'alpha', 'beta', 'gamma']);
  assert.equal(await page.locator('p[role=status]', { hasText: 'Moved field delta to place 2 of 5.' }).count(), 1,
    'a screen reader is told where it went');
  // alpha dropped on the lower half of gamma: last.
  const box = await row('gamma').boundingBox();
  await grip('alpha').dragTo(row('gamma'), { targetPosition: { x: 200, y: box.height - 4 } });
  assert.deepEqual(await names(page), ['delta', 'beta', 'gamma', 'alpha']);
  // Onto the system id row's upper half: refused, nothing moves.
  await grip('beta').dragTo(page.locator('.field-row.system'), { targetPosition: { x: 100, y: 3 } });
  assert.deepEqual(await names(page), ['delta', 'beta', 'gamma', 'alpha']);
  assert.equal(await page.locator('.field-row.dragging, .field-row.drop-before, .field-row.drop-after').count(), 0,
    'no drag marks are left behind');

  // While a drag is under way, the place it would land is marked.
  const from = await grip('gamma').boundingBox();
  const to = await row('delta').boundingBox();
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  // The first move starts the drag; the next ones go over the place.
  await page.mouse.move(to.x + 200, to.y + 8);
  await page.mouse.move(to.x + 201, to.y + 7);
  await page.mouse.move(to.x + 202, to.y + 6);
  await page.locator('.field-row[data-field=delta].drop-before').waitFor();
  assert.equal(await row('gamma').evaluate((el) => el.classList.contains('dragging')), true);
  await shot(page, 'field-drag');
  await page.mouse.up();
  assert.deepEqual(await names(page), ['gamma', 'delta', 'beta', 'alpha']);

  // The keyboard way is still there.
  await page.getByRole('button', { name: 'Move field alpha up' }).click();
  assert.deepEqual(await names(page), ['gamma', 'delta', 'alpha', 'beta']);
  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^dragged$/ }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/collections/dragged');
  assert.deepEqual(saved.fields.map((f) => f.name), ['id', 'gamma', 'delta', 'alpha', 'beta']);
  w.check();
  await page.close();
});

test('phone width, dark: a field row\'s buttons share one line and are finger-sized', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', storageState: await context.storageState() });
  const page = await phone.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/phone/settings`);
  const row = page.locator('.field-row[data-field=beta]');
  await row.scrollIntoViewIfNeeded();
  await shot(page, 'phone-dark-field-row');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
  const up = await row.getByRole('button', { name: 'Move field beta up' }).boundingBox();
  const down = await row.getByRole('button', { name: 'Move field beta down' }).boundingBox();
  const remove = await row.getByRole('button', { name: 'Remove field beta' }).boundingBox();
  for (const [what, b] of [['up', up], ['down', down], ['remove', remove]]) {
    assert.ok(b.width >= 40 && b.height >= 40, `${what} is at least 40×40 (${b.width}×${b.height})`);
  }
  const middle = (b) => b.y + b.height / 2;
  assert.ok(Math.abs(middle(remove) - middle(up)) < 2 && Math.abs(middle(down) - middle(up)) < 2,
    'Remove sits on the line of the arrows, not on a line of its own');
  // The checkboxes are not squeezed onto the buttons' line.
  const required = await row.locator('label.check', { hasText: 'Required' }).boundingBox();
  assert.ok(required.y >= up.y + up.height, 'the checkboxes come below');
  w.check();
  await phone.close();
});
