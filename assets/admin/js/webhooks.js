// Webhooks: signed POSTs of record changes to a URL. The list shows each
// webhook's state (enabled, failing, disabled by a superuser or by Cairn
// after a day of failures); a form creates or edits one; the deliveries
// log of the one picked shows every attempt's outcome, with redelivery.
// The secret is shown whole when it is made, and again on request (Edit,
// "Reveal the secret"). A new secret can leave the old one signing beside
// it for a day or a week, so the receiver can switch without a gap.
import { html, useEffect, useState } from './lib.js';
import { useCollections } from './context.js';
import { del, enc, get, patch, post } from './api.js';
import { Confirm, CopyField, Empty, ErrorNote, FieldError, Loading, Page, saving, toast, useLoad } from './ui.js';

const EVENTS = [
  ['create', 'Create'], ['update', 'Update'], ['delete', 'Delete'],
  ['auth.signup', 'Sign-up (auth)'], ['auth.signin', 'Sign-in (auth)'],
];

const STATES = {
  enabled: ['level-info', 'Enabled'],
  failing: ['level-warn', 'Failing'],
  disabled: ['', 'Disabled'],
  disabledAfterFailures: ['level-error', 'Disabled after failures'],
};

export function StateBadge({ state }) {
  const [cls, label] = STATES[state] || ['', state];
  return html`<span class=${`level ${cls}`} data-state=${state}>${label}</span>`;
}

export function Webhooks() {
  const loaded = useLoad(() => get('/api/webhooks'), []);
  // null: no form; {} a new one; a webhook: editing it.
  const [editing, setEditing] = useState(null);
  const [picked, setPicked] = useState(null);
  const [secret, setSecret] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [delBusy, setDelBusy] = useState(false);
  const [delError, setDelError] = useState(null);
  const items = loaded.data || [];
  const failed = items.filter((h) => h.state === 'disabledAfterFailures');

  async function remove() {
    await saving(setDelBusy, setDelError, async () => {
      await del(`/api/webhooks/${enc(deleting.id)}`);
      toast('Webhook deleted');
      setDelBusy(false);
      if (picked === deleting.id) setPicked(null);
      setDeleting(null);
      loaded.reload();
    });
  }

  return html`<${Page} title="Webhooks" sub="Signed POSTs of record changes (Standard Webhooks), retried until they go through."
      actions=${html`<button class="btn" type="button" onClick=${loaded.reload}>Refresh</button>
        <button class="btn primary" type="button" onClick=${() => { setSecret(null); setEditing({}); }}>+ New webhook</button>`}>
    ${failed.length > 0 && html`<div class="note warn" role="alert"><strong>Disabled after failing:</strong>${' '}
      ${failed.map((h) => h.name || h.url).join(', ')}. Their receivers failed every delivery; fix them, then enable the webhook again.</div>`}
    ${secret && html`<div class="note ok webhook-secret-note" role="status">
      <p>The signing secret of “${secret.name || secret.url}”, for its receiver to verify deliveries with.
        Edit shows it again (“Reveal the secret”).</p>
      <${CopyField} value=${secret.secret} name="webhook-secret" label="The webhook's signing secret" onDone=${() => setSecret(null)} />
      ${secret.previousSecretUntil && html`<p>The previous secret keeps signing beside it until ${secret.previousSecretUntil.slice(0, 16)} UTC.</p>`}</div>`}
    ${editing && html`<${WebhookForm} key=${editing.id || 'new'} hook=${editing} onCancel=${() => setEditing(null)}
      onChanged=${loaded.reload} onSaved=${(saved) => { setEditing(null); if (saved.secret) setSecret(saved); loaded.reload(); }} />`}
    <${ErrorNote} error=${loaded.error} title="The webhooks could not be loaded:" />
    ${!loaded.data && loaded.loading && html`<${Loading} />`}
    ${loaded.data && items.length === 0 && !editing && html`<${Empty} title="No webhooks yet.">
      <p>A webhook tells another service of record changes as they commit.</p></${Empty}>`}
    ${items.length > 0 && html`<div class="table-wrap"><table class="records webhooks">
      <thead><tr><th scope="col"><span class="th">Webhook</span></th><th scope="col"><span class="th">Collection</span></th>
        <th scope="col"><span class="th">Events</span></th><th scope="col"><span class="th">State</span></th>
        <th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${items.map((h) => html`<tr key=${h.id} data-webhook=${h.id} aria-selected=${picked === h.id}>
        <td>${h.name && html`<strong>${h.name}</strong><br />`}<span class="mono small">${h.url}</span>
          ${h.filter && html`<br /><code class="small">${h.filter}</code>`}
          ${h.previousSecretUntil && html`<br /><span class="muted small" data-overlap>Old secret also signs until ${h.previousSecretUntil.slice(0, 16)} UTC</span>`}</td>
        <td>${h.collection === '*' ? html`<em>every collection</em>` : h.collectionName || html`<span class="muted">(deleted)</span>`}</td>
        <td class="small">${h.events.join(', ')}</td>
        <td><${StateBadge} state=${h.state} />${h.failingSince && html`<br /><span class="muted small">failing since ${h.failingSince.slice(0, 19)}</span>`}</td>
        <td><div class="row-actions">
          <button type="button" class="btn small" onClick=${() => setPicked(picked === h.id ? null : h.id)}
            aria-label=${`Deliveries of ${h.name || h.url}`}>Deliveries</button>
          <button type="button" class="btn small" onClick=${() => { setSecret(null); setEditing(h); }} aria-label=${`Edit ${h.name || h.url}`}>Edit</button>
          <button type="button" class="btn small danger" onClick=${() => { setDelError(null); setDeleting(h); }}
            aria-label=${`Delete ${h.name || h.url}`}>Delete</button>
        </div></td></tr>`)}</tbody>
    </table></div>`}
    ${picked && html`<${Deliveries} key=${picked} hook=${items.find((h) => h.id === picked)} />`}
    <${Confirm} open=${!!deleting} title="Delete this webhook?" confirmLabel="Delete webhook" busy=${delBusy} error=${delError}
      onCancel=${() => setDeleting(null)} onConfirm=${remove}>
      <p><span class="mono">${deleting?.url}</span> hears nothing more; deliveries still queued for it are dropped.</p>
    </${Confirm}>
  </${Page}>`;
}

function WebhookForm({ hook, onCancel, onChanged, onSaved }) {
  const { list } = useCollections();
  const creating = !hook.id;
  const [form, setForm] = useState({
    name: hook.name || '', collection: hook.collection || '*', events: hook.events || ['create', 'update', 'delete'],
    filter: hook.filter || '', url: hook.url || '', secret: '', enabled: hook.enabled ?? true,
    includeHidden: hook.includeHidden ?? false, newSecret: false, previousSecretHours: '24',
  });
  // The replaced secret's overlap, as saved (ended here with "Stop it now").
  const [overlap, setOverlap] = useState(hook.previousSecretUntil || '');
  const [revealed, setRevealed] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => {
    const t = e.currentTarget;
    setForm((f) => ({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value }));
  };
  const collections = list.filter((c) => c.type !== 'view');
  const target = collections.find((c) => c.id === form.collection || c.name === form.collection);
  const authOk = form.collection === '*' || target?.type === 'auth';
  const toggle = (ev) => setForm((f) => ({
    ...f, events: f.events.includes(ev) ? f.events.filter((x) => x !== ev) : [...f.events, ev],
  }));

  async function submit(e) {
    e.preventDefault();
    await saving(setBusy, setError, async () => {
      const { newSecret, previousSecretHours, ...body } = form;
      // On a change, no secret keeps it; an empty one makes a new one.
      if (newSecret) body.secret = '';
      else if (!creating && !body.secret) delete body.secret;
      if (!creating && 'secret' in body) body.previousSecretHours = Number(previousSecretHours);
      const saved = creating ? await post('/api/webhooks', body) : await patch(`/api/webhooks/${enc(hook.id)}`, body);
      toast(creating ? 'Webhook created' : 'Webhook saved');
      setBusy(false);
      onSaved(saved);
    });
  }
  async function stopOverlap() {
    try {
      await patch(`/api/webhooks/${enc(hook.id)}`, { previousSecretHours: 0 });
      setOverlap('');
      onChanged();
    } catch (err) { setError(err); }
  }
  const rotating = !creating && (form.newSecret || form.secret.trim() !== '');
  async function reveal() {
    try {
      setRevealed((await get(`/api/webhooks/${enc(hook.id)}/secret`)).secret);
    } catch (err) { setError(err); }
  }
  const invalid = (k) => (error?.data?.[k] ? 'invalid' : '');
  return html`<form class="card-form webhook-form" onSubmit=${submit} noValidate>
    <h2>${creating ? 'New webhook' : `Edit ${hook.name || 'webhook'}`}</h2>
    <div class="two">
      <label class="field">Name <span class="muted small">optional</span>
        <input name="name" value=${form.name} onInput=${set('name')} autocomplete="off" /></label>
      <label class="field">Collection <span class="muted small">whose record changes are sent</span>
        <select name="collection" value=${target?.id || form.collection} onChange=${set('collection')} class=${invalid('collection')}>
          <option value="*">* (every collection)</option>
          ${collections.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
        </select></label>
    </div>
    <${FieldError} error=${error} path=${['collection']} />
    <fieldset class="field"><legend>Events</legend><div class="checks">
      ${EVENTS.map(([ev, label]) => html`<label class="check"><input type="checkbox" name=${`event-${ev}`}
        checked=${form.events.includes(ev)} disabled=${ev.startsWith('auth.') && !authOk} onChange=${() => toggle(ev)} />${label}</label>`)}
    </div></fieldset>
    <${FieldError} error=${error} path=${['events']} />
    <label class="field">Filter <span class="muted small">optional; a rule expression the record must match, e.g. <code>status = "published"</code></span>
      <input name="filter" class=${`mono ${invalid('filter')}`} value=${form.filter} onInput=${set('filter')} spellcheck="false" autocomplete="off" /></label>
    <${FieldError} error=${error} path=${['filter']} />
    <label class="field">URL <span class="muted small">http or https; private and loopback addresses only if the server allows them</span>
      <input name="url" type="url" class=${invalid('url')} value=${form.url} onInput=${set('url')} placeholder="https://example.com/hooks/cairn" autocomplete="off" /></label>
    <${FieldError} error=${error} path=${['url']} />
    <label class="field">Secret <span class="muted small">${creating ? 'empty: one is generated' : 'empty: keep the current one'};
      ${' '}<code>whsec_</code> + base64 of 24 to 64 bytes</span>
      <input name="secret" class=${`mono ${invalid('secret')}`} value=${form.secret} onInput=${set('secret')} autocomplete="off" spellcheck="false"
        disabled=${form.newSecret} placeholder=${creating ? '' : form.newSecret ? 'a new one is generated' : hook.secretHint} /></label>
    <${FieldError} error=${error} path=${['secret']} />
    ${!creating && html`<div class="inline form-row">
      <button type="button" class="btn small" onClick=${reveal}>Reveal the secret</button>
      <label class="check"><input type="checkbox" name="newSecret" checked=${form.newSecret} onChange=${set('newSecret')} /> Generate a new secret</label>
      </div>`}
    ${revealed && html`<${CopyField} value=${revealed} name="webhook-secret" label="The webhook's signing secret" />`}
    ${rotating && html`<label class="field">The current secret, once replaced
      <select name="previousSecretHours" value=${form.previousSecretHours} onChange=${set('previousSecretHours')} class=${invalid('previousSecretHours')}>
        <option value="0">stops signing at once (it leaked)</option>
        <option value="24">keeps signing beside the new one for 24 hours</option>
        <option value="168">keeps signing beside the new one for 7 days</option>
      </select></label>
      <p class="muted small">While both sign, each delivery carries two signatures: receivers verify with either secret, so they can switch at their own pace.</p>`}
    <${FieldError} error=${error} path=${['previousSecretHours']} />
    ${!creating && overlap && html`<div class="note" role="status">The previous secret (<code>${hook.previousSecretHint}</code>) signs beside this one until ${overlap.slice(0, 16)} UTC.${' '}
      <button type="button" class="btn small" onClick=${stopOverlap}>Stop it now</button></div>`}
    <label class="check block"><input type="checkbox" name="includeHidden" checked=${form.includeHidden} onChange=${set('includeHidden')} />
      Include hidden fields <span class="muted small">(never passwords nor token keys)</span></label>
    <label class="check block"><input type="checkbox" name="enabled" checked=${form.enabled} onChange=${set('enabled')} /> Enabled</label>
    <${ErrorNote} error=${error} />
    <div class="inline form-row">
      <button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : creating ? 'Create webhook' : 'Save changes'}</button>
      <button class="btn" type="button" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

// Deliveries a page; older ones are read by key (`before` the last id
// shown), so deliveries arriving meanwhile never repeat a row.
const DELIVERIES_PAGE = 50;

function Deliveries({ hook }) {
  const path = `/api/webhooks/${enc(hook.id)}/deliveries`;
  const loaded = useLoad(() => get(path, { limit: DELIVERIES_PAGE }), [hook.id]);
  const [rowState, setRowState] = useState({});
  // Pages read past the first; a refresh starts over.
  const [older, setOlder] = useState({ rows: [], more: null, busy: false, error: null });
  useEffect(() => setOlder({ rows: [], more: null, busy: false, error: null }), [loaded.data]);
  const rows = [...(loaded.data || []), ...older.rows];
  const more = older.more ?? loaded.data?.length === DELIVERIES_PAGE;
  async function loadOlder() {
    setOlder((o) => ({ ...o, busy: true, error: null }));
    try {
      const page = await get(path, { limit: DELIVERIES_PAGE, before: rows[rows.length - 1].id });
      setOlder((o) => ({ rows: [...o.rows, ...page], more: page.length === DELIVERIES_PAGE, busy: false, error: null }));
    } catch (error) {
      setOlder((o) => ({ ...o, busy: false, error }));
    }
  }
  async function redeliver(d) {
    setRowState((s) => ({ ...s, [d.id]: { busy: true } }));
    try {
      await post(`/api/webhooks/${enc(hook.id)}/deliveries/${d.id}/redeliver`, {});
      setRowState((s) => ({ ...s, [d.id]: { sent: true } }));
      setTimeout(loaded.reload, 500);
    } catch (error) {
      setRowState((s) => ({ ...s, [d.id]: { error } }));
    }
  }
  return html`<section class="card deliveries" aria-label="Deliveries">
    <div class="page-head"><h2>Deliveries of ${hook.name || hook.url}</h2>
      <div class="actions"><button class="btn small" type="button" onClick=${loaded.reload}>Refresh</button></div></div>
    <${ErrorNote} error=${loaded.error} title="The deliveries could not be loaded:" />
    ${!loaded.data && loaded.loading && html`<${Loading} />`}
    ${loaded.data && rows.length === 0 && html`<p class="muted">No deliveries yet.</p>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="records">
      <thead><tr><th scope="col"><span class="th">When (UTC)</span></th><th scope="col"><span class="th">Event</span></th>
        <th scope="col"><span class="th">Status</span></th><th scope="col"><span class="th">Attempts</span></th>
        <th scope="col"><span class="th">Response</span></th><th scope="col"><span class="th">Error</span></th>
        <th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${rows.map((d) => {
        const st = rowState[d.id] || {};
        const done = d.status === 'done' || d.status === 'dead';
        const cls = d.status === 'done' ? 'level-info' : d.status === 'dead' ? 'level-error' : d.status === 'failed' ? 'level-warn' : '';
        return html`<tr key=${d.id} data-delivery=${d.id}>
          <td class="muted small">${String(d.created).slice(0, 19)}</td>
          <td class="small">${d.type}<br /><span class="mono muted small" title="webhook-id">${d.messageId}</span></td>
          <td><span class=${`level ${cls}`}>${d.status}</span></td>
          <td class="col-number">${d.attempts}/${d.maxAttempts}</td>
          <td class="small">${d.result?.status ?? '—'}${d.result && html` <span class="muted">in ${d.result.ms} ms</span>`}
            ${d.result?.response && html`<br /><code class="small" title=${d.result.response}>${d.result.response.slice(0, 80)}</code>`}</td>
          <td class="small">${d.lastError}</td>
          <td><div class="row-actions">
            <button type="button" class="btn small" disabled=${!done || st.busy} onClick=${() => redeliver(d)}
              aria-label=${`Redeliver ${d.messageId}`}>${st.busy ? 'Sending…' : 'Redeliver'}</button>
            ${st.sent && html`<span class="ok-text small" role="status">Queued again</span>`}
          </div>${st.error && html`<${ErrorNote} error=${st.error} />`}</td>
        </tr>`;
      })}</tbody>
    </table></div>`}
    ${more && html`<div class="inline form-row">
      <button class="btn small" type="button" disabled=${older.busy} onClick=${loadOlder}>${older.busy ? 'Loading…' : 'Older deliveries'}</button>
    </div>`}
    <${ErrorNote} error=${older.error} title="The older deliveries could not be loaded:" />
  </section>`;
}
