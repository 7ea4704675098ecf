// Apple's client secret is a JWT signed with a key from the Apple
// developer account, good for at most about six months. This makes one on
// the server (POST /api/settings/apple/generate-client-secret) and puts it
// in the provider's secret box; the key itself is sent once, never kept.
import { html, useState } from './lib.js';
import { post } from './api.js';
import { ErrorNote, FieldError, errorAt } from './ui.js';

const MAX_SECONDS = 15777000;
const DAY = 86400;

export function AppleSecret({ clientId, onMade }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ teamId: '', keyId: '', privateKey: '', days: '180' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [made, setMade] = useState(null);
  if (!open) {
    return html`<button type="button" class="btn small" aria-expanded="false"
      onClick=${() => { setOpen(true); setTimeout(() => document.getElementById('apple-team')?.focus(), 0); }}>Make the secret from a key…</button>`;
  }
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  async function make() {
    setBusy(true); setError(null); setMade(null);
    const duration = Math.min(MAX_SECONDS, Math.round(Number(form.days) * DAY) || 0);
    try {
      const { secret } = await post('/api/settings/apple/generate-client-secret', {
        clientId, teamId: form.teamId.trim(), keyId: form.keyId.trim(), privateKey: form.privateKey.trim(), duration,
      });
      onMade(secret);
      setMade(new Date(Date.now() + duration * 1000));
      setForm({ ...form, privateKey: '' });
    } catch (e) { setError(e); }
    setBusy(false);
  }
  const field = (k, id, label, input) => html`<div class="field">
    <label for=${id}>${label}</label>${input}<${FieldError} error=${error} path=${[k]} id=${`${id}-error`} /></div>`;
  const invalid = (k) => (errorAt(error, [k]) ? 'invalid' : '');
  return html`<div class="apple-secret" role="group" aria-label="Make Apple's client secret">
    ${!clientId && html`<p class="muted small">Fill in the client id (the Services ID) first.</p>`}
    <div class="three">
      ${field('teamId', 'apple-team', 'Team ID', html`<input id="apple-team" name="apple-team" value=${form.teamId} maxlength="10"
        autocomplete="off" spellcheck="false" class=${invalid('teamId')} onInput=${set('teamId')} />`)}
      ${field('keyId', 'apple-key-id', 'Key ID', html`<input id="apple-key-id" name="apple-key-id" value=${form.keyId} maxlength="10"
        autocomplete="off" spellcheck="false" class=${invalid('keyId')} onInput=${set('keyId')} />`)}
      ${field('duration', 'apple-days', 'Valid for (days, at most 182)', html`<input id="apple-days" name="apple-days" type="number"
        min="1" max="182" value=${form.days} class=${invalid('duration')} onInput=${set('days')} />`)}
    </div>
    ${field('privateKey', 'apple-key', 'Private key (the .p8 file’s text; sent once, not kept)', html`<textarea id="apple-key"
      name="apple-key" rows="4" class=${`mono ${invalid('privateKey')}`} spellcheck="false" value=${form.privateKey}
      placeholder="-----BEGIN PRIVATE KEY-----" onInput=${set('privateKey')}></textarea>`)}
    <div class="actions-row">
      <button type="button" class="btn small" disabled=${busy || !clientId} onClick=${make}>${busy ? 'Making…' : 'Make secret'}</button>
      <button type="button" class="btn ghost small" onClick=${() => setOpen(false)}>Close</button>
      ${made && html`<span class="ok-text small" role="status">✓ Put in the secret box, valid until ${made.toLocaleDateString()}. Save to keep it.</span>`}
    </div>
    ${error && !['teamId', 'keyId', 'privateKey', 'duration', 'clientId'].some((k) => errorAt(error, [k])) && html`<${ErrorNote} error=${error} />`}
    ${errorAt(error, ['clientId']) && html`<p class="field-error" role="alert">Client id: ${errorAt(error, ['clientId']).message}</p>`}
  </div>`;
}
