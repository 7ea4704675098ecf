// The superusers: who they are, adding one, changing a password, and
// removing one. The server refuses to remove the only one (the page says
// so before asking); removing yourself signs you out, and a new password
// of your own signs you in again with it, since it ends your sessions.
import { html, useEffect, useRef, useState } from './lib.js';
import { del, enc, get, patch, post, session, signIn, signOut } from './api.js';
import { Confirm, Empty, ErrorNote, FieldError, Loading, Page, saving, toast, useLoad } from './ui.js';

const BASE = '/api/collections/_superusers/records';

export function Superusers() {
  const loaded = useLoad(() => get(BASE, { perPage: 500, sort: 'email' }), []);
  const [removing, setRemoving] = useState(null);
  const [removeError, setRemoveError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [changing, setChanging] = useState(null);
  const me = session.user?.id;
  const items = loaded.data?.items || [];
  const only = items.length === 1;

  async function remove() {
    setBusy(true);
    setRemoveError(null);
    try {
      await del(`${BASE}/${enc(removing.id)}`);
      const self = removing.id === me;
      toast(`Removed the superuser ${removing.email}`);
      setRemoving(null);
      if (self) { await signOut().catch(() => {}); return; }
      loaded.reload();
    } catch (err) {
      setRemoveError(err);
      // The page may be out of date (the server counts the superusers).
      loaded.reload();
    }
    setBusy(false);
  }

  return html`<${Page} title="Superusers" sub="Accounts that can use this dashboard and every API, whatever the rules say.">
    ${loaded.error && html`<${ErrorNote} error=${loaded.error} title="The superusers could not be loaded:" />`}
    ${!loaded.data && !loaded.error && html`<${Loading} />`}
    ${loaded.data && items.length === 0 && html`<${Empty} title="No superusers." />`}
    ${items.length > 0 && html`<div class="table-wrap"><table class="records superusers">
      <thead><tr><th scope="col"><span class="th">Email</span></th><th scope="col"><span class="th">Created</span></th>
        <th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${items.map((u) => html`<tr key=${u.id} data-email=${u.email}>
        <td>${u.email}${u.id === me && html` <span class="type plain">you</span>`}</td>
        <td class="muted">${String(u.created || '').slice(0, 16)}</td>
        <td><div class="row-actions">
          <button type="button" class="btn small" onClick=${() => setChanging(u)}>Change password</button>
          <button type="button" class="btn small danger" disabled=${only}
            title=${only ? 'The only superuser cannot be removed: add another one first.' : ''}
            aria-label=${`Remove ${u.email}`} onClick=${() => { setRemoveError(null); setRemoving(u); }}>Remove</button>
        </div></td></tr>`)}</tbody>
    </table></div>
    ${only && html`<p class="muted small">The only superuser cannot be removed; add another one first.</p>`}`}

    <h2>Add a superuser</h2>
    <${AddSuperuser} onAdded=${loaded.reload} />

    <${Confirm} open=${removing !== null} title=${`Remove ${removing?.email}?`} expect=${removing?.email}
      confirmLabel="Remove superuser" busy=${busy} error=${removeError}
      onCancel=${() => setRemoving(null)} onConfirm=${remove}>
      <p>${removing?.id === me ? 'This is you: you will be signed out at once.' : 'They can no longer sign in here or use the API as a superuser.'}</p>
    </${Confirm}>
    <${PasswordDialog} user=${changing} self=${changing?.id === me} onDone=${() => setChanging(null)} />
  </${Page}>`;
}

function AddSuperuser({ onAdded }) {
  const empty = { email: '', password: '', passwordConfirm: '' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState(null);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  async function submit(e) {
    e.preventDefault();
    setAdded(null);
    await saving(setBusy, setError, async () => {
      const created = await post(BASE, form);
      setForm(empty);
      setAdded(created.email);
      toast(`Added the superuser ${created.email}`);
      setBusy(false);
      onAdded();
    });
  }
  return html`<form class="editor add-superuser" onSubmit=${submit} noValidate>
    <${ErrorNote} error=${error} />
    <label class="field narrow">Email <input name="su-email" type="email" autocomplete="off" value=${form.email} onInput=${set('email')} /></label>
    <${FieldError} error=${error} path=${['email']} />
    <label class="field narrow">Password <input name="su-password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} /></label>
    <${FieldError} error=${error} path=${['password']} />
    <label class="field narrow">Confirm password <input name="su-passwordConfirm" type="password" autocomplete="new-password" value=${form.passwordConfirm} onInput=${set('passwordConfirm')} /></label>
    <${FieldError} error=${error} path=${['passwordConfirm']} />
    ${added && html`<p class="note ok" role="status">${added} is a superuser now.</p>`}
    <div class="form-actions"><button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Adding…' : 'Add superuser'}</button></div>
  </form>`;
}

function PasswordDialog({ user, self, onDone }) {
  const ref = useRef(null);
  const [form, setForm] = useState({ password: '', passwordConfirm: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (user && !d.open) { setForm({ password: '', passwordConfirm: '' }); setError(null); d.showModal(); }
    if (!user && d.open) d.close();
  }, [user]);
  async function submit(e) {
    e.preventDefault();
    await saving(setBusy, setError, async () => {
      await patch(`${BASE}/${enc(user.id)}`, form);
      // A new password ends the account's sessions; yours resumes with it.
      if (self) await signIn(user.email, form.password);
      toast(`Saved the password of ${user.email}`);
      setBusy(false);
      onDone();
    });
  }
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return html`<dialog ref=${ref} class="dialog" aria-labelledby="pw-title" onCancel=${(e) => { e.preventDefault(); onDone(); }}>
    <form onSubmit=${submit} noValidate>
      <h2 id="pw-title">New password for ${user?.email}</h2>
      <p class="muted small">${self ? 'Your other sessions end; this one carries on.' : 'Their sessions end; they sign in with the new password.'}</p>
      <label class="field">New password <input name="new-password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} /></label>
      <${FieldError} error=${error} path=${['password']} />
      <label class="field">Confirm <input name="new-passwordConfirm" type="password" autocomplete="new-password" value=${form.passwordConfirm} onInput=${set('passwordConfirm')} /></label>
      <${FieldError} error=${error} path=${['passwordConfirm']} />
      <${ErrorNote} error=${error && Object.keys(error.data || {}).length === 0 ? error : null} />
      <div class="actions">
        <button type="button" class="btn" onClick=${onDone}>Cancel</button>
        <button type="submit" class="btn primary" disabled=${busy}>${busy ? 'Saving…' : 'Change password'}</button>
      </div>
    </form>
  </dialog>`;
}
