// The superusers page, as a person uses it: the only superuser cannot be
// removed (the button says so, and the server refuses it when the page
// is out of date); a superuser is added (after a mistyped confirmation,
// fixed in place), given a new password, and removed after typing their
// email; a new password of your own keeps you signed in.
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
  // The default limit on sign-ins (2 per 3 s per address) would turn this
  // scenario's quick successive sign-ins into 429s; it has tests of its own.
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const row = (page, email) => page.locator(`tr[data-email="${email}"]`);

async function signInWorks(email, password) {
  const r = await fetch(`${server.base}/api/collections/_superusers/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: email, password }),
  });
  return r.status === 200;
}

test('add, change a password, remove; never the only one', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/superusers"]');
  await page.locator('h1', { hasText: 'Superusers' }).waitFor();
  await row(page, admin.email).waitFor();
  assert.match(await row(page, admin.email).innerText(), /you/);
  assert.ok(await row(page, admin.email).locator('button:has-text("Remove")').isDisabled(), 'the only one cannot be removed');
  assert.ok(await page.locator('text=The only superuser cannot be removed').isVisible());
  await shot(page, 'superusers-only-one');

  // Add one, with the confirmation mistyped first.
  await page.fill('input[name=su-email]', 'second@example.com');
  await page.fill('input[name=su-password]', 'second-pass-123');
  await page.fill('input[name=su-passwordConfirm]', 'second-pass-12');
  w.expect(400, 'POST', '/api/collections/_superusers/records');
  await page.click('button:text-is("Add superuser")');
  await page.locator('.add-superuser .field-error').waitFor();
  assert.equal(await page.inputValue('input[name=su-email]'), 'second@example.com', 'what was typed stays');
  await page.fill('input[name=su-passwordConfirm]', 'second-pass-123');
  await page.click('button:text-is("Add superuser")');
  await row(page, 'second@example.com').waitFor();
  await page.locator('.note.ok', { hasText: 'second@example.com is a superuser now' }).waitFor();
  assert.ok(await signInWorks('second@example.com', 'second-pass-123'));
  assert.ok(await row(page, admin.email).locator('button:has-text("Remove")').isEnabled(), 'with two, either can go');
  await shot(page, 'superusers-two');

  // A new password for the second one.
  await row(page, 'second@example.com').locator('button:has-text("Change password")').click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('input[name=new-password]').fill('short');
  await dialog.locator('input[name=new-passwordConfirm]').fill('short');
  w.expect(400, 'PATCH', '/api/collections/_superusers/records/');
  await dialog.locator('button:has-text("Change password")').click();
  await dialog.locator('.field-error').waitFor();
  await shot(page, 'superusers-password-error');
  await dialog.locator('input[name=new-password]').fill('second-pass-456');
  await dialog.locator('input[name=new-passwordConfirm]').fill('second-pass-456');
  await dialog.locator('button:has-text("Change password")').click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  assert.ok(await signInWorks('second@example.com', 'second-pass-456'), 'the new password works');
  assert.ok(!(await signInWorks('second@example.com', 'second-pass-123')), 'the old one does not');

  // Removing asks for the email first.
  await row(page, 'second@example.com').locator('button:has-text("Remove")').click();
  const confirm = page.locator('dialog[open]');
  const go = confirm.locator('button:has-text("Remove superuser")');
  assert.ok(await go.isDisabled());
  await confirm.locator('input').fill('second@example.com');
  await shot(page, 'superusers-remove-confirm');
  await go.click();
  await row(page, 'second@example.com').waitFor({ state: 'detached' });
  assert.ok(await row(page, admin.email).locator('button:has-text("Remove")').isDisabled(), 'the only one again');
  w.check();
  await page.close();
});

test('a page out of date: the server refuses to remove the only superuser, and says so in place', async () => {
  const other = await api(server.base, token, 'POST', '/api/collections/_superusers/records', {
    email: 'third@example.com', password: 'third-pass-123', passwordConfirm: 'third-pass-123',
  });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/superusers`);
  await row(page, 'third@example.com').waitFor();
  // Meanwhile, elsewhere, the third goes: the page still shows two.
  await api(server.base, token, 'DELETE', `/api/collections/_superusers/records/${other.id}`);
  await row(page, admin.email).locator('button:has-text("Remove")').click();
  const confirm = page.locator('dialog[open]');
  await confirm.locator('input').fill(admin.email);
  w.expect(400, 'DELETE', '/api/collections/_superusers/records/');
  await confirm.locator('button:has-text("Remove superuser")').click();
  await confirm.locator('.note.error').waitFor();
  assert.match(await confirm.locator('.note.error').textContent(), /only superuser/);
  await shot(page, 'superusers-remove-refused');
  assert.ok(await signInWorks(admin.email, admin.password), 'still there');
  w.check();
  await page.close();
});

test('a new password of your own: the session carries on with it', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/superusers`);
  await row(page, admin.email).locator('button:has-text("Change password")').click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('input[name=new-password]').fill('admin-pass-456');
  await dialog.locator('input[name=new-passwordConfirm]').fill('admin-pass-456');
  await dialog.locator('button:has-text("Change password")').click();
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  // Still signed in: another page loads, and a reload resumes the session.
  await page.click('.sidebar a:has-text("users")');
  await page.locator('.empty', { hasText: 'No records yet' }).waitFor();
  await page.reload();
  await page.locator('h1', { hasText: /^users$/ }).waitFor();
  assert.equal(await page.locator('h1', { hasText: 'Sign in' }).count(), 0);
  assert.ok(await signInWorks(admin.email, 'admin-pass-456'));
  w.check();
  await page.close();
});

test('phone width, dark: the superusers page fits 390×844 without sideways scroll', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await phone.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/superusers`);
  await page.fill('input[name=email]', admin.email);
  await page.fill('input[name=password]', 'admin-pass-456');
  await page.click('button[type=submit]');
  await row(page, admin.email).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scroll of the page (${overflow}px)`);
  assert.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true);
  await shot(page, 'phone-dark-superusers');
  w.check();
  await phone.close();
});
