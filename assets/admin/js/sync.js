// Collection definitions in and out: the export (every non-system
// collection as JSON, to copy or download), and the import, which shows
// what it would change (collection_diff.js) before anything is sent, and
// sends it as one all-or-nothing `PUT /api/collections/import`.
import { html, useState } from './lib.js';
import { request } from './api.js';
import { useCollections } from './context.js';
import { exportable, importPlan, readImport } from './collection_diff.js';
import { saveText } from './export.js';
import { ErrorNote, FieldError, Page } from './ui.js';

export function Sync() {
  const { list, reload } = useCollections();
  const exported = `${JSON.stringify(exportable(list), null, 2)}\n`;
  const [text, setText] = useState('');
  const [reviewed, setReviewed] = useState(null);
  const [problem, setProblem] = useState(null);
  const [deleteMissing, setDeleteMissing] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const plan = reviewed && importPlan(list, reviewed, deleteMissing);
  const edit = (t) => { setText(t); setReviewed(null); setProblem(null); setDone(null); setError(null); };

  function review(e) {
    e.preventDefault();
    const got = readImport(text);
    if (got instanceof Error) { setProblem(got.message); setReviewed(null); return; }
    setProblem(null);
    setReviewed(got);
  }
  async function apply() {
    setBusy(true);
    setError(null);
    try {
      await request('PUT', '/api/collections/import', { body: { collections: reviewed, deleteMissing } });
      setDone(`Imported: ${plan.added.length} added, ${plan.changed.length} changed, ${plan.deleted.length} deleted.`);
      setReviewed(null);
      setText('');
      reload();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }
  const nothing = plan && plan.added.length + plan.changed.length + plan.deleted.length === 0;
  return html`<${Page} title="Import and export" sub="Collection definitions as JSON: fields, rules, indexes and options; never records.">
    <h2>Export</h2>
    <p class="muted small">${exportable(list).length} collections (system collections left out).</p>
    <textarea name="export" class="mono sync-text" rows="8" readonly aria-label="Exported collections" value=${exported} onFocus=${(e) => e.currentTarget.select()}></textarea>
    <div class="actions sync-actions">
      <button type="button" class="btn" onClick=${() => saveText('collections.json', exported, 'application/json')}>Download collections.json</button>
    </div>

    <h2>Import</h2>
    <form class="editor" onSubmit=${review} noValidate>
      <p class="muted small">Paste an export, or open a file. Collections are matched by id, then by name; a field keeps its data when renamed.</p>
      <label class="field">File <input type="file" name="import-file" accept="application/json,.json"
        onChange=${async (e) => { const f = e.currentTarget.files[0]; if (f) edit(await f.text()); }} /></label>
      <textarea name="import" class=${`mono sync-text ${problem ? 'invalid' : ''}`} rows="8" spellcheck="false" aria-label="Collections to import"
        aria-describedby=${problem ? 'import-problem' : undefined} value=${text} onInput=${(e) => edit(e.currentTarget.value)}></textarea>
      ${problem && html`<p class="field-error" id="import-problem" role="alert">${problem}</p>`}
      <label class="check"><input type="checkbox" name="delete-missing" checked=${deleteMissing}
        onChange=${(e) => setDeleteMissing(e.currentTarget.checked)} />Delete the collections the file does not list (and their records)</label>
      <div class="form-actions"><button class="btn" type="submit" disabled=${!text.trim()}>Review changes</button></div>
    </form>
    ${done && html`<p class="note ok" role="status">${done}</p>`}
    ${plan && html`<section class="plan" aria-label="What the import changes">
      <h2>What the import changes</h2>
      ${nothing && html`<p class="muted">Nothing: every collection in the file is as it is here.</p>`}
      <ul class="plan-list">
        ${plan.added.map((c) => html`<li class="plan-added"><span class="type">New</span><strong>${c.name}</strong>
          <span class="muted small">${c.type || 'base'}, ${(c.fields || []).length} fields</span></li>`)}
        ${plan.changed.map(([c, lines]) => html`<li class="plan-changed"><span class="type plain">Changed</span><strong>${c.name}</strong>
          <ul>${lines.map((l) => html`<li>${l}</li>`)}</ul></li>`)}
        ${plan.deleted.map((c) => html`<li class="plan-deleted"><span class="type danger">Deleted</span><strong>${c.name}</strong>
          <span class="muted small">with all its records and files</span></li>`)}
      </ul>
      ${plan.unchanged.length > 0 && html`<p class="muted small">Unchanged: ${plan.unchanged.map((c) => c.name).join(', ')}.</p>`}
      <${ErrorNote} error=${error} title="The import was refused, and nothing changed:" />
      <${FieldError} error=${error} path=${['collections']} />
      <div class="form-actions">
        <button type="button" class=${`btn ${plan.deleted.length ? 'danger' : 'primary'}`} disabled=${busy || nothing} onClick=${apply}>
          ${busy ? 'Importing…' : 'Apply the import'}</button>
        <button type="button" class="btn" onClick=${() => setReviewed(null)}>Back to the text</button>
      </div>
    </section>`}
  </${Page}>`;
}
