// An API rule's expression, typed with completion: the collection's own
// fields, paths through its relations (and back-relations, `posts_via_author`),
// `@request.*`, `@collection.*`, the date macros and the field modifiers.
// The suggestions are worked out here from the collection being edited
// (unsaved fields included) and the other collections; the server still
// judges the rule, and its error shows under the box.
import { html, useMemo, useRef, useState } from './lib.js';
import { typeLabel } from './schema.js';

const MACROS = ['@now', '@second', '@minute', '@hour', '@weekday', '@day', '@month', '@year',
  '@yesterday', '@tomorrow', '@todayStart', '@todayEnd', '@monthStart', '@monthEnd', '@yearStart', '@yearEnd'];
const MODIFIERS = [[':isset', 'was sent in the request'], [':changed', 'sent and different from the stored value'],
  [':length', 'number of items'], [':each', 'every item matches'], [':lower', 'compared lower-cased']];
const REQUEST = [['@request.method', 'GET, POST, …'], ['@request.context', 'default, oauth2, otp, …'],
  ['@request.headers.', 'request header (lower case, - as _)'], ['@request.query.', 'query parameter']];
// How deep relation paths are offered; longer ones can still be typed.
const DEPTH = 2;
const MAX_SHOWN = 8;

const named = (fields) => (fields || []).filter((f) => f.name && f.type !== 'password' && f.name !== 'tokenKey');

/**
 * Every completion as [text, hint]: a flat list, cut to the next path
 * segment when offered (see `suggest`).
 */
export function candidates(draft, collections) {
  const out = [];
  const byId = new Map(collections.map((c) => [c.id, c]));
  const walk = (prefix, fields, depth) => {
    for (const f of named(fields)) {
      out.push([`${prefix}${f.name}`, typeLabel(f.type)]);
      const target = f.type === 'relation' && byId.get(f.collectionId);
      if (target && depth < DEPTH) walk(`${prefix}${f.name}.`, target.fields, depth + 1);
    }
  };
  walk('', draft.fields, 0);
  // Back-relations: records elsewhere that point at this one.
  if (draft.id) {
    for (const c of collections) {
      for (const f of named(c.fields).filter((x) => x.type === 'relation' && x.collectionId === draft.id)) {
        out.push([`${c.name}_via_${f.name}`, `back-relation from ${c.name}`]);
        walk(`${c.name}_via_${f.name}.`, c.fields, 1);
      }
    }
  }
  const auth = collections.filter((c) => c.type === 'auth');
  out.push(['@request.auth.id', 'signed-in account; "" for guests'], ['@request.auth.collectionName', 'the account’s collection']);
  const seen = new Set(['id']);
  for (const c of auth) {
    for (const f of named(c.fields).filter((x) => !seen.has(x.name))) {
      seen.add(f.name);
      out.push([`@request.auth.${f.name}`, `${typeLabel(f.type)} of the account`]);
    }
  }
  for (const f of named(draft.fields).filter((x) => !x.system || x.name !== 'id')) {
    out.push([`@request.body.${f.name}`, `${typeLabel(f.type)} as sent`]);
  }
  out.push(...REQUEST);
  for (const c of collections.filter((x) => x.name && x.name !== draft.name)) {
    out.push([`@collection.${c.name}`, `any ${c.name} record`]);
    for (const f of named(c.fields)) out.push([`@collection.${c.name}.${f.name}`, typeLabel(f.type)]);
  }
  for (const m of MACROS) out.push([m, 'date macro']);
  return out;
}

/** The word being typed before `caret`: [start, text]. */
export function wordAt(text, caret) {
  let start = caret;
  while (start > 0 && /[\w@.:]/.test(text[start - 1])) start -= 1;
  return [start, text.slice(start, caret)];
}

/**
 * What to offer for `word`: completions that extend it, each cut at the
 * next `.` (one path step at a time), or the modifiers after a `:`.
 */
export function suggest(all, word) {
  if (!word) return [];
  const colon = word.lastIndexOf(':');
  if (colon > 0) {
    const head = word.slice(0, colon);
    const typed = word.slice(colon);
    return MODIFIERS.filter(([m]) => m.startsWith(typed) && m !== typed).map(([m, hint]) => [`${head}${m}`, hint]);
  }
  const lower = word.toLowerCase();
  const found = new Map();
  for (const [text, hint] of all) {
    if (!text.toLowerCase().startsWith(lower) || text === word) continue;
    const dot = text.indexOf('.', word.length);
    const cut = dot < 0 ? text : text.slice(0, dot);
    if (cut === word) continue;
    if (!found.has(cut)) found.set(cut, dot < 0 ? hint : 'type . for what it holds');
  }
  return [...found].sort((a, b) => a[0].length - b[0].length || a[0].localeCompare(b[0])).slice(0, MAX_SHOWN);
}

/** Enough rows to show a rule whole, up to eight. */
const rowsFor = (text) => Math.min(8, Math.max(2, text.split('\n').length + Math.floor(text.length / 48)));

export function RuleEditor({ name, label, value, invalid, errorId, draft, collections, onChange, onLeave, placeholder = '@request.auth.id != ""' }) {
  const ref = useRef(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [caret, setCaret] = useState(0);
  const all = useMemo(() => candidates(draft, collections), [draft.fields, draft.id, draft.name, collections]);
  const [start, word] = wordAt(value, caret);
  const items = open ? suggest(all, word) : [];
  const listId = `${name}-suggestions`;

  const track = (el) => { setCaret(el.selectionStart); };
  const accept = (text) => {
    const next = value.slice(0, start) + text + value.slice(caret);
    const at = start + text.length;
    // The box takes the text and caret now, not after the redraw: keys
    // typed in between must land after the completion. (The redraw then
    // sets the same value, which leaves the caret where it is.)
    const el = ref.current;
    if (el) { el.value = next; el.focus(); el.setSelectionRange(at, at); }
    onChange(next);
    setCaret(at);
    setActive(0);
    setOpen(false);
  };
  function onKeyDown(e) {
    if (e.key === ' ' && e.ctrlKey) { e.preventDefault(); setOpen(true); return; }
    if (!items.length) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive((active + 1) % items.length); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((active - 1 + items.length) % items.length); }
    else if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); accept(items[Math.min(active, items.length - 1)][0]); }
    else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); setOpen(false); }
  }
  const shown = Math.min(active, items.length - 1);
  return html`<div class="rule-input">
    <textarea ref=${ref} name=${name} rows=${rowsFor(value)} spellcheck="false" autocomplete="off" class=${invalid ? 'invalid' : ''}
      role="combobox" aria-autocomplete="list" aria-expanded=${items.length > 0} aria-controls=${listId}
      aria-activedescendant=${items.length ? `${listId}-${shown}` : undefined}
      aria-label=${`${label} rule expression`} aria-describedby=${invalid ? errorId : undefined} placeholder=${placeholder}
      value=${value}
      onInput=${(e) => { onChange(e.currentTarget.value); track(e.currentTarget); setOpen(true); setActive(0); }}
      onKeyDown=${onKeyDown} onKeyUp=${(e) => !['ArrowDown', 'ArrowUp'].includes(e.key) && track(e.currentTarget)}
      onClick=${(e) => track(e.currentTarget)} onBlur=${(e) => {
        setTimeout(() => setOpen(false), 150);
        // Left for the save button: the save checks it, and a check racing
        // the save could find the collection already made.
        if (e.relatedTarget?.type !== 'submit') onLeave?.(e.currentTarget.value);
      }}></textarea>
    <ul class="suggestions" id=${listId} role="listbox" aria-label=${`Completions for the ${label} rule`} hidden=${items.length === 0}>
      ${items.map(([text, hint], i) => html`<li id=${`${listId}-${i}`} role="option" aria-selected=${i === shown}
        class=${i === shown ? 'on' : ''} onMouseDown=${(e) => { e.preventDefault(); accept(text); }}>
        <code>${text}</code><span class="muted small">${hint}</span></li>`)}
    </ul>
  </div>`;
}
