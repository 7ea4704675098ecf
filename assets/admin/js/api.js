// The API client and the superuser's session.
//
// Sign-in uses Cairn's cookie session mode: the refresh token travels only
// in an HttpOnly cookie scoped to /api/sessions, and the short access token
// lives in this module's memory (never in storage). A reload swaps the
// cookie for a fresh access token. localStorage holds only a hint that a
// session may exist ("1"), so a first visit does not send a refresh that
// is bound to fail.
//
// Every failure is an ApiError carrying PocketBase's envelope (status,
// message, per-field data) and the X-Request-Id of the answer, so the page
// can show the server's words and the id to quote in the logs.

const HINT = 'cairn.admin.session';
const REFRESH_EARLY_MS = 60_000;

export class ApiError extends Error {
  constructor(status, message, data = {}, requestId = null, retryAfter = null, body = null) {
    super(retryAfter ? `${message} Try again in ${retryAfter} s.` : message);
    // The whole answer, for the few that carry more than the envelope ({mfaId}).
    this.body = body;
    this.status = status;
    this.data = data && typeof data === 'object' ? data : {};
    this.requestId = requestId;
  }
}

let token = null;
let user = null;
// 'unknown' before restore(), 'in', 'out' (never signed in or signed out),
// 'lapsed' (the session ended under an open page: sign in again over it).
let state = 'unknown';
let timer = null;
const listeners = new Set();

export const session = {
  get user() { return user; },
  get state() { return state; },
  subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
};

function setState(next) {
  state = next;
  for (const fn of listeners) fn();
}

function accept(answer) {
  if (answer?.record?.collectionName !== '_superusers') {
    throw new ApiError(403, 'Only superusers can use the dashboard.');
  }
  token = answer.token;
  user = answer.record;
  localStorage.setItem(HINT, '1');
  schedule();
  setState('in');
}

function forget(next) {
  token = null;
  clearTimeout(timer);
  localStorage.removeItem(HINT);
  setState(next);
}

// Renews the access token a minute before it expires, so an idle open
// page keeps working; a failure leaves it to the next request's 401.
function schedule() {
  clearTimeout(timer);
  const exp = expiry(token);
  if (!exp) return;
  const wait = Math.max(exp - Date.now() - REFRESH_EARLY_MS, 5_000);
  timer = setTimeout(() => { refresh().catch(() => {}); }, Math.min(wait, 2 ** 31 - 1));
}

async function send(method, path, { body, query, headers = {}, auth = true, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const h = { Accept: 'application/json', ...headers };
  if (auth && token) h.Authorization = token;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers: h, body: payload, credentials: 'same-origin', signal });
  } catch {
    throw new ApiError(0, 'The server could not be reached. Check that Cairn is running.');
  }
  const requestId = resp.headers.get('X-Request-Id');
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    const retryAfter = resp.status === 429 ? Number(resp.headers.get('Retry-After')) || null : null;
    throw new ApiError(resp.status, data?.message || `The server answered ${resp.status}.`, data?.data, requestId, retryAfter, data);
  }
  return data;
}

// One refresh at a time, across tabs too (Web Locks where available): a
// refresh token works once, and two tabs racing with the same cookie would
// look like reuse and end the session.
let refreshing = null;
export function refresh() {
  if (!refreshing) {
    // Named: an app signed in from this browser has a cookie of its own.
    const run = async () => accept(await send('POST', '/api/sessions/refresh', { auth: false, body: { collection: '_superusers' } }));
    const locked = navigator.locks ? navigator.locks.request('cairn-admin-refresh', run) : run();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** On load: resumes the session the cookie holds, if the hint says so. */
export async function restore() {
  if (!localStorage.getItem(HINT)) return forget('out');
  try {
    await refresh();
  } catch {
    forget('out');
  }
}

const SUPERUSERS = '/api/collections/_superusers';
const COOKIE_MODE = { 'X-Cairn-Auth-Cookie': '1' };

/**
 * Signs in with a password. When `_superusers` asks for a second factor
 * (MFA), nothing is signed in yet: the answer is `{mfaId}` for
 * `signInWithCode`, and a code is mailed to the account.
 */
export async function signIn(identity, password) {
  try {
    accept(await send('POST', `${SUPERUSERS}/auth-with-password`, {
      auth: false, headers: COOKIE_MODE, body: { identity, password },
    }));
    return null;
  } catch (e) {
    const mfaId = e instanceof ApiError && e.status === 401 && e.body?.mfaId;
    if (!mfaId) throw e;
    const { otpId } = await send('POST', `${SUPERUSERS}/request-otp`, { auth: false, body: { email: identity } });
    return { mfaId, otpId };
  }
}

/** Completes a sign-in with the mailed one-time code (and the MFA id, if any). */
export async function signInWithCode(otpId, code, mfaId) {
  accept(await send('POST', `${SUPERUSERS}/auth-with-otp`, {
    auth: false, headers: COOKIE_MODE, body: { otpId, password: code, ...(mfaId ? { mfaId } : {}) },
  }));
}

export async function signOut() {
  try {
    await send('POST', '/api/sessions/logout', { body: { collection: '_superusers' } });
  } finally {
    user = null;
    forget('out');
  }
}

/** When a JWT expires (ms since the epoch), or 0 if it cannot be read. */
function expiry(jwt) {
  try {
    return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000;
  } catch { return 0; }
}

function expiresSoon() {
  return expiry(token) - Date.now() < 10_000;
}

async function renew() {
  try {
    await refresh();
  } catch {
    forget('lapsed');
    throw new ApiError(401, 'Your session has ended. Sign in to continue.');
  }
}

/**
 * An authenticated call. Like PocketBase, the server treats an expired or
 * revoked token as no token at all: the answer is a 401 or 403 (or, on a
 * public collection, a guest's view). So the token is renewed before it
 * expires, and a 401 or 403 gets one refresh and one retry; when the
 * session cannot be renewed the page is told ('lapsed') and keeps its
 * state under the sign-in form.
 */
export async function request(method, path, opts = {}) {
  if (!token) throw new ApiError(401, 'You are signed out. Sign in to continue.');
  if (expiresSoon()) await renew();
  try {
    return await send(method, path, opts);
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 403)) throw e;
  }
  await renew();
  return send(method, path, opts);
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);

/** Unauthenticated: the installer's one-time link creates the first superuser. */
export function install(installToken, body) {
  return send('POST', '/api/installer/superuser', {
    auth: false, headers: { Authorization: installToken }, body,
  });
}

export const enc = encodeURIComponent;
