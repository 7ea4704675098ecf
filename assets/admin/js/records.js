// A collection's records: a table with a column per field (columns can be
// hidden), sorting by a click on a header, PocketBase's filter syntax (the
// server's error shown under the bar, recent filters offered back), paging,
// selection with bulk delete and export, and live updates. The query lives
// in the hash (?filter=…) so a reload or a shared link shows the same rows.
import { html, useEffect, useState } from './lib.js';
import { del, enc, get } from './api.js';
import { href } from './router.js';
import { columnsOf, typeLabel } from './schema.js';
import { cell, recordLabel, thumbUrl } from './format.js';
import { useCollections } from './context.js';
import { allRecords, download } from './export.js';
import { useLive } from './live.js';
import { Confirm, Empty, ErrorNote, Loading, Page, toast, useLoad } from './ui.js';

const PAGE_SIZES = [20, 50, 100, 200, 500];

function queryOf() {
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  return {
    filter: q.get('filter') || '',
    sort: q.get('sort') || '-created',
    page: Math.max(1, Number(q.get('page')) || 1),
    perPage: PAGE_SIZES.includes(Number(q.get('perPage'))) ? Number(q.get('perPage')) : 50,
  };
}

function setQuery(collection, q) {
  const params = new URLSearchParams();
  if (q.filter) params.set('filter', q.filter);
  if (q.sort) params.set('sort', q.sort);
  if (q.page > 1) params.set('page', String(q.page));
  if (q.perPage !== 50) params.set('perPage', String(q.perPage));
  const s = params.toString();
  location.hash = `/collections/${enc(collection.name)}${s ? `?${s}` : ''}`;
}

// The last filters that worked, per collection, offered as suggestions.
// They are the superuser's own queries, kept in this browser only.
const RECENT = 8;
const recentKey = (collection) => `cairn.admin.filters:${collection.id}`;
function recentFilters(collection) {
  try {
    const list = JSON.parse(localStorage.getItem(recentKey(collection)) || '[]');
    return Array.isArray(list) ? list.filter((x) => typeof x === 'string') : [];
  } catch { return []; }
}
function remember(collection, filter) {
  const list = [filter, ...recentFilters(collection).filter((x) => x !== filter)].slice(0, RECENT);
  localStorage.setItem(recentKey(collection), JSON.stringify(list));
  return list;
}

// Whether to count the matching records, per collection, in this browser:
// on a very large collection the count (a full scan for most filters) is
// the slowest part of a page, and PocketBase's skipTotal leaves it out.
const countKey = (collection) => `cairn.admin.count:${collection.id}`;
const counting = (collection) => localStorage.getItem(countKey(collection)) !== 'off';

// Columns hidden by choice, per collection, in this browser.
const hiddenKey = (collection) => `cairn.admin.columns:${collection.id}`;
function hiddenColumns(collection) {
  try {
    const list = JSON.parse(localStorage.getItem(hiddenKey(collection)) || '[]');
    return new Set(Array.isArray(list) ? list : []);
  } catch { return new Set(); }
}

function ColumnsMenu({ fields, hidden, onChange }) {
  return html`<details class="columns-menu">
    <summary class="btn">Columns</summary>
    <div class="menu" role="group" aria-label="Columns to show">
      ${fields.map((f) => html`<label class="check"><input type="checkbox" checked=${!hidden.has(f.name)} disabled=${f.name === 'id'}
        onChange=${(e) => {
          const next = new Set(hidden);
          if (e.currentTarget.checked) next.delete(f.name); else next.add(f.name);
          onChange(next);
        }} />${f.name}</label>`)}
    </div>
  </details>`;
}

/** Export of every record the current filter matches. */
function ExportMenu({ collection, filter, sort }) {
  const [state, setState] = useState({ busy: false, error: null });
  const run = async (kind, e) => {
    e.currentTarget.closest('details').open = false;
    setState({ busy: true, error: null });
    try {
      download(collection, await allRecords(collection, filter, sort), kind);
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<details class="columns-menu">
    <summary class="btn">${state.busy ? 'Exporting…' : 'Export'}</summary>
    <div class="menu" role="group" aria-label="Export">
      <p class="muted small">${filter ? 'Every record this filter matches' : 'Every record'}, as:</p>
      <button type="button" class="btn small" onClick=${(e) => run('json', e)}>JSON</button>
      <button type="button" class="btn small" onClick=${(e) => run('csv', e)}>CSV</button>
      <${ErrorNote} error=${state.error} />
    </div>
  </details>`;
}

export function Records({ collection }) {
  const q = queryOf();
  const hasCreated = collection.fields.some((f) => f.name === 'created');
  const sort = q.sort === '-created' && !hasCreated ? '' : q.sort;
  // What is typed in the filter box, for the filter it was typed over:
  // when Back, Forward or a link changes the filter in the address, the
  // box shows the new one in that same render.
  const [edit, setEdit] = useState({ over: q.filter, text: q.filter });
  const typed = edit.over === q.filter ? edit.text : q.filter;
  const setTyped = (text) => setEdit({ over: q.filter, text });
  const { list } = useCollections();
  // Relations are shown by the related record's presentable fields.
  const relations = collection.fields.filter((f) => f.type === 'relation' && !f.hidden);
  const expand = relations.map((f) => f.name).join(',');
  const [count, setCount] = useState(() => counting(collection));
  useEffect(() => setCount(counting(collection)), [collection.id]);
  const chooseCount = (on) => { localStorage.setItem(countKey(collection), on ? 'on' : 'off'); setCount(on); };
  const loaded = useLoad(
    () => get(`/api/collections/${enc(collection.name)}/records`,
      { filter: q.filter, sort, page: q.page, perPage: q.perPage, expand, ...(count ? {} : { skipTotal: 1 }) }),
    [collection.name, q.filter, sort, q.page, q.perPage, expand, count],
  );
  // Rows appear, change and disappear as others write: the query is rerun.
  useLive(collection, loaded.reload);
  const show = (f, r) => {
    if (f.type === 'file' && r[f.name]?.length) {
      const names = Array.isArray(r[f.name]) ? r[f.name] : [r[f.name]];
      return html`<span class="files-cell">${names.map((n) => {
        const url = thumbUrl(collection, r, f, n);
        return url ? html`<img class="thumb" src=${url} alt=${n} title=${n} loading="lazy" />` : html`<span class="file-name">${n}</span>`;
      })}</span>`;
    }
    const related = f.type === 'relation' && r.expand?.[f.name];
    if (!related) return cell(f, r[f.name]);
    const target = list.find((c) => c.id === f.collectionId);
    return (Array.isArray(related) ? related : [related]).map((x) => recordLabel(target, x)).join(', ');
  };
  const [hidden, setHidden] = useState(() => hiddenColumns(collection));
  const chooseColumns = (next) => {
    setHidden(next);
    localStorage.setItem(hiddenKey(collection), JSON.stringify([...next]));
  };
  const columns = columnsOf(collection).filter((f) => !hidden.has(f.name));
  const go = (patch) => setQuery(collection, { ...q, ...patch });
  const data = loaded.data;
  const isView = collection.type === 'view';
  const [recent, setRecent] = useState(() => recentFilters(collection));
  useEffect(() => { if (data && !loaded.error && q.filter) setRecent(remember(collection, q.filter)); }, [data]);
  const [selected, setSelected] = useState(() => new Set());
  const [bulk, setBulk] = useState({ open: false, busy: false, error: null });
  // A selection belongs to the rows on screen: a new query starts afresh,
  // and a live reload keeps the picked rows that are still there.
  useEffect(() => setSelected(new Set()), [q.filter, sort, q.page, q.perPage]);
  useEffect(() => {
    if (!data) return;
    const present = new Set(data.items.map((r) => r.id));
    setSelected((s) => ([...s].every((id) => present.has(id)) ? s : new Set([...s].filter((id) => present.has(id)))));
  }, [data]);
  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id); else next.add(id);
    setSelected(next);
  };
  const allOnPage = data && data.items.length > 0 && data.items.every((r) => selected.has(r.id));
  const toggleAll = () => setSelected(allOnPage ? new Set() : new Set(data.items.map((r) => r.id)));
  async function deleteSelected() {
    setBulk({ open: true, busy: true, error: null });
    // One by one, so a refusal stops the run and says which record it was.
    for (const id of selected) {
      try {
        await del(`/api/collections/${enc(collection.name)}/records/${enc(id)}`);
      } catch (error) {
        error.message = `${id}: ${error.message}`;
        setBulk({ open: true, busy: false, error });
        loaded.reload();
        return;
      }
    }
    setBulk({ open: false, busy: false, error: null });
    toast(selected.size === 1 ? 'Record deleted' : `${selected.size} records deleted`);
    setSelected(new Set());
    loaded.reload();
  }

  const sortBy = (name) => go({ sort: sort === name ? `-${name}` : name, page: 1 });
  const header = (f) => {
    const dir = sort === f.name ? 'ascending' : sort === `-${f.name}` ? 'descending' : undefined;
    return html`<th aria-sort=${dir} class=${`col-${f.type}`}>
      <button type="button" class="th" onClick=${() => sortBy(f.name)} title=${`${typeLabel(f.type)} · sort by ${f.name}`}>
        ${f.name}<span class="arrow" aria-hidden="true">${dir === 'ascending' ? '▲' : dir === 'descending' ? '▼' : ''}</span></button></th>`;
  };

  return html`<${Page} title=${collection.name}
      sub=${data && data.totalItems >= 0 ? `${data.totalItems} record${data.totalItems === 1 ? '' : 's'}` : collection.type}
      actions=${html`<${ExportMenu} collection=${collection} filter=${q.filter} sort=${sort} />
        <${ColumnsMenu} fields=${columnsOf(collection)} hidden=${hidden} onChange=${chooseColumns} />
        <a class="btn" href=${href('collections', collection.name, 'api')}>API</a>
        <a class="btn" href=${href('collections', collection.name, 'settings')}>Settings</a>
        ${!isView && html`<a class="btn primary" href=${href('collections', collection.name, 'records', 'new')}>+ New record</a>`}`}>
    <form class="filter-bar" role="search" onSubmit=${(e) => { e.preventDefault(); const filter = typed.trim(); setEdit({ over: filter, text: filter }); go({ filter, page: 1 }); }}>
      <input name="filter" type="search" spellcheck="false" autocomplete="off" aria-label="Filter"
        class=${loaded.error && q.filter ? 'invalid' : ''} aria-describedby="filter-help"
        placeholder='Filter, e.g. title ~ "hello" && count > 2' value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)}
        list="recent-filters" />
      <datalist id="recent-filters">${recent.map((f) => html`<option value=${f} />`)}</datalist>
      <button class="btn" type="submit">Apply</button>
      ${q.filter && html`<button class="btn ghost" type="button" onClick=${() => { setEdit({ over: '', text: '' }); go({ filter: '', page: 1 }); }}>Clear</button>`}
    </form>
    <p id="filter-help" class="muted small">PocketBase filter syntax: <code>=</code> <code>!=</code> <code>~</code> <code>></code> <code>&&</code> <code>||</code>, quoted strings, <code>@now</code>.</p>
    <${ErrorNote} error=${loaded.error} title=${q.filter ? 'The filter was refused:' : 'The records could not be loaded:'} />
    <${Confirm} open=${bulk.open} title=${`Delete ${selected.size} record${selected.size === 1 ? '' : 's'}?`} busy=${bulk.busy} error=${bulk.error}
      onCancel=${() => setBulk({ open: false, busy: false, error: null })} onConfirm=${deleteSelected}>
      <p>The selected records of <strong>${collection.name}</strong> and their files are deleted. This cannot be undone.</p>
    </${Confirm}>
    ${!data && loaded.loading && html`<${Loading} label="Loading records…" />`}
    ${data && data.items.length === 0 && html`<${Empty} title=${q.filter ? 'No record matches this filter.' : 'No records yet.'}>
      ${!q.filter && !isView && html`<a class="btn primary" href=${href('collections', collection.name, 'records', 'new')}>Add the first record</a>`}</${Empty}>`}
    ${data && data.items.length > 0 && html`<div class=${`table-wrap${loaded.loading || loaded.error ? ' busy' : ''}`}
      title=${loaded.error ? 'The rows of the last query that worked' : undefined}>
      <table class="records">
        <thead><tr>${!isView && html`<th class="pick"><input type="checkbox" aria-label="Select all rows on this page"
          checked=${allOnPage} onChange=${toggleAll} /></th>`}${columns.map(header)}</tr></thead>
        <tbody>${data.items.map((r) => html`<tr key=${r.id} class=${selected.has(r.id) ? 'selected' : ''}>
          ${!isView && html`<td class="pick"><input type="checkbox" aria-label=${`Select ${r.id}`}
            checked=${selected.has(r.id)} onChange=${() => toggle(r.id)} /></td>`}
          ${columns.map((f, i) => html`<td class=${`col-${f.type}`}>${i === 0
            ? html`<a class="mono" href=${href('collections', collection.name, 'records', r.id)}>${r.id}</a>`
            : show(f, r)}</td>`)}
        </tr>`)}</tbody>
      </table></div>
      ${selected.size > 0 && html`<div class="bulk-bar" role="region" aria-label="Selection">
      <span>${selected.size} selected</span>
      <button class="btn small" type="button" onClick=${() => setSelected(new Set())}>Clear selection</button>
      <button class="btn small" type="button" onClick=${() => download(collection, data.items.filter((r) => selected.has(r.id)), 'json')}>Export JSON</button>
      <button class="btn small" type="button" onClick=${() => download(collection, data.items.filter((r) => selected.has(r.id)), 'csv')}>Export CSV</button>
      <button class="btn small danger" type="button" onClick=${() => setBulk({ open: true, busy: false, error: null })}>Delete selected</button>
    </div>`}
      <nav class="pager" aria-label="Pages">
        <span class="muted small">${(data.page - 1) * data.perPage + 1}–${(data.page - 1) * data.perPage + data.items.length}${data.totalItems >= 0 ? ` of ${data.totalItems}` : ''}</span>
        <button class="btn small" disabled=${data.page <= 1} onClick=${() => go({ page: data.page - 1 })}>‹ Previous</button>
        <span class="small">Page ${data.page}${data.totalPages >= 0 ? ` of ${Math.max(1, data.totalPages)}` : ''}</span>
        <button class="btn small" disabled=${data.totalPages >= 0 ? data.page >= data.totalPages : data.items.length < data.perPage}
          onClick=${() => go({ page: data.page + 1 })}>Next ›</button>
        <label class="small">Per page <select value=${q.perPage} onChange=${(e) => go({ perPage: Number(e.currentTarget.value), page: 1 })}>
          ${PAGE_SIZES.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
        <label class="check small" title="Counting every match is the slowest part of a page on a very large collection">
          <input type="checkbox" name="count" checked=${count} onChange=${(e) => chooseCount(e.currentTarget.checked)} />Count all</label>
      </nav>`}
  </${Page}>`;
}
