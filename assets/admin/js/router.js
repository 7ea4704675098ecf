// Hash routes: the server serves one page, and the part after '#' says
// which view shows. Patterns are '/'-separated with ':name' parameters.
//
// One listener follows the hash for the whole page, so a page with
// unsaved changes (`useLeaveGuard` in leave_guard.js) can keep the route
// from changing before any view redraws for the new one.
import { useEffect, useState } from './lib.js';

const routes = [
  ['/install/:token', 'install'],
  ['/auth/oauth2-redirect-success', 'oauth2Success'],
  ['/auth/oauth2-redirect-failure', 'oauth2Failure'],
  ['/superusers', 'superusers'],
  ['/sync', 'sync'],
  ['/logs', 'logs'],
  ['/backups', 'backups'],
  ['/crons', 'crons'],
  ['/keys', 'keys'],
  ['/webhooks', 'webhooks'],
  ['/settings', 'settings'],
  ['/collections/new', 'collectionNew'],
  ['/collections/:name/settings', 'collectionEdit'],
  ['/collections/:name/api', 'collectionApi'],
  ['/collections/:name/records/new', 'recordNew'],
  ['/collections/:name/records/:id', 'recordEdit'],
  ['/collections/:name', 'records'],
  ['/', 'home'],
];

export function parse(hash) {
  const path = (hash.replace(/^#/, '').split('?')[0] || '/').replace(/(.)\/$/, '$1');
  const parts = path.split('/');
  for (const [pattern, name] of routes) {
    const want = pattern.split('/');
    if (want.length !== parts.length) continue;
    const params = {};
    const ok = want.every((w, i) => {
      if (w.startsWith(':')) {
        if (!parts[i]) return false;
        try { params[w.slice(1)] = decodeURIComponent(parts[i]); } catch { return false; }
        return true;
      }
      return w === parts[i];
    });
    if (ok) return { name, params, path };
  }
  return { name: 'notFound', params: {}, path };
}

let current = location.hash;
const followers = new Set();
// Asked before the route changes: true lets it; false keeps the page, and
// the check may call `proceed` later (once the person has said so) to go.
let mayLeave = null;
// The hash a `proceed` is going to: the check is not asked again for it.
let passing = null;

/** Sets the check asked before the route changes; returns its release. */
export function setLeaveCheck(check) {
  mayLeave = check;
  return () => { if (mayLeave === check) mayLeave = null; };
}

window.addEventListener('hashchange', () => {
  if (location.hash === current) return;
  const target = location.hash;
  const samePage = parse(target).path === parse(current).path;
  const passed = passing === target;
  passing = null;
  if (!samePage && !passed && mayLeave && !mayLeave(() => { passing = target; location.hash = target; })) {
    // Back where we were; the browser keeps the entry it added.
    history.replaceState(history.state, '', current || '#/');
    return;
  }
  current = location.hash;
  for (const follow of followers) follow(current);
});

export function useRoute() {
  const [hash, setHash] = useState(current);
  useEffect(() => {
    followers.add(setHash);
    setHash(location.hash);
    return () => followers.delete(setHash);
  }, []);
  return parse(hash);
}

export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

export function go(...parts) {
  location.hash = href(...parts).slice(1);
}
