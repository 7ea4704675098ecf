// The dashboard's root: which page shows for the route and the session,
// and the shell around signed-in pages (sidebar of collections, content).
import { html, render, useEffect, useMemo, useState } from './lib.js';
import { Collections, useCollections } from './context.js';
import { get, restore, session, signOut } from './api.js';
import { useRoute, href } from './router.js';
import { ErrorNote, Loading, Empty, Toasts, useLoad, Page } from './ui.js';
import { Installer, OAuth2Outcome, SignIn } from './signin.js';
import { LeaveDialog } from './leave_guard.js';
import { CollectionEditor } from './collection_editor.js';
import { Records } from './records.js';
import { ApiPreview } from './api_page.js';
import { RecordEditor } from './record_editor.js';
import { Superusers } from './superusers.js';
import { Sync } from './sync.js';
import { Logs } from './logs.js';
import { Backups } from './backups.js';
import { Crons } from './crons.js';
import { Keys } from './keys.js';
import { Settings } from './settings.js';
import { Webhooks } from './webhooks.js';

function useSession() {
  const [, tick] = useState(0);
  useEffect(() => session.subscribe(() => tick((n) => n + 1)), []);
  return session.state;
}

function App() {
  const route = useRoute();
  const state = useSession();
  useEffect(() => { restore(); }, []);
  if (route.name === 'install') return html`<${Installer} token=${route.params.token} />`;
  if (route.name === 'oauth2Success' || route.name === 'oauth2Failure') {
    return html`<${OAuth2Outcome} ok=${route.name === 'oauth2Success'} />`;
  }
  if (state === 'unknown') return html`<div class="center"><${Loading} /></div>`;
  if (state === 'out') return html`<${SignIn} />`;
  const lapsed = state === 'lapsed';
  return html`<${Shell} route=${route} inert=${lapsed} />${lapsed && html`<${SignIn} lapsed=${true} />`}`;
}

function Shell({ route, inert }) {
  const loaded = useLoad(() => get('/api/collections', { perPage: 500, sort: 'name' }), []);
  const [menu, setMenu] = useState(false);
  // A new page starts at its top, with the phone menu closed.
  useEffect(() => { setMenu(false); window.scrollTo(0, 0); }, [route.path]);
  const ctx = useMemo(() => ({ list: loaded.data?.items || [], reload: loaded.reload, saved: (c) => savedOne(loaded, c) }), [loaded.data]);
  return html`<${Collections.Provider} value=${ctx}>
    <div class=${`shell${menu ? ' menu-open' : ''}`} inert=${inert}>
      <header class="topbar">
        <button class="btn ghost" aria-expanded=${menu} aria-controls="sidebar" onClick=${() => setMenu(!menu)}>☰ Menu</button>
        <a class="brand" href="#/"><span class="mark" aria-hidden="true"></span>Cairn</a>
      </header>
      <${Sidebar} loaded=${loaded} current=${route.params.name} page=${route.name} />
      <main class="content" id="content">
        ${loaded.error && !loaded.data ? html`<${Page} title="Collections"><${ErrorNote} error=${loaded.error} title="The collections could not be loaded." />
          <button class="btn" onClick=${loaded.reload}>Try again</button></${Page}>`
        : !loaded.data ? html`<${Loading} />` : html`<${Content} route=${route} />`}
      </main>
      <${Toasts} />
      <${LeaveDialog} />
    </div>
  </${Collections.Provider}>`;
}

// A saved collection takes its place in the list at once, as the server
// answered it, so a page opened before the list is read again never shows
// the version it replaced; the list is then read again (other changes, such
// as a view's columns, may follow from it).
function savedOne(loaded, c) {
  loaded.replace((d) => {
    if (!d) return d;
    const items = d.items.filter((x) => x.id !== c.id).concat([c]).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { ...d, items };
  });
  loaded.reload();
}

function Content({ route }) {
  const { list } = useCollections();
  const p = route.params;
  const collection = p.name && list.find((c) => c.name === p.name || c.id === p.name);
  switch (route.name) {
    case 'home': return html`<${Home} />`;
    case 'superusers': return html`<${Superusers} />`;
    case 'sync': return html`<${Sync} />`;
    case 'logs': return html`<${Logs} />`;
    case 'backups': return html`<${Backups} />`;
    case 'crons': return html`<${Crons} />`;
    case 'keys': return html`<${Keys} />`;
    case 'webhooks': return html`<${Webhooks} />`;
    case 'settings': return html`<${Settings} />`;
    case 'collectionNew': {
      const from = new URLSearchParams(location.hash.split('?')[1] || '').get('from');
      const source = from && list.find((c) => c.name === from);
      return html`<${CollectionEditor} key=${`new-${source?.id || ''}`} from=${source} />`;
    }
    default: break;
  }
  if (!collection) {
    return html`<${Page} title="Not found"><${Empty} title=${p.name ? `There is no collection “${p.name}”.` : 'There is no such page.'}>
      <a class="btn" href="#/">Back to the start</a></${Empty}></${Page}>`;
  }
  switch (route.name) {
    case 'collectionEdit': return html`<${CollectionEditor} key=${collection.id} collection=${collection} />`;
    case 'records': return html`<${Records} key=${collection.id} collection=${collection} />`;
    case 'collectionApi': return html`<${ApiPreview} key=${collection.id} collection=${collection} />`;
    case 'recordNew': {
      const from = new URLSearchParams(location.hash.split('?')[1] || '').get('from') || undefined;
      return html`<${RecordEditor} key=${`new-${from || ''}`} collection=${collection} from=${from} />`;
    }
    case 'recordEdit': return html`<${RecordEditor} key=${p.id} collection=${collection} id=${p.id} />`;
    default: return null;
  }
}

function Home() {
  const { list } = useCollections();
  const mine = list.filter((c) => !c.system);
  return html`<${Page} title="Welcome" sub=${`Signed in as ${session.user?.email}`}>
    ${mine.length === 0
      ? html`<${Empty} title="No collections yet">
          <p>A collection is a table of records with typed fields and access rules; it gets a REST API at once.</p>
          <a class="btn primary" href="#/collections/new">Create your first collection</a></${Empty}>`
      : html`<p>Pick a collection on the left, or <a href="#/collections/new">create a new one</a>.</p>`}
    <p class="muted">The API reference for your collections is at <a href="/api/docs">/api/docs</a>.</p>
  </${Page}>`;
}

// The pages beside the collections: [route, mark, label].
const PAGES = [
  ['superusers', 'S', 'Superusers'], ['sync', '⇅', 'Import and export'], ['logs', 'L', 'Logs'],
  ['backups', 'B', 'Backups'], ['crons', 'J', 'Scheduled jobs'], ['keys', 'K', 'API keys'],
  ['webhooks', 'W', 'Webhooks'], ['settings', '⚙', 'Settings'],
];

function Sidebar({ loaded, current, page }) {
  const [q, setQ] = useState('');
  const list = loaded.data?.items || [];
  const needle = q.trim().toLowerCase();
  const shown = list.filter((c) => !needle || c.name.toLowerCase().includes(needle));
  const mine = shown.filter((c) => !c.system);
  const system = shown.filter((c) => c.system);
  const item = (c) => html`<li><a href=${href('collections', c.name)} aria-current=${c.name === current ? 'page' : undefined}>
    <span class=${`kind kind-${c.type}`} aria-hidden="true">${c.type === 'auth' ? 'A' : c.type === 'view' ? 'V' : 'B'}</span>${c.name}</a></li>`;
  return html`<nav class="sidebar" id="sidebar" aria-label="Collections">
    <a class="brand" href="#/"><span class="mark" aria-hidden="true"></span>Cairn</a>
    <input class="search" type="search" placeholder="Search collections" aria-label="Search collections"
      value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
    <a class="btn primary wide" href="#/collections/new">+ New collection</a>
    ${loaded.loading && !loaded.data && html`<${Loading} />`}
    ${loaded.data && mine.length === 0 && html`<p class="muted small">${needle ? 'No collection matches.' : 'No collections yet.'}</p>`}
    <ul class="nav-list">${mine.map(item)}</ul>
    ${system.length > 0 && html`<details class="system" open=${needle ? true : undefined}>
      <summary>System (${system.length})</summary><ul class="nav-list">${system.map(item)}</ul></details>`}
    <div class="nav-extra"><ul class="nav-list">${PAGES.map(([name, mark, label]) => html`<li><a href=${`#/${name}`}
      aria-current=${page === name ? 'page' : undefined}><span class="kind" aria-hidden="true">${mark}</span>${label}</a></li>`)}</ul></div>
    <div class="who">
      <span class="small muted" title=${session.user?.email}>${session.user?.email}</span>
      <button class="btn ghost small" onClick=${() => signOut().catch(() => {})}>Sign out</button>
    </div>
  </nav>`;
}

render(html`<${App} />`, document.getElementById('app'));
