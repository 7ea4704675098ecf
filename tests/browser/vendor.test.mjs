// The vendored files in assets/admin/vendor/ are the unmodified files of
// the packages package-lock.json pins: byte for byte, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { files, installedVersion, lockedVersion, modules, target } from './vendor.mjs';

test('node_modules holds the versions the lockfile pins', () => {
  for (const pkg of new Set(files.map((f) => f.pkg))) {
    assert.ok(lockedVersion(pkg), `${pkg} is in package-lock.json`);
    assert.equal(installedVersion(pkg), lockedVersion(pkg), pkg);
  }
});

test('each vendored file is the package file, byte for byte', () => {
  for (const f of files) {
    const want = readFileSync(join(modules, f.pkg, f.from));
    const have = readFileSync(join(target, f.to));
    assert.ok(want.equals(have), `assets/admin/vendor/${f.to} differs from ${f.pkg}/${f.from}; run tests/browser/vendor.sh`);
  }
});

test('the vendor folder holds only the listed files', () => {
  assert.deepEqual(readdirSync(target).sort(), files.map((f) => f.to).sort());
});
