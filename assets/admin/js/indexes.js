// A collection's indexes: listed from their SQL, dropped, and added by
// picking fields (plain or unique). The server checks each one and its
// error shows on the index's row.
import { html, useState } from './lib.js';
import { FieldError } from './ui.js';

const INDEX = /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?[`"[]?(\w+)[`"\]]?\s+ON\s+[`"[]?\w+[`"\]]?\s*\((.*)\)/is;

/** {unique, name, columns} of an index's SQL, or null when it is not the usual shape. */
export function parseIndex(sql) {
  const m = INDEX.exec(sql);
  if (!m) return null;
  return { unique: Boolean(m[1]), name: m[2], columns: m[3].split(',').map((c) => c.trim().replace(/^[`"[]|[`"\]]$/g, '')) };
}

export function indexSql(collectionName, columns, unique) {
  const name = `idx_${collectionName}_${columns.join('_')}`.replace(/\W/g, '_');
  const q = (s) => `\`${s}\``;
  return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${q(name)} ON ${q(collectionName)} (${columns.map(q).join(', ')})`;
}

export function Indexes({ indexes, fields, collectionName, error, onChange }) {
  const [picked, setPicked] = useState([]);
  const [unique, setUnique] = useState(false);
  const names = fields.filter((f) => f.name && f.name !== 'id' && f.type !== 'password').map((f) => f.name);
  const add = () => {
    onChange([...indexes, indexSql(collectionName, picked, unique)]);
    setPicked([]);
    setUnique(false);
  };
  return html`<div class="indexes">
    ${indexes.length === 0 && html`<p class="muted small">No indexes. Add one on fields that filters and sorts use often, or a unique one to refuse duplicates.</p>`}
    <ul class="index-list">${indexes.map((sql, i) => {
      const ix = parseIndex(sql);
      return html`<li key=${sql} class="index-row">
        <div class="index-main">
          ${ix ? html`<span class=${`type${ix.unique ? '' : ' plain'}`}>${ix.unique ? 'Unique' : 'Index'}</span>
            <span>${ix.columns.join(', ')}</span><code class="muted small">${ix.name}</code>`
          : html`<code class="small">${sql}</code>`}
          <button type="button" class="btn ghost small push" aria-label=${`Drop index ${ix?.name || i + 1}`}
            onClick=${() => onChange(indexes.filter((_, j) => j !== i))}>Drop</button>
        </div>
        <${FieldError} error=${error} path=${['indexes', String(i)]} />
      </li>`;
    })}</ul>
    <div class="index-add" role="group" aria-label="Add an index">
      <span class="muted small">New index on:</span>
      ${names.map((n) => html`<label class="check small"><input type="checkbox" name="index-field" value=${n} checked=${picked.includes(n)}
        onChange=${(e) => setPicked(e.currentTarget.checked ? [...picked, n] : picked.filter((x) => x !== n))} />${n}</label>`)}
      <label class="check small"><input type="checkbox" name="index-unique" checked=${unique} onChange=${(e) => setUnique(e.currentTarget.checked)} /><strong>unique</strong></label>
      <button type="button" class="btn small" disabled=${picked.length === 0 || !collectionName} onClick=${add}
        title=${collectionName ? '' : 'Name the collection first'}>Add index</button>
    </div>
  </div>`;
}
