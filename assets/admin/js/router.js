// Hash routes: the server serves one page, and the part after '#' says
// which view shows. Patterns are '/'-separated with ':name' parameters.
import { useEffect, useState } from './lib.js';

const routes = [
  ['/install/:token', 'install'],
  ['/auth/oauth2-redirect-success', 'oauth2Success'],
  ['/auth/oauth2-redirect-failure', 'oauth2Failure'],
  ['/superusers', 'superusers'],
  ['/collections/new', 'collectionNew'],
  ['/collections/:name/settings', 'collectionEdit'],
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

export function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parse(hash);
}

export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

export function go(...parts) {
  location.hash = href(...parts).slice(1);
}
