// An `editor` field holding hostile HTML, as any client may store it: the
// records table shows only its text, and the record editor (its visual
// view and its HTML view's preview) renders it in a sandbox where its
// script never runs and its event handlers do nothing to the dashboard.
// The visual view's toolbar makes the HTML that is saved.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiToken, launch, shot, signedInContext, startServer } from './harness.mjs';

const admin = { email: 'admin@example.com', password: 'admin-pass-123' };
const HOSTILE = '<p>Hello <b>bold</b> world</p><script>parent.document.title = "pwned"</script>'
  + '<img src="x" onerror="parent.document.title = \'pwned too\'">';
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
    name: 'pages', type: 'base', fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'editor' }],
  });
  context = await signedInContext(browser, server.base, admin);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('hostile HTML in an editor field: text in the table, a sandboxed preview', async () => {
  const record = await api(server.base, token, 'POST', '/api/collections/pages/records', { title: 'Home', body: HOSTILE });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.base}/_/#/collections/pages`);
  const cell = page.locator('td', { hasText: 'Hello bold world' });
  await cell.waitFor();
  assert.equal(await page.locator('td', { hasText: '<p>' }).count(), 0, 'no markup in the table');
  const title = await page.title();

  await page.locator('td a', { hasText: record.id }).click();
  // It opens as it looks: in a frame that may be edited but runs nothing.
  const visual = page.locator('iframe.rich-visual');
  await visual.waitFor();
  assert.doesNotMatch(await visual.getAttribute('sandbox'), /allow-scripts/, 'no scripts in the visual editor');
  await page.frameLocator('iframe.rich-visual').locator('b', { hasText: 'bold' }).waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.title(), title, 'the visual editor ran neither the script nor the handler');
  await page.click('.rt-modes button:text-is("HTML source")');
  const box = page.locator('textarea[name=body]');
  await box.waitFor();
  assert.equal(await box.inputValue(), HOSTILE, 'the HTML is there to edit, as stored');
  await page.click('.rich-text button:text-is("Preview")');
  const frame = page.locator('iframe.rich-preview');
  await frame.waitFor();
  assert.equal(await frame.getAttribute('sandbox'), '', 'a sandbox with nothing allowed');
  const inner = page.frameLocator('iframe.rich-preview');
  await inner.locator('b', { hasText: 'bold' }).waitFor();
  await page.waitForTimeout(300);
  assert.equal(await page.title(), title, 'neither the script nor the handler reached the dashboard');
  // The preview follows what is typed.
  await box.fill('<p>Now <i>edited</i></p>');
  await inner.locator('i', { hasText: 'edited' }).waitFor();
  await shot(page, 'record-rich-text');
  // Chromium says it blocked the sandboxed script; nothing else went wrong.
  assert.deepEqual(errors.filter((e) => !/sandboxed|Content Security Policy/.test(e)), []);
  await page.close();
});

test('visual editing: typed text, bold, a heading, a list and a link are what is saved', async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.base}/_/#/collections/pages/records/new`);
  await page.fill('#f-title', 'About');
  const body = page.frameLocator('iframe.rich-visual').locator('body');
  await body.click();
  await page.keyboard.type('Title line');
  await page.click('.rt-toolbar button[aria-label=Heading]');
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('plain ');
  await page.click('.rt-toolbar button[aria-label=Bold]');
  await page.keyboard.type('strong');
  await page.click('.rt-toolbar button[aria-label=Bold]');
  await page.keyboard.press('Enter');
  await page.click('.rt-toolbar button[aria-label="Bulleted list"]');
  await page.keyboard.type('first item');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  // A link where nothing is selected: the address is its text.
  await page.click('.rt-toolbar button[aria-label=Link]');
  const address = page.locator('.rt-link input');
  await address.fill('javascript:alert(1)');
  assert.ok(await page.locator('.rt-link button:text-is("Set link")').isDisabled(), 'no script addresses');
  await address.fill('https://example.com/');
  await page.click('.rt-link button:text-is("Set link")');
  await body.locator('a[href="https://example.com/"]').waitFor();
  await shot(page, 'rich-text-visual');
  await page.click('.rt-modes button:text-is("HTML source")');
  const source = await page.inputValue('textarea[name=body]');
  assert.match(source, /<h2>Title line<\/h2>/);
  assert.match(source, /<b>strong<\/b>/);
  assert.match(source, /<ul><li>first item<\/li><\/ul>/);
  assert.doesNotMatch(source, /style=/, 'no inline style copied into the text');
  await page.click('button:text-is("Create record")');
  await page.locator('h1', { hasText: /^pages$/ }).waitFor();
  const saved = (await api(server.base, token, 'GET', '/api/collections/pages/records?filter=' + encodeURIComponent('title="About"'))).items[0];
  assert.equal(saved.body, source, 'what the editor made is what is stored');
  assert.match(saved.body, /<a href="https:\/\/example.com\/">/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('phone width, dark: the visual editor and its toolbar fit; Escape in it leaves as elsewhere', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', storageState: await context.storageState() });
  const page = await phone.newPage();
  await page.goto(`${server.base}/_/#/collections/pages/records/new`);
  await page.locator('iframe.rich-visual').scrollIntoViewIfNeeded();
  await page.click('.rt-toolbar button[aria-label=Link]');
  await shot(page, 'phone-dark-rich-text');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
  // Escape typed in the frame leaves the untouched form, as from any box.
  await page.frameLocator('iframe.rich-visual').locator('body').click();
  await page.keyboard.press('Escape');
  await page.locator('h1', { hasText: /^pages$/ }).waitFor();
  await phone.close();
});

/** The colour of the pixel at (x, y) of a PNG, decoded by a blank page's canvas. */
async function pixel(png, x, y) {
  const blank = await browser.newPage();
  const rgb = await blank.evaluate(async ({ data, x, y }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    return [...g.getImageData(x, y, 1, 1).data.slice(0, 3)];
  }, { data: png.toString('base64'), x, y });
  await blank.close();
  return rgb;
}

test('the visual editor follows the theme: light paper in light, the dark panel in dark', async () => {
  // Signed in afresh: the phone test above took this context's session along (its refresh was rotated there).
  const own = await signedInContext(browser, server.base, admin);
  const page = await own.newPage();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(`${server.base}/_/#/collections/pages/records/new`);
  const frame = page.locator('iframe.rich-visual');
  const body = page.frameLocator('iframe.rich-visual').locator('body');
  await body.locator('p').waitFor();
  const colours = () => body.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
  await body.click();
  await page.keyboard.type('Some words');
  // The frame's own stylesheet loads after the frame: wait for it to apply.
  await page.waitForFunction(() => {
    const d = document.querySelector('iframe.rich-visual')?.contentDocument;
    return d && [...d.styleSheets].some((s) => s.href?.endsWith('/rich_text.css'));
  });
  assert.deepEqual(await colours(), ['rgb(255, 255, 255)', 'rgb(28, 35, 48)'], 'light: white paper, dark ink');
  assert.deepEqual(await pixel(await frame.screenshot(), 6, 150), [255, 255, 255]);

  await page.emulateMedia({ colorScheme: 'dark' });
  assert.deepEqual(await colours(), ['rgb(27, 31, 38)', 'rgb(227, 231, 238)'], 'dark: the panel colour, light ink');
  const [r, g, b] = await pixel(await frame.screenshot(), 6, 150);
  assert.ok(r < 60 && g < 60 && b < 60, `a dark pixel in the editing area, not white (${r}, ${g}, ${b})`);
  await frame.scrollIntoViewIfNeeded();
  await shot(page, 'rich-text-dark');
  // What is typed in the dark is still plain text: no colour is written into it.
  await page.click('.rt-modes button:text-is("HTML source")');
  assert.equal(await page.inputValue('textarea[name=body]'), '<p>Some words</p>');
  await own.close();
});
