// What an import of collection definitions would change, worked out in
// the page before anything is sent: collections matched as the server
// matches them (by id, then by name), and for each one the renames, the
// fields added, removed, renamed or changed, the rules, the indexes, a
// view's query and the auth options that differ. No server state moves
// until the person applies the import.

const RULE_KEYS = ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule', 'authRule', 'manageRule'];
// Keys that are bookkeeping, not definition.
const IGNORED = new Set(['id', 'name', 'type', 'system', 'fields', 'indexes', 'viewQuery', 'created', 'updated', ...RULE_KEYS]);

/** Equal as JSON values, whatever the order of object keys. */
export function same(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => same(a[k], b[k]));
}

const ruleText = (r) => (r === null || r === undefined ? 'locked' : r === '' ? 'public' : `“${r}”`);

function matcher(list) {
  const byId = new Map(list.filter((x) => x.id).map((x) => [x.id, x]));
  const byName = new Map(list.map((x) => [x.name, x]));
  return (item) => (item.id && byId.get(item.id)) || byName.get(item.name) || null;
}

function fieldChanges(before, after) {
  const out = [];
  const find = matcher(before.fields || []);
  const matched = new Set();
  for (const f of after.fields || []) {
    const old = find(f);
    if (!old) { out.push(`field ${f.name} (${f.type}) added`); continue; }
    matched.add(old);
    if (old.name !== f.name) out.push(`field ${old.name} renamed to ${f.name} (its data is kept)`);
    if (old.type !== f.type) out.push(`field ${f.name}: type ${old.type} → ${f.type}`);
    const keys = [...new Set([...Object.keys(old), ...Object.keys(f)])]
      .filter((k) => !['id', 'name', 'type'].includes(k) && !same(old[k], f[k])).sort();
    if (keys.length) out.push(`field ${f.name}: ${keys.join(', ')} changed`);
  }
  for (const old of before.fields || []) {
    if (!matched.has(old)) out.push(`field ${old.name} removed, with its data`);
  }
  return out;
}

/** The changes from `before` to `after`, one line each. */
export function collectionChanges(before, after) {
  const out = [];
  if (before.name !== after.name) out.push(`renamed from ${before.name} to ${after.name}`);
  if (after.type && before.type !== after.type) out.push(`type ${before.type} → ${after.type}`);
  if (after.fields) out.push(...fieldChanges(before, after));
  for (const k of RULE_KEYS) {
    if (k in after && !same(before[k] ?? null, after[k] ?? null)) out.push(`${k}: ${ruleText(before[k])} → ${ruleText(after[k])}`);
  }
  if (after.indexes) {
    for (const ix of after.indexes) if (!(before.indexes || []).includes(ix)) out.push(`index added: ${ix}`);
    for (const ix of before.indexes || []) if (!after.indexes.includes(ix)) out.push(`index dropped: ${ix}`);
  }
  if ('viewQuery' in after && (before.viewQuery || '') !== (after.viewQuery || '')) out.push('view query changed');
  const options = Object.keys(after).filter((k) => !IGNORED.has(k) && !same(before[k], after[k])).sort();
  if (options.length) out.push(`options changed: ${options.join(', ')}`);
  return out;
}

/**
 * The plan of an import: `added` (collections), `changed` ([collection,
 * lines]), `unchanged`, and `deleted` (with `deleteMissing`, the
 * non-system collections the file does not list).
 */
export function importPlan(current, incoming, deleteMissing) {
  const find = matcher(current);
  const plan = { added: [], changed: [], unchanged: [], deleted: [] };
  const kept = new Set();
  for (const item of incoming) {
    const old = find(item);
    if (!old) { plan.added.push(item); continue; }
    kept.add(old.id);
    const lines = collectionChanges(old, item);
    if (lines.length) plan.changed.push([item, lines]); else plan.unchanged.push(item);
  }
  if (deleteMissing) plan.deleted = current.filter((c) => !c.system && !kept.has(c.id));
  return plan;
}

/** The file's collections, or an Error saying why it is not one. */
export function readImport(text) {
  let data;
  try { data = JSON.parse(text); } catch (e) { return new Error(`Not valid JSON: ${e.message}`); }
  const list = Array.isArray(data) ? data : data?.collections;
  if (!Array.isArray(list) || list.length === 0) return new Error('Expected a list of collections (as the export writes).');
  const bad = list.findIndex((c) => !c || typeof c !== 'object' || typeof c.name !== 'string' || !c.name);
  if (bad >= 0) return new Error(`Item ${bad + 1} is not a collection: it needs at least a name.`);
  return list;
}

/** Definitions as the export writes them: without the server's timestamps. */
export function exportable(collections) {
  return collections.filter((c) => !c.system).map(({ created, updated, ...c }) => c);
}
