// Creating, editing and deleting one record, with a control per field
// type (relations and files in pickers.js). What is typed stays through
// any error, and leaving it unsaved asks first; the server's validation
// errors are shown on their fields.
import { html, useEffect, useRef, useState } from './lib.js';
import { del, enc, get, request } from './api.js';
import { go, href } from './router.js';
import { useEscapeLeaves, useLeaveGuard } from './leave_guard.js';
import { editable, typeLabel } from './schema.js';
import { fromInput, toInput } from './format.js';
import { FileDrop, RelationPicker } from './pickers.js';
import { RichText } from './rich_text.js';
import { Confirm, ErrorNote, FieldError, Loading, Page, errorAt, saving, showFirstFieldError, toast, useLoad } from './ui.js';

const multi = (f) => (f.maxSelect || 1) > 1;

/** The form's starting values: the record's, or empty ones. */
function initial(fields, record) {
  const v = {};
  for (const f of fields) {
    const cur = record?.[f.name];
    switch (f.type) {
      case 'bool': v[f.name] = Boolean(cur); break;
      case 'number': v[f.name] = cur ?? ''; break;
      case 'date': v[f.name] = toInput(cur); break;
      case 'geoPoint': v[f.name] = { lat: cur?.lat ?? 0, lon: cur?.lon ?? 0 }; break;
      case 'json': v[f.name] = cur === undefined || cur === null ? '' : JSON.stringify(cur, null, 2); break;
      case 'select': case 'relation': case 'file':
        v[f.name] = multi(f) ? (Array.isArray(cur) ? cur : cur ? [cur] : []) : (cur || '');
        break;
      default: v[f.name] = cur ?? '';
    }
  }
  return v;
}

export function RecordEditor({ collection, id, from }) {
  // A duplicate starts from another record's values (`from`), as a new record.
  const source = id || from;
  const loaded = useLoad(
    () => (source ? get(`/api/collections/${enc(collection.name)}/records/${enc(source)}`) : Promise.resolve(null)),
    [collection.name, source],
  );
  const title = id ? `${collection.name} · edit record` : from ? `${collection.name} · duplicate record` : `${collection.name} · new record`;
  const back = html`<a class="btn" href=${href('collections', collection.name)}>Back to records</a>`;
  if (source && loaded.error && !loaded.data) {
    return html`<${Page} title=${title} actions=${back}><${ErrorNote} error=${loaded.error} title="The record could not be loaded:" /></${Page}>`;
  }
  if (source && !loaded.data) return html`<${Page} title=${title} actions=${back}><${Loading} /></${Page}>`;
  const sub = id ? html`<span class="mono">${id}</span>`
    : from ? html`A copy of <span class="mono">${from}</span>: its values, without its files${collection.type === 'auth' ? ' and password' : ''}.` : null;
  const actions = id && collection.type !== 'view'
    ? html`<a class="btn" href=${`${href('collections', collection.name, 'records', 'new')}?from=${enc(id)}`}>Duplicate</a>${back}` : back;
  return html`<${Page} title=${title} sub=${sub} actions=${actions}>
    <${RecordForm} collection=${collection} record=${id ? loaded.data : null} template=${from ? loaded.data : null} />
  </${Page}>`;
}

function RecordForm({ collection, record, template }) {
  const fields = collection.fields.filter(editable).filter((f) => f.type !== 'password');
  // A duplicate takes the values, not the files: those belong to the original.
  const [values, setValues] = useState(() => {
    const v = initial(fields, record || template);
    if (template) for (const f of fields.filter((x) => x.type === 'file')) v[f.name] = multi(f) ? [] : '';
    return v;
  });
  const [uploads, setUploads] = useState({});
  const [removed, setRemoved] = useState({});
  const [password, setPassword] = useState({ password: '', passwordConfirm: '' });
  const [error, setError] = useState(null);
  const [local, setLocal] = useState({});
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleteError, setDeleteError] = useState(null);
  // Fields changed since the server's answer: its error no longer describes them.
  const [edited, setEdited] = useState(() => new Set());
  const set = (name, v) => {
    setValues({ ...values, [name]: v });
    if (!edited.has(name)) setEdited(new Set(edited).add(name));
    // A check made in the page is redone on save; until then it would mislead.
    if (local[name]) setLocal({ ...local, [name]: undefined });
  };
  // Leaving with unsaved changes asks first; saving or deleting moves on.
  const snapshot = JSON.stringify([values, removed, password, Object.values(uploads).map((l) => l.map((f) => f.name))]);
  const start = useRef(snapshot);
  const done = useRef(false);
  useLeaveGuard(() => !done.current && snapshot !== start.current);
  useEscapeLeaves(href('collections', collection.name));
  // A new record starts at its first field.
  const form = useRef(null);
  useEffect(() => {
    if (!record) form.current?.querySelector('input:not([type=hidden]):not([disabled]), select, textarea')?.focus();
  }, []);
  const base = `/api/collections/${enc(collection.name)}/records`;
  const isAuth = collection.type === 'auth';

  function body() {
    const out = {};
    const problems = {};
    for (const f of fields) {
      const v = values[f.name];
      if (f.type === 'file') continue;
      if (f.type === 'number') out[f.name] = v === '' ? null : Number(v);
      else if (f.type === 'date') out[f.name] = fromInput(v);
      else if (f.type === 'json') {
        if (String(v).trim() === '') out[f.name] = null;
        else {
          try { out[f.name] = JSON.parse(v); } catch (e) { problems[f.name] = { code: 'invalid_json', message: `Not valid JSON: ${e.message}` }; }
        }
      } else out[f.name] = v;
    }
    for (const f of fields.filter((x) => x.type === 'file')) {
      if (removed[f.name]?.length) out[`${f.name}-`] = removed[f.name];
    }
    if (isAuth && (password.password || !record)) Object.assign(out, password);
    return { out, problems };
  }

  async function save(e) {
    e.preventDefault();
    const { out, problems } = body();
    setLocal(problems);
    if (Object.keys(problems).length) {
      showFirstFieldError();
      return;
    }
    const files = Object.entries(uploads).filter(([, list]) => list.length);
    let payload = out;
    if (files.length) {
      payload = new FormData();
      payload.append('@jsonPayload', JSON.stringify(out));
      for (const [name, list] of files) {
        const f = fields.find((x) => x.name === name);
        const key = record && multi(f) ? `${name}+` : name;
        for (const file of list) payload.append(key, file);
      }
    }
    setEdited(new Set());
    await saving(setBusy, setError, async () => {
      if (record) await request('PATCH', `${base}/${enc(record.id)}`, { body: payload });
      else await request('POST', base, { body: payload });
      done.current = true;
      toast(record ? 'Record saved' : `Record created in ${collection.name}`);
      go('collections', collection.name);
    });
  }

  async function remove() {
    setBusy(true);
    setDeleteError(null);
    try {
      await del(`${base}/${enc(record.id)}`);
      done.current = true;
      toast('Record deleted');
      go('collections', collection.name);
    } catch (err) {
      setDeleteError(err);
      setBusy(false);
    }
  }

  const problem = (f) => local[f.name] || (!edited.has(f.name) && errorAt(error, [f.name]));
  const fieldErrors = error && Object.keys(error.data).length > 0;
  return html`<form class="editor record-form" ref=${form} onSubmit=${save} noValidate>
    ${error && html`<div class="note error" role="alert">${error.message}${fieldErrors ? ' The problems are marked below.' : ''}
      ${error.requestId && html` <span class="reqid">Request id <code>${error.requestId}</code></span>`}</div>`}
    ${fields.map((f) => html`<div class="field" key=${f.name}>
      <label for=${`f-${f.name}`}>${f.name}${f.required && html`<span class="req" title="required"> *</span>`}
        <span class="type-hint">${typeLabel(f.type)}</span></label>
      <${Control} field=${f} value=${values[f.name]} invalid=${Boolean(problem(f))} onChange=${(v) => set(f.name, v)}
        record=${record} collection=${collection} uploads=${uploads[f.name] || []} removed=${removed[f.name] || []}
        onUploads=${(list) => setUploads({ ...uploads, [f.name]: list })}
        onRemoved=${(list) => setRemoved({ ...removed, [f.name]: list })} />
      ${problem(f) && html`<p class="field-error" role="alert">${problem(f).message}</p>`}
    </div>`)}
    ${isAuth && html`<div class="field"><label for="f-password">${record ? 'New password' : 'Password'}</label>
        <input id="f-password" type="password" autocomplete="new-password" value=${password.password}
          class=${errorAt(error, ['password']) ? 'invalid' : ''}
          onInput=${(e) => setPassword({ ...password, password: e.currentTarget.value })} />
        <${FieldError} error=${error} path=${['password']} /></div>
      <div class="field"><label for="f-passwordConfirm">Confirm password</label>
        <input id="f-passwordConfirm" type="password" autocomplete="new-password" value=${password.passwordConfirm}
          class=${errorAt(error, ['passwordConfirm']) ? 'invalid' : ''}
          onInput=${(e) => setPassword({ ...password, passwordConfirm: e.currentTarget.value })} />
        <${FieldError} error=${error} path=${['passwordConfirm']} /></div>`}
    ${record && isAuth && html`<${Impersonate} collection=${collection} record=${record} />`}
    ${record && isAuth && html`<${Sessions} collection=${collection} record=${record} />`}
    ${record && html`<p class="muted small">${['created', 'updated'].filter((k) => record[k]).map((k) => `${k} ${record[k]}`).join(' · ')}</p>`}
    <div class="form-actions">
      <button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : record ? 'Save changes' : 'Create record'}</button>
      <a class="btn" href=${href('collections', collection.name)}>Cancel</a>
      ${record && html`<button type="button" class="btn danger push" onClick=${() => setConfirming(true)}>Delete record</button>`}
    </div>
    <${Confirm} open=${confirming} title="Delete this record?" busy=${busy} error=${deleteError}
      onCancel=${() => setConfirming(false)} onConfirm=${remove}>
      <p>The record <code>${record?.id}</code> and its files are deleted. This cannot be undone.</p>
    </${Confirm}>
  </form>`;
}

function Control({ field: f, value, invalid, onChange, record, collection, uploads, removed, onUploads, onRemoved }) {
  const id = `f-${f.name}`;
  const cls = invalid ? 'invalid' : '';
  const text = (type, extra = {}) => html`<input id=${id} name=${f.name} type=${type} class=${cls} value=${value} ...${extra}
    onInput=${(e) => onChange(e.currentTarget.value)} />`;
  switch (f.type) {
    case 'number': return text('number', { step: f.onlyInt ? 1 : 'any' });
    case 'email': return text('email', { autocomplete: 'off' });
    case 'url': return text('url', { placeholder: 'https://' });
    case 'date': return html`<div class="inline">${text('datetime-local', { step: 1 })}<span class="muted small">UTC</span></div>`;
    case 'bool': return html`<label class="check"><input id=${id} name=${f.name} type="checkbox" checked=${value}
      onChange=${(e) => onChange(e.currentTarget.checked)} />${value ? 'Yes' : 'No'}</label>`;
    case 'editor': return html`<${RichText} id=${id} name=${f.name} cls=${cls} value=${value} onChange=${onChange} />`;
    case 'json': return html`<textarea id=${id} name=${f.name} class=${`${cls} ${f.type === 'json' ? 'mono' : ''}`} rows=${f.type === 'json' ? 5 : 6}
      spellcheck=${f.type === 'json' ? 'false' : undefined} value=${value} onInput=${(e) => onChange(e.currentTarget.value)}></textarea>`;
    case 'select': return multi(f)
      ? html`<div class="checks" id=${id} role="group">${(f.values || []).map((opt) => html`<label class="check"><input type="checkbox" name=${f.name} value=${opt}
          checked=${value.includes(opt)} onChange=${(e) => onChange(e.currentTarget.checked ? [...value, opt] : value.filter((x) => x !== opt))} />${opt}</label>`)}</div>`
      : html`<select id=${id} name=${f.name} class=${cls} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
          <option value="">—</option>${(f.values || []).map((opt) => html`<option value=${opt}>${opt}</option>`)}</select>`;
    case 'geoPoint': return html`<div class="inline geo" id=${id} role="group">
      ${[['lat', 'Latitude', 90], ['lon', 'Longitude', 180]].map(([k, label, max]) => html`<label class="small">${label}
        <input type="number" name=${`${f.name}.${k}`} class=${cls} step="any" min=${-max} max=${max} value=${value[k]}
          onInput=${(e) => onChange({ ...value, [k]: e.currentTarget.value === '' ? 0 : Number(e.currentTarget.value) })} /></label>`)}
    </div>`;
    case 'relation': return html`<${RelationPicker} id=${id} field=${f} value=${value} invalid=${invalid} onChange=${onChange} />`;
    case 'file': return html`<${FileDrop} id=${id} field=${f} value=${value} record=${record} collection=${collection}
      uploads=${uploads} removed=${removed} onUploads=${onUploads} onRemoved=${onRemoved} />`;
    default: return text('text', { autocomplete: 'off', spellcheck: 'false' });
  }
}

/**
 * A token to act as this account, for trying the app as its user sees it.
 * Shown once, with its expiry; it is not a session (no refresh).
 */
function Impersonate({ collection, record }) {
  const [duration, setDuration] = useState(3600);
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function issue() {
    setBusy(true);
    setError(null);
    try {
      const answer = await request('POST', `/api/collections/${enc(collection.name)}/impersonate/${enc(record.id)}`, { body: { duration } });
      const exp = JSON.parse(atob(answer.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp;
      setIssued({ token: answer.token, expires: new Date(exp * 1000) });
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }
  return html`<fieldset class="impersonate">
    <legend>Impersonate</legend>
    <p class="muted small">A token that acts as this account, to see the app as it does. Anyone holding it can; keep it private.</p>
    <div class="inline">
      <label class="small">Valid for <select value=${duration} onChange=${(e) => setDuration(Number(e.currentTarget.value))}>
        ${[[900, '15 minutes'], [3600, '1 hour'], [86400, '1 day']].map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
      <button type="button" class="btn small" disabled=${busy} onClick=${issue}>Get a token</button>
    </div>
    <${ErrorNote} error=${error} />
    ${issued && html`<label class="field">Token (expires ${issued.expires.toISOString().replace('T', ' ').slice(0, 19)} UTC)
      <textarea class="mono token" readonly rows="3" onFocus=${(e) => e.currentTarget.select()}>${issued.token}</textarea></label>`}
  </fieldset>`;
}

/**
 * Where this account is signed in: Cairn's refresh-token sessions, each
 * of which a superuser can end (its refresh token and the access tokens
 * issued for it stop working at once).
 */
function Sessions({ collection, record }) {
  const path = `/api/collections/${enc(collection.name)}/records/${enc(record.id)}/sessions`;
  const loaded = useLoad(() => get(path), [path]);
  const [ending, setEnding] = useState(null);
  const [error, setError] = useState(null);
  async function end(id) {
    setEnding(id);
    setError(null);
    try {
      await del(`${path}/${enc(id)}`);
      loaded.reload();
    } catch (err) {
      setError(err);
    }
    setEnding(null);
  }
  const items = loaded.data?.items;
  const when = (t) => (t ? t.slice(0, 16) : '—');
  return html`<fieldset class="sessions">
    <legend>Sessions</legend>
    <p class="muted small">Where this account is signed in. Ending a session signs that device out at once.</p>
    <${ErrorNote} error=${loaded.error || error} />
    ${!items && !loaded.error && html`<${Loading} />`}
    ${items && items.length === 0 && html`<p class="muted small">No active sessions.</p>`}
    ${items && items.length > 0 && html`<div class="table-wrap"><table class="records sessions-table">
      <thead><tr><th>Device</th><th>IP</th><th>Signed in</th><th>Last used</th><th>Expires</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${items.map((s) => html`<tr key=${s.id}>
        <td class="ua" title=${s.userAgent}>${s.userAgent || '—'}</td><td>${s.ip || '—'}</td>
        <td>${when(s.created)}</td><td>${when(s.lastUsed)}</td><td>${when(s.expires)}</td>
        <td><button type="button" class="btn small danger" disabled=${ending === s.id}
          aria-label=${`End the session of ${s.userAgent || 'an unknown device'} from ${s.ip || 'an unknown address'}`}
          onClick=${() => end(s.id)}>${ending === s.id ? 'Ending…' : 'End'}</button></td>
      </tr>`)}</tbody></table></div>`}
  </fieldset>`;
}
