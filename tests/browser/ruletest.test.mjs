// "Test the rules" in the collection editor, as a superuser uses it: act
// as one account, then another, then a guest, and see only the records
// the rule `owner = @request.auth.id` lets each see; ask why another's
// record is hidden and see the failing part marked ✗. Keyboard only for
// the account picker; light and dark.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer, watch } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
const OWNER = 'owner = @request.auth.id';
let server;
let browser;
let context;
const notes = {};

before(async () => {
  server = await startServer({ superuser: admin });
  browser = await launch();
  const token = await apiToken(server.base, admin.email, admin.password);
  const users = await api(server.base, token, 'GET', '/api/collections/users');
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'notes', type: 'base', listRule: OWNER, viewRule: OWNER,
    fields: [{ name: 'title', type: 'text', presentable: true },
      { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1 }],
  });
  for (const name of ['Ann', 'Bob']) {
    const email = `${name.toLowerCase()}@example.com`;
    const user = await api(server.base, token, 'POST', '/api/collections/users/records', {
      email, name, password: 'user-pass-123', passwordConfirm: 'user-pass-123',
    });
    const note = await api(server.base, token, 'POST', '/api/collections/notes/records', { title: `${name}'s note`, owner: user.id });
    notes[name] = note.id;
  }
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Picks the account whose search finds `q`, with the keyboard. */
async function actAs(page, q) {
  const box = page.locator('#tester-account');
  await box.focus();
  await box.fill(q);
  await page.locator('#tester-account-matches li', { hasText: q }).waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.rule-tester .chip', { hasText: q }).waitFor();
}

async function testAndRows(page, heading) {
  await page.locator('.rule-tester button', { hasText: /^Test$/ }).click();
  await page.locator('.tester-answer h3', { hasText: heading }).waitFor();
  return page.locator('.tester-records tbody td.mono').allTextContents();
}

test('each account sees its own notes; a hidden note names the failing part', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/notes/settings`);
  await page.locator('h2', { hasText: 'Test the rules' }).waitFor();
  await page.selectOption('select[name=tester-as]', { label: 'An account of users' });

  await actAs(page, 'Ann');
  assert.deepEqual(await testAndRows(page, '1 record visible'), [notes.Ann]);
  assert.equal(await page.locator('.tester-records tbody td', { hasText: "Ann's note" }).count(), 1);

  // Why is Bob's note hidden from Ann? Asked from the record box, by Enter.
  await page.fill('input[name=tester-record]', notes.Bob);
  await page.keyboard.press('Enter');
  const why = page.locator('.tester-why.is-hidden');
  await why.waitFor();
  assert.match(await why.textContent(), /hidden/);
  const part = why.locator('li.fails', { hasText: OWNER });
  assert.equal(await part.count(), 1);
  assert.equal((await part.locator('.part-mark').textContent()).trim(), '✗');

  // A draft of two parts, not saved: the title part holds, the owner fails.
  await page.fill('textarea[name=listRule]', `title ~ 'note' && ${OWNER}`);
  await page.locator('.rule-tester button', { hasText: /^Test$/ }).click();
  await why.locator('li.holds', { hasText: "title ~ 'note'" }).waitFor();
  assert.equal(await why.locator('li.fails', { hasText: OWNER }).count(), 2, 'the whole rule and its owner part');
  await page.locator('.tester-answer h3').scrollIntoViewIfNeeded();
  await shot(page, 'ruletest-hidden');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'ruletest-hidden-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.fill('textarea[name=listRule]', OWNER);

  // Her own note, by its row's "Why?": shown, the part ✓.
  await page.locator('button[aria-label="Explain ' + notes.Ann + '"]').click();
  await page.locator('.tester-why.is-shown li.holds', { hasText: OWNER }).waitFor();

  // Bob sees only his.
  await page.fill('input[name=tester-record]', '');
  await actAs(page, 'Bob');
  assert.deepEqual(await testAndRows(page, '1 record visible'), [notes.Bob]);
  assert.equal(await page.locator('.tester-why').count(), 0);

  // A guest sees none.
  await page.selectOption('select[name=tester-as]', { label: 'A guest (not signed in)' });
  assert.deepEqual(await testAndRows(page, '0 records visible to a guest'), []);

  // A rule that reads the request: the tester opens its imagined request,
  // and the query parameter given there lets the guest see both notes.
  await page.fill('textarea[name=listRule]', "@request.query.shared = 'yes'");
  await page.locator('details.tester-request[open]').waitFor();
  await page.fill('textarea[name=tester-query]', 'shared=no');
  await page.locator('.rule-tester button', { hasText: /^Test$/ }).click();
  await page.locator('.tester-answer h3 code', { hasText: '@request.query' }).waitFor();
  assert.equal(await page.locator('.tester-records tbody tr').count(), 0);
  await page.fill('textarea[name=tester-query]', 'shared=yes');
  assert.deepEqual(await testAndRows(page, '2 records visible to a guest'), [notes.Ann, notes.Bob]);
  await page.locator('.tester-request').scrollIntoViewIfNeeded();
  await shot(page, 'ruletest-request');
  await page.fill('textarea[name=tester-query]', '');

  // A draft rule, not saved: public in the editor means everyone sees both.
  const list = page.locator('fieldset.rule', { hasText: 'List' });
  await list.locator('label', { hasText: 'Public' }).click();
  assert.deepEqual(await testAndRows(page, '2 records visible to a guest'), [notes.Ann, notes.Bob]);
  await page.locator('.tester-answer', { hasText: 'everyone sees every record' }).waitFor();
  w.check();
  await page.close();
});
