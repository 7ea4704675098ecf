// The runtime settings, in one form: the application, mail (with a test
// message), the trusted proxy (with the address Cairn sees for you),
// rate limits, batch limits, log retention and the backup schedule.
// Saving sends the sections shown here with PATCH /api/settings; the
// server merges them into the rest. The SMTP password is never sent back
// by the server, so an empty box keeps the stored one.
import { html, useEffect, useRef, useState } from './lib.js';
import { get, patch, post } from './api.js';
import { useLeaveGuard } from './leave_guard.js';
import { ErrorNote, Loading, Page, errorAt, saving, toast, useLoad } from './ui.js';
import { cronSaid } from './cron_words.js';
import { LEVELS } from './logs.js';

const SECTIONS = [
  ['settings-app', 'Application'], ['settings-mail', 'Mail'], ['settings-proxy', 'Trusted proxy'],
  ['settings-rate', 'Rate limits'], ['settings-batch', 'Batch'], ['settings-logs', 'Logs'], ['settings-backups', 'Backups'],
];

/** The parts of the settings this page edits. */
function editable(s) {
  return {
    meta: { appName: s.meta.appName, appURL: s.meta.appURL, senderName: s.meta.senderName, senderAddress: s.meta.senderAddress },
    smtp: { ...s.smtp, password: '' },
    trustedProxy: { headers: s.trustedProxy.headers || [], useLeftmostIP: s.trustedProxy.useLeftmostIP, networks: s.trustedProxy.networks || [] },
    rateLimits: { enabled: s.rateLimits.enabled, rules: (s.rateLimits.rules || []).map((r) => ({ ...r })), excludedIPs: s.rateLimits.excludedIPs || [] },
    batch: { ...s.batch },
    logs: { ...s.logs },
    backups: { cron: s.backups.cron, cronMaxKeep: s.backups.cronMaxKeep },
  };
}

const at = (obj, path) => path.reduce((o, k) => (o == null ? o : o[k]), obj);
function setAt(obj, path, value) {
  if (path.length === 0) return value;
  const [k, ...rest] = path;
  const copy = Array.isArray(obj) ? [...obj] : { ...obj };
  copy[k] = setAt(obj[k], rest, value);
  return copy;
}
/** The dotted paths of every field error in the server's `data` tree. */
function errorPaths(node, prefix = []) {
  if (!node || typeof node !== 'object') return [];
  if (typeof node.message === 'string') return [prefix.join('.')];
  return Object.entries(node).flatMap(([k, v]) => errorPaths(v, [...prefix, k]));
}
const list = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

export function Settings() {
  const loaded = useLoad(() => get('/api/settings'), []);
  if (loaded.error && !loaded.data) {
    return html`<${Page} title="Settings"><${ErrorNote} error=${loaded.error} title="The settings could not be loaded:" />
      <button class="btn" onClick=${loaded.reload}>Try again</button></${Page}>`;
  }
  if (!loaded.data) return html`<${Page} title="Settings"><${Loading} /></${Page}>`;
  return html`<${SettingsForm} initial=${loaded.data} />`;
}

function SettingsForm({ initial }) {
  const [base, setBase] = useState(() => editable(initial));
  const [form, setForm] = useState(base);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  // Fields changed since the server's answer: its error no longer describes them.
  const [edited, setEdited] = useState(() => new Set());
  const dirty = JSON.stringify(form) !== JSON.stringify(base);
  const latest = useRef(dirty);
  latest.current = dirty;
  useLeaveGuard(() => latest.current);

  const set = (path, value) => {
    setForm((f) => setAt(f, path, value));
    setSaved(false);
    setEdited((e) => new Set(e).add(path.join('.')));
  };
  const problem = (path) => !edited.has(path.join('.')) && errorAt(error, path);

  async function save(e) {
    e.preventDefault();
    setSaved(false);
    setEdited(new Set());
    const body = JSON.parse(JSON.stringify(form));
    if (!body.smtp.password) delete body.smtp.password;
    await saving(setBusy, setError, async () => {
      const answer = await patch('/api/settings', body);
      const next = editable(answer);
      setBase(next);
      setForm(next);
      setBusy(false);
      setSaved(true);
      toast('Settings saved');
    });
  }

  // One input bound to `path` in the form, with the server's error beside it.
  const field = (path, label, { type = 'text', hint, placeholder, min, step, wide, after } = {}) => {
    const id = `s-${path.join('-')}`;
    const v = at(form, path);
    const err = problem(path);
    const input = html`<input id=${id} name=${path.join('.')} type=${type} value=${v ?? ''} placeholder=${placeholder} min=${min} step=${step}
        class=${err ? 'invalid' : ''} aria-invalid=${err ? 'true' : undefined} aria-describedby=${err ? `${id}-error` : undefined}
        autocomplete=${type === 'password' ? 'new-password' : 'off'} spellcheck="false"
        onInput=${(e) => set(path, type === 'number' ? (e.currentTarget.value === '' ? 0 : Number(e.currentTarget.value)) : e.currentTarget.value)} />`;
    return html`<div class=${`field${wide ? '' : ' narrow'}`}>
      <label for=${id}>${label}${hint && html` <span class="type-hint">${hint}</span>`}</label>
      ${after ? html`<div class="with-after">${input}${after(v)}</div>` : input}
      ${err && html`<p class="field-error" id=${`${id}-error`} role="alert">${err.message}</p>`}
    </div>`;
  };
  const check = (path, label, hint) => html`<label class="check block"><input type="checkbox" name=${path.join('.')} checked=${at(form, path)}
    onChange=${(e) => set(path, e.currentTarget.checked)} />${label}${hint && html` <span class="muted small">${hint}</span>`}</label>`;
  const listField = (path, label, hint, placeholder) => {
    const id = `s-${path.join('-')}`;
    const err = problem(path) || (at(error?.data, path) && Object.values(at(error.data, path)).find((x) => x?.message));
    return html`<div class="field narrow"><label for=${id}>${label} <span class="type-hint">${hint}</span></label>
      <${ListInput} id=${id} name=${path.join('.')} value=${at(form, path)} placeholder=${placeholder} invalid=${Boolean(err)}
        onChange=${(v) => set(path, v)} />
      ${err && html`<p class="field-error" role="alert">${err.message}</p>`}</div>`;
  };

  const fieldErrors = error && Object.keys(error.data || {}).length > 0;
  // Once every marked field is changed, the message no longer applies.
  const showError = error && (!fieldErrors || errorPaths(error.data).some((p) => !edited.has(p)));
  return html`<${Page} title="Settings" sub="How this server behaves; changes apply at once, with no restart.">
    <nav class="section-nav" aria-label="Sections">${SECTIONS.map(([id, label]) => html`<button type="button" class="chip"
      onClick=${() => document.getElementById(id)?.scrollIntoView({ block: 'start' })}>${label}</button>`)}</nav>
    <form class="editor settings" onSubmit=${save} noValidate>
      <section id="settings-app" class="settings-section" aria-labelledby="h-app">
        <h2 id="h-app">Application</h2>
        ${field(['meta', 'appName'], 'Application name', { hint: 'in mail and page titles' })}
        ${field(['meta', 'appURL'], 'Application URL', { type: 'url', hint: 'the base of links in mail', placeholder: 'https://example.com' })}
      </section>

      <section id="settings-mail" class="settings-section" aria-labelledby="h-mail">
        <h2 id="h-mail">Mail</h2>
        <div class="two">
          ${field(['meta', 'senderName'], 'Sender name')}
          ${field(['meta', 'senderAddress'], 'Sender address', { type: 'email' })}
        </div>
        ${check(['smtp', 'enabled'], 'Send through an SMTP server', form.smtp.enabled ? '' : '(off: mail is kept in the outbox, for development)')}
        ${form.smtp.enabled && html`<div class="sub-fields">
          <div class="two">
            ${field(['smtp', 'host'], 'Host', { placeholder: 'smtp.example.com' })}
            ${field(['smtp', 'port'], 'Port', { type: 'number', min: 1 })}
          </div>
          <div class="two">
            ${field(['smtp', 'username'], 'Username')}
            ${field(['smtp', 'password'], 'Password', { type: 'password', placeholder: 'unchanged', hint: 'empty keeps the saved one' })}
          </div>
          <div class="two">
            <div class="field narrow"><label for="s-smtp-authMethod">Authentication</label>
              <select id="s-smtp-authMethod" name="smtp.authMethod" value=${form.smtp.authMethod} onChange=${(e) => set(['smtp', 'authMethod'], e.currentTarget.value)}>
                <option value="">PLAIN (default)</option><option value="PLAIN">PLAIN</option><option value="LOGIN">LOGIN</option></select></div>
            ${field(['smtp', 'localName'], 'Local name', { hint: 'HELO name, optional', placeholder: 'localhost' })}
          </div>
          ${check(['smtp', 'tls'], 'Implicit TLS', '(usually port 465; otherwise STARTTLS when offered)')}
        </div>`}
        <${TestEmail} smtp=${base.smtp.enabled} dirty=${JSON.stringify([form.meta, form.smtp]) !== JSON.stringify([base.meta, base.smtp])} />
      </section>

      <section id="settings-proxy" class="settings-section" aria-labelledby="h-proxy">
        <h2 id="h-proxy">Trusted proxy</h2>
        <p class="muted small">Behind a reverse proxy or load balancer, the client's address comes from a header the proxy sets.
          Headers are believed only from the proxy addresses listed.</p>
        <${SeenAs} />
        ${listField(['trustedProxy', 'headers'], 'Headers', 'comma separated; empty: X-Forwarded-For, X-Real-IP, Forwarded', 'X-Forwarded-For')}
        ${listField(['trustedProxy', 'networks'], 'Proxy addresses', 'IPs or CIDR networks whose headers are believed', '127.0.0.0/8, ::1/128')}
        ${check(['trustedProxy', 'useLeftmostIP'], 'Use the left-most address', '(what the client sent; only when the proxy overwrites the header)')}
      </section>

      <section id="settings-rate" class="settings-section" aria-labelledby="h-rate">
        <h2 id="h-rate">Rate limits</h2>
        ${check(['rateLimits', 'enabled'], 'Limit requests per client address')}
        <${RateRules} rules=${form.rateLimits.rules} problem=${problem} onChange=${(rules, cell) => {
          set(['rateLimits', 'rules'], rules);
          // The edited cell's old error no longer describes it.
          if (cell) setEdited((e) => new Set(e).add(['rateLimits', 'rules', ...cell].join('.')));
        }} />
        ${listField(['rateLimits', 'excludedIPs'], 'Excluded addresses', 'never limited; IPs or CIDR networks', '10.0.0.0/8')}
      </section>

      <section id="settings-batch" class="settings-section" aria-labelledby="h-batch">
        <h2 id="h-batch">Batch</h2>
        ${check(['batch', 'enabled'], 'Allow batch requests', '(POST /api/batch)')}
        <div class="three">
          ${field(['batch', 'maxRequests'], 'Requests per batch', { type: 'number', min: 1 })}
          ${field(['batch', 'timeout'], 'Time limit', { type: 'number', min: 1, hint: 'seconds' })}
          ${field(['batch', 'maxBodySize'], 'Body size limit', { type: 'number', min: 0, hint: 'bytes; 0: default' })}
        </div>
      </section>

      <section id="settings-logs" class="settings-section" aria-labelledby="h-logs">
        <h2 id="h-logs">Logs</h2>
        <div class="two">
          ${field(['logs', 'maxDays'], 'Keep for', { type: 'number', min: 0, hint: 'days; 0 turns logging off' })}
          <div class="field narrow"><label for="s-logs-minLevel">Lowest level kept</label>
            <select id="s-logs-minLevel" name="logs.minLevel" value=${form.logs.minLevel} onChange=${(e) => set(['logs', 'minLevel'], Number(e.currentTarget.value))}>
              ${LEVELS.map(([v, name]) => html`<option value=${v}>${name} (${v})</option>`)}</select></div>
        </div>
        ${check(['logs', 'logIP'], 'Log client addresses')}
        ${check(['logs', 'logAuthId'], 'Log the id of the signed-in account')}
      </section>

      <section id="settings-backups" class="settings-section" aria-labelledby="h-backups">
        <h2 id="h-backups">Backup schedule</h2>
        <div class="two">
          ${field(['backups', 'cron'], 'Schedule', { hint: 'cron expression, UTC; empty: none', placeholder: '0 0 * * *',
            after: (v) => cronSaid(v) && html`<span class="muted small cron-said">${cronSaid(v)}</span>` })}
          ${field(['backups', 'cronMaxKeep'], 'Scheduled backups kept', { type: 'number', min: 1 })}
        </div>
      </section>

      <div class=${`form-actions sticky${dirty ? ' dirty' : ''}`}>
        ${showError && html`<div class="note error" role="alert">${error.message}${fieldErrors ? ' The problems are marked above.' : ''}
          ${error.requestId && html` <span class="reqid">Request id <code>${error.requestId}</code></span>`}</div>`}
        <div class="actions">
          <button class="btn primary" type="submit" disabled=${busy || !dirty}>${busy ? 'Saving…' : 'Save changes'}</button>
          <button class="btn" type="button" disabled=${busy || !dirty} onClick=${() => { setForm(base); setError(null); }}>Discard changes</button>
          ${dirty && html`<span class="muted small">Unsaved changes</span>`}
          ${saved && !dirty && html`<span class="ok-text small saved" role="status">✓ Saved</span>`}
        </div>
      </div>
    </form>
  </${Page}>`;
}

/** A list of short strings typed as one comma-separated line. */
function ListInput({ id, name, value, placeholder, invalid, onChange }) {
  const [text, setText] = useState((value || []).join(', '));
  // Follows the value when it changes from outside (saved, discarded).
  const mine = useRef(value);
  useEffect(() => {
    if (JSON.stringify(mine.current) !== JSON.stringify(value)) setText((value || []).join(', '));
    mine.current = value;
  }, [value]);
  return html`<input id=${id} name=${name} value=${text} placeholder=${placeholder} class=${invalid ? 'invalid' : ''} autocomplete="off" spellcheck="false"
    onInput=${(e) => { setText(e.currentTarget.value); const v = list(e.currentTarget.value); mine.current = v; onChange(v); }} />`;
}

function RateRules({ rules, problem, onChange }) {
  const put = (i, k, v) => onChange(rules.map((r, j) => (j === i ? { ...r, [k]: v } : r)), [i, k]);
  return html`<div class="table-wrap rate-wrap"><table class="records rate-rules">
    <thead><tr><th scope="col"><span class="th">Label</span></th><th scope="col"><span class="th">Who</span></th>
      <th scope="col"><span class="th">Max requests</span></th><th scope="col"><span class="th">Per seconds</span></th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
    <tbody>${rules.map((r, i) => {
      const err = (k) => problem(['rateLimits', 'rules', i, k]);
      const note = (k) => err(k) && html`<p class="field-error" role="alert">${err(k).message}</p>`;
      const number = (k, label) => html`<input type="number" min="1" name=${`rule-${i}-${k}`} aria-label=${`Rule ${i + 1} ${label}`}
        class=${err(k) ? 'invalid' : ''} aria-invalid=${err(k) ? 'true' : undefined} value=${r[k]}
        onInput=${(e) => put(i, k, Number(e.currentTarget.value) || 0)} />${note(k)}`;
      return html`<tr key=${i}>
      <td><input name=${`rule-${i}-label`} aria-label=${`Rule ${i + 1} label`} class=${`mono${err('label') ? ' invalid' : ''}`} value=${r.label}
        aria-invalid=${err('label') ? 'true' : undefined} placeholder="*:auth or /api/path" onInput=${(e) => put(i, 'label', e.currentTarget.value)} />
        ${note('label')}</td>
      <td><select aria-label=${`Rule ${i + 1} applies to`} value=${r.audience} onChange=${(e) => put(i, 'audience', e.currentTarget.value)}>
        <option value="">everyone</option><option value="@guest">guests</option><option value="@auth">signed in</option></select>
        ${note('audience')}</td>
      <td>${number('maxRequests', 'max requests')}</td>
      <td>${number('duration', 'window in seconds')}</td>
      <td><button type="button" class="btn small ghost" aria-label=${`Remove rule ${r.label || i + 1}`}
        onClick=${() => onChange(rules.filter((_, j) => j !== i))}>✕</button></td>
    </tr>`;
    })}</tbody></table></div>
    <p class="muted small">Labels: a path (<code>/api/batch</code>), a path prefix (<code>/api/</code>), a method and path
      (<code>POST /api/files/token</code>), or a tag (<code>users:create</code>, <code>*:auth</code>).</p>
    <button type="button" class="btn small" onClick=${() => onChange([...rules, { label: '', audience: '', duration: 60, maxRequests: 10 }])}>+ Add rule</button>`;
}

/** The client address Cairn resolves for this browser, and a header it did not believe. */
function SeenAs() {
  const health = useLoad(() => get('/api/health'), []);
  const d = health.data?.data;
  if (health.error) return html`<${ErrorNote} error=${health.error} title="Your address could not be checked:" />`;
  if (!d) return html`<p class="muted small">Checking your address…</p>`;
  return html`<div class="seen-as" role="status">
    <span>Cairn sees your address as <code class="real-ip">${d.realIP || '?'}</code>.</span>
    ${d.possibleProxyHeader
      ? html`<span class="warn-text">The request also carried <code>${d.possibleProxyHeader}</code>, which was not believed:
          if Cairn is behind a proxy, name that header and the proxy's address here.</span>`
      : html`<span class="muted">No forwarding header was ignored.</span>`}
    <button type="button" class="btn small ghost" onClick=${health.reload}>Check again</button>
  </div>`;
}

const TEMPLATES = [
  ['verification', 'Verification'], ['password-reset', 'Password reset'], ['email-change', 'Email change'],
  ['otp', 'One-time code'], ['login-alert', 'New sign-in alert'],
];

/** Sends a sample message with the saved mail settings. */
function TestEmail({ smtp, dirty }) {
  const [to, setTo] = useState('');
  const [template, setTemplate] = useState('verification');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(null);
  // Inside the settings form, which it must not submit (forms do not
  // nest): its button is a plain button, and Enter in its box sends it.
  async function send() {
    setSent(null);
    await saving(setBusy, setError, async () => {
      await post('/api/settings/test/email', { email: to.trim(), template });
      setBusy(false);
      setSent({ to: to.trim(), smtp });
    });
  }
  const err = (k) => errorAt(error, [k]);
  return html`<fieldset class="test-email">
    <legend>Send a test email</legend>
    ${dirty && html`<p class="muted small">The test uses the saved settings: save your changes first.</p>`}
    <div class="inline wrap">
      <label class="small grow">To <input name="test-email" type="email" value=${to} placeholder="you@example.com"
        class=${err('email') ? 'invalid' : ''} onInput=${(e) => setTo(e.currentTarget.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); send(); } }} /></label>
      <label class="small">Template <select name="test-template" value=${template}
        onChange=${(e) => setTemplate(e.currentTarget.value)}>${TEMPLATES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
      <button type="button" class="btn" disabled=${busy} onClick=${send}>${busy ? 'Sending…' : 'Send test email'}</button>
    </div>
    ${['email', 'template'].map((k) => err(k) && html`<p class="field-error" role="alert">${k}: ${err(k).message}</p>`)}
    <${ErrorNote} error=${error && !err('email') && !err('template') ? error : null} />
    ${sent && html`<p class="note ok" role="status">${sent.smtp ? `Sent to ${sent.to}: the mail server accepted it.`
      : `SMTP is off: the message to ${sent.to} was kept in the outbox (GET /api/mail/outbox).`}</p>`}
  </fieldset>`;
}
