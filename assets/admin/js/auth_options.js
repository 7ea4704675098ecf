// The options of an auth collection, edited in the collection editor:
// password sign-in and its identity fields, one-time codes, MFA (with the
// rule editor), OAuth2 providers and mapped fields, token lifetimes,
// Cairn's session options, the sign-in alert and the mail templates with a
// preview. The options sit at the top level of the collection's JSON
// (PocketBase's names), so they live in the editor's draft like its rules,
// and the server's errors come back at the same paths (`otp.duration`).
//
// Client secrets are write-only: the server never sends them back, so a
// saved provider shows "set" and an empty box keeps the stored secret
// (`authOptionsBody` drops it; the server keeps a secret a provider is
// sent without).
import { html, useState } from './lib.js';
import { post } from './api.js';
import { AppleSecret } from './apple_secret.js';
import { RuleEditor } from './rule_editor.js';
import { ErrorNote, FieldError, errorAt } from './ui.js';

/** The providers the server implements (src/schema/auth_options/oauth2.rs,
 *  OAUTH2_PROVIDERS; a test there checks this list has them all): the
 *  two most asked for first, then by name. */
const PROVIDERS = [
  ['github', 'GitHub'], ['google', 'Google'], ['apple', 'Apple'], ['bitbucket', 'Bitbucket'], ['box', 'Box'],
  ['discord', 'Discord'], ['facebook', 'Facebook'], ['gitea', 'Gitea/Forgejo'], ['gitee', 'Gitee'],
  ['gitlab', 'GitLab'], ['instagram2', 'Instagram'], ['kakao', 'Kakao'], ['lark', 'Lark'], ['linear', 'Linear'],
  ['livechat', 'LiveChat'], ['mailcow', 'mailcow'], ['microsoft', 'Microsoft'], ['monday', 'monday.com'],
  ['notion', 'Notion'], ['oidc', 'OpenID Connect'], ['oidc2', 'OpenID Connect (2)'], ['oidc3', 'OpenID Connect (3)'],
  ['patreon', 'Patreon'], ['planningcenter', 'Planning Center'], ['spotify', 'Spotify'], ['strava', 'Strava'],
  ['trakt', 'Trakt'], ['twitch', 'Twitch'], ['twitter', 'X/Twitter'], ['vk', 'VK'], ['wakatime', 'WakaTime'],
  ['yandex', 'Yandex'],
];

/** Providers with no endpoints of their own: the collection gives them. */
const NEEDS_URLS = new Set(['oidc', 'oidc2', 'oidc3', 'mailcow']);

const TOKENS = [
  ['authToken', 'Sign-in tokens', 432000], ['verificationToken', 'Email verification', 86400],
  ['passwordResetToken', 'Password reset', 1800], ['emailChangeToken', 'Email change', 1800],
  ['fileToken', 'Protected file access', 180],
];

/** [option path, label, test-email template name, placeholders it fills]. */
export const TEMPLATES = [
  [['verificationTemplate'], 'Verification', 'verification', ['{APP_NAME}', '{APP_URL}', '{TOKEN}', '{RECORD:…}']],
  [['resetPasswordTemplate'], 'Password reset', 'password-reset', ['{APP_NAME}', '{APP_URL}', '{TOKEN}', '{RECORD:…}']],
  [['confirmEmailChangeTemplate'], 'Email change', 'email-change', ['{APP_NAME}', '{APP_URL}', '{TOKEN}', '{RECORD:…}']],
  [['otp', 'emailTemplate'], 'One-time code', 'otp', ['{APP_NAME}', '{APP_URL}', '{OTP}', '{RECORD:…}']],
  [['authAlert', 'emailTemplate'], 'Sign-in alert', 'login-alert', ['{APP_NAME}', '{APP_URL}', '{ALERT_INFO}', '{RECORD:…}']],
];

const at = (obj, path) => path.reduce((o, k) => (o == null ? undefined : o[k]), obj);
/** `obj` with `value` at `path`, copied along the way. */
export function setOption(obj, path, value) {
  if (path.length === 0) return value;
  const [k, ...rest] = path;
  const copy = Array.isArray(obj) ? [...obj] : { ...(obj || {}) };
  copy[k] = setOption(copy[k], rest, value);
  return copy;
}

/** "5 days", "30 minutes": a lifetime in words, beside its seconds. */
export function inWords(seconds) {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return '';
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}${n / size === 1 ? '' : 's'}`;
  }
  return n < 60 ? `${n} s` : `about ${Math.round(n / 60)} minutes`;
}

/** What saving sends of the options: a client secret only when typed. */
export function authOptionsBody(body) {
  const providers = body.oauth2?.providers;
  if (!providers) return body;
  return {
    ...body,
    oauth2: {
      ...body.oauth2,
      providers: providers.map((p) => {
        const { clientSecret, ...rest } = p;
        return clientSecret ? p : rest;
      }),
    },
  };
}

/** Whether a one-column UNIQUE index covers `name`. */
function isUnique(indexes, name) {
  const q = '[`"\\[]?';
  const re = new RegExp(`^\\s*CREATE\\s+UNIQUE\\s+INDEX\\b.*\\(\\s*${q}${name}${q}\\s*(COLLATE\\s+\\w+\\s*)?\\)`, 'is');
  return (indexes || []).some((sql) => re.test(sql));
}

const SAMPLE = {
  '{APP_NAME}': 'Acme', '{APP_URL}': 'https://acme.example.com', '{TOKEN}': 'eyJhbGciOi.sample.token',
  '{OTP}': '12345678', '{ALERT_INFO}': 'Firefox on Linux, 203.0.113.7, 2026-01-02 15:04 UTC',
};
const SAMPLE_RECORD = { id: 'r4nd0m1d0000001', email: 'jane@example.com', name: 'Jane Doe', username: 'jane' };
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/**
 * A template with sample values in its placeholders. `html` escapes the
 * values for a body; a subject is plain text.
 */
export function renderTemplate(text, { asHtml = false } = {}) {
  const put = (v) => (asHtml ? escapeHtml(v) : v);
  return String(text || '')
    .replace(/\{RECORD:(\w+)\}/g, (_, f) => put(SAMPLE_RECORD[f] ?? `‹${f}›`))
    .replace(/\{[A-Z_]+\}/g, (m) => (m in SAMPLE ? put(SAMPLE[m]) : m));
}

/**
 * The auth options of `draft`, edited in place through `onChange(path,
 * value)`. `saved` is the collection as stored (null for a new one): it
 * tells which providers have a secret already.
 */
export function AuthOptions({ draft, saved, error, collections, onChange }) {
  const val = (path, fallback) => at(draft, path) ?? fallback;
  const err = (path) => errorAt(error, path);
  const id = (path) => `ao-${path.join('-')}`;
  const describe = (path) => (err(path) ? `${id(path)}-error` : undefined);
  const problem = (path) => html`<${FieldError} error=${error} path=${path} id=${`${id(path)}-error`} />`;

  const check = (path, label, fallback, hint) => html`<label class="check block">
    <input type="checkbox" name=${path.join('.')} checked=${Boolean(val(path, fallback))}
      onChange=${(e) => onChange(path, e.currentTarget.checked)} /><span>${label}${hint && html` <span class="muted small">${hint}</span>`}</span></label>`;

  // A number of seconds (or digits) with its words beside it. An empty box
  // on a new collection leaves the server's default.
  const number = (path, label, { fallback, unit = 'seconds', min = 0 } = {}) => {
    const v = val(path, undefined);
    const shown = v ?? '';
    return html`<div class="field">
      <label for=${id(path)}>${label}${unit === 'seconds' && html` <span class="type-hint">${inWords(v ?? fallback) || unit}</span>`}</label>
      <input id=${id(path)} name=${path.join('.')} type="number" step="1" min=${min} value=${shown}
        placeholder=${fallback === undefined ? '' : String(fallback)} inputmode="numeric"
        class=${err(path) ? 'invalid' : ''} aria-invalid=${err(path) ? 'true' : undefined} aria-describedby=${describe(path)}
        onInput=${(e) => onChange(path, e.currentTarget.value === '' ? undefined : Number(e.currentTarget.value))} />
      ${problem(path)}
    </div>`;
  };

  const fields = (draft.fields || []).filter((f) => f.name && f.type !== 'password' && f.name !== 'tokenKey');
  const identityCandidates = fields.filter((f) => ['text', 'email', 'number', 'url'].includes(f.type) && f.name !== 'id');
  const identities = val(['passwordAuth', 'identityFields'], ['email']);
  const passwordOn = val(['passwordAuth', 'enabled'], true);
  const otpOn = val(['otp', 'enabled'], false);
  const mfaOn = val(['mfa', 'enabled'], false);
  const oauthOn = val(['oauth2', 'enabled'], false);
  const providers = val(['oauth2', 'providers'], []);
  const storedProviders = new Set((saved?.oauth2?.providers || []).map((p) => p.name));
  const mapped = val(['oauth2', 'mappedFields'], {});

  const setProvider = (i, k, v) => onChange(['oauth2', 'providers'], providers.map((p, j) => (j === i ? { ...p, [k]: v } : p)));
  const addProvider = () => {
    const free = PROVIDERS.find(([n]) => !providers.some((p) => p.name === n));
    onChange(['oauth2', 'providers'], [...providers, { name: free ? free[0] : 'oidc', clientId: '', clientSecret: '', displayName: '' }]);
    setTimeout(() => document.querySelector('.provider:last-of-type select')?.focus(), 0);
  };

  return html`<div class="auth-options">
    <fieldset class="ao-group" aria-describedby="ao-password-help">
      <legend>Password sign-in</legend>
      ${check(['passwordAuth', 'enabled'], 'Accounts sign in with a password', true)}
      ${passwordOn && html`<div class="ao-identities" role="group" aria-labelledby="ao-identity-label">
        <p class="small" id="ao-identity-label">Identity: the fields a person may type to sign in.</p>
        <p class="muted small" id="ao-password-help">Each needs a unique index on that field alone (see Indexes above).</p>
        <div class="ao-choices">
          ${identityCandidates.map((f) => {
            // The server keeps a unique index on the email of every auth collection.
            const unique = f.name === 'email' || isUnique(draft.indexes, f.name);
            return html`<label class="check"><input type="checkbox" name="identity-field" value=${f.name}
              checked=${identities.includes(f.name)} aria-describedby=${describe(['passwordAuth', 'identityFields'])}
              onChange=${(e) => onChange(['passwordAuth', 'identityFields'],
                e.currentTarget.checked ? [...identities, f.name] : identities.filter((n) => n !== f.name))} />
              <span class="mono">${f.name}</span>${!unique && html`<span class="muted small">(not unique)</span>`}</label>`;
          })}
        </div>
        ${problem(['passwordAuth', 'identityFields'])}
      </div>`}
    </fieldset>

    <fieldset class="ao-group">
      <legend>One-time codes by email (OTP)</legend>
      ${check(['otp', 'enabled'], 'Accounts may sign in with a code sent by email', false)}
      ${otpOn && html`<div class="two">
        ${number(['otp', 'duration'], 'Code valid for', { fallback: 180, min: 10 })}
        ${number(['otp', 'length'], 'Digits', { fallback: 8, unit: 'digits', min: 4 })}
      </div>`}
      ${problem(['otp', 'enabled'])}
    </fieldset>

    <fieldset class="ao-group">
      <legend>Multi-factor authentication (MFA)</legend>
      ${check(['mfa', 'enabled'], 'Ask for a second, different method after the first', false,
        '(needs two methods on: password, OTP or OAuth2)')}
      ${problem(['mfa', 'enabled'])}
      ${mfaOn && html`${number(['mfa', 'duration'], 'Time to give the second factor', { fallback: 600, min: 10 })}
        <div class="field"><span id="ao-mfa-rule-label">Who needs it <span class="type-hint">a rule; empty: every account</span></span>
          <${RuleEditor} name="mfa-rule" label="MFA" value=${val(['mfa', 'rule'], '')} invalid=${Boolean(err(['mfa', 'rule']))}
            errorId="ao-mfa-rule-error" placeholder="verified = true" draft=${draft} collections=${collections} onChange=${(v) => onChange(['mfa', 'rule'], v)} />
          ${problem(['mfa', 'rule'])}</div>`}
    </fieldset>

    <fieldset class="ao-group">
      <legend>OAuth2 providers</legend>
      ${check(['oauth2', 'enabled'], 'Accounts may sign in with another service', false)}
      ${oauthOn && html`<ol class="provider-list">${providers.map((p, i) => {
        const pp = (k) => ['oauth2', 'providers', String(i), k];
        const stored = storedProviders.has(p.name);
        const input = (k, label, attrs = {}) => html`<div class="field">
          <label for=${id(pp(k))}>${label}${attrs.hint && html` <span class="type-hint">${attrs.hint}</span>`}</label>
          <input id=${id(pp(k))} name=${`provider-${i}-${k}`} type=${attrs.type || 'text'} value=${p[k] || ''} spellcheck="false"
            autocomplete=${attrs.type === 'password' ? 'new-password' : 'off'} placeholder=${attrs.placeholder || ''}
            class=${err(pp(k)) ? 'invalid' : ''} aria-invalid=${err(pp(k)) ? 'true' : undefined} aria-describedby=${describe(pp(k))}
            onInput=${(e) => setProvider(i, k, e.currentTarget.value)} />
          ${problem(pp(k))}</div>`;
        return html`<li class="provider" key=${i}>
          <div class="provider-head">
            <label class="small" for=${id(pp('name'))}>Provider</label>
            <select id=${id(pp('name'))} name=${`provider-${i}-name`} value=${p.name} class=${err(pp('name')) ? 'invalid' : ''}
              aria-describedby=${describe(pp('name'))} onChange=${(e) => setProvider(i, 'name', e.currentTarget.value)}>
              ${PROVIDERS.map(([n, l]) => html`<option value=${n}>${l}</option>`)}
            </select>
            <button type="button" class="btn ghost small push" aria-label=${`Remove provider ${p.name}`}
              onClick=${() => onChange(['oauth2', 'providers'], providers.filter((_, j) => j !== i))}>Remove</button>
          </div>
          ${problem(pp('name'))}
          <div class="two">
            ${input('clientId', 'Client id')}
            ${input('clientSecret', 'Client secret', stored
              ? { type: 'password', hint: 'set — leave empty to keep', placeholder: '•••••• (set)' }
              : { type: 'password', hint: 'never shown again once saved' })}
          </div>
          <div class="two">
            ${input('displayName', 'Display name', { hint: 'optional' })}
            <div class="field"><label for=${id(pp('pkce'))}>PKCE</label>
              <select id=${id(pp('pkce'))} name=${`provider-${i}-pkce`} value=${p.pkce === true ? 'on' : p.pkce === false ? 'off' : ''}
                onChange=${(e) => setProvider(i, 'pkce', e.currentTarget.value === '' ? null : e.currentTarget.value === 'on')}>
                <option value="">Provider's default</option><option value="on">On</option><option value="off">Off</option></select></div>
          </div>
          ${p.name === 'apple' && html`<${AppleSecret} clientId=${p.clientId || ''} onMade=${(secret) => setProvider(i, 'clientSecret', secret)} />`}
          ${NEEDS_URLS.has(p.name) ? html`<div class="three">
            ${input('authURL', 'Authorization URL', { placeholder: 'https://…/authorize' })}
            ${input('tokenURL', 'Token URL', { placeholder: 'https://…/token' })}
            ${input('userInfoURL', 'User info URL', { placeholder: 'https://…/userinfo' })}
          </div>` : html`<details class="provider-urls" open=${Boolean(p.authURL || p.tokenURL || p.userInfoURL)}>
            <summary class="small">Endpoints (a self-hosted server, another region)</summary>
            <div class="three">
              ${input('authURL', 'Authorization URL', { placeholder: 'the provider’s own' })}
              ${input('tokenURL', 'Token URL', { placeholder: 'the provider’s own' })}
              ${input('userInfoURL', 'User info URL', { placeholder: 'the provider’s own' })}
            </div></details>`}
        </li>`;
      })}</ol>
      ${providers.length === 0 && html`<p class="muted small">No provider yet.</p>`}
      <button type="button" class="btn small" onClick=${addProvider}>+ Add provider</button>
      <h3 class="ao-sub">Fields filled from the provider on sign-up</h3>
      <div class="four">${[['id', 'Provider’s user id'], ['name', 'Name'], ['username', 'Username'], ['avatarURL', 'Avatar']].map(([k, label]) => {
        const path = ['oauth2', 'mappedFields', k];
        return html`<div class="field"><label for=${id(path)}>${label}</label>
          <select id=${id(path)} name=${`mapped-${k}`} value=${mapped[k] || ''} onChange=${(e) => onChange(path, e.currentTarget.value)}>
            <option value="">— none —</option>
            ${fields.filter((f) => !f.system || f.name === 'id').filter((f) => f.name !== 'id').map((f) => html`<option value=${f.name}>${f.name}</option>`)}
          </select>${problem(path)}</div>`;
      })}</div>`}
    </fieldset>

    <fieldset class="ao-group">
      <legend>Token lifetimes</legend>
      <div class="three">${TOKENS.map(([k, label, fallback]) => number([k, 'duration'], label, { fallback, min: 10 }))}</div>
      ${(draft.sessions || !saved) && html`<h3 class="ao-sub">Sessions <span class="type-hint">Cairn’s refresh-token sessions</span></h3>
        ${check(['sessions', 'cookie'], 'Always give the refresh token as an HttpOnly cookie', false)}
        <div class="two">
          ${number(['sessions', 'accessTokenDuration'], 'Session access tokens', { fallback: 900, min: 60 })}
          ${number(['sessions', 'refreshTokenDuration'], 'A session lasts unused for', { fallback: 2592000, min: 60 })}
        </div>`}
    </fieldset>

    <fieldset class="ao-group">
      <legend>Mail</legend>
      ${check(['authAlert', 'enabled'], 'Tell the account by email when it signs in from a new device', true)}
      <${Templates} draft=${draft} saved=${saved} error=${error} onChange=${onChange} />
    </fieldset>
  </div>`;
}

function Templates({ draft, saved, error, onChange }) {
  const [which, setWhich] = useState(0);
  const [preview, setPreview] = useState(false);
  const [path, label, testName, placeholders] = TEMPLATES[which];
  const t = at(draft, path);
  const subjectPath = [...path, 'subject'];
  const bodyPath = [...path, 'body'];
  const bad = (p) => Boolean(errorAt(error, p));
  // Marks a tab whose template the server refused.
  const tabBad = (p) => bad([...p, 'subject']) || bad([...p, 'body']);
  // Tabs as the ARIA pattern has them: one stop for Tab, arrows between.
  const onTabKey = (e) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    // From the focused tab, not `which`: keys may come before the redraw.
    const from = TEMPLATES.findIndex((_, i) => e.target.id === `tpl-tab-${i}`);
    const next = ((from < 0 ? which : from) + step + TEMPLATES.length) % TEMPLATES.length;
    setWhich(next);
    document.getElementById(`tpl-tab-${next}`)?.focus();
  };
  if (!t && !saved) {
    return html`<p class="muted small">A new collection starts with the standard templates; edit them once it is created.</p>`;
  }
  return html`<div class="templates">
    <div class="segmented wrap" role="tablist" aria-label="Mail templates" onKeyDown=${onTabKey}>
      ${TEMPLATES.map(([p, l], i) => html`<button type="button" role="tab" id=${`tpl-tab-${i}`} aria-selected=${i === which}
        tabindex=${i === which ? 0 : -1}
        aria-controls="tpl-panel" class=${`${i === which ? 'on' : ''}${tabBad(p) ? ' bad' : ''}`}
        onClick=${() => setWhich(i)}>${l}${tabBad(p) ? ' ⚠' : ''}</button>`)}
    </div>
    <div id="tpl-panel" role="tabpanel" aria-labelledby=${`tpl-tab-${which}`}>
      <div class="field"><label for="tpl-subject">Subject</label>
        <input id="tpl-subject" name="template-subject" value=${t?.subject ?? ''} spellcheck="false"
          class=${bad(subjectPath) ? 'invalid' : ''} aria-describedby=${bad(subjectPath) ? 'tpl-subject-error' : undefined}
          onInput=${(e) => onChange(subjectPath, e.currentTarget.value)} />
        <${FieldError} error=${error} path=${subjectPath} id="tpl-subject-error" /></div>
      <div class="field"><label for="tpl-body">Body <span class="type-hint">HTML</span></label>
        <textarea id="tpl-body" name="template-body" rows="9" spellcheck="false" value=${t?.body ?? ''}
          class=${bad(bodyPath) ? 'invalid' : ''} aria-describedby=${bad(bodyPath) ? 'tpl-body-error' : 'tpl-placeholders'}
          onInput=${(e) => onChange(bodyPath, e.currentTarget.value)}></textarea>
        <${FieldError} error=${error} path=${bodyPath} id="tpl-body-error" /></div>
      <p class="muted small" id="tpl-placeholders">Placeholders: ${placeholders.map((p) => html`<code>${p}</code> `)}
        (<code>{RECORD:name}</code> is any field of the account).</p>
      <div class="ao-actions">
        <button type="button" class="btn small" aria-expanded=${preview} aria-controls="tpl-preview"
          onClick=${() => setPreview(!preview)}>${preview ? 'Hide preview' : 'Preview'}</button>
        ${saved && html`<${TestSend} collection=${saved.name} template=${testName}
          dirty=${JSON.stringify(at(saved, path)) !== JSON.stringify(t)} />`}
      </div>
      ${preview && html`<${Preview} id="tpl-preview" label=${label} template=${t || {}} />`}
    </div>
  </div>`;
}

/**
 * The template with sample values. The body is shown in an iframe with
 * `sandbox=""` and `srcdoc`: the sandbox gives it an opaque origin with no
 * scripts, forms, popups or top navigation, so HTML typed here cannot act
 * on the dashboard; the page's CSP (no inline scripts or styles, images
 * from 'self' only) also applies to a srcdoc document, so a template's
 * inline styles and remote images do not show here though mail clients
 * show them. The subject is plain text.
 */
function Preview({ id, label, template }) {
  return html`<div class="mail-preview" id=${id}>
    <p class="small"><span class="muted">Subject:</span> <strong class="preview-subject">${renderTemplate(template.subject)}</strong></p>
    <iframe sandbox="" title=${`Preview of the ${label} mail, with sample values`} srcdoc=${renderTemplate(template.body, { asHtml: true })}></iframe>
    <p class="muted small">Sample values: ${Object.entries(SAMPLE).map(([k, v]) => html`<code>${k}</code> = ${v}; `)}</p>
  </div>`;
}

/** Sends the saved template to an address (POST /api/settings/test/email). */
function TestSend({ collection, template, dirty }) {
  const [to, setTo] = useState('');
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [sent, setSent] = useState('');
  if (!open) {
    return html`<button type="button" class="btn small" aria-expanded="false"
      onClick=${() => { setOpen(true); setTimeout(() => document.getElementById('tpl-test-to')?.focus(), 0); }}>Send a test…</button>`;
  }
  async function send() {
    setBusy(true); setError(null); setSent('');
    try {
      await post('/api/settings/test/email', { email: to.trim(), template, collection });
      setSent(to.trim());
    } catch (e) { setError(e); }
    setBusy(false);
  }
  // Inside the collection form, which it must not submit: a plain
  // button, and Enter in its box sends the test instead.
  return html`<div class="test-send">
    <label class="small" for="tpl-test-to">Send the saved template to</label>
    <input id="tpl-test-to" type="email" name="template-test-to" value=${to} placeholder="you@example.com" autocomplete="off"
      class=${errorAt(error, ['email']) ? 'invalid' : ''} onInput=${(e) => setTo(e.currentTarget.value)}
      onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); send(); } }} />
    <button type="button" class="btn small" disabled=${busy} onClick=${send}>${busy ? 'Sending…' : 'Send'}</button>
    ${dirty && html`<span class="muted small">Save first to test your changes.</span>`}
    ${sent && html`<span class="ok-text small" role="status">✓ Sent to ${sent}.</span>`}
    ${errorAt(error, ['email']) ? html`<p class="field-error" role="alert">${errorAt(error, ['email']).message}</p>` : html`<${ErrorNote} error=${error} />`}
  </div>`;
}
