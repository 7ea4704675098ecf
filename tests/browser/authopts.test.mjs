// An auth collection's options in the collection editor, as a person sets
// them: one-time codes on with their own lifetime, a GitHub provider with
// a client id and secret, a new subject for the verification mail; saved,
// checked through the API (the secret stored, never sent back), and shown
// again on reopening (the secret as "set"). A negative lifetime and an
// identity field without a unique index come back as the server's errors
// beside those options, with everything typed still there; a template is
// previewed with sample values in a sandboxed frame and sent as a test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
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
  // Two sign-ins in a row (one per browser context) would meet the
  // default limit on sign-ins; it has tests of its own.
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Saves the form, and waits for the sidebar's list of collections to be
 * read again (the editor opens on the collection as that list has it). */
async function save(page, label = 'Save changes') {
  const listed = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/api/collections');
  await page.click(`button:text-is("${label}")`);
  await listed;
}

async function openUsersSettings(page) {
  await page.goto(`${server.base}/_/#/collections/users/settings`);
  await page.locator('#auth-options').waitFor();
}

test('auth options: set, saved, shown again; errors beside their option; preview', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await openUsersSettings(page);
  await page.locator('#auth-options').scrollIntoViewIfNeeded();
  await shot(page, 'authopts-start');

  // One-time codes, with a lifetime of five minutes.
  await page.getByLabel('Accounts may sign in with a code sent by email').check();
  await page.getByLabel(/Code valid for/).fill('300');
  assert.match(await page.locator('label[for="ao-otp-duration"]').innerText(), /5 minutes/);

  // A GitHub provider.
  await page.getByLabel('Accounts may sign in with another service').check();
  await page.click('button:text-is("+ Add provider")');
  assert.equal(await page.inputValue('select[name=provider-0-name]'), 'github');
  await page.getByLabel('Client id').fill('gh-client-id');
  await page.getByLabel(/Client secret/).fill('gh-secret-value-123');

  // The verification mail's subject.
  await page.click('[role=tab]:has-text("Verification")');
  await page.fill('input[name=template-subject]', 'Welcome to {APP_NAME}, please confirm');
  await shot(page, 'authopts-filled');
  await save(page);
  await page.waitForURL(/#\/collections\/users$/);

  const users = await api(server.base, token, 'GET', '/api/collections/users');
  assert.equal(users.otp.enabled, true);
  assert.equal(users.otp.duration, 300);
  assert.equal(users.oauth2.enabled, true);
  assert.equal(users.oauth2.providers.length, 1);
  assert.equal(users.oauth2.providers[0].name, 'github');
  assert.equal(users.oauth2.providers[0].clientId, 'gh-client-id');
  assert.ok(!('clientSecret' in users.oauth2.providers[0]), 'the secret is never sent back');
  assert.ok(!JSON.stringify(users).includes('gh-secret-value-123'));
  assert.equal(users.verificationTemplate.subject, 'Welcome to {APP_NAME}, please confirm');
  // The secret was stored: the provider is offered for sign-in.
  const methods = await (await fetch(`${server.base}/api/collections/users/auth-methods`)).json();
  assert.deepEqual(methods.oauth2.providers.map((p) => p.name), ['github']);

  // Reopened: the values are there, the secret as "set".
  await openUsersSettings(page);
  assert.ok(await page.getByLabel('Accounts may sign in with a code sent by email').isChecked());
  assert.equal(await page.inputValue('input[name="otp.duration"]'), '300');
  assert.equal(await page.inputValue('input[name=provider-0-clientId]'), 'gh-client-id');
  assert.equal(await page.inputValue('input[name=provider-0-clientSecret]'), '', 'the secret box starts empty');
  assert.match(await page.locator('label[for="ao-oauth2-providers-0-clientSecret"]').innerText(), /set — leave empty to keep/);
  assert.equal(await page.inputValue('input[name=template-subject]'), 'Welcome to {APP_NAME}, please confirm');

  // Bad values: a negative lifetime, and an identity field with no unique index.
  await page.getByLabel(/Code valid for/).fill('-5');
  await page.locator('label:has(input[name=identity-field][value=name])').click();
  await page.fill('input[name=provider-0-clientId]', 'gh-client-id-2');
  w.expect(400, 'PATCH', '/api/collections/');
  await page.click('button:text-is("Save changes")');
  const durationError = page.locator('#ao-otp-duration-error');
  await durationError.waitFor();
  assert.match(await durationError.innerText(), /no less than 10/);
  assert.equal(await page.getAttribute('input[name="otp.duration"]', 'aria-describedby'), 'ao-otp-duration-error');
  const identityError = page.locator('#ao-passwordAuth-identityFields-error');
  assert.match(await identityError.innerText(), /name doesn't have a UNIQUE constraint/);
  // Everything typed is still there.
  assert.equal(await page.inputValue('input[name="otp.duration"]'), '-5');
  assert.ok(await page.locator('input[name=identity-field][value=name]').isChecked());
  assert.equal(await page.inputValue('input[name=provider-0-clientId]'), 'gh-client-id-2');
  assert.match(await page.locator('.note.error').innerText(), /problems are marked below/);
  await durationError.scrollIntoViewIfNeeded();
  await shot(page, 'authopts-errors');
  const stored = await api(server.base, token, 'GET', '/api/collections/users');
  assert.equal(stored.otp.duration, 300, 'nothing was saved');
  assert.deepEqual(stored.passwordAuth.identityFields, ['email']);

  // Fixed in place and saved; the stored secret is kept (not sent, not lost).
  await page.getByLabel(/Code valid for/).fill('600');
  await page.locator('label:has(input[name=identity-field][value=name])').click();
  await save(page);
  await page.waitForURL(/#\/collections\/users$/);
  const fixed = await api(server.base, token, 'GET', '/api/collections/users');
  assert.equal(fixed.otp.duration, 600);
  assert.equal(fixed.oauth2.providers[0].clientId, 'gh-client-id-2');
  const again = await (await fetch(`${server.base}/api/collections/users/auth-methods`)).json();
  assert.deepEqual(again.oauth2.providers.map((p) => p.name), ['github'], 'the secret is still stored');

  // A preview with sample values, in a sandboxed frame.
  await openUsersSettings(page);
  // The template tabs follow the arrow keys.
  await page.click('[role=tab]:has-text("Verification")');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'One-time code');
  assert.equal(await page.getAttribute('[role=tab]:has-text("One-time code")', 'aria-selected'), 'true');
  await page.fill('input[name=template-subject]', 'Code for {RECORD:email}');
  await page.click('button:text-is("Preview")');
  const frame = page.locator('.mail-preview iframe');
  await frame.waitFor();
  assert.equal(await frame.getAttribute('sandbox'), '');
  assert.equal(await page.locator('.preview-subject').innerText(), 'Code for jane@example.com');
  const body = page.frameLocator('.mail-preview iframe').locator('body');
  await body.waitFor();
  assert.match(await body.innerText(), /Your one-time sign-in code is 12345678/);
  assert.doesNotMatch(await body.innerText(), /\{OTP\}/);
  // Typing shows at once in the preview.
  await page.fill('textarea[name=template-body]', '<p>Hello {RECORD:name}, <strong>{OTP}</strong></p>');
  await page.frameLocator('.mail-preview iframe').locator('strong', { hasText: '12345678' }).waitFor();
  assert.match(await body.innerText(), /Hello Jane Doe/);
  await page.locator('.mail-preview').scrollIntoViewIfNeeded();
  await shot(page, 'authopts-preview');

  // A test message of the saved template: SMTP is off, so it lands in the outbox.
  await page.click('button:text-is("Send a test…")');
  await page.fill('input[name=template-test-to]', 'tester@example.com');
  await page.click('.test-send button:text-is("Send")');
  await page.locator('.test-send [role=status]', { hasText: 'Sent to tester@example.com' }).waitFor();

  // Dark.
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'authopts-preview-dark');
  await page.locator('.provider').scrollIntoViewIfNeeded();
  await shot(page, 'authopts-oauth2-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  w.check();
  await page.close();
});

test('settings opened again before the list of collections is read show what was saved', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await openUsersSettings(page);
  const box = page.getByLabel('Accounts may sign in with a code sent by email');
  const before = await box.isChecked();
  await box.setChecked(!before);
  // The list is read again after the save; hold that read until the
  // settings are open again, so they can only come from the save's answer.
  let release;
  const held = new Promise((r) => { release = r; });
  let heldOne = false;
  const list = (url) => url.pathname === '/api/collections';
  await page.route(list, async (route) => {
    if (route.request().method() === 'GET' && !heldOne) { heldOne = true; await held; }
    await route.continue();
  });
  await page.click('button:text-is("Save changes")');
  await page.waitForURL(/#\/collections\/users$/);
  await openUsersSettings(page);
  assert.ok(heldOne, 'the list was being read again');
  assert.equal(await box.isChecked(), !before, 'the editor shows the saved value');
  const listed = page.waitForResponse((r) => r.request().method() === 'GET' && list(new URL(r.url())));
  release();
  await listed;
  const stored = await api(server.base, token, 'GET', '/api/collections/users');
  assert.equal(stored.otp.enabled, !before);
  // Put back as it was, for the other tests.
  await api(server.base, token, 'PATCH', '/api/collections/users', { otp: { enabled: before } });
  w.check();
  await page.close();
});

test('any PocketBase provider: a self-hosted GitLab with its own endpoints, a second OpenID Connect one', async () => {
  await api(server.base, token, 'POST', '/api/collections', { name: 'staff', type: 'auth' });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/staff/settings`);
  await page.locator('#auth-options').waitFor();
  await page.getByLabel('Accounts may sign in with another service').check();
  await page.click('button:text-is("+ Add provider")');
  await page.selectOption('select[name=provider-0-name]', 'gitlab');
  await page.fill('input[name=provider-0-clientId]', 'gl-id');
  await page.fill('input[name=provider-0-clientSecret]', 'gl-secret-value');
  // GitLab has endpoints of its own: they wait, folded, for a server of one's own.
  const urls = page.locator('.provider').nth(0).locator('details.provider-urls');
  assert.equal(await urls.getAttribute('open'), null, 'folded while unused');
  await urls.locator('summary').click();
  await page.fill('input[name=provider-0-authURL]', 'https://git.example.com/oauth/authorize');
  await page.fill('input[name=provider-0-tokenURL]', 'https://git.example.com/oauth/token');
  await page.fill('input[name=provider-0-userInfoURL]', 'https://git.example.com/api/v4/user');
  // A second OpenID Connect provider has none: its boxes show at once.
  await page.click('button:text-is("+ Add provider")');
  await page.selectOption('select[name=provider-1-name]', 'oidc2');
  assert.equal(await page.locator('.provider').nth(1).locator('details.provider-urls').count(), 0);
  await page.fill('input[name=provider-1-clientId]', 'idp-id');
  await page.fill('input[name=provider-1-clientSecret]', 'idp-secret-value');
  await page.fill('input[name=provider-1-authURL]', 'https://id.example.com/authorize');
  await page.fill('input[name=provider-1-tokenURL]', 'https://id.example.com/token');
  await page.fill('input[name=provider-1-userInfoURL]', 'https://id.example.com/userinfo');
  await page.locator('.provider').nth(0).scrollIntoViewIfNeeded();
  await shot(page, 'authopts-providers');
  await save(page);
  await page.waitForURL(/#\/collections\/staff$/);
  const methods = await (await fetch(`${server.base}/api/collections/staff/auth-methods`)).json();
  const [gitlab, oidc2] = methods.oauth2.providers;
  assert.equal(gitlab.name, 'gitlab');
  assert.equal(gitlab.displayName, 'GitLab');
  assert.match(gitlab.authURL, /^https:\/\/git\.example\.com\/oauth\/authorize\?client_id=gl-id&/);
  assert.equal(oidc2.name, 'oidc2');
  assert.match(oidc2.authURL, /^https:\/\/id\.example\.com\/authorize\?/);
  // Reopened, the set endpoints are shown unfolded.
  await page.goto(`${server.base}/_/#/collections/staff/settings`);
  await page.locator('#auth-options').waitFor();
  assert.equal(await page.locator('.provider').nth(0).locator('details.provider-urls').getAttribute('open'), '');
  assert.equal(await page.inputValue('input[name=provider-0-tokenURL]'), 'https://git.example.com/oauth/token');
  w.check();
  await page.close();
});

test('Apple: the client secret is made from a key, its errors beside their boxes', async () => {
  await api(server.base, token, 'POST', '/api/collections', { name: 'fans', type: 'auth' });
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/fans/settings`);
  await page.locator('#auth-options').waitFor();
  await page.getByLabel('Accounts may sign in with another service').check();
  await page.click('button:text-is("+ Add provider")');
  await page.selectOption('select[name=provider-0-name]', 'apple');
  await page.fill('input[name=provider-0-clientId]', 'com.example.fans');
  await page.click('button:text-is("Make the secret from a key…")');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await page.fill('input[name=apple-team]', 'SHORT');
  await page.fill('input[name=apple-key-id]', 'KEY1234567');
  await page.fill('textarea[name=apple-key]', privateKey.export({ type: 'pkcs8', format: 'pem' }));
  w.expect(400, 'POST', '/api/settings/apple/generate-client-secret');
  await page.click('button:text-is("Make secret")');
  await page.locator('#apple-team-error').waitFor();
  assert.match(await page.locator('#apple-team-error').innerText(), /exactly 10/);
  assert.equal(await page.inputValue('input[name=provider-0-clientSecret]'), '', 'nothing made');
  await page.fill('input[name=apple-team]', 'ABCDE12345');
  await page.click('button:text-is("Make secret")');
  await page.locator('.apple-secret [role=status]').waitFor();
  await shot(page, 'authopts-apple');
  const secret = await page.inputValue('input[name=provider-0-clientSecret]');
  const [head, body, signature] = secret.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
  assert.equal(claims.sub, 'com.example.fans');
  assert.equal(claims.iss, 'ABCDE12345');
  assert.equal(claims.exp - claims.iat, 180 * 86400);
  assert.ok(verify('sha256', Buffer.from(`${head}.${body}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')));
  assert.equal(await page.inputValue('textarea[name=apple-key]'), '', 'the key is not left on the page');
  await save(page);
  await page.waitForURL(/#\/collections\/fans$/);
  const methods = await (await fetch(`${server.base}/api/collections/fans/auth-methods`)).json();
  assert.deepEqual(methods.oauth2.providers.map((p) => p.name), ['apple'], 'stored with its secret');
  w.check();
  await page.close();
});

test('auth options at phone width, keyboard only for OTP', async () => {
  // A session of its own: a copy of the other context's cookie would be
  // a reused refresh token, which ends both sessions.
  const phone = await signedInContext(browser, server.base, admin);
  const page = await phone.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const w = watch(page);
  await openUsersSettings(page);
  await page.locator('#auth-options').scrollIntoViewIfNeeded();
  // The options fit the width: nothing makes the page scroll sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await shot(page, 'authopts-phone');
  // The MFA box is reached and turned on with the keyboard.
  await page.focus('input[name="otp.enabled"]');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('name'));
  assert.equal(focused, 'mfa.enabled');
  await page.keyboard.press('Space');
  await page.locator('textarea[name=mfa-rule]').waitFor();
  await page.locator('.provider').scrollIntoViewIfNeeded();
  await shot(page, 'authopts-phone-oauth2');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator('.templates').scrollIntoViewIfNeeded();
  await shot(page, 'authopts-phone-dark');
  w.check();
  await phone.close();
});

test('a new auth collection: options typed before it exists are created with it', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/new`);
  await page.fill('input[name=name]', 'members');
  await page.check('input[name=type][value=auth]');
  await page.locator('#auth-options').waitFor();
  assert.match(await page.locator('.auth-options').innerText(), /starts with the standard templates/);
  // Empty boxes show the server's defaults and leave them to it.
  assert.equal(await page.getAttribute('input[name="authToken.duration"]', 'placeholder'), '432000');
  await page.getByLabel('Accounts may sign in with a code sent by email').check();
  await page.getByLabel(/Code valid for/).fill('120');
  await save(page, 'Create collection');
  await page.waitForURL(/#\/collections\/members$/);
  const members = await api(server.base, token, 'GET', '/api/collections/members');
  assert.equal(members.otp.enabled, true);
  assert.equal(members.otp.duration, 120);
  assert.equal(members.otp.length, 8, 'the default, untouched');
  assert.ok(members.verificationTemplate.subject, 'the standard templates');
  w.check();
  await page.close();
});
