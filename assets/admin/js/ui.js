// Small shared pieces: error notes with the request id, field errors,
// loading and empty states, a confirmation dialog, and a data hook.
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
export function Confirm({ open, title, children, confirmLabel = 'Delete', expect, busy, error, onConfirm, onCancel }) {
  const ref = useRef(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) { setTyped(''); d.showModal(); }
    if (!open && d.open) d.close();
  }, [open]);
  const ready = !expect || typed === expect;
  return html`<dialog ref=${ref} class="dialog" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <form method="dialog" onSubmit=${(e) => { e.preventDefault(); if (ready) onConfirm(); }}>
      <h2>${title}</h2>
      <div class="dialog-body">${children}</div>
      ${expect && html`<label class="field"><span>Type <code>${expect}</code> to confirm</span>
        <input value=${typed} onInput=${(e) => setTyped(e.currentTarget.value)} autocomplete="off" /></label>`}
      <${ErrorNote} error=${error} />
      <div class="actions">
        <button type="button" class="btn" onClick=${onCancel}>Cancel</button>
        <button type="submit" class="btn danger" disabled=${!ready || busy}>${busy ? 'Working…' : confirmLabel}</button>
      </div>
    </form>
  </dialog>`;
}

/** Runs `load` when `deps` change: {data, error, loading, reload}. */
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
  useEffect(run, [run]);
  return { ...st, reload: run };
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
