// How values look in the table and how dates cross between the API's
// UTC text ("2006-01-02 15:04:05.000Z") and a datetime-local input.

export function cell(field, value) {
  if (value === null || value === undefined || value === '') return '';
  if (Array.isArray(value)) return value.join(', ');
  if (field?.type === 'bool') return value ? 'yes' : 'no';
  // Dates to the minute (UTC, as stored); the record page shows the rest.
  if (field?.type === 'date' || field?.type === 'autodate') return String(value).slice(0, 16);
  if (field?.type === 'geoPoint') return `${value.lat}, ${value.lon}`;
  if (typeof value === 'object') return JSON.stringify(value);
  const s = field?.type === 'editor' ? textOf(value) : String(value);
  return s.length > 60 ? `${s.slice(0, 59)}…` : s;
}

/**
 * The text of an `editor` field's HTML, for a table cell. DOMParser makes
 * an inert document: its scripts never run and its images never load, so
 * whatever the HTML holds does nothing here; only its text is shown.
 */
export function textOf(htmlText) {
  const doc = new DOMParser().parseFromString(String(htmlText), 'text/html');
  return (doc.body.textContent || '').replace(/\s+/g, ' ').trim();
}

/** "2006-01-02 15:04:05.000Z" -> "2006-01-02T15:04:05" (shown as UTC). */
export function toInput(value) {
  if (!value) return '';
  return String(value).replace(' ', 'T').replace(/(\.\d+)?Z$/, '').slice(0, 19);
}

/** The input's text back to the API's form, or '' when empty. */
export function fromInput(text) {
  if (!text) return '';
  const full = text.length === 16 ? `${text}:00` : text;
  return `${full.replace('T', ' ')}.000Z`;
}

/** The text that names a record: its presentable fields, else a title-ish field, else its id. */
export function recordLabel(collection, record) {
  const fields = collection?.fields || [];
  const shown = fields.filter((f) => f.presentable).map((f) => record[f.name]).filter(Boolean);
  if (shown.length) return shown.join(' · ');
  const texty = fields.find((f) => !f.system && ['text', 'email'].includes(f.type) && record[f.name]);
  return texty ? `${record[texty.name]}` : record.id;
}

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

/**
 * The URL of a 100×100 thumbnail (the size the server always makes) for an
 * image in a public file field; null for other files and protected fields,
 * whose URLs would need a file token.
 */
export function thumbUrl(collection, record, field, name) {
  if (field.protected || !IMAGE.test(name)) return null;
  const e = encodeURIComponent;
  return `/api/files/${e(collection.id)}/${e(record.id)}/${e(name)}?thumb=100x100`;
}
