// API rules in the collection editor, as a person writes them: the
// completion offers field names, relation paths, back-relations,
// @request.*, @collection.*, macros and modifiers, and is driven with the
// keyboard; a broken rule is checked by the server as its box is left
// (a dry run of the save), with the reason under the rule before anything
// is saved, the text kept, and fixed from there; auth collections show
// their sign-in and manage rules too.
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
  const authors = await api(server.base, token, 'POST', '/api/collections', {
    name: 'authors', type: 'base', fields: [{ name: 'name', type: 'text', presentable: true }],
  });
  const posts = await api(server.base, token, 'POST', '/api/collections', {
    name: 'posts', type: 'base',
    fields: [{ name: 'title', type: 'text' }, { name: 'published', type: 'bool' },
      { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
      { name: 'created', type: 'autodate', onCreate: true }],
  });
  await api(server.base, token, 'POST', '/api/collections', {
    name: 'comments', type: 'base',
    fields: [{ name: 'body', type: 'text' }, { name: 'post', type: 'relation', collectionId: posts.id, maxSelect: 1 }],
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/**
 * The completions on show, as their texts, once `ready` holds for them
 * (the list is drawn just after the keystroke); the last seen after 5 s.
 */
async function offered(page, rule, ready = (list) => list.length > 0) {
  let list = [];
  for (let i = 0; i < 50; i += 1) {
    list = await page.locator(`#${rule}-suggestions:not([hidden]) li code`).allTextContents();
    if (ready(list)) return list;
    await page.waitForTimeout(100);
  }
  return list;
}
const has = (...want) => (list) => want.every((x) => list.includes(x));

test('completion: fields, relation paths, back-relations, @request, @collection, macros and modifiers', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/posts/settings`);
  await page.locator('h1', { hasText: 'Settings of posts' }).waitFor();
  const rule = page.locator('fieldset.rule', { hasText: 'List' });
  await rule.locator('label', { hasText: 'Expression' }).click();
  const box = page.locator('textarea[name=listRule]');
  await box.focus();

  // A field name, then a step through the relation.
  await page.keyboard.type('aut');
  assert.deepEqual(await offered(page, 'listRule', has('author')), ['author']);
  await page.keyboard.press('Enter');
  await page.keyboard.type('.');
  const through = await offered(page, 'listRule', has('author.name'));
  assert.ok(through.includes('author.name') && through.includes('author.id'), through.join());
  await page.locator('#listRule-suggestions li', { hasText: 'author.name' }).click();
  assert.equal(await box.inputValue(), 'author.name');

  // @request.auth.* from the auth collections' fields, picked with the arrows.
  await page.keyboard.type(' = @request.');
  const request = await offered(page, 'listRule', has('@request.auth'));
  for (const want of ['@request.auth', '@request.body', '@request.method', '@request.headers']) {
    assert.ok(request.includes(want), `${want} in ${request.join()}`);
  }
  await page.keyboard.type('auth.em');
  assert.deepEqual(await offered(page, 'listRule', has('@request.auth.email')), ['@request.auth.email', '@request.auth.emailVisibility']);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Tab');
  assert.equal(await box.inputValue(), 'author.name = @request.auth.email');
  await shot(page, 'rules-completion');

  // Other collections, back-relations, macros and modifiers.
  await page.keyboard.type(' && @collection.');
  assert.ok((await offered(page, 'listRule', has('@collection.comments'))).includes('@collection.comments'));
  await page.keyboard.type('comments.');
  assert.ok((await offered(page, 'listRule', has('@collection.comments.post'))).includes('@collection.comments.post'));
  await page.keyboard.press('Escape');
  assert.deepEqual(await offered(page, 'listRule', (l) => l.length === 0), [], 'Escape closes the list');
  await page.keyboard.type('post ?= id && comm');
  assert.ok((await offered(page, 'listRule', has('comments_via_post'))).includes('comments_via_post'), 'the back-relation');
  await page.keyboard.press('Enter');
  await page.keyboard.type('.bo');
  await page.keyboard.press('Enter');
  await page.keyboard.type(' != "" && @request.body.title:');
  assert.deepEqual(await offered(page, 'listRule', has('@request.body.title:isset')),
    ['@request.body.title:isset', '@request.body.title:changed', '@request.body.title:length', '@request.body.title:each', '@request.body.title:lower'], 'the modifiers');
  await page.keyboard.type('is');
  await page.keyboard.press('Enter');
  await page.keyboard.type(' = false && created < @to');
  assert.deepEqual(await offered(page, 'listRule', has('@todayEnd')), ['@todayEnd', '@tomorrow', '@todayStart'], 'the macros');
  await page.keyboard.type('dayEnd');
  await page.keyboard.press('Escape');
  await shot(page, 'rules-completion-long');

  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^posts$/ }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/collections/posts');
  assert.equal(saved.listRule,
    'author.name = @request.auth.email && @collection.comments.post ?= id && comments_via_post.body != ""'
    + ' && @request.body.title:isset = false && created < @todayEnd');
  w.check();
  await page.close();
});

test('a broken rule: the server says why under it as the box is left, before saving; it is fixed from there', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/posts/settings`);
  await page.locator('h1', { hasText: 'Settings of posts' }).waitFor();
  const view = page.locator('fieldset.rule', { hasText: 'View' });
  await view.locator('label', { hasText: 'Expression' }).click();
  const box = page.locator('textarea[name=viewRule]');
  await box.fill('author.nmae = "Ursula" && published = true');

  // Leaving the box: the server checks the draft (a dry run), nothing is saved.
  w.expect(400, 'POST', '/api/collections/');
  await page.keyboard.press('Tab');
  const error = view.locator('.field-error');
  await error.waitFor();
  const reason = await error.textContent();
  assert.match(reason, /nmae/, `the reason names the unknown field: ${reason}`);
  assert.equal(await box.inputValue(), 'author.nmae = "Ursula" && published = true', 'the rule as typed');
  assert.equal(await box.getAttribute('aria-describedby'), 'viewRule-error', 'the box points at its error');
  assert.ok(await page.locator('textarea[name=viewRule].invalid').isVisible());
  await view.scrollIntoViewIfNeeded();
  await shot(page, 'rules-broken');
  assert.equal((await api(server.base, token, 'GET', '/api/collections/posts')).viewRule, null, 'nothing saved');

  // The fix, with the completion: the misspelt step is retyped.
  await box.focus();
  await box.evaluate((el) => el.setSelectionRange(7, 11));
  await page.keyboard.press('Backspace');
  await page.keyboard.type('na');
  assert.deepEqual(await offered(page, 'viewRule', has('author.name')), ['author.name']);
  await page.keyboard.press('Enter');
  assert.equal(await box.inputValue(), 'author.name = "Ursula" && published = true');
  assert.equal(await view.locator('.field-error').count(), 0, 'the old verdict goes once the rule is edited');
  await page.keyboard.press('Tab');
  await view.locator('.ok-hint', { hasText: 'The server accepts this rule' }).waitFor();
  await shot(page, 'rules-fixed');
  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^posts$/ }).waitFor();
  assert.equal((await api(server.base, token, 'GET', '/api/collections/posts')).viewRule, 'author.name = "Ursula" && published = true');
  w.check();
  await page.close();
});

test('auth collections: the sign-in and manage rules are there and saved', async () => {
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(`${server.base}/_/#/collections/users/settings`);
  await page.locator('h1', { hasText: 'Settings of users' }).waitFor();
  const manage = page.locator('fieldset.rule', { hasText: 'Manage' });
  const signin = page.locator('fieldset.rule', { hasText: 'Sign in' });
  assert.ok(await manage.isVisible() && await signin.isVisible());
  await signin.locator('label', { hasText: 'Expression' }).click();
  await page.locator('textarea[name=authRule]').fill('verified = true');
  await manage.locator('label', { hasText: 'Expression' }).click();
  await page.locator('textarea[name=manageRule]').focus();
  await page.keyboard.type('@request.auth.collectionN');
  await page.keyboard.press('Enter');
  await page.keyboard.type(' = "_superusers"');
  await manage.scrollIntoViewIfNeeded();
  await shot(page, 'rules-auth');
  await page.click('button:text-is("Save changes")');
  await page.locator('h1', { hasText: /^users$/ }).waitFor();
  const saved = await api(server.base, token, 'GET', '/api/collections/users');
  assert.equal(saved.authRule, 'verified = true');
  assert.equal(saved.manageRule, '@request.auth.collectionName = "_superusers"');
  w.check();
  await page.close();
});
