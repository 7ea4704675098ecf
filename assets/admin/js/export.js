// Records (and collection definitions) out of the dashboard as JSON or
// CSV files, made in the page.
import { enc, get } from './api.js';
import { columnsOf } from './schema.js';

/** Every record the filter matches, page by page (500 at a time). */
export async function allRecords(collection, filter, sort) {
  const items = [];
  for (let page = 1; ; page++) {
    const got = await get(`/api/collections/${enc(collection.name)}/records`, { filter, sort, page, perPage: 500, skipTotal: 1 });
    items.push(...got.items);
    if (got.items.length < 500) return items;
  }
}

// A cell a spreadsheet would run as a formula gets a leading quote: an
// exported value must not become code in whoever opens the file.
function csvCell(value) {
  let s = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(collection, records) {
  const names = columnsOf(collection).map((f) => f.name);
  const lines = [names.map(csvCell).join(',')];
  for (const r of records) lines.push(names.map((n) => csvCell(r[n])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Saves `records` as `<collection>.<kind>` through the browser's download. */
export function download(collection, records, kind) {
  const clean = records.map(({ expand, ...r }) => r);
  const text = kind === 'csv' ? toCsv(collection, clean) : `${JSON.stringify(clean, null, 2)}\n`;
  saveText(`${collection.name}.${kind}`, text, kind === 'csv' ? 'text/csv' : 'application/json');
}

/** Saves `text` as the file `name` through the browser's download. */
export function saveText(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
