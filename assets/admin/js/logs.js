// The request log: requests per hour as a bar chart (plain SVG), a list
// with the filter language, sorting and paging, and one entry's every
// field in a side panel. The query and the open entry live in the hash
// (?filter=…&log=ID), so a reload or a shared link shows the same thing.
import { html, useEffect, useRef } from './lib.js';
import { enc, get } from './api.js';
import { Empty, ErrorNote, Loading, Page, useLoad } from './ui.js';
import { FilterBar, Pager, SortHeader, readQuery, writeQuery } from './listing.js';

const DEFAULTS = { filter: '', sort: '-created', page: 1, perPage: 50, log: '' };

// PocketBase's levels (slog's): DEBUG -4, INFO 0, WARN 4, ERROR 8.
export const LEVELS = [[-4, 'DEBUG'], [0, 'INFO'], [4, 'WARN'], [8, 'ERROR']];
export function levelName(n) {
  const known = LEVELS.find(([v]) => v === n);
  return known ? known[1] : String(n);
}

const COLUMNS = [
  ['created', 'Time'], ['level', 'Level'], ['data.method', 'Method'], ['data.url', 'URL'],
  ['data.status', 'Status', true], ['data.execTime', 'Time taken', true], ['data.userIP', 'IP'],
];

export function Logs() {
  const q = readQuery(DEFAULTS);
  const go = (patch) => writeQuery('/logs', DEFAULTS, { ...q, ...patch });
  const loaded = useLoad(
    () => get('/api/logs', { filter: q.filter, sort: q.sort, page: q.page, perPage: q.perPage }),
    [q.filter, q.sort, q.page, q.perPage],
  );
  const stats = useLoad(() => get('/api/logs/stats', { filter: q.filter }), [q.filter]);
  const data = loaded.data;
  const reload = () => { loaded.reload(); stats.reload(); };
  return html`<${Page} title="Logs" sub=${data ? `${data.totalItems} entr${data.totalItems === 1 ? 'y' : 'ies'}` : 'Requests and warnings'}
      actions=${html`<button class="btn" type="button" onClick=${reload} disabled=${loaded.loading}>Refresh</button>`}>
    <${FilterBar} value=${q.filter} invalid=${Boolean(loaded.error && q.filter)} onApply=${(filter) => go({ filter, page: 1, log: '' })}
      placeholder='Filter, e.g. data.status >= 400 && data.url ~ "/api/"'
      help=${html`Fields: <code>level</code> <code>message</code> <code>created</code> <code>data.status</code> <code>data.method</code> <code>data.url</code> <code>data.execTime</code> <code>data.userIP</code> <code>data.auth</code>.`} />
    <${ErrorNote} error=${loaded.error} title=${q.filter ? 'The filter was refused:' : 'The logs could not be loaded:'} />
    <${Chart} stats=${stats} />
    ${!data && loaded.loading && html`<${Loading} label="Loading logs…" />`}
    ${data && data.items.length === 0 && html`<${Empty} title=${q.filter ? 'No entry matches this filter.' : 'No log entries yet.'}>
      ${!q.filter && html`<p>Requests are logged as they come; the retention is set under Settings.</p>`}</${Empty}>`}
    ${data && data.items.length > 0 && html`<div class=${`table-wrap${loaded.loading || loaded.error ? ' busy' : ''}`}>
      <table class="records logs">
        <thead><tr>${COLUMNS.map(([key, label, numeric]) => html`<${SortHeader} key=${key} field=${key} label=${label} numeric=${numeric} sort=${q.sort}
          onSort=${(sort) => go({ sort, page: 1 })} />`)}</tr></thead>
        <tbody>${data.items.map((e) => html`<${Row} key=${e.id} entry=${e} open=${q.log === e.id} onOpen=${() => go({ log: e.id })} />`)}</tbody>
      </table></div>
      <${Pager} data=${data} perPage=${q.perPage} onGo=${go} />`}
    <${Detail} id=${q.log} onClose=${() => go({ log: '' })} />
  </${Page}>`;
}

function Row({ entry: e, open, onOpen }) {
  const d = e.data || {};
  const request = d.type === 'request' || d.method;
  const status = Number(d.status);
  const when = String(e.created);
  // The whole row opens the entry; its link is the keyboard's way in.
  return html`<tr class=${`clickable${open ? ' selected' : ''}`} data-id=${e.id} onClick=${onOpen}>
    <td class="mono small"><a href=${`#/logs?log=${enc(e.id)}`} onClick=${(ev) => { ev.preventDefault(); ev.stopPropagation(); onOpen(); }}
      aria-label=${`Entry of ${when}`}><span class="date">${when.slice(0, 11)}</span>${when.slice(11, 19)}</a></td>
    <td><span class=${`level level-${levelName(e.level).toLowerCase()}`}>${levelName(e.level)}</span></td>
    <td class="mono small">${request ? d.method : ''}</td>
    <td class="url" title=${request ? d.url : e.message}>${request ? d.url : e.message}</td>
    <td class=${`col-number${status >= 500 ? ' bad' : status >= 400 ? ' warn' : ''}`}>${request ? d.status : ''}</td>
    <td class="col-number">${typeof d.execTime === 'number' ? `${d.execTime.toFixed(d.execTime < 10 ? 2 : 0)} ms` : ''}</td>
    <td class="mono small">${d.userIP || ''}</td>
  </tr>`;
}

const HOUR = 3600_000;
const MAX_BARS = 24 * 14;

/** "2006-01-02 15:00:00.000Z" as ms since the epoch. */
const parseDate = (s) => Date.parse(String(s).replace(' ', 'T'));
const hourText = (ms) => new Date(ms).toISOString().slice(0, 13).replace('T', ' ') + ':00';

/**
 * Requests per hour, from the first hour with any to now; hours without
 * entries are drawn as gaps. Each bar is an SVG rect with a title, and
 * the totals are also in a visually hidden table for screen readers.
 */
function Chart({ stats }) {
  const rows = Array.isArray(stats.data) ? stats.data : [];
  if (!stats.data && stats.loading) return html`<div class="chart chart-empty"><${Loading} label="Loading the chart…" /></div>`;
  if (stats.error && !stats.data) return null;
  const counts = new Map(rows.map((r) => [Math.floor(parseDate(r.date) / HOUR), r.total]));
  const now = Math.floor(Date.now() / HOUR);
  const known = [...counts.keys()].filter(Number.isFinite);
  const first = Math.max(Math.min(now - 23, ...known), now - MAX_BARS + 1);
  const last = Math.max(now, ...known);
  const hours = [];
  for (let h = first; h <= last; h++) hours.push([h, counts.get(h) || 0]);
  const max = Math.max(1, ...hours.map(([, n]) => n));
  const total = hours.reduce((n, [, c]) => n + c, 0);
  const w = 10;
  return html`<figure class="chart" aria-label="Requests per hour">
    <figcaption class="chart-head"><span>Requests per hour</span>
      <span class="muted small">${total} in ${hours.length} hours (UTC) · peak ${max}</span></figcaption>
    <svg class="bars" viewBox=${`0 0 ${hours.length * w} 100`} preserveAspectRatio="none" role="img"
      aria-label=${`Bar chart of ${hours.length} hours, at most ${max} an hour`}>
      <line class="axis" x1="0" x2=${hours.length * w} y1="100" y2="100" />
      ${hours.map(([h, n], i) => n > 0 && html`<rect class="bar" x=${i * w + 1} width=${w - 2} y=${100 - (n / max) * 96} height=${(n / max) * 96}>
        <title>${hourText(h * HOUR)}: ${n}</title></rect>`)}
    </svg>
    <div class="chart-axis muted small"><span>${hourText(first * HOUR)}</span><span>${hourText(last * HOUR)}</span></div>
    <table class="visually-hidden"><caption>Requests per hour</caption>
      <tbody>${hours.filter(([, n]) => n > 0).map(([h, n]) => html`<tr><th scope="row">${hourText(h * HOUR)}</th><td>${n}</td></tr>`)}</tbody></table>
  </figure>`;
}

/** A query the server found slow (`--slow-query`): its SQL, SQLite's plan,
 * and the index that would serve it when the plan read the whole table. */
function SlowQuery({ query: q, n }) {
  return html`<section class="slow-query" aria-label=${`Slow query ${n}`}>
    <h3>Slow query <span class="muted">${Number(q.ms).toFixed(1)} ms</span></h3>
    <pre class="code">${q.sql}</pre>
    <h4>SQLite's plan</h4>
    <pre class="code">${(q.plan || []).join('\n')}</pre>
    ${q.suggestedIndex ? html`<p>It read the whole table. This index would let it search instead; add it under the collection's <em>Indexes</em>:</p>
      <pre class="code suggested-index">${q.suggestedIndex}</pre>
      <p><button type="button" class="btn small" onClick=${() => navigator.clipboard?.writeText(q.suggestedIndex)}>Copy the index</button></p>`
      : html`<p class="muted">No whole-table read: an index would not obviously help.</p>`}
  </section>`;
}

/** One entry in a side panel (a modal dialog: Escape closes it, focus stays inside). */
function Detail({ id, onClose }) {
  const ref = useRef(null);
  const loaded = useLoad(() => (id ? get(`/api/logs/${enc(id)}`) : Promise.resolve(null)), [id]);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (id && !d.open) d.showModal();
    if (!id && d.open) d.close();
  }, [id]);
  const e = loaded.data;
  const data = e?.data || {};
  const value = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v, null, 2) : String(v));
  return html`<dialog ref=${ref} class="drawer" aria-labelledby="log-title" onCancel=${(ev) => { ev.preventDefault(); onClose(); }}
    onClick=${(ev) => { if (ev.target === ref.current) onClose(); }}>
    <div class="drawer-body">
      <header class="drawer-head">
        <h2 id="log-title">Log entry</h2>
        <button type="button" class="btn ghost small" onClick=${onClose} aria-label="Close">✕</button>
      </header>
      ${loaded.error && html`<${ErrorNote} error=${loaded.error} title="The entry could not be loaded:" />`}
      ${id && !e && !loaded.error && html`<${Loading} />`}
      ${e && html`
        ${data.requestId && html`<p class="request-id">Request id <code>${data.requestId}</code></p>`}
        ${(data.slowQueries || []).map((q, i) => html`<${SlowQuery} query=${q} n=${i + 1} />`)}
        <dl class="props">
          <dt>id</dt><dd class="mono">${e.id}</dd>
          <dt>created</dt><dd class="mono">${e.created}</dd>
          <dt>level</dt><dd><span class=${`level level-${levelName(e.level).toLowerCase()}`}>${levelName(e.level)}</span> <span class="muted">(${e.level})</span></dd>
          <dt>message</dt><dd>${e.message}</dd>
          ${Object.keys(data).filter((k) => k !== 'slowQueries').sort().map((k) => html`<dt>data.${k}</dt><dd class=${typeof data[k] === 'object' && data[k] !== null ? 'pre' : 'mono'}>${
            data[k] === '' ? html`<span class="muted">(empty)</span>` : value(data[k])}</dd>`)}
        </dl>
        <p><button type="button" class="btn small" onClick=${() => navigator.clipboard?.writeText(JSON.stringify(e, null, 2))}>Copy as JSON</button></p>`}
    </div>
  </dialog>`;
}
