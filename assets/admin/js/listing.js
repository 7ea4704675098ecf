// Pieces of a paged, filtered, sorted list whose query lives in the hash
// (?filter=…&sort=…&page=…), as on the records page: the filter bar, a
// sortable column header and the pager.
import { html, useEffect, useState } from './lib.js';

export const PAGE_SIZES = [20, 50, 100, 200, 500];

/** The hash's query over `defaults` (numbers stay numbers). */
export function readQuery(defaults) {
  const q = new URLSearchParams(location.hash.split('?')[1] || '');
  const out = {};
  for (const [k, d] of Object.entries(defaults)) {
    const raw = q.get(k);
    if (raw === null) out[k] = d;
    else if (typeof d === 'number') out[k] = Math.max(1, Number(raw) || d);
    else out[k] = raw;
  }
  if ('perPage' in defaults && !PAGE_SIZES.includes(out.perPage)) out.perPage = defaults.perPage;
  return out;
}

/** Sets the hash to `path` with what in `q` differs from `defaults`. */
export function writeQuery(path, defaults, q) {
  const params = new URLSearchParams();
  for (const [k, d] of Object.entries(defaults)) if (q[k] !== d && q[k] !== '') params.set(k, String(q[k]));
  const s = params.toString();
  location.hash = `${path}${s ? `?${s}` : ''}`;
}

export function FilterBar({ value, invalid, onApply, placeholder, help }) {
  const [typed, setTyped] = useState(value);
  useEffect(() => setTyped(value), [value]);
  return html`<form class="filter-bar" role="search" onSubmit=${(e) => { e.preventDefault(); onApply(typed.trim()); }}>
      <input name="filter" type="search" spellcheck="false" autocomplete="off" aria-label="Filter"
        class=${invalid ? 'invalid' : ''} aria-describedby="filter-help"
        placeholder=${placeholder} value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} />
      <button class="btn" type="submit">Apply</button>
      ${value && html`<button class="btn ghost" type="button" onClick=${() => { setTyped(''); onApply(''); }}>Clear</button>`}
    </form>
    <p id="filter-help" class="muted small">${help}</p>`;
}

export function SortHeader({ field, label, sort, onSort, numeric }) {
  const dir = sort === field ? 'ascending' : sort === `-${field}` ? 'descending' : undefined;
  return html`<th aria-sort=${dir} class=${numeric ? 'col-number' : ''} scope="col">
    <button type="button" class="th" onClick=${() => onSort(sort === `-${field}` ? field : `-${field}`)} title=${`Sort by ${field}`}>
      ${label}<span class="arrow" aria-hidden="true">${dir === 'ascending' ? '▲' : dir === 'descending' ? '▼' : ''}</span></button></th>`;
}

export function Pager({ data, perPage, onGo }) {
  return html`<nav class="pager" aria-label="Pages">
    <span class="muted small">${(data.page - 1) * data.perPage + 1}–${(data.page - 1) * data.perPage + data.items.length} of ${data.totalItems}</span>
    <button class="btn small" disabled=${data.page <= 1} onClick=${() => onGo({ page: data.page - 1 })}>‹ Previous</button>
    <span class="small">Page ${data.page} of ${Math.max(1, data.totalPages)}</span>
    <button class="btn small" disabled=${data.page >= data.totalPages} onClick=${() => onGo({ page: data.page + 1 })}>Next ›</button>
    <label class="small">Per page <select value=${perPage} onChange=${(e) => onGo({ perPage: Number(e.currentTarget.value), page: 1 })}>
      ${PAGE_SIZES.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
  </nav>`;
}
