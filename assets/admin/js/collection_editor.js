// Creating (base, auth or view, or as a duplicate), editing, emptying and
// deleting a collection: its name, fields with their common options (or a
// view's query, previewed), indexes, and its API rules (five, two more on
// auth collections, two on views), each checked by the server as its box
// is left; an auth collection's options in their own module. The draft stays in the page through any error, and leaving it
// unsaved asks first; the server's errors are shown on the field, index,
// query or rule they concern.
import { html, useEffect, useRef, useState } from './lib.js';
import { ApiError, del, enc, patch, post } from './api.js';
import { useCollections } from './context.js';
import { go } from './router.js';
import { useEscapeLeaves, useLeaveGuard } from './leave_guard.js';
import { AUTH_RULES, FIELD_TYPES, RULES, newField, rulesOf, starterFields, systemFields, typeLabel } from './schema.js';
import { RuleEditor } from './rule_editor.js';
import { RuleTester } from './rule_tester.js';
import { ViewQuery } from './view_query.js';
import { Confirm, ErrorNote, FieldError, Page, errorAt, errorMessages, saving, toast } from './ui.js';
import { Indexes } from './indexes.js';
import { AuthOptions, authOptionsBody, setOption } from './auth_options.js';

const clone = (v) => JSON.parse(JSON.stringify(v));

// A field not saved yet has no id to key its row by, and its place in the
// list changes when it is moved: it carries a key of its own under a
// symbol, which spreading copies and JSON (the body sent, the unsaved
// snapshot) leaves out.
const ROW = Symbol('row');
let rows = 0;
const keyed = (f) => (f.id || f[ROW] ? f : { ...f, [ROW]: ++rows });
const rowKey = (f) => f.id || f[ROW];
const ruleMode = (r) => (r === null || r === undefined ? 'locked' : r === '' ? 'public' : 'expr');

/**
 * A new collection shaped like `source`: its fields (as new fields) and
 * rules under another name. Indexes are left out: their SQL names the
 * source's table and index names, which the copy must not reuse.
 */
function duplicateOf(source) {
  const copy = clone(source);
  for (const key of ['id', 'created', 'updated', 'system']) delete copy[key];
  copy.name = `${source.name}_copy`;
  copy.indexes = [];
  copy.fields = copy.fields.map((f) => {
    const field = { ...f };
    delete field.id;
    return field;
  });
  return copy;
}

export function CollectionEditor({ collection, from }) {
  const { list, reload, saved: savedInList } = useCollections();
  const editing = Boolean(collection);
  const [draft, setDraft] = useState(() => {
    const d = editing ? clone(collection) : from ? duplicateOf(from) : {
      name: '', type: 'base', fields: starterFields(), indexes: [],
      listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null,
    };
    return d.fields ? { ...d, fields: d.fields.map(keyed) } : d;
  });
  // Typed expressions survive switching a rule to locked or public and back.
  // An auth collection signs in by default (authRule ""), as the server would have it.
  const ALL_RULES = [...RULES, ...AUTH_RULES];
  const [exprs, setExprs] = useState(() => Object.fromEntries(ALL_RULES.map(([k]) => [k, draft[k] || ''])));
  const [modes, setModes] = useState(() => Object.fromEntries(ALL_RULES.map(([k]) => [k,
    k === 'authRule' && draft[k] === undefined ? 'public' : ruleMode(draft[k])])));
  const [error, setError] = useState(null);
  // The server names a field's problem by its place in the list that was
  // sent (fields.2.name). The rows as they were sent, by key, so that a
  // problem stays with its field when fields are moved or removed after.
  const [sentRows, setSentRows] = useState([]);
  const errorIndex = (f) => sentRows.indexOf(rowKey(f));
  // Rules changed since the server's answer: its error no longer describes them.
  const [ruleEdited, setRuleEdited] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState(null);
  const [truncating, setTruncating] = useState(false);
  const [truncated, setTruncated] = useState(false);

  // Leaving with unsaved changes asks first; saving or deleting moves on.
  const snapshot = JSON.stringify([draft, exprs, modes]);
  const start = useRef(snapshot);
  const done = useRef(false);
  useLeaveGuard(() => !done.current && snapshot !== start.current);
  const cancelTo = editing ? `#/collections/${enc(collection.name)}` : '#/';
  useEscapeLeaves(cancelTo);
  // A new collection starts at its name.
  const nameBox = useRef(null);
  useEffect(() => { if (!editing) nameBox.current?.focus(); }, []);

  const setField = (i, f) => setDraft({ ...draft, fields: draft.fields.map((x, j) => (j === i ? f : x)) });
  const dropField = (i) => setDraft({ ...draft, fields: draft.fields.filter((_, j) => j !== i) });
  // Moving takes a field out and puts it back before the field at `to`
  // (an index in the list as it is; the list's length puts it last), by
  // its buttons (one place at a time) or by dragging its row. The saved
  // collection keeps this order (the records table and the API answer
  // follow it). System fields stay where they are, and nothing passes them.
  const movable = (f) => Boolean(f) && !f.system;
  const canMove = (from, to) => {
    if (!movable(draft.fields[from]) || to === from || to === from + 1 || to < 0 || to > draft.fields.length) return false;
    const passed = to > from ? draft.fields.slice(from + 1, to) : draft.fields.slice(to, from);
    return passed.every(movable);
  };
  const [moved, setMoved] = useState('');
  const moveTo = (from, to) => {
    if (!canMove(from, to)) return;
    const fields = [...draft.fields];
    const [f] = fields.splice(from, 1);
    const at = to > from ? to - 1 : to;
    fields.splice(at, 0, f);
    setDraft({ ...draft, fields });
    // Said to a screen reader: a drag or a button press moves the row away from where it was.
    setMoved(`Moved field ${f.name || at + 1} to place ${at + 1} of ${fields.length}.`);
  };
  const moveField = (i, by) => moveTo(i, by < 0 ? i - 1 : i + 2);
  // A row being dragged by its handle: `from` its place, `to` where it
  // would land if dropped now (null while over no place it may go).
  const [drag, setDrag] = useState(null);
  const dragOver = (e, i) => {
    if (!drag) return;
    const box = e.currentTarget.getBoundingClientRect();
    const to = e.clientY < box.top + box.height / 2 ? i : i + 1;
    const ok = canMove(drag.from, to);
    if (ok) e.preventDefault();
    const next = ok ? to : null;
    if (next !== drag.to) setDrag({ ...drag, to: next });
  };
  const drop = (e) => {
    if (!drag) return;
    e.preventDefault();
    if (drag.to !== null) moveTo(drag.from, drag.to);
    setDrag(null);
  };
  const addField = (type) => {
    setDraft({ ...draft, fields: [...draft.fields, keyed(newField(type))] });
    // Focus the new field's name once it is drawn.
    setTimeout(() => document.querySelector('.field-row:last-of-type input[name="field-name"]')?.focus(), 0);
  };

  /** What saving sends: the draft with each rule as its mode says. */
  function bodyOf(texts = exprs) {
    const body = { ...draft };
    for (const [k] of rulesOf(draft.type)) {
      body[k] = modes[k] === 'locked' ? null : modes[k] === 'public' ? '' : texts[k];
    }
    // A view's fields come from its query, on the server.
    if (draft.type === 'view') { delete body.fields; delete body.indexes; }
    return draft.type === 'auth' ? authOptionsBody(body) : body;
  }

  // A rule is checked by the server when the person leaves its box: the
  // whole draft goes to the dry run (a rule may name fields not saved
  // yet), and only that rule's verdict is shown. A verdict is for the
  // text it was given; typing again sets it aside.
  const [checks, setChecks] = useState({});
  // `text` is the box's own value: the page may not have redrawn with the
  // last keystroke yet when the box is left.
  async function checkRule(k, text) {
    if (modes[k] !== 'expr' || !text.trim()) return;
    const path = editing ? `/api/collections/${enc(collection.id)}/dry-run` : '/api/collections/meta/dry-run';
    try {
      await post(path, bodyOf({ ...exprs, [k]: text }));
      setChecks((c) => ({ ...c, [k]: { text, ok: true } }));
    } catch (err) {
      const problem = errorAt(err, [k]);
      setChecks((c) => ({ ...c, [k]: problem ? { text, problem } : undefined }));
    }
  }
  const verdict = (k) => (checks[k]?.text === exprs[k] && modes[k] === 'expr' ? checks[k] : null);

  async function save(e) {
    e.preventDefault();
    const body = bodyOf();
    setRuleEdited(new Set());
    setSentRows(draft.type === 'view' ? [] : draft.fields.map(rowKey));
    await saving(setBusy, setError, async () => {
      const saved = editing ? await patch(`/api/collections/${enc(collection.id)}`, body) : await post('/api/collections', body);
      done.current = true;
      toast(editing ? `Saved the collection ${saved.name}` : `Created the collection ${saved.name}`);
      savedInList(saved);
      go('collections', saved.name);
    });
  }

  async function remove() {
    setBusy(true);
    setDeleteError(null);
    try {
      await del(`/api/collections/${enc(collection.id)}`);
      done.current = true;
      toast(`Deleted the collection ${collection.name}`);
      reload();
      go('');
    } catch (err) {
      setDeleteError(err);
    }
    setBusy(false);
  }

  async function truncate() {
    setBusy(true);
    setDeleteError(null);
    try {
      await del(`/api/collections/${enc(collection.id)}/truncate`);
      setTruncating(false);
      setTruncated(true);
      toast(`Deleted every record of ${collection.name}`);
    } catch (err) {
      setDeleteError(err);
    }
    setBusy(false);
  }

  const targets = list.filter((c) => c.type !== 'view');
  return html`<${Page} title=${editing ? `Settings of ${collection.name}` : 'New collection'}
      sub=${editing ? `Type: ${collection.type} · id ${collection.id}`
        : from ? `A copy of ${from.name}: its fields and rules, no records and no indexes.`
        : 'Records with typed fields and access rules, served at once through the REST API.'}
      actions=${editing && html`<a class="btn" href=${`#/collections/${enc(collection.name)}`}>Back to records</a>
        ${!collection.system && collection.type === 'base' && html`<a class="btn" href=${`#/collections/new?from=${enc(collection.name)}`}>Duplicate</a>`}`}>
    <form class="editor" onSubmit=${save} noValidate>
      <${ErrorNote} error=${error && !hasFieldErrors(error) ? error : null} />
      ${error && hasFieldErrors(error) && html`<div class="note error" role="alert">${error.message}
        ${draft.type === 'view' && errorMessages(error, ['fields']).length > 0
          // A view's fields come from its query and have no editor below: say what is wrong with them here.
          ? html`<ul class="error-list">${errorMessages(error, ['fields']).map(([path, message]) => html`<li key=${path}><code>${path}</code> ${message}</li>`)}</ul>`
          : ' The problems are marked below.'}
        ${error.requestId && html` <span class="reqid">Request id <code>${error.requestId}</code></span>`}</div>`}
      <label class="field narrow">Name
        <input name="name" ref=${nameBox} value=${draft.name} required autocomplete="off" spellcheck="false"
          disabled=${collection?.system} placeholder="posts"
          onInput=${(e) => setDraft({ ...draft, name: e.currentTarget.value })} /></label>
      <${FieldError} error=${error} path=${['name']} />
      ${!editing && html`<fieldset class="kinds">
        <legend>Type</legend>
        ${[['base', 'Base', 'records with typed fields'], ['auth', 'Auth', 'accounts that sign in: email, password, sessions'],
          ['view', 'View', 'a read-only SQL query over other collections']].map(([t, label, help]) => html`
          <label class=${`kind-choice${draft.type === t ? ' on' : ''}`}><input type="radio" name="type" value=${t} checked=${draft.type === t}
            onChange=${() => setDraft({ ...draft, type: t, viewQuery: draft.viewQuery || '',
              fields: [...systemFields(t === 'view' ? 'base' : t).map(keyed), ...draft.fields.filter((f) => !f.system)] })} />
            <strong>${label}</strong> <span class="muted small">${help}</span></label>`)}
      </fieldset>`}

      ${draft.type === 'view' ? html`<h2>Query</h2>
        <${ViewQuery} value=${draft.viewQuery || ''} error=${error} onChange=${(viewQuery) => setDraft({ ...draft, viewQuery })} />`
      : html`<h2>Fields</h2>
      <p class="muted small">Renaming a field keeps its data. Removing one deletes its data when you save.</p>
      <ol class="field-list" onDrop=${drop}
        onDragOver=${(e) => { if (drag && drag.to !== null) e.preventDefault(); }}>
        ${draft.fields.map((f, i) => html`<${FieldRow} key=${rowKey(f)} field=${f} index=${i}
          error=${errorIndex(f) >= 0 ? error : null} errorIndex=${errorIndex(f)}
          targets=${targets} onChange=${(nf) => setField(i, nf)}
          onMove=${(by) => moveField(i, by)} first=${!movable(draft.fields[i - 1])} last=${!movable(draft.fields[i + 1])}
          drag=${{
            dragging: drag?.from === i,
            mark: drag?.to === i ? 'drop-before' : drag?.to === i + 1 && i === draft.fields.length - 1 ? 'drop-after' : '',
            start: () => setDrag({ from: i, to: null }), end: () => setDrag(null), over: (e) => dragOver(e, i),
          }}
          onRemove=${() => (f.id ? setRemoving(i) : dropField(i))} />`)}
      </ol>
      <p class="visually-hidden" role="status">${moved}</p>
      <div class="add-field" role="group" aria-label="Add a field">
        <span class="muted small">Add a field:</span>
        ${FIELD_TYPES.filter(([t]) => t !== 'autodate').map(([t, label]) => html`<button type="button" class="chip" onClick=${() => addField(t)}>+ ${label}</button>`)}
      </div>

      <h2>Indexes</h2>
      <${Indexes} indexes=${draft.indexes || []} fields=${draft.fields} collectionName=${draft.name} error=${error}
        onChange=${(indexes) => setDraft({ ...draft, indexes })} />`}

      <h2>API rules</h2>
      <p class="muted small">Locked: superusers only. Public: anyone, signed in or not. An expression filters by the record and the request, e.g. <code>@request.auth.id != ""</code>.</p>
      <div class="rules">
        ${rulesOf(draft.type).map(([k, label, help]) => html`<fieldset class="rule" key=${k}>
          <legend>${label}</legend>
          <div class="segmented" role="radiogroup" aria-label=${`${label} rule`}>
            ${[['locked', 'Locked'], ['public', 'Public'], ['expr', 'Expression']].map(([m, ml]) => html`<label class=${modes[k] === m ? 'on' : ''}>
              <input type="radio" name=${`mode-${k}`} value=${m} checked=${modes[k] === m}
                onChange=${() => setModes({ ...modes, [k]: m })} />${ml}</label>`)}
          </div>
          <p class="muted small">${help}</p>
          ${modes[k] === 'expr' && html`<${RuleEditor} name=${k} label=${label} value=${exprs[k]}
            invalid=${(Boolean(errorAt(error, [k])) && !ruleEdited.has(k)) || Boolean(verdict(k)?.problem)} errorId=${`${k}-error`}
            draft=${draft} collections=${list} onLeave=${(text) => checkRule(k, text)}
            onChange=${(v) => { setExprs({ ...exprs, [k]: v }); if (!ruleEdited.has(k)) setRuleEdited(new Set(ruleEdited).add(k)); }} />`}
          ${!ruleEdited.has(k) && errorAt(error, [k]) ? html`<${FieldError} error=${error} path=${[k]} id=${`${k}-error`} />`
            : verdict(k)?.problem ? html`<p class="field-error" id=${`${k}-error`} role="alert">${verdict(k).problem.message}</p>`
            : verdict(k)?.ok ? html`<p class="ok-hint small" role="status">✓ The server accepts this rule.</p>` : null}
        </fieldset>`)}
      </div>
      ${editing && html`<${RuleTester} collection=${collection} collections=${list} rules=${bodyOf()} />`}
      ${draft.type === 'auth' && html`<h2 id="auth-options">Auth options</h2>
        <${AuthOptions} draft=${draft} saved=${editing ? collection : null} error=${error} collections=${list}
          onChange=${(path, v) => setDraft((d) => setOption(d, path, v))} />`}

      <div class="form-actions">
        <button class="btn primary" type="submit" disabled=${busy}>${busy ? 'Saving…' : editing ? 'Save changes' : 'Create collection'}</button>
        <a class="btn" href=${cancelTo}>Cancel</a>
        ${editing && collection.type !== 'view' && html`<button type="button" class="btn danger push"
          onClick=${() => { setDeleteError(null); setTruncated(false); setTruncating(true); }}>Delete all records</button>`}
        ${editing && !collection.system && html`<button type="button" class=${`btn danger${collection.type === 'view' ? ' push' : ''}`}
          onClick=${() => { setDeleteError(null); setDeleting(true); }}>Delete collection</button>`}
      </div>
    </form>
    <${Confirm} open=${removing !== null} title="Remove this field?" confirmLabel="Remove field"
      onCancel=${() => setRemoving(null)} onConfirm=${() => { dropField(removing); setRemoving(null); }}>
      <p>When you save, the field <strong>${draft.fields[removing]?.name}</strong> and all its data are deleted.</p>
    </${Confirm}>
    ${truncated && html`<p class="note ok" role="status">Every record of ${collection.name} was deleted, with its files.</p>`}
    <${Confirm} open=${truncating} title=${`Delete every record of ${collection?.name}?`} expect=${collection?.name} busy=${busy} error=${deleteError}
      confirmLabel="Delete all records" onCancel=${() => setTruncating(false)} onConfirm=${truncate}>
      <p>The collection and its settings stay; all its records and their files are deleted. This cannot be undone.</p>
    </${Confirm}>
    <${Confirm} open=${deleting} title=${`Delete ${collection?.name}?`} expect=${collection?.name} busy=${busy} error=${deleteError}
      onCancel=${() => setDeleting(false)} onConfirm=${remove}>
      <p>The collection, all its records and their files are deleted. This cannot be undone.</p>
    </${Confirm}>
  </${Page}>`;
}

function hasFieldErrors(error) {
  return error instanceof ApiError && Object.keys(error.data).length > 0;
}

function num(v) {
  return v === '' || v === null || v === undefined ? null : Number(v);
}

/** Up and down buttons for the field at a place in the list. */
function MoveButtons({ label, first, last, onMove }) {
  return html`<span class="move" role="group" aria-label=${`Order of ${label}`}>
    <button type="button" class="btn ghost small" aria-label=${`Move ${label} up`} title="Move up" disabled=${first}
      onClick=${() => onMove(-1)}>↑</button>
    <button type="button" class="btn ghost small" aria-label=${`Move ${label} down`} title="Move down" disabled=${last}
      onClick=${() => onMove(1)}>↓</button>
  </span>`;
}

/**
 * The handle a row is dragged by, for a mouse or a finger on a large
 * screen; the buttons beside it do the same from the keyboard, so a
 * screen reader is not told about it.
 */
function DragHandle({ drag }) {
  return html`<span class="grip" draggable="true" aria-hidden="true" title="Drag to move"
    onDragStart=${(e) => {
      e.dataTransfer.effectAllowed = 'move';
      // Some browsers start a drag only with data in it.
      e.dataTransfer.setData('text/plain', '');
      const row = e.currentTarget.closest('.field-row');
      if (row) e.dataTransfer.setDragImage(row, 20, 20);
      drag.start();
    }} onDragEnd=${drag.end}></span>`;
}

function FieldRow({ field, index, error, errorIndex, targets, onChange, onRemove, onMove, first, last, drag }) {
  const set = (k, v) => onChange({ ...field, [k]: v });
  // Where the server's answer put this field: its place when it was sent.
  const at = (k) => ['fields', String(errorIndex), k];
  const bad = (k) => (errorAt(error, at(k)) ? 'invalid' : '');
  if (field.system) {
    return html`<li class=${`field-row system ${drag.mark}`} onDragOver=${drag.over}>
      <span class=${`type type-${field.type}`}>${typeLabel(field.type)}</span>
      <span class="mono">${field.name}</span><span class="muted small">system field</span></li>`;
  }
  const opt = (label, k, input) => html`<label class="opt">${label}${input}<${FieldError} error=${error} path=${at(k)} /></label>`;
  const numInput = (k, attrs = {}) => html`<input type="number" name=${`field-${k}`} class=${bad(k)} value=${field[k] ?? ''} ...${attrs}
    onInput=${(e) => set(k, num(e.currentTarget.value))} />`;
  const textInput = (k, placeholder) => html`<input name=${`field-${k}`} class=${bad(k)} value=${field[k] || ''} spellcheck="false" autocomplete="off"
    placeholder=${placeholder} onInput=${(e) => set(k, e.currentTarget.value)} />`;
  const list = (k, placeholder) => html`<${ListInput} name=${`field-${k}`} cls=${bad(k)} value=${field[k] || []} placeholder=${placeholder} onChange=${(v) => set(k, v)} />`;
  const check = (k, label) => html`<label class="check"><input type="checkbox" name=${`field-${k}`} checked=${Boolean(field[k])}
    onChange=${(e) => set(k, e.currentTarget.checked)} />${label}</label>`;
  let options = null;
  switch (field.type) {
    case 'text':
      options = [opt('Min length', 'min', numInput('min', { min: 0 })), opt('Max length', 'max', numInput('max', { min: 0 })),
        opt('Pattern', 'pattern', textInput('pattern', '^[a-z]+$')),
        opt('Generate when empty', 'autogeneratePattern', textInput('autogeneratePattern', 'e.g. INV-\\d{6}'))];
      break;
    case 'email':
    case 'url':
      options = [opt('Only domains', 'onlyDomains', list('onlyDomains', 'example.com')),
        opt('Except domains', 'exceptDomains', list('exceptDomains', 'spam.test'))];
      break;
    case 'date':
      options = [opt('Earliest', 'min', textInput('min', '2024-01-01 00:00:00.000Z')),
        opt('Latest', 'max', textInput('max', '2030-12-31 23:59:59.999Z'))];
      break;
    case 'editor':
      options = [opt('Max size (bytes)', 'maxSize', numInput('maxSize', { min: 0 }))];
      break;
    case 'json':
      options = [opt('Max size (bytes)', 'maxSize', numInput('maxSize', { min: 0 }))];
      break;
    case 'number':
      options = [opt('Min', 'min', numInput('min')), opt('Max', 'max', numInput('max')),
        html`<label class="check"><input type="checkbox" checked=${field.onlyInt} onChange=${(e) => set('onlyInt', e.currentTarget.checked)} />Integers only</label>`];
      break;
    case 'select':
      options = [opt('Values (comma-separated)', 'values', html`<${ListInput} name="field-values" cls=${bad('values')} value=${field.values || []} onChange=${(v) => set('values', v)} />`),
        opt('Max selected', 'maxSelect', numInput('maxSelect', { min: 1 }))];
      break;
    case 'relation':
      options = [opt('Collection', 'collectionId', html`<select name="field-collectionId" class=${bad('collectionId')} value=${field.collectionId || ''} onChange=${(e) => set('collectionId', e.currentTarget.value)}>
          <option value="">Choose…</option>${targets.map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>`),
        opt('Min selected', 'minSelect', numInput('minSelect', { min: 0 })),
        opt('Max selected', 'maxSelect', numInput('maxSelect', { min: 1 })),
        html`<label class="check"><input type="checkbox" checked=${field.cascadeDelete} onChange=${(e) => set('cascadeDelete', e.currentTarget.checked)} />Delete with the related record</label>`];
      break;
    case 'file':
      options = [opt('Max files', 'maxSelect', numInput('maxSelect', { min: 1 })),
        opt('Max bytes (0: 5 MB)', 'maxSize', numInput('maxSize', { min: 0 })),
        html`<div class="opt wide">${opt('Allowed types (empty: any)', 'mimeTypes', list('mimeTypes', 'image/jpeg, image/png'))}
          <button type="button" class="btn small ghost" onClick=${() => set('mimeTypes', IMAGE_TYPES)}>Images only</button></div>`,
        opt('Thumb sizes', 'thumbs', list('thumbs', '100x100, 0x300')),
        check('protected', 'Protected (a file token is needed to download)')];
      break;
    case 'autodate':
      options = [html`<label class="check"><input type="checkbox" checked=${field.onCreate} onChange=${(e) => set('onCreate', e.currentTarget.checked)} />Set on create</label>`,
        html`<label class="check"><input type="checkbox" checked=${field.onUpdate} onChange=${(e) => set('onUpdate', e.currentTarget.checked)} />Set on update</label>`];
      break;
    default: break;
  }
  return html`<li class=${`field-row ${drag.mark}${drag.dragging ? ' dragging' : ''}`} data-field=${field.name}
      onDragOver=${drag.over}>
    <div class="field-main">
      <${DragHandle} drag=${drag} />
      <span class=${`type type-${field.type}`}>${typeLabel(field.type)}</span>
      <input name="field-name" class=${`name ${bad('name')}`} value=${field.name} placeholder="field name" spellcheck="false" autocomplete="off"
        aria-label=${`Name of field ${index + 1} (${typeLabel(field.type)})`} onInput=${(e) => set('name', e.currentTarget.value)} />
      ${field.type !== 'autodate' && html`<label class="check"><input type="checkbox" name="field-required" checked=${field.required} onChange=${(e) => set('required', e.currentTarget.checked)} />Required</label>`}
      <label class="check"><input type="checkbox" checked=${field.hidden} onChange=${(e) => set('hidden', e.currentTarget.checked)} />Hidden</label>
      <label class="check" title="Shown for the record where another record refers to it"><input type="checkbox" name="field-presentable" checked=${field.presentable}
        onChange=${(e) => set('presentable', e.currentTarget.checked)} />Presentable</label>
      <${MoveButtons} label=${`field ${field.name || index + 1}`} first=${first} last=${last} onMove=${onMove} />
      <button type="button" class="btn ghost small" aria-label=${`Remove field ${field.name || index + 1}`} onClick=${onRemove}>Remove</button>
    </div>
    <${FieldError} error=${error} path=${at('name')} />
    ${options && html`<div class="field-opts">${options}</div>`}
  </li>`;
}

/** The image types "Images only" allows: those a browser shows and the server makes thumbs of. */
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/svg+xml'];

/** A comma-separated list edited as text: what is typed stays as typed. */
function ListInput({ name, cls, value, onChange, placeholder = 'draft, published' }) {
  const [text, setText] = useState(value.join(', '));
  // What was typed, while it says the value; a value set from outside (a
  // preset button) in the same render, with no effect to wait for.
  const shown = splitList(text).join(', ') === value.join(', ') ? text : value.join(', ');
  return html`<input name=${name} class=${cls} value=${shown} spellcheck="false" placeholder=${placeholder}
    onInput=${(e) => { const t = e.currentTarget.value; setText(t); onChange(splitList(t)); }} />`;
}

function splitList(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}
