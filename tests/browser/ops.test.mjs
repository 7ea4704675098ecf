// The operations pages, as a person uses them: the request log (chart,
// filter, a refused filter, one entry's panel with its request id),
// backups (a refused name, make, download, upload, restore after typing
// the name, delete), scheduled jobs (run now) and the settings (save, a
// field error from the server beside its field, a test email). Each page
// is also seen at phone width and in dark mode.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { api, apiToken, launch, shot, signedInContext, startServer, until, watch } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
let server;
let browser;
let context;
let token;

before(async () => {
  // Every records list counts as slow, so its plan is in the log.
  server = await startServer({ superuser: admin, args: ['--slow-query', '0'] });
  browser = await launch();
  token = await apiToken(server.base, admin.email, admin.password);
  await api(server.base, token, 'PATCH', '/api/settings', { rateLimits: { enabled: false } });
  // Something to see in the log: a few answers of each kind.
  for (let i = 0; i < 3; i++) await fetch(`${server.base}/api/collections/nope/records`);
  await fetch(`${server.base}/api/health`);
  await api(server.base, token, 'GET', '/api/collections');
  // The log is written in batches: wait for the 404s.
  await until('the 404s in the log', async () => {
    const got = await api(server.base, token, 'GET', `/api/logs?filter=${encodeURIComponent('data.status = 404')}`);
    return got.totalItems >= 3;
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('logs: chart, filter, a refused filter, one entry with its request id', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/logs"]');
  await page.locator('h1', { hasText: 'Logs' }).waitFor();
  await page.locator('table.logs tbody tr').first().waitFor();
  assert.ok(await page.locator('svg.bars rect.bar').count() >= 1, 'the hourly chart has a bar');
  await shot(page, 'ops-logs');

  await page.fill('input[name=filter]', 'data.status = 404');
  await page.press('input[name=filter]', 'Enter');
  await page.waitForFunction(() => location.hash.includes('filter='));
  await page.waitForFunction(() => [...document.querySelectorAll('table.logs tbody tr td:nth-child(5)')].every((td) => td.textContent === '404'));
  const statuses = await page.locator('table.logs tbody tr td:nth-child(5)').allTextContents();
  assert.ok(statuses.length >= 3 && statuses.every((s) => s === '404'), `only 404s: ${statuses}`);

  // A filter the server refuses: its message, and the rows stay.
  // The more precise path first: an expectation matches by prefix.
  w.expect(400, 'GET', '/api/logs/stats');
  w.expect(400, 'GET', '/api/logs');
  await page.fill('input[name=filter]', 'data.status ===');
  await page.press('input[name=filter]', 'Enter');
  await page.locator('.note.error', { hasText: 'The filter was refused' }).waitFor();
  assert.ok(await page.locator('.note.error .reqid code').isVisible(), 'with the request id');
  await page.click('button:text-is("Clear")');
  await page.waitForFunction(() => !location.hash.includes('filter='));
  await page.locator('.note.error').waitFor({ state: 'detached' });

  // One entry: every data field and the request id, in a panel.
  const first = page.locator('table.logs tbody tr').first();
  const id = await first.getAttribute('data-id');
  await first.locator('a').click();
  const drawer = page.locator('dialog.drawer[open]');
  await drawer.locator('.request-id code').waitFor();
  const entry = await api(server.base, token, 'GET', `/api/logs/${id}`);
  assert.equal(await drawer.locator('.request-id code').textContent(), entry.data.requestId);
  for (const key of Object.keys(entry.data)) assert.ok(await drawer.locator(`dt:text-is("data.${key}")`).count() === 1, `shows data.${key}`);
  assert.match(await page.evaluate(() => location.hash), new RegExp(`log=${id}`));
  await shot(page, 'ops-log-entry');
  await page.keyboard.press('Escape');
  await page.locator('dialog.drawer[open]').waitFor({ state: 'detached' }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('dialog.drawer[open]') && !location.hash.includes('log='));
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'ops-logs-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  w.check();
  await page.close();
});

test('backups: a refused name, make, download, upload, restore after typing its name, delete', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/backups"]');
  await page.locator('h1', { hasText: 'Backups' }).waitFor();
  await page.locator('.empty', { hasText: 'No backups yet' }).waitFor();

  w.expect(400, 'POST', '/api/backups');
  await page.fill('input[name=backup-name]', 'Not A Name');
  await page.click('button:text-is("Make backup")');
  await page.locator('.card-form .field-error').waitFor();
  assert.equal(await page.inputValue('input[name=backup-name]'), 'Not A Name', 'what was typed stays');
  assert.ok(await page.locator('.card-form .note.error .reqid').isVisible(), 'the request id is shown');

  await page.fill('input[name=backup-name]', 'first.zip');
  await page.click('button:text-is("Make backup")');
  await page.locator('tr[data-key="first.zip"]').waitFor();
  await page.locator('.note.ok', { hasText: 'Made first.zip' }).waitFor();
  await shot(page, 'ops-backups');

  // Download: a file token, then the archive itself.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('button[aria-label="Download first.zip"]'),
  ]);
  assert.equal(download.suggestedFilename(), 'first.zip');
  assert.match(download.url(), /\/api\/backups\/first\.zip\?token=/);
  const bytes = readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'a zip');

  // Upload it back under another name.
  await page.setInputFiles('input[name=backup-file]', { name: 'second.zip', mimeType: 'application/zip', buffer: bytes });
  await page.click('button:text-is("Upload")');
  await page.locator('tr[data-key="second.zip"]').waitFor();

  // Restore asks for the name; the app name changed since comes back.
  await api(server.base, token, 'PATCH', '/api/settings', { meta: { appName: 'Changed since' } });
  await page.click('button[aria-label="Restore second.zip"]');
  const confirm = page.locator('dialog[open]');
  const go = confirm.locator('button:has-text("Restore backup")');
  assert.ok(await go.isDisabled(), 'not before the name is typed');
  await confirm.locator('input').fill('second');
  assert.ok(await go.isDisabled(), 'not with part of it');
  await confirm.locator('input').fill('second.zip');
  await shot(page, 'ops-backups-restore');
  await go.click();
  await page.locator('.note.ok', { hasText: 'Restored second.zip' }).waitFor({ timeout: 30_000 });
  const settings = await api(server.base, token, 'GET', '/api/settings');
  assert.notEqual(settings.meta.appName, 'Changed since', 'the data is the backup\'s');

  await page.click('button[aria-label="Delete first.zip"]');
  await page.locator('dialog[open] button:has-text("Delete backup")').click();
  await page.locator('tr[data-key="first.zip"]').waitFor({ state: 'detached' });
  const left = await api(server.base, token, 'GET', '/api/backups');
  assert.deepEqual(left.map((b) => b.key), ['second.zip']);
  w.check();
  await page.close();
});

test('backups: while another backup or restore runs, the page says so', async () => {
  // The server's side (one at a time, a 400 for the second) has its own
  // tests; here its answers are played back, as a race is hard to time.
  const page = await context.newPage();
  const w = watch(page);
  let running = false;
  await page.route('**/api/health', async (route) => {
    const answer = await route.fetch();
    const body = await answer.json();
    body.data.canBackup = !running;
    await route.fulfill({ response: answer, json: body });
  });
  await page.route('**/api/backups', async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    running = true;
    return route.fulfill({
      status: 400, headers: { 'X-Request-Id': 'busyrequest0001' },
      json: { status: 400, message: 'Another backup or restore is already running; try again later.', data: {} },
    });
  });
  await page.goto(`${server.base}/_/#/backups`);
  await page.locator('h1', { hasText: 'Backups' }).waitFor();
  assert.equal(await page.locator('.note.warn').count(), 0, 'no banner while none runs');
  w.expect(400, 'POST', '/api/backups');
  await page.click('button:text-is("Make backup")');
  await page.locator('.card-form .note.error', { hasText: 'already running' }).waitFor();
  assert.match(await page.locator('.card-form .note.error').textContent(), /busyrequest0001/);
  await page.locator('.note.warn', { hasText: 'A backup or restore is running' }).waitFor();
  await shot(page, 'ops-backups-running');
  w.check();
  await page.close();
});

/** A mail server on loopback that refuses every recipient for good (550). */
function refusingSmtp() {
  return new Promise((resolve) => {
    const srv = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.write('220 refuser\r\n');
      let buf = '';
      sock.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i).trim().toUpperCase();
          buf = buf.slice(i + 1);
          sock.write(line.startsWith('RCPT') ? '550 no such mailbox\r\n' : line.startsWith('QUIT') ? '221 bye\r\n' : '250 ok\r\n');
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

test('scheduled jobs: the list, run now, and the job queue with a mail given up', async () => {
  // A verification mail the mail server refuses for good: a job given up.
  const smtp = await refusingSmtp();
  await api(server.base, token, 'PATCH', '/api/settings', {
    smtp: { enabled: true, host: '127.0.0.1', port: smtp.address().port }, meta: { senderAddress: 'noreply@example.com' },
  });
  await api(server.base, token, 'POST', '/api/collections/users/records',
    { email: 'queue@example.com', password: 'queue-pass-1', passwordConfirm: 'queue-pass-1' });
  const asked = await fetch(`${server.base}/api/collections/users/request-verification`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'queue@example.com' }),
  });
  assert.equal(asked.status, 204);
  const queue = await until('the mail job given up', async () => {
    const got = await api(server.base, token, 'GET', '/api/jobs');
    return got.dead.length > 0 && got;
  }, { tries: 100, ms: 100 });
  assert.equal(queue.dead.length, 1, JSON.stringify(queue));

  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/crons`);
  const job = page.locator('tr[data-job="__cairnLogsCleanup__"]');
  await job.waitFor();
  const jobs = await api(server.base, token, 'GET', '/api/crons');
  assert.equal(await page.locator('table.crons tbody tr').count(), jobs.length, 'every job is listed');
  await job.locator('button:has-text("Run now")').click();
  await job.locator('[role=status]', { hasText: 'Started at' }).waitFor();
  await shot(page, 'ops-crons');

  const dead = page.locator(`table.job-dead tr[data-job="${queue.dead[0].id}"]`);
  await dead.waitFor();
  assert.match(await dead.locator('.job-error').textContent(), /550/);
  assert.equal(await page.locator('table.job-kinds td', { hasText: 'mail' }).count(), 1);
  assert.equal(await page.locator('.job-queue', { hasText: 'queue@example.com' }).count(), 0, 'no recipient shown');
  await page.locator('.job-queue').scrollIntoViewIfNeeded();
  await shot(page, 'ops-job-queue');
  await dead.locator('button:has-text("Try again")').click();
  await dead.locator('button:has-text("Queued")').waitFor();
  await until('the retried copy to run, and be refused again', async () => {
    const got = await api(server.base, token, 'GET', '/api/jobs');
    return got.kinds[0].dead === 2;
  }, { tries: 100, ms: 100 });
  await api(server.base, token, 'PATCH', '/api/settings', { smtp: { enabled: false } });
  smtp.close();
  w.check();
  await page.close();
});

test('settings: save, a field error beside its field, a test email, the address seen', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/`);
  await page.click('.sidebar a[href="#/settings"]');
  await page.locator('h1', { hasText: 'Settings' }).waitFor();
  await page.locator('.seen-as .real-ip', { hasText: '127.0.0.1' }).waitFor();
  const save = page.locator('button:text-is("Save changes")');
  assert.ok(await save.isDisabled(), 'nothing to save yet');
  await shot(page, 'ops-settings');

  await page.fill('input[name="meta.appName"]', 'Cairn Test');
  await page.fill('input[name="logs.maxDays"]', '9');
  await page.selectOption('select[name="logs.minLevel"]', '4');
  await page.fill('input[name="backups.cron"]', 'every day');
  w.expect(400, 'PATCH', '/api/settings');
  await save.click();
  const cronError = page.locator('#s-backups-cron-error');
  await cronError.waitFor();
  assert.ok(await page.locator('input[name="backups.cron"]').evaluate((el) => el.classList.contains('invalid')));
  assert.ok(await page.locator('.form-actions .note.error .reqid').isVisible(), 'the message with its request id');
  assert.equal(await page.inputValue('input[name="meta.appName"]'), 'Cairn Test', 'what was typed stays');
  await cronError.scrollIntoViewIfNeeded();
  await shot(page, 'ops-settings-field-error');
  await page.fill('input[name="backups.cron"]', '0 3 * * *');
  assert.equal(await cronError.count(), 0, 'a changed field drops its old error');
  assert.equal(await page.locator('.form-actions .note.error').count(), 0, 'and the message about it goes too');

  // A rule added to the rate limits: a count below 1, then a label the
  // limiter cannot read, each refused beside its cell; then a good one.
  await page.click('button:text-is("+ Add rule")');
  const rules = page.locator('table.rate-rules tbody tr');
  const n = await rules.count();
  const rule = rules.nth(n - 1);
  await rule.locator(`input[name="rule-${n - 1}-label"]`).fill('api/custom');
  await rule.locator(`input[name="rule-${n - 1}-maxRequests"]`).fill('-5');
  w.expect(400, 'PATCH', '/api/settings');
  await save.click();
  await rule.locator('.field-error', { hasText: 'no less than 1' }).waitFor();
  assert.ok(await rule.locator(`input[name="rule-${n - 1}-maxRequests"]`).evaluate((el) => el.classList.contains('invalid')));
  await rule.locator(`input[name="rule-${n - 1}-maxRequests"]`).fill('10');
  assert.equal(await rule.locator('.field-error').count(), 0, 'the edited cell drops its error');
  w.expect(400, 'PATCH', '/api/settings');
  await save.click();
  await rule.locator('.field-error', { hasText: 'valid format' }).waitFor();
  await rule.scrollIntoViewIfNeeded();
  await shot(page, 'ops-settings-rate-rule-error');
  await rule.locator(`input[name="rule-${n - 1}-label"]`).fill('/api/custom');
  await shot(page, 'ops-settings-rate-rules');
  // The SMTP fields show when SMTP is on.
  await page.check('input[name="smtp.enabled"]');
  await page.locator('input[name="smtp.host"]').scrollIntoViewIfNeeded();
  await shot(page, 'ops-settings-smtp');
  await page.uncheck('input[name="smtp.enabled"]');
  await save.click();
  await page.locator('.saved', { hasText: 'Saved' }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/settings');
  assert.equal(saved.meta.appName, 'Cairn Test');
  assert.equal(saved.logs.maxDays, 9);
  assert.equal(saved.logs.minLevel, 4);
  assert.equal(saved.backups.cron, '0 3 * * *');
  assert.equal(saved.rateLimits.rules.at(-1).label, '/api/custom');
  assert.ok(await save.isDisabled(), 'saved: nothing left to save');

  // The test email: a bad address refused in place, then sent (to the outbox: SMTP is off).
  w.expect(400, 'POST', '/api/settings/test/email');
  await page.fill('input[name=test-email]', 'not-an-address');
  await page.click('button:text-is("Send test email")');
  await page.locator('.test-email .field-error').waitFor();
  await page.fill('input[name=test-email]', 'check@example.com');
  await page.selectOption('select[name=test-template]', 'otp');
  await page.click('button:text-is("Send test email")');
  await page.locator('.test-email .note.ok', { hasText: 'kept in the outbox' }).waitFor();
  const outbox = await api(server.base, token, 'GET', '/api/mail/outbox');
  assert.equal(outbox.items[0].to, 'check@example.com');
  await page.locator('.test-email').scrollIntoViewIfNeeded();
  await shot(page, 'ops-settings-test-email');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'ops-settings-dark');
  w.check();
  await page.close();
});

test('phone width, dark: each page fits 390×844 without sideways scroll', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await phone.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/`);
  await page.fill('input[name=email]', admin.email);
  await page.fill('input[name=password]', admin.password);
  await page.click('button[type=submit]');
  await page.locator('.shell').waitFor();
  for (const [route, ready] of [['logs', 'table.logs'], ['backups', 'table.backups'], ['crons', 'table.crons'], ['settings', '.seen-as .real-ip']]) {
    await page.goto(`${server.base}/_/#/${route}`);
    await page.locator(ready).first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${route}: no sideways scroll of the page (${overflow}px)`);
    await shot(page, `ops-phone-${route}`);
  }
  await page.goto(`${server.base}/_/#/logs`);
  await page.locator('table.logs tbody tr a').first().click();
  await page.locator('dialog.drawer[open] .request-id').waitFor();
  await shot(page, 'ops-phone-log-entry');
  await page.keyboard.press('Escape');
  await page.locator('.topbar button[aria-controls=sidebar]').click();
  await page.locator('.sidebar a[href="#/settings"]').waitFor();
  await shot(page, 'ops-phone-menu');
  w.check();
  await phone.close();
});

test('logs: a slow list shows its SQL, SQLite\'s plan and the index that would help', async () => {
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', listRule: '', fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }],
  });
  for (let n = 0; n < 5; n++) await api(server.base, token, 'POST', '/api/collections/posts/records', { title: `t${n}`, n });
  const listed = await fetch(`${server.base}/api/collections/posts/records?filter=${encodeURIComponent('n > 2')}`,
    { headers: { 'x-request-id': 'slow-list-1' } });
  assert.equal(listed.status, 200);
  const entry = await until('the slow list in the log', async () => {
    const got = await api(server.base, token, 'GET', `/api/logs?filter=${encodeURIComponent("data.requestId = 'slow-list-1'")}`);
    return got.items[0];
  }, { tries: 50 });
  assert.ok(entry?.data.slowQueries?.length, `the slow list is in the log: ${JSON.stringify(entry)}`);
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/logs?log=${entry.id}`);
  const slow = page.locator('dialog.drawer[open] .slow-query').first();
  await slow.waitFor();
  assert.match(await slow.locator('pre.code').first().textContent(), /FROM `posts`/);
  assert.match(await slow.locator('pre.code').nth(1).textContent(), /SCAN posts/);
  assert.equal(await slow.locator('.suggested-index').textContent(), 'CREATE INDEX `idx_posts_n` ON `posts` (`n`)');
  await shot(page, 'ops-log-slow-query');
  w.check();
  await page.close();
});
