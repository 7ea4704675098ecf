// The webhooks page, as a superuser uses it: a refused filter shown beside
// its field, a webhook created (its secret shown once), its deliveries log
// with a redelivery, and a webhook Cairn disabled after its receiver kept
// failing, flagged on the page. The receiver here is a plain Node server
// (signatures are verified by the Rust tests, with the standardwebhooks
// library).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { api, apiToken, launch, shot, signedInContext, startServer, until, watch } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
let server;
let browser;
let context;
let token;
let receiver;
let target;

before(async () => {
  server = await startServer({ superuser: admin, args: ['--webhooks-allow-private', '--webhooks-disable-after', '1'] });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', type: 'base', fields: [{ name: 'title', type: 'text' }],
  });
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = req.url.startsWith('/fail') ? 500 : 200;
      res.end(res.statusCode === 200 ? 'thanks' : 'down');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  target = `http://127.0.0.1:${receiver.address().port}`;
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
  receiver?.close();
});

test('webhooks: create with a refused filter first, deliveries, redeliver', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/webhooks"]');
  await page.locator('h1', { hasText: 'Webhooks' }).waitFor();
  await page.locator('.empty-title', { hasText: 'No webhooks yet.' }).waitFor();

  await page.click('button:has-text("+ New webhook")');
  await page.selectOption('select[name=collection]', { label: 'posts' });
  await page.fill('input[name=name]', 'Search indexer');
  await page.fill('input[name=filter]', 'title >');
  await page.fill('input[name=url]', `${target}/ok`);
  w.expect(400, 'POST', '/api/webhooks');
  await page.click('button:has-text("Create webhook")');
  const err = page.locator('.field-error').first();
  await err.waitFor();
  assert.match(await err.textContent(), /Invalid rule/);
  assert.equal(await page.locator('input[name=filter]').getAttribute('class'), 'mono invalid');
  // Nothing typed was lost.
  assert.equal(await page.inputValue('input[name=url]'), `${target}/ok`);

  await page.fill('input[name=filter]', 'title != "draft"');
  await page.click('button:has-text("Create webhook")');
  const secret = page.locator('.note.ok input[name=webhook-secret]');
  await secret.waitFor();
  const shown = await secret.inputValue();
  assert.match(shown, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  // On one line, whole (it used to wrap mid-secret), with a copy button.
  const box = await secret.boundingBox();
  assert.ok(box.height < 40, `one line: ${box.height}px`);
  assert.equal(await secret.evaluate((el) => el.scrollWidth <= el.clientWidth), true, 'the whole secret shows');
  await page.click('.note.ok button:text-is("Copy")');
  await page.locator('.note.ok button:text-is("Copied")').waitFor();
  const row = page.locator('table.webhooks tbody tr').first();
  await row.locator('[data-state=enabled]').waitFor();
  await shot(page, 'webhooks-list');

  // A record delivered, then its delivery in the log.
  await api(server.base, token, 'POST', '/api/collections/posts/records', { title: 'hello' });
  const hooks = await api(server.base, token, 'GET', '/api/webhooks');
  await until('the delivery', async () => {
    const list = await api(server.base, token, 'GET', `/api/webhooks/${hooks[0].id}/deliveries`);
    return list[0]?.status === 'done';
  });
  await row.locator('button', { hasText: 'Deliveries' }).click();
  const delivery = page.locator('section.deliveries tbody tr').first();
  await delivery.waitFor();
  assert.match(await delivery.textContent(), /record\.create/);
  assert.match(await delivery.textContent(), /done/);
  assert.match(await delivery.textContent(), /200/);
  await delivery.locator('button', { hasText: 'Redeliver' }).click();
  await delivery.locator('[role=status]', { hasText: 'Queued again' }).waitFor();
  await until('two deliveries', async () => (await page.locator('section.deliveries tbody tr').count()) >= 2);
  // Fewer than a page: nothing older to read.
  assert.equal(await page.locator('section.deliveries button', { hasText: 'Older deliveries' }).count(), 0);
  await shot(page, 'webhooks-deliveries');

  // Edit: reveal the secret, keep it when the field is left empty.
  await row.locator('button', { hasText: 'Edit' }).click();
  await page.click('button:has-text("Reveal the secret")');
  const revealed = await page.locator('.webhook-form input[name=webhook-secret]').inputValue();
  assert.equal(revealed, shown);
  await shot(page, 'webhooks-revealed');
  await page.check('input[name=includeHidden]');
  await page.click('button:has-text("Save changes")');
  await page.locator('.webhook-form').waitFor({ state: 'detached' });
  const after = await api(server.base, token, 'GET', `/api/webhooks/${hooks[0].id}/secret`);
  assert.equal(after.secret, revealed, 'the secret was kept');

  // Rotate: a new secret, the old one signing beside it for 24 hours.
  await row.locator('button', { hasText: 'Edit' }).click();
  assert.equal(await page.locator('select[name=previousSecretHours]').count(), 0, 'no overlap to choose before a rotation');
  await page.check('input[name=newSecret]');
  assert.equal(await page.inputValue('select[name=previousSecretHours]'), '24');
  await shot(page, 'webhooks-rotate-form');
  await page.click('button:has-text("Save changes")');
  const rotated = page.locator('.note.ok', { hasText: 'The previous secret keeps signing beside it until' });
  await rotated.waitFor();
  const fresh = await rotated.locator('input[name=webhook-secret]').inputValue();
  assert.notEqual(fresh, shown);
  const both = await api(server.base, token, 'GET', `/api/webhooks/${hooks[0].id}/secret`);
  assert.equal(both.secret, fresh);
  assert.equal(both.previousSecret, shown);
  await row.locator('[data-overlap]', { hasText: 'Old secret also signs until' }).waitFor();
  await shot(page, 'webhooks-rotated');
  // Done puts the secret away.
  await rotated.locator('button:text-is("Done")').click();
  await rotated.waitFor({ state: 'detached' });
  // …then end the overlap from the form.
  await row.locator('button', { hasText: 'Edit' }).click();
  await page.locator('.webhook-form [role=status]', { hasText: 'signs beside this one until' }).waitFor();
  await page.click('button:has-text("Stop it now")');
  await page.locator('.webhook-form [role=status]', { hasText: 'signs beside this one until' }).waitFor({ state: 'detached' });
  const ended = await api(server.base, token, 'GET', `/api/webhooks/${hooks[0].id}/secret`);
  assert.deepEqual(ended, { secret: fresh });
  await page.click('.webhook-form button:has-text("Cancel")');
  // The list knows too: its row no longer says the old secret signs.
  await row.locator('[data-overlap]').waitFor({ state: 'detached' });
  w.check();
});

test('webhooks: one disabled after its receiver kept failing is flagged', async () => {
  const failing = await api(server.base, token, 'POST', '/api/webhooks', {
    name: 'Broken CRM', collection: 'posts', events: ['create'], url: `${target}/fail`,
  });
  // Two failures over a second apart: the second finds the run of
  // failures older than --webhooks-disable-after 1.
  await api(server.base, token, 'POST', '/api/collections/posts/records', { title: 'one' });
  await until('a first failure', async () => (await api(server.base, token, 'GET', `/api/webhooks/${failing.id}`)).state === 'failing');
  await new Promise((r) => setTimeout(r, 1200));
  await api(server.base, token, 'POST', '/api/collections/posts/records', { title: 'two' });
  await until('disabled', async () => (await api(server.base, token, 'GET', `/api/webhooks/${failing.id}`)).state === 'disabledAfterFailures');

  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/webhooks`);
  await page.locator('.note.warn', { hasText: 'Broken CRM' }).waitFor();
  const row = page.locator(`tr[data-webhook="${failing.id}"]`);
  await row.locator('[data-state=disabledAfterFailures]').waitFor();
  await row.locator('button', { hasText: 'Deliveries' }).click();
  await page.locator('section.deliveries tbody tr').first().waitFor();
  assert.match(await page.locator('section.deliveries').textContent(), /answered 500/);
  await shot(page, 'webhooks-disabled');
  w.check();
});

test('webhooks: older deliveries are read a page at a time, none twice', async () => {
  const hook = await api(server.base, token, 'POST', '/api/webhooks', {
    name: 'Busy', collection: 'posts', events: ['create'], url: `${target}/ok`,
  });
  for (let i = 0; i < 55; i++) {
    await api(server.base, token, 'POST', '/api/collections/posts/records', { title: `busy ${i}` });
  }
  await until('55 deliveries done', async () => {
    const list = await api(server.base, token, 'GET', `/api/webhooks/${hook.id}/deliveries?limit=200`);
    return list.length === 55 && list.every((d) => d.status === 'done');
  });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/webhooks`);
  await page.locator(`tr[data-webhook="${hook.id}"] button`, { hasText: 'Deliveries' }).click();
  const rows = page.locator('section.deliveries tbody tr');
  await until('the first page', async () => (await rows.count()) === 50);
  const older = page.locator('section.deliveries button', { hasText: 'Older deliveries' });
  await older.click();
  await until('the older ones', async () => (await rows.count()) === 55);
  await older.waitFor({ state: 'detached' });
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.delivery)));
  assert.equal(new Set(ids).size, 55, 'no delivery twice');
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  w.check();
});
