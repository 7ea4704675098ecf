// Small shared pieces: error notes with the request id, field errors,
// loading and empty states, a confirmation dialog, a secret to copy,
// success toasts, and a data hook.
import { html, useCallback, useEffect, useRef, useState } from './lib.js';

/** The server's message and the request id to quote, or nothing. */
export function ErrorNote({ error, title }) {
  if (!error) return null;
  return html`<div class="note error" role="alert">
    ${title && html`<strong>${title} </strong>`}<span class="msg">${error.message}</span>
    ${error.requestId && html` <span class="reqid">Request id <code>${error.requestId}</code></span>`}
  </div>`;
}

/** The error the server's `data` tree holds at `path` (['fields', 0, 'name']). */
export function errorAt(error, path) {
  let node = error?.data;
  for (const key of path) {
    if (!node || typeof node !== 'object') return null;
    node = node[key];
  }
  return node && typeof node.message === 'string' ? node : null;
}

export function FieldError({ error, path, id }) {
  const e = errorAt(error, path);
  return e ? html`<p class="field-error" id=${id} role="alert">${e.message}</p>` : null;
}

export function Loading({ label = 'Loading…' }) {
  return html`<div class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}</div>`;
}

export function Empty({ title, children }) {
  return html`<div class="empty"><p class="empty-title">${title}</p>${children}</div>`;
}

/**
 * A modal confirmation: `open` shows it; the confirm button stays disabled
 * until `typed` matches `expect` when `expect` is given.
 */
export function Confirm({ open, title, children, confirmLabel = 'Delete', cancelLabel = 'Cancel', expect, busy, error, onConfirm, onCancel }) {
  const ref = useRef(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) { setTyped(''); d.showModal(); }
    if (!open && d.open) d.close();
  }, [open]);
  const ready = !expect || typed === expect;
  return html`<dialog ref=${ref} class="dialog" onKeyDown=${keepTabInside} onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <form method="dialog" onSubmit=${(e) => { e.preventDefault(); if (ready) onConfirm(); }}>
      <h2>${title}</h2>
      <div class="dialog-body">${children}</div>
      ${expect && html`<label class="field"><span>Type <code>${expect}</code> to confirm</span>
        <input value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} autocomplete="off" /></label>`}
      <${ErrorNote} error=${error} />
      <div class="actions">
        <button type="button" class="btn" onClick=${onCancel}>${cancelLabel}</button>
        <button type="submit" class="btn danger" disabled=${!ready || busy}>${busy ? 'Working…' : confirmLabel}</button>
      </div>
    </form>
  </dialog>`;
}

/**
 * Tab and Shift+Tab go round a modal dialog's controls: a modal makes the
 * page behind it inert, but the browser would still move focus out to its
 * own bar after the last control.
 */
export function keepTabInside(e) {
  if (e.key !== 'Tab') return;
  const inside = [...e.currentTarget.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')]
    .filter((el) => !el.disabled && el.getClientRects().length > 0);
  if (inside.length === 0) return;
  const [first, last] = [inside[0], inside[inside.length - 1]];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

/** Runs `load` when `deps` change: {data, error, loading, reload, replace}.
 *  `replace(f)` puts `f(data)` in place at once (a server's answer already
 *  in hand) and drops any load still under way, which may predate it. */
export function useLoad(load, deps) {
  const [st, setSt] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setSt((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setSt({ data, error: null, loading: false }),
      (error) => mine === seq.current && setSt((s) => ({ data: s.data, error, loading: false })),
    );
  }, deps);
  const replace = useCallback((f) => {
    seq.current += 1;
    setSt((s) => ({ data: f(s.data), error: null, loading: false }));
  }, []);
  useEffect(run, [run]);
  return { ...st, reload: run, replace };
}

export function Page({ title, sub, actions, children }) {
  return html`<section class="page">
    <header class="page-head">
      <div><h1>${title}</h1>${sub && html`<p class="sub">${sub}</p>`}</div>
      ${actions && html`<div class="actions">${actions}</div>`}
    </header>
    ${children}
  </section>`;
}

/**
 * Runs a form's save: busy while it runs; on a failure the error is kept
 * for the form to show and the first field-level error is brought into
 * view. Nothing the user typed is touched.
 */
export async function saving(setBusy, setError, work) {
  setBusy(true);
  setError(null);
  try {
    await work();
  } catch (err) {
    setError(err);
    setBusy(false);
    showFirstFieldError();
  }
}

/** Brings the first field-level error into view, once it is drawn; or,
 *  when no field shows one, the form's error note (the Save button sits at
 *  the bottom of a long form, its message at the top). */
export function showFirstFieldError() {
  setTimeout(() => {
    const shown = document.querySelector('.field-error') || document.querySelector('form .note.error');
    shown?.scrollIntoView({ block: 'center' });
  }, 0);
}

/** Every `path: message` of an error's `data` tree under `prefix`. */
export function errorMessages(error, prefix = []) {
  const walk = (node, path) => {
    if (!node || typeof node !== 'object') return [];
    if (typeof node.message === 'string' && typeof node.code === 'string') return [[path.join('.'), node.message]];
    return Object.entries(node).flatMap(([k, v]) => walk(v, [...path, k]));
  };
  return walk(prefix.reduce((n, k) => n?.[k], error?.data), prefix);
}

// Toasts: `toast('Record created')` after a change the server accepted.
// One region, drawn once by the shell, outlives the page that saved (a
// save usually moves on to another page). The region is always in the
// document, so screen readers announce what is added to it; it takes no
// clicks, and each toast goes by itself.
const TOAST_MS = 4000;
let toasts = [];
let toastSeq = 0;
const toastFollowers = new Set();
const toastsChanged = () => { for (const f of toastFollowers) f(toasts); };

/**
 * A secret to copy: one line, never wrapped, selected whole on focus,
 * with a Copy button (and Done, when `onDone` is given). A new API key and
 * a webhook's signing secret are shown this way.
 */
export function CopyField({ value, name, label, onDone }) {
  const input = useRef(null);
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // No clipboard (an insecure origin): leave it selected to copy by hand.
      input.current.select();
      document.execCommand?.('copy');
    }
    setCopied(true);
  }
  return html`<div class="inline copy-field">
    <input ref=${input} class="mono grow" name=${name} readonly value=${value}
      aria-label=${label} onFocus=${(e) => e.currentTarget.select()} />
    <button type="button" class="btn primary" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
    ${onDone && html`<button type="button" class="btn" onClick=${onDone}>Done</button>`}
  </div>`;
}

export function toast(text) {
  const id = ++toastSeq;
  toasts = [...toasts, { id, text }];
  toastsChanged();
  setTimeout(() => { toasts = toasts.filter((t) => t.id !== id); toastsChanged(); }, TOAST_MS);
}

export function Toasts() {
  const [shown, setShown] = useState(toasts);
  useEffect(() => {
    toastFollowers.add(setShown);
    setShown(toasts);
    return () => toastFollowers.delete(setShown);
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${shown.map((t) => html`<div class="toast" key=${t.id}>${t.text}</div>`)}
  </div>`;
}
