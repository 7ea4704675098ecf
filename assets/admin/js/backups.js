// Backups: the zip archives in the data folder's backups/, newest first;
// making one (named, or named by the server), uploading one, downloading
// one (with a short-lived superuser file token, as a link cannot carry
// the Authorization header), restoring one after typing its name, and
// deleting one. The server runs one backup or restore at a time and
// refuses a second with a 400; /api/health says whether one is running.
import { html, useRef, useState } from './lib.js';
import { useCollections } from './context.js';
import { del, enc, get, post, request } from './api.js';
import { Confirm, Empty, ErrorNote, FieldError, Loading, Page, saving, useLoad } from './ui.js';

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let n = bytes / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export function Backups() {
  const loaded = useLoad(() => get('/api/backups'), []);
  const health = useLoad(() => get('/api/health'), []);
  // {kind: 'restore'|'delete', key} while a confirmation is open.
  const [asking, setAsking] = useState(null);
  const [askError, setAskError] = useState(null);
  const [askBusy, setAskBusy] = useState(false);
  const [done, setDone] = useState(null);
  const [rowError, setRowError] = useState(null);
  const items = loaded.data || [];
  const running = health.data?.data?.canBackup === false;
  const refresh = () => { loaded.reload(); health.reload(); };
  const collections = useCollections();
  // A refusal may mean another backup or restore is running: the banner says so.
  const failing = (work) => async () => {
    try { await work(); } catch (err) { health.reload(); throw err; }
  };

  async function confirm() {
    const { kind, key } = asking;
    setDone(null);
    await saving(setAskBusy, setAskError, failing(async () => {
      if (kind === 'restore') await post(`/api/backups/${enc(key)}/restore`, {});
      else await del(`/api/backups/${enc(key)}`);
      // A restore brings back the backup's collections.
      if (kind === 'restore') collections.reload();
      setAskBusy(false);
      setAsking(null);
      setDone(kind === 'restore' ? `Restored ${key}: the data is now as it was in that backup.` : `Deleted ${key}.`);
      refresh();
    }));
  }

  async function download(key) {
    setRowError(null);
    try {
      const { token } = await post('/api/files/token', {});
      const a = document.createElement('a');
      a.href = `/api/backups/${enc(key)}?token=${enc(token)}`;
      a.download = key;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      setRowError(err);
    }
  }

  const ask = (kind, key) => { setAskError(null); setAsking({ kind, key }); };
  return html`<${Page} title="Backups" sub="Archives of the data folder: the databases and the uploaded files."
      actions=${html`<button class="btn" type="button" onClick=${refresh} disabled=${loaded.loading}>Refresh</button>`}>
    ${running && html`<div class="note warn" role="status"><strong>A backup or restore is running.</strong>${' '}
      Another cannot start until it is done.${' '}<button type="button" class="btn small" onClick=${refresh}>Check again</button></div>`}
    ${done && html`<p class="note ok" role="status">${done}</p>`}
    <div class="backup-forms">
      <${CreateBackup} onDone=${(name) => { setDone(name ? `Made ${name}.` : 'Made a new backup.'); refresh(); }} onStart=${() => setDone(null)} guard=${failing} />
      <${UploadBackup} onDone=${(name) => { setDone(`Uploaded ${name}.`); refresh(); }} onStart=${() => setDone(null)} guard=${failing} />
    </div>
    <${ErrorNote} error=${loaded.error} title="The backups could not be loaded:" />
    <${ErrorNote} error=${rowError} title="The download could not start:" />
    ${!loaded.data && loaded.loading && html`<${Loading} label="Loading backups…" />`}
    ${loaded.data && items.length === 0 && html`<${Empty} title="No backups yet.">
      <p>Make one above, or set a schedule under Settings.</p></${Empty}>`}
    ${items.length > 0 && html`<div class="table-wrap"><table class="records backups">
      <thead><tr><th scope="col"><span class="th">Name</span></th><th scope="col" class="col-number"><span class="th">Size</span></th>
        <th scope="col"><span class="th">Date (UTC)</span></th><th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${items.map((b) => html`<tr key=${b.key} data-key=${b.key}>
        <td><span class="mono">${b.key}</span><span class="phone-only muted small">${size(b.size)} · ${String(b.modified).slice(0, 16)}</span></td>
        <td class="col-number">${size(b.size)}</td>
        <td class="muted">${String(b.modified).slice(0, 19)}</td>
        <td><div class="row-actions">
          <button type="button" class="btn small" onClick=${() => download(b.key)} aria-label=${`Download ${b.key}`}>Download</button>
          <button type="button" class="btn small" onClick=${() => ask('restore', b.key)} aria-label=${`Restore ${b.key}`}>Restore</button>
          <button type="button" class="btn small danger" onClick=${() => ask('delete', b.key)} aria-label=${`Delete ${b.key}`}>Delete</button>
        </div></td></tr>`)}</tbody>
    </table></div>`}

    <${Confirm} open=${asking?.kind === 'restore'} title=${`Restore ${asking?.key}?`} expect=${asking?.key}
      confirmLabel="Restore backup" busy=${askBusy} error=${askError} onCancel=${() => setAsking(null)} onConfirm=${confirm}>
      <p>Every collection, record, file and setting is replaced by the backup's. Changes made since it was taken are lost
        (the replaced data is kept in <code>.restore_rollback/</code> in the data folder).</p>
      <p class="muted small">Requests wait while the data is swapped. Consider making a backup first.</p>
    </${Confirm}>
    <${Confirm} open=${asking?.kind === 'delete'} title=${`Delete ${asking?.key}?`}
      confirmLabel="Delete backup" busy=${askBusy} error=${askError} onCancel=${() => setAsking(null)} onConfirm=${confirm}>
      <p>The archive is deleted from the server. This cannot be undone.</p>
    </${Confirm}>
  </${Page}>`;
}

function CreateBackup({ onDone, onStart, guard }) {
  const [name, setName] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    onStart();
    await saving(setBusy, setError, guard(async () => {
      const given = name.trim();
      await post('/api/backups', given ? { name: given } : {});
      setName('');
      setBusy(false);
      onDone(given);
    }));
  }
  const fieldError = error && error.data?.name;
  return html`<form class="card-form" onSubmit=${submit} noValidate>
    <h2>Make a backup</h2>
    <label class="field">Name <span class="muted small">optional; lowercase letters, digits, <code>_</code> and <code>-</code>, ending in <code>.zip</code></span>
      <input name="backup-name" value=${name} placeholder="empty: cairn_backup_<date>.zip" autocomplete="off" spellcheck="false"
        class=${fieldError ? 'invalid' : ''} onInput=${(e) => setName(e.currentTarget.value)} /></label>
    <${FieldError} error=${error} path=${['name']} />
    <${ErrorNote} error=${error} />
    <div class="inline form-row"><button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Making the backup…' : 'Make backup'}</button></div>
  </form>`;
}

function UploadBackup({ onDone, onStart, guard }) {
  const input = useRef(null);
  const [file, setFile] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    if (!file) return;
    onStart();
    await saving(setBusy, setError, guard(async () => {
      const body = new FormData();
      body.append('file', file);
      await request('POST', '/api/backups/upload', { body });
      input.current.value = '';
      setFile(null);
      setBusy(false);
      onDone(file.name);
    }));
  }
  const fieldError = error && error.data?.file;
  return html`<form class="card-form" onSubmit=${submit} noValidate>
    <h2>Upload a backup</h2>
    <label class="field">Zip archive <span class="muted small">made by Cairn or PocketBase; its file name becomes its name</span>
      <input ref=${input} name="backup-file" type="file" accept=".zip,application/zip" class=${fieldError ? 'invalid' : ''}
        onChange=${(e) => setFile(e.currentTarget.files[0] || null)} /></label>
    <${FieldError} error=${error} path=${['file']} />
    <${ErrorNote} error=${error} />
    <div class="inline form-row"><button class="btn" type="submit" disabled=${busy || !file}>${busy ? 'Uploading…' : 'Upload'}</button></div>
  </form>`;
}
