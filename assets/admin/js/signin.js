// The pages a signed-out person sees: sign-in (also shown over an open
// page when the session lapses), the first-run installer, and the page an
// OAuth2 sign-in popup lands on.
import { html, useState } from './lib.js';
import { install, signIn, signInWithCode, session } from './api.js';
import { ErrorNote, FieldError } from './ui.js';

export function SignIn({ lapsed }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [email, setEmail] = useState(session.user?.email || '');
  const [password, setPassword] = useState('');
  // Set when the password was right and a mailed code must follow (MFA).
  const [second, setSecond] = useState(null);
  const [code, setCode] = useState('');
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (second) await signInWithCode(second.otpId, code, second.mfaId);
      else {
        const next = await signIn(email, password);
        if (next) { setSecond(next); setBusy(false); }
      }
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  const title = second ? 'Enter the code' : lapsed ? 'Your session has ended' : 'Sign in';
  return html`<div class=${lapsed ? 'overlay' : 'center'}>
    <form class="card signin" onSubmit=${submit} aria-labelledby="signin-title">
      <div class="brand big"><span class="mark" aria-hidden="true"></span>Cairn</div>
      <h1 id="signin-title">${title}</h1>
      ${second ? html`
        <p class="sub">Your password was right. A second step is on: we mailed a one-time code to <strong>${email}</strong>.</p>
        <label class="field">Code
          <input name="code" inputmode="numeric" autocomplete="one-time-code" required value=${code}
            onInput=${(e) => setCode(e.currentTarget.value.trim())} autofocus /></label>
        <${FieldError} error=${error} path=${['password']} />
        <${ErrorNote} error=${error} />
        <button class="btn primary wide" type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
        <button class="btn ghost wide" type="button" onClick=${() => { setSecond(null); setCode(''); setError(null); }}>Start again</button>`
      : html`
        <p class="sub">${lapsed
          ? 'Sign in again to continue; what you were editing is kept.'
          : 'Superusers only. Accounts of your app sign in through your app.'}</p>
        <label class="field">Email
          <input name="email" type="email" autocomplete="username" required value=${email}
            onInput=${(e) => setEmail(e.currentTarget.value)} autofocus /></label>
        <${FieldError} error=${error} path=${['identity']} />
        <label class="field">Password
          <input name="password" type="password" autocomplete="current-password" required value=${password}
            onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
        <${FieldError} error=${error} path=${['password']} />
        <${ErrorNote} error=${error} />
        <button class="btn primary wide" type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>`}
    </form>
  </div>`;
}

export function Installer({ token }) {
  const [form, setForm] = useState({ email: '', password: '', passwordConfirm: '' });
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await install(token, form);
      setDone(created.email);
      history.replaceState(null, '', '/_/');
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }
  return html`<div class="center">
    <form id="install" class="card signin" onSubmit=${submit} noValidate>
      <div class="brand big"><span class="mark" aria-hidden="true"></span>Cairn</div>
      <h1>Create the first superuser</h1>
      <p class="sub">This link was printed by <code>cairn serve</code>. It works once and expires after 30 minutes.</p>
      <label class="field">Email <input name="email" type="email" autocomplete="username" value=${form.email} onInput=${set('email')} required /></label>
      <${FieldError} error=${error} path=${['email']} />
      <label class="field">Password <input name="password" type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} required /></label>
      <${FieldError} error=${error} path=${['password']} />
      <label class="field">Confirm password <input name="passwordConfirm" type="password" autocomplete="new-password" value=${form.passwordConfirm} onInput=${set('passwordConfirm')} required /></label>
      <${FieldError} error=${error} path=${['passwordConfirm']} />
      <${ErrorNote} error=${error} />
      ${done
        ? html`<p id="install-status" class="note ok" role="status">Superuser ${done} created. <a href="#/">Sign in</a></p>`
        : html`<button class="btn primary wide" type="submit" disabled=${busy}>Create superuser</button>`}
    </form>
  </div>`;
}

export function OAuth2Outcome({ ok }) {
  if (ok) setTimeout(() => window.close(), 1500);
  return html`<div class="center"><div id="oauth2" class="card signin">
    <h1 id="oauth2-title">${ok ? 'Signed in' : 'Sign-in failed'}</h1>
    <p id="oauth2-text">${ok
      ? 'You can close this window and return to the app.'
      : 'The provider did not complete the sign-in. Close this window and try again from the app.'}</p>
  </div></div>`;
}
