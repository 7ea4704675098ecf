// The record form's two richer controls. A relation is picked by
// searching the related collection (its text fields and ids), one page of
// matches at a time, never by loading the whole collection; the picked
// records show by their presentable fields. Files are added by dropping
// them or choosing them, with a preview of each before it is uploaded;
// stored files can be marked for removal and kept again until saved.
import { html, useEffect, useMemo, useState } from './lib.js';
import { enc, get } from './api.js';
import { recordLabel, thumbUrl } from './format.js';
import { ErrorNote } from './ui.js';

const multi = (f) => (f.maxSelect || 1) > 1;
const quoted = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const SEARCHED = ['text', 'email', 'url', 'editor'];
const WAIT_MS = 250;

/** The filter matching `q` in `target`'s searchable fields, or '' for all. */
export function searchFilter(target, q) {
  const words = q.trim();
  if (!words) return '';
  const names = ['id', ...(target.fields || []).filter((f) => !f.hidden && f.name !== 'id' && SEARCHED.includes(f.type)).map((f) => f.name)];
  return names.map((n) => `${n} ~ ${quoted(words)}`).join(' || ');
}

export function RelationPicker({ id, field, value, invalid, onChange }) {
  const chosen = useMemo(() => (Array.isArray(value) ? value : value ? [value] : []), [value]);
  const [target, setTarget] = useState(null);
  const [labels, setLabels] = useState({});
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [found, setFound] = useState(null);
  const [active, setActive] = useState(0);
  const [error, setError] = useState(null);
  const base = `/api/collections/${enc(field.collectionId)}/records`;

  useEffect(() => { get(`/api/collections/${enc(field.collectionId)}`).then(setTarget, setError); }, [field.collectionId]);
  // The labels of records already picked (when the form opens).
  useEffect(() => {
    const missing = chosen.filter((x) => !(x in labels));
    if (!target || missing.length === 0) return;
    get(base, { filter: missing.map((x) => `id = ${quoted(x)}`).join(' || '), perPage: missing.length, skipTotal: 1 }).then((list) => {
      const next = { ...labels };
      for (const x of missing) next[x] = x;
      for (const r of list.items) next[r.id] = recordLabel(target, r);
      setLabels(next);
    }, setError);
  }, [target, chosen.join(',')]);
  // Matches for what is typed, while the list is open.
  useEffect(() => {
    if (!target || !open) return undefined;
    let gone = false;
    const timer = setTimeout(() => {
      get(base, { filter: searchFilter(target, q), perPage: 20, skipTotal: 1 }).then(
        (list) => { if (!gone) { setFound(list.items); setActive(0); } },
        (err) => { if (!gone) setError(err); },
      );
    }, WAIT_MS);
    return () => { gone = true; clearTimeout(timer); };
  }, [target, q, open]);

  if (error && !target) return html`<${ErrorNote} error=${error} title="The related collection could not be loaded:" />`;
  const full = multi(field) && field.maxSelect && chosen.length >= field.maxSelect;
  const options = (found || []).filter((r) => !chosen.includes(r.id));
  const listId = `${id}-matches`;
  function pick(r) {
    setLabels({ ...labels, [r.id]: recordLabel(target, r) });
    onChange(multi(field) ? [...chosen, r.id] : r.id);
    setQ('');
    if (!multi(field) || chosen.length + 1 >= (field.maxSelect || 1)) setOpen(false);
  }
  const drop = (x) => onChange(multi(field) ? chosen.filter((y) => y !== x) : '');
  function onKeyDown(e) {
    if (e.key === 'Escape' && open) { e.preventDefault(); e.stopPropagation(); setOpen(false); return; }
    if (e.key === 'ArrowDown' && !open) { setOpen(true); return; }
    if (!open || options.length === 0) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive((active + 1) % options.length); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((active - 1 + options.length) % options.length); }
    else if (e.key === 'Enter') { e.preventDefault(); pick(options[Math.min(active, options.length - 1)]); }
  }
  const shown = Math.min(active, options.length - 1);
  return html`<div class="picker">
    ${chosen.length > 0 && html`<ul class="chips" aria-label=${`Picked for ${field.name}`}>${chosen.map((x) => html`<li key=${x} class="chip on">
      <span>${labels[x] ?? '…'}</span>
      <button type="button" class="chip-x" aria-label=${`Remove ${labels[x] ?? x}`} onClick=${() => drop(x)}>×</button></li>`)}</ul>`}
    ${!full && html`<div class="rule-input">
      <input id=${id} name=${field.name} class=${invalid ? 'invalid' : ''} autocomplete="off" spellcheck="false"
        placeholder=${target ? `Search ${target.name}…` : 'Loading…'} disabled=${!target}
        role="combobox" aria-autocomplete="list" aria-expanded=${open && options.length > 0} aria-controls=${listId}
        aria-activedescendant=${open && options.length ? `${listId}-${shown}` : undefined}
        value=${q} onInput=${(e) => { setQ(e.currentTarget.value); setOpen(true); }}
        onFocus=${() => setOpen(true)} onBlur=${() => setTimeout(() => setOpen(false), 150)} onKeyDown=${onKeyDown} />
      <ul class="suggestions" id=${listId} role="listbox" aria-label=${`Records of ${target?.name || 'the related collection'}`}
        hidden=${!open || found === null}>
        ${options.map((r, i) => html`<li id=${`${listId}-${i}`} role="option" aria-selected=${i === shown} class=${i === shown ? 'on' : ''}
          onMouseDown=${(e) => { e.preventDefault(); pick(r); }}><span>${recordLabel(target, r)}</span><code class="muted small">${r.id}</code></li>`)}
        ${found && options.length === 0 && html`<li class="muted small" role="presentation">${q.trim() ? 'No record matches.' : 'No records to pick.'}</li>`}
      </ul>
    </div>`}
    ${error && target && html`<${ErrorNote} error=${error} />`}
  </div>`;
}

const IMAGE_TYPE = /^image\/(png|jpeg|gif|webp|avif)$/;

/** A local preview URL for an image about to be uploaded, freed when it goes. */
function usePreview(file) {
  const url = useMemo(() => (IMAGE_TYPE.test(file.type) ? URL.createObjectURL(file) : null), [file]);
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);
  return url;
}

function Pending({ file, onRemove }) {
  const url = usePreview(file);
  return html`<li class="pending">
    ${url ? html`<img class="thumb big" src=${url} alt="" />` : html`<span class="thumb big file-icon" aria-hidden="true">${(file.name.split('.').pop() || '').slice(0, 4)}</span>`}
    <span>${file.name}</span><span class="muted small">${file.size < 1024 ? `${file.size} B` : `${Math.round(file.size / 1024)} KiB`} · to upload</span>
    <button type="button" class="btn ghost small" aria-label=${`Do not upload ${file.name}`} onClick=${onRemove}>Remove</button></li>`;
}

export function FileDrop({ id, field, value, record, collection, uploads, removed, onUploads, onRemoved }) {
  const [over, setOver] = useState(false);
  const current = Array.isArray(value) ? value : value ? [value] : [];
  const kept = current.filter((n) => !removed.includes(n)).length;
  const room = (field.maxSelect || 1) - kept;
  // A field with more than one file takes no more once full: the drop
  // zone gives way to a word on how to make room. A one-file field's new
  // file replaces the current one, so it is never full.
  const full = multi(field) && room - uploads.length <= 0;
  // Files left out of the last choice, for the field's maximum: said at
  // once, rather than by the server at save.
  const [refused, setRefused] = useState([]);
  const add = (files) => {
    const list = [...files];
    // A one-file field takes the newest (it replaces the current file).
    const taken = multi(field) ? list.slice(0, Math.max(0, room - uploads.length)) : list.slice(-1);
    setRefused(list.filter((f) => !taken.includes(f)).map((f) => f.name));
    if (taken.length) onUploads(multi(field) ? [...uploads, ...taken] : taken);
  };
  return html`<div class="files">
    ${current.length > 0 && html`<ul class="file-list">${current.map((name) => html`<li class=${removed.includes(name) ? 'removed' : ''}>
      ${thumbUrl(collection, record, field, name) && html`<img class="thumb big" src=${thumbUrl(collection, record, field, name)} alt="" />`}
      <a href=${`/api/files/${enc(collection.id)}/${enc(record.id)}/${enc(name)}`} target="_blank" rel="noopener">${name}</a>
      ${removed.includes(name) && html`<span class="muted small">removed on save</span>`}
      <button type="button" class="btn ghost small" aria-label=${`${removed.includes(name) ? 'Keep' : 'Remove'} ${name}`}
        onClick=${() => onRemoved(removed.includes(name) ? removed.filter((x) => x !== name) : [...removed, name])}>
        ${removed.includes(name) ? 'Keep' : 'Remove'}</button></li>`)}</ul>`}
    ${uploads.length > 0 && html`<ul class="file-list">${uploads.map((file, i) => html`<${Pending} key=${`${file.name}-${i}`} file=${file}
      onRemove=${() => { setRefused([]); onUploads(uploads.filter((_, j) => j !== i)); }} />`)}</ul>`}
    ${refused.length > 0 && html`<p class="field-error" role="alert">${multi(field)
      ? `This field holds at most ${field.maxSelect} files: not added ${refused.join(', ')}.`
      : `This field holds one file: not added ${refused.join(', ')}.`}</p>`}
    ${full ? html`<p class="muted small files-full">Full, ${field.maxSelect} of ${field.maxSelect} files: remove one to add another.</p>`
    : html`<label class=${`dropzone${over ? ' over' : ''}`} data-field=${field.name}
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); add(e.dataTransfer.files); }}>
      <input id=${id} name=${field.name} type="file" multiple=${multi(field)} class="visually-hidden"
        onChange=${(e) => { add(e.currentTarget.files); e.currentTarget.value = ''; }} />
      <span><strong>Drop ${multi(field) ? 'files' : 'a file'} here</strong> or <span class="link">choose</span></span>
      <span class="muted small">${multi(field) ? `Up to ${field.maxSelect} files; room for ${room - uploads.length} more.` : current.length ? 'A new file replaces the current one.' : 'One file.'}</span>
    </label>`}
  </div>`;
}
