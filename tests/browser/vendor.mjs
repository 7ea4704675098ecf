// The admin UI's third-party files, copied unmodified from the packages
// pinned in package-lock.json (npm ci checks each tarball's integrity
// against the lockfile). `node vendor.mjs` (or ./vendor.sh) rewrites
// assets/admin/vendor/; vendor.test.mjs checks the copies still match.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const modules = join(here, 'node_modules');
export const target = join(here, '..', '..', 'assets', 'admin', 'vendor');

// htm's standalone build bundles Preact (10.x, with hooks) and htm into one
// ES module with no bare imports, so it loads without an import map (an
// inline script the CSP forbids). Preact's own package is pinned only for
// its licence, which covers the bundled Preact code.
export const files = [
  { pkg: 'htm', from: 'preact/standalone.module.js', to: 'htm-preact-standalone.module.js' },
  { pkg: 'htm', from: 'LICENSE', to: 'LICENSE-htm.txt' },
  { pkg: 'preact', from: 'LICENSE', to: 'LICENSE-preact.txt' },
];

/** The version package-lock.json pins for `pkg`. */
export function lockedVersion(pkg) {
  const lock = JSON.parse(readFileSync(join(here, 'package-lock.json'), 'utf8'));
  return lock.packages[`node_modules/${pkg}`]?.version;
}

/** The version actually installed in node_modules for `pkg`. */
export function installedVersion(pkg) {
  return JSON.parse(readFileSync(join(modules, pkg, 'package.json'), 'utf8')).version;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(target, { recursive: true });
  for (const f of files) {
    const locked = lockedVersion(f.pkg);
    if (installedVersion(f.pkg) !== locked) {
      throw new Error(`${f.pkg}: node_modules has ${installedVersion(f.pkg)}, the lockfile ${locked}; run npm ci`);
    }
    copyFileSync(join(modules, f.pkg, f.from), join(target, f.to));
    console.log(`${f.pkg}@${locked}/${f.from} -> assets/admin/vendor/${f.to}`);
  }
}
