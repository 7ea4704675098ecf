// Shared pieces of the browser tests: a cairn server in a temp folder,
// headless Chromium, a watch on each page (console errors, page errors,
// failed requests, with the failures a scenario expects named up front),
// screenshots, and the first-load size.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const bin = process.env.CAIRN_BIN;
const chromiumPath = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const screenshots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

/** Starts `cairn serve` on a free port; with `superuser`, creates it
 * first; `args` are more arguments for `serve`. */
export async function startServer({ superuser, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-browser-'));
  const data = join(dir, 'data');
  if (superuser) {
    const r = spawnSync(bin, ['superuser', 'upsert', superuser.email, superuser.password, '--dir', data]);
    assert.equal(r.status, 0, String(r.stderr));
  }
  const proc = spawn(bin, ['serve', '--http', '127.0.0.1:0', '--dir', data, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: proc.stdout });
  const server = { proc, dir, base: null, installLink: null };
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('cairn did not print its banner')), 30_000);
    lines.on('line', (line) => {
      const started = line.match(/^Server started at (http:\/\/\S+)/);
      if (started) server.base = started[1];
      const link = line.match(/(http:\/\/\S+\/_\/#\/install\/\S+)/);
      if (link) server.installLink = link[1];
      if (server.base && (superuser || server.installLink)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  server.stop = () => {
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  return server;
}

export function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Records what goes wrong on a page. `expect(status, method, pathPrefix)`
 * names a failure the scenario provokes on purpose (each allows one);
 * `check()` asserts nothing else failed and every expected failure came.
 * Chromium's own "Failed to load resource" console line mirrors a failed
 * response, which the response list already judges; a realtime stream the
 * page closes itself is not a failure.
 */
export function watch(page) {
  const problems = [];
  const expected = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    // The records page closes its realtime stream when it goes, and calls
    // off a subscription still on its way: aborts Chromium reports as
    // failed requests, which they are not.
    const closedStream = r.failure()?.errorText === 'net::ERR_ABORTED'
      && new URL(r.url()).pathname === '/api/realtime';
    if (!closedStream) problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const path = new URL(r.url()).pathname;
    const i = expected.findIndex((e) => !e.seen && e.status === r.status() && e.method === r.request().method() && path.startsWith(e.path));
    if (i >= 0) expected[i].seen = true;
    else problems.push(`unexpected ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return {
    expect(status, method, path) { expected.push({ status, method, path, seen: false }); },
    check() {
      assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
      const missing = expected.filter((e) => !e.seen).map((e) => `${e.status} ${e.method} ${e.path}`);
      assert.deepEqual(missing, [], 'every provoked failure happened');
    },
  };
}

/** What a person sees: the viewport, as the page is scrolled. */
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** The gzip size of everything a cold first load fetches, by kind. */
export async function firstLoadSize(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const bodies = [];
  page.on('response', async (r) => {
    const type = r.request().resourceType();
    if (['document', 'script', 'stylesheet', 'font'].includes(type)) {
      bodies.push(r.body().then((b) => ({ type, url: r.url(), raw: b.length, gz: gzipSync(b, { level: 9 }).length })));
    }
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  const files = await Promise.all(bodies);
  await context.close();
  return { files, raw: files.reduce((n, f) => n + f.raw, 0), gz: files.reduce((n, f) => n + f.gz, 0) };
}

/**
 * Calls `check` every `ms` until it returns something truthy, and returns
 * that; after `tries` calls, fails naming `what` it waited for.
 */
export async function until(what, check, { tries = 150, ms = 200 } = {}) {
  for (let i = 0; i < tries; i++) {
    const got = await check();
    if (got) return got;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A superuser's token through the API, for setting up data quickly. */
export async function apiToken(base, email, password) {
  const r = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: email, password }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

export async function api(base, token, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method, headers: { 'content-type': 'application/json', authorization: token }, body: body && JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * A superuser's browser context at 1280×800, signed in through the page
 * (the session then lives in the context's HttpOnly cookie).
 */
export async function signedInContext(browser, base, { email, password }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/_/`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.locator('.shell').waitFor();
  await page.close();
  return context;
}
