// A view collection's SQL: the query box, and a preview of what saving it
// would give (the columns as fields, with their types, and the first
// rows), asked of the server as the query is typed. The server runs the
// query read-only and answers with its reason when it cannot.
import { html, useEffect, useState } from './lib.js';
import { post } from './api.js';
import { cell } from './format.js';
import { typeLabel } from './schema.js';
import { ErrorNote, FieldError, Loading, errorAt } from './ui.js';

// Long enough not to ask at every keystroke.
const WAIT_MS = 450;

export function ViewQuery({ value, error, onChange }) {
  const [preview, setPreview] = useState({ busy: false, data: null, error: null });
  const [edited, setEdited] = useState(false);
  useEffect(() => {
    const query = value.trim();
    if (!query) { setPreview({ busy: false, data: null, error: null }); return undefined; }
    let gone = false;
    setPreview((p) => ({ ...p, busy: true }));
    const timer = setTimeout(() => {
      post('/api/collections/meta/dry-run-view', { query }).then(
        (data) => !gone && setPreview({ busy: false, data, error: null }),
        (err) => !gone && setPreview({ busy: false, data: null, error: err }),
      );
    }, WAIT_MS);
    return () => { gone = true; clearTimeout(timer); };
  }, [value]);
  const saveError = !edited && errorAt(error, ['viewQuery']);
  const columns = (preview.data?.fields || []).filter((f) => !f.hidden);
  return html`<div class="view-query">
    <label class="field">SQL
      <textarea name="viewQuery" rows="6" spellcheck="false" class=${saveError || preview.error ? 'invalid' : ''}
        aria-describedby="view-preview-status" placeholder="SELECT id, title, created FROM posts WHERE published = true"
        value=${value} onInput=${(e) => { setEdited(true); onChange(e.currentTarget.value); }}></textarea></label>
    ${!edited && html`<${FieldError} error=${error} path=${['viewQuery']} />`}
    <p class="muted small">One <code>SELECT</code> with an <code>id</code> column; name computed columns with <code>AS</code>.
      A column read from a field keeps its type; any other is JSON.</p>
    <section class="preview" aria-label="Preview" aria-live="polite">
      <h3 id="view-preview-status">Preview ${preview.busy && html`<span class="spinner" aria-label="checking"></span>`}</h3>
      ${!value.trim() ? html`<p class="muted small">Type a query to see its columns and first rows.</p>`
        : preview.error ? html`<${ErrorNote} error=${preview.error} title="This query cannot make a view:" />`
        : !preview.data ? html`<${Loading} label="Trying the query…" />`
        : html`<ul class="columns" aria-label="Columns">${preview.data.fields.map((f) => html`<li>
            <span class=${`type type-${f.type}`}>${typeLabel(f.type)}</span><code>${f.name}</code>${f.hidden && html` <span class="muted small">hidden</span>`}</li>`)}</ul>
          ${preview.data.sample.length === 0 ? html`<p class="muted small">The query runs, and returns no rows yet.</p>`
          : html`<div class="table-wrap"><table class="records sample">
              <caption class="muted small">The first ${preview.data.sample.length} row${preview.data.sample.length > 1 ? 's' : ''}</caption>
              <thead><tr>${columns.map((f) => html`<th scope="col"><span class="th">${f.name}</span></th>`)}</tr></thead>
              <tbody>${preview.data.sample.map((r) => html`<tr>${columns.map((f) => html`<td>${cell(f, r[f.name])}</td>`)}</tr>`)}</tbody>
            </table></div>`}`}
    </section>
  </div>`;
}
