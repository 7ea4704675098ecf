// API keys: long-lived credentials for servers and scripts, each acting
// as one auth record, optionally narrowed to collections × actions, an
// expiry and an address allowlist. A new key's secret is shown once, with
// a copy button: the server keeps only its hash. Revoking asks first and
// takes effect on the key's next request.
import { html, useRef, useState } from './lib.js';
import { useCollections } from './context.js';
import { del, enc, get, patch, post } from './api.js';
import { Confirm, CopyField, Empty, ErrorNote, FieldError, Loading, Page, errorAt, saving, toast, useLoad } from './ui.js';

export const ACTIONS = ['list', 'view', 'create', 'update', 'delete', 'realtime'];

/** A key's scopes in words: "full rights" or "posts: list, view · notes: create". */
export function scopeSummary(scopes) {
  if (!scopes || scopes.length === 0) return 'full rights of the record';
  return scopes.map((s) => `${s.collectionName}: ${s.actions.join(', ')}`).join(' · ');
}

/** The server's `2030-01-02 03:04:05.000Z` as a datetime-local input's value. */
export function expiryToInput(value) {
  return value ? value.slice(0, 16).replace(' ', 'T') : '';
}

/** `2030-01-02T03:04` (a datetime-local input, read as UTC) in the server's form. */
export function expiryFromInput(value) {
  if (!value) return '';
  const [date, time = '00:00'] = value.split('T');
  return `${date} ${time.length === 5 ? `${time}:00` : time}.000Z`;
}

const when = (s) => (s ? String(s).slice(0, 16) : '');

export function Keys() {
  const loaded = useLoad(() => get('/api/keys'), []);
  const [created, setCreated] = useState(null);
  const [revoking, setRevoking] = useState(null);
  const [revokeError, setRevokeError] = useState(null);
  const [revokeBusy, setRevokeBusy] = useState(false);
  const [done, setDone] = useState(null);
  const [editing, setEditing] = useState(null);
  const items = loaded.data || [];
  const now = new Date().toISOString().replace('T', ' ');

  async function revoke() {
    await saving(setRevokeBusy, setRevokeError, async () => {
      await del(`/api/keys/${enc(revoking.id)}`);
      setRevokeBusy(false);
      toast(`Revoked the key ${revoking.name}`);
      setDone(`Revoked “${revoking.name}”: requests with it are refused from now on.`);
      setRevoking(null);
      loaded.reload();
    });
  }

  return html`<${Page} title="API keys" sub="Credentials for servers and scripts. Each acts as one auth record, under its rules, optionally narrowed by scopes."
      actions=${html`<button class="btn" type="button" onClick=${loaded.reload} disabled=${loaded.loading}>Refresh</button>`}>
    ${created && html`<${Secret} created=${created} onDone=${() => setCreated(null)} />`}
    ${done && html`<p class="note ok" role="status">${done}</p>`}
    ${editing
      ? html`<${KeyForm} key=${editing.id} editing=${editing} onCancel=${() => setEditing(null)}
          onSaved=${(k) => { setEditing(null); setDone(`Saved “${k.name}”: the change applies from its next request.`); loaded.reload(); }} />`
      : html`<${KeyForm} key="new" onSaved=${(k) => { setDone(null); setCreated(k); loaded.reload(); }} />`}
    <${ErrorNote} error=${loaded.error} title="The keys could not be loaded:" />
    ${!loaded.data && loaded.loading && html`<${Loading} label="Loading keys…" />`}
    ${loaded.data && items.length === 0 && html`<${Empty} title="No API keys yet.">
      <p>Create one above; send it as <code>Authorization: Bearer cairn_sk_…</code>.</p></${Empty}>`}
    ${items.length > 0 && html`<div class="table-wrap"><table class="records keys">
      <thead><tr>
        <th scope="col"><span class="th">Name and key</span></th>
        <th scope="col"><span class="th">Acts as</span></th><th scope="col"><span class="th">Scopes</span></th>
        <th scope="col"><span class="th">Expires (UTC)</span></th><th scope="col"><span class="th">Last used</span></th>
        <th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${items.map((k) => html`<tr key=${k.id} data-key=${k.id}>
        <td>${k.name}<span class="mono small key-ips">${k.prefix}…</span>
          ${k.allowedIps.length > 0 && html`<span class="muted small key-ips">from ${k.allowedIps.join(', ')}</span>`}</td>
        <td><span class="muted">${k.collectionName}/</span><span class="mono">${k.recordId}</span>
          ${!k.bound && html`<span class="danger-text small key-ips">its collection was deleted: the key no longer works</span>`}</td>
        <td class="key-scopes">${scopeSummary(k.scopes)}</td>
        <td>${k.expires ? html`${when(k.expires)}${k.expires < now && html`<span class="danger-text small key-ips">expired</span>`}` : html`<span class="muted">never</span>`}</td>
        <td>${k.lastUsed ? html`${when(k.lastUsed)}<span class="muted small key-ips">from ${k.lastUsedIp}</span>` : html`<span class="muted">never</span>`}</td>
        <td><div class="row-actions">
          <button type="button" class="btn small" onClick=${() => { setDone(null); setEditing(k); window.scrollTo(0, 0); }}
            aria-label=${`Edit ${k.name}`}>Edit</button>
          <button type="button" class="btn small danger" onClick=${() => { setRevokeError(null); setRevoking(k); }}
            aria-label=${`Revoke ${k.name}`}>Revoke</button></div></td>
      </tr>`)}</tbody>
    </table></div>`}
    <${Confirm} open=${!!revoking} title=${`Revoke “${revoking?.name}”?`} confirmLabel="Revoke key"
      busy=${revokeBusy} error=${revokeError} onCancel=${() => setRevoking(null)} onConfirm=${revoke}>
      <p>Every request with this key is refused from its next one, realtime subscriptions included. This cannot be undone:
        a script that uses it needs a new key.</p>
    </${Confirm}>
  </${Page}>`;
}

/** The new key's secret, shown this once. */
function Secret({ created, onDone }) {
  return html`<div class="note warn key-secret" role="status">
    <p><strong>Copy the key “${created.name}” now: you will not see it again.</strong>${' '}
      Cairn keeps only its hash; if it is lost, revoke it and create another.</p>
    <${CopyField} value=${created.secret} name="key-secret" label="The new API key" onDone=${onDone} />
  </div>`;
}

/**
 * A new key's form, or (with `editing`) an existing key's: its name,
 * scopes, expiry and allowlist change; the record it acts as does not.
 */
function KeyForm({ editing, onSaved, onCancel }) {
  const { list } = useCollections();
  const auth = list.filter((c) => c.type === 'auth');
  const [name, setName] = useState(editing?.name || '');
  const [collection, setCollection] = useState('users');
  const [record, setRecord] = useState('');
  const [limited, setLimited] = useState((editing?.scopes || []).length > 0);
  // collection name → set of actions.
  const [grid, setGrid] = useState(() => Object.fromEntries((editing?.scopes || []).map((s) => [s.collectionName, s.actions])));
  const [expires, setExpires] = useState(expiryToInput(editing?.expires));
  const [ips, setIps] = useState((editing?.allowedIps || []).join(', '));
  // The addresses as last sent: the server's errors name them by index.
  const sentIps = useRef([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const chosen = auth.some((c) => c.name === collection) ? collection : auth[0]?.name || '';

  const toggle = (c, a) => setGrid((g) => {
    const next = new Set(g[c] || []);
    if (next.has(a)) next.delete(a); else next.add(a);
    return { ...g, [c]: [...next] };
  });
  const scopes = () => Object.entries(grid)
    .filter(([, actions]) => actions.length > 0)
    .map(([c, actions]) => ({ collection: c, actions: ACTIONS.filter((a) => actions.includes(a)) }));

  async function submit(e) {
    e.preventDefault();
    await saving(setBusy, setError, async () => {
      const body = {
        name: name.trim(),
        scopes: limited ? scopes() : [],
        allowedIps: (sentIps.current = ips.split(/[\s,]+/).filter(Boolean)),
        expires: expiryFromInput(expires),
      };
      if (editing) {
        const k = await patch(`/api/keys/${enc(editing.id)}`, body);
        toast(`Saved the key ${k.name}`);
        setBusy(false);
        onSaved(k);
        return;
      }
      const k = await post('/api/keys', { ...body, collection: chosen, record: record.trim() });
      toast(`Created the key ${k.name}`);
      setBusy(false);
      setName(''); setRecord(''); setGrid({}); setLimited(false); setExpires(''); setIps('');
      onSaved(k);
    });
  }

  const invalid = (path) => (errorAt(error, path) ? 'invalid' : '');
  return html`<form class="card-form new-key" onSubmit=${submit} noValidate>
    <h2>${editing ? `Edit “${editing.name}”` : 'New API key'}</h2>
    ${editing && html`<p class="muted">It acts as <span class="mono">${editing.collectionName}/${editing.recordId}</span>${' '}
      (<span class="mono">${editing.prefix}…</span>); to act as another record, create a new key.</p>`}
    <div class="key-fields">
      <label class="field">Name
        <input name="key-name" value=${name} placeholder="nightly-export" autocomplete="off" class=${invalid(['name'])}
          onInput=${(e) => setName(e.currentTarget.value)} />
        <${FieldError} error=${error} path=${['name']} /></label>
      ${!editing && html`<label class="field">Acts as a record of
        <select name="key-collection" value=${chosen} onChange=${(e) => setCollection(e.currentTarget.value)}>
          ${auth.map((c) => html`<option value=${c.name}>${c.name}</option>`)}</select>
        <${FieldError} error=${error} path=${['collection']} /></label>
      <label class="field">Record (id or email)
        <input name="key-record" value=${record} placeholder="user@example.com" autocomplete="off" spellcheck="false"
          class=${invalid(['record'])} onInput=${(e) => setRecord(e.currentTarget.value)} />
        <${FieldError} error=${error} path=${['record']} /></label>`}
    </div>
    <label class="check block"><input type="checkbox" name="key-limited" checked=${limited}
      onChange=${(e) => setLimited(e.currentTarget.checked)} />
      Limit it to some collections and actions <span class="muted small">otherwise it has every right its record has</span></label>
    ${limited && html`<div class="table-wrap scope-grid"><table class="records">
      <thead><tr><th scope="col"><span class="th">Collection</span></th>
        ${ACTIONS.map((a) => html`<th scope="col"><span class="th">${a}</span></th>`)}</tr></thead>
      <tbody>${list.map((c) => html`<tr key=${c.id}>
        <th scope="row" class="mono">${c.name}</th>
        ${ACTIONS.map((a) => html`<td><input type="checkbox" name=${`scope-${c.name}-${a}`} aria-label=${`${a} on ${c.name}`}
          checked=${(grid[c.name] || []).includes(a)} onChange=${() => toggle(c.name, a)} /></td>`)}
      </tr>`)}</tbody></table></div>`}
    <div class="key-fields">
      <label class="field">Expires (UTC; empty: never)
        <input type="datetime-local" name="key-expires" value=${expires} class=${invalid(['expires'])}
          onInput=${(e) => setExpires(e.currentTarget.value)} />
        <${FieldError} error=${error} path=${['expires']} /></label>
      <label class="field wide">Allowed addresses (IPs or CIDR networks; empty: anywhere)
        <input name="key-ips" value=${ips} placeholder="203.0.113.7, 10.0.0.0/8" autocomplete="off" spellcheck="false"
          class=${error?.data?.allowedIps ? 'invalid' : ''} onInput=${(e) => setIps(e.currentTarget.value)} />
        ${error?.data?.allowedIps && html`<p class="field-error" role="alert">Not an IP address or CIDR network:${' '}
          ${Object.keys(error.data.allowedIps).map((i) => sentIps.current[i]).join(', ')}</p>`}</label>
    </div>
    ${error?.data?.scopes && html`<p class="field-error" role="alert">The scopes are not valid.</p>`}
    <${ErrorNote} error=${error} />
    <div class="inline form-row">
      ${editing
        ? html`<button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : 'Save key'}</button>
          <button class="btn" type="button" onClick=${onCancel}>Cancel</button>`
        : html`<button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Creating…' : 'Create key'}</button>`}
    </div>
  </form>`;
}
