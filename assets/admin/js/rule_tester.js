// "Test the rules": what the list or view rule, as drafted in the editor
// (saved or not), lets a guest or a chosen account see, one page of
// records, and for any record of the collection why it is shown or
// hidden: the rule's && / || parts, each ✓ or ✗ for that record. The
// server acts as the account without signing in as it
// (POST /api/collections/{c}/rule-test).
import { html, useState } from './lib.js';
import { enc, post } from './api.js';
import { recordLabel } from './format.js';
import { RelationPicker } from './pickers.js';
import { ErrorNote } from './ui.js';

const ACCESS = {
  everyone: 'The rule is public: everyone sees every record.',
  locked: 'The rule is locked: only superusers see records.',
  superuser: 'This account is a superuser: rules do not apply to it.',
};

/** `rules` is the editor's body: { listRule, viewRule } as they would be saved. */
export function RuleTester({ collection, collections, rules }) {
  const authCollections = collections.filter((c) => c.type === 'auth');
  const [as, setAs] = useState('');
  const [account, setAccount] = useState('');
  const [rule, setRule] = useState('list');
  const [target, setTarget] = useState('');
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [query, setQuery] = useState('');
  const [headers, setHeaders] = useState('');
  const drafted = (rule === 'list' ? rules.listRule : rules.viewRule) || '';
  const readsRequest = /@request\.(query|headers)\./.test(drafted);
  const asCollection = authCollections.find((c) => c.id === as);

  async function run(record = target) {
    if (as && !account) {
      setError({ message: `Choose an account of ${asCollection?.name} first.` });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = {
        rule,
        auth: as ? { collection: as, id: account } : null,
        expression: rule === 'list' ? rules.listRule : rules.viewRule,
        perPage: 20,
        query: pairs(query, '='),
        headers: pairs(headers, ':'),
      };
      if (record) body.record = record;
      setAnswer(await post(`/api/collections/${enc(collection.id)}/rule-test`, body));
    } catch (err) {
      setAnswer(null);
      setError(err);
    }
    setBusy(false);
  }

  const explain = (id) => { setTarget(id); run(id); };
  const who = as ? (asCollection ? `this account of ${asCollection.name}` : 'this account') : 'a guest';
  return html`<section class="rule-tester" aria-labelledby="rule-tester-title">
    <h2 id="rule-tester-title">Test the rules</h2>
    <p class="muted small">See the records the list or view rule above lets an account see, before or after saving it,
      and why a record is hidden. Nothing is changed and no one is signed in.</p>
    <div class="tester-controls">
      <label class="field">Act as
        <select name="tester-as" value=${as} onChange=${(e) => { setAs(e.currentTarget.value); setAccount(''); setAnswer(null); }}>
          <option value="">A guest (not signed in)</option>
          ${authCollections.map((c) => html`<option value=${c.id}>An account of ${c.name}</option>`)}
        </select></label>
      ${asCollection && html`<div class="field"><label for="tester-account">Account</label>
        <${RelationPicker} key=${as} id="tester-account" field=${{ name: 'tester-account', collectionId: as, maxSelect: 1 }}
          value=${account} onChange=${(v) => { setAccount(v); setAnswer(null); }} /></div>`}
      <fieldset class="field tester-rule"><legend>Rule</legend>
        <div class="segmented" role="radiogroup" aria-label="Rule to test">
          ${[['list', 'List'], ['view', 'View']].map(([r, label]) => html`<label class=${rule === r ? 'on' : ''}>
            <input type="radio" name="tester-rule" value=${r} checked=${rule === r} onChange=${() => { setRule(r); setAnswer(null); }} />${label}</label>`)}
        </div></fieldset>
      <label class="field">Record to explain
        <input name="tester-record" value=${target} autocomplete="off" spellcheck="false" placeholder="any record id (optional)"
          onInput=${(e) => setTarget(e.currentTarget.value.trim())}
          onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); run(); } }} /></label>
      <details class="tester-request" open=${readsRequest || query !== '' || headers !== ''}>
        <summary>Imagined request <span class="muted small">for rules that read <code>@request.query</code> or <code>@request.headers</code></span></summary>
        <div class="tester-request-fields">
          <label class="field">Query parameters <span class="muted small">one <code>name=value</code> a line</span>
            <textarea name="tester-query" class="mono" rows="2" spellcheck="false" value=${query}
              onInput=${(e) => setQuery(e.currentTarget.value)}></textarea></label>
          <label class="field">Headers <span class="muted small">one <code>Name: value</code> a line</span>
            <textarea name="tester-headers" class="mono" rows="2" spellcheck="false" value=${headers}
              onInput=${(e) => setHeaders(e.currentTarget.value)}></textarea></label>
        </div>
      </details>
      <div class="tester-run"><button type="button" class="btn primary" disabled=${busy} onClick=${() => run()}>
        ${busy ? 'Testing…' : 'Test'}</button></div>
    </div>
    <${ErrorNote} error=${error} title="The test could not run:" />
    ${answer && html`<div class="tester-answer" role="status" aria-live="polite">
      ${answer.record && html`<${Explanation} record=${answer.record} who=${who} />`}
      <h3>${answer.totalItems === 1 ? '1 record' : `${answer.totalItems} records`} visible to ${who}
        <span class="muted small"> by the ${rule} rule${answer.rule ? html` <code>${answer.rule}</code>` : ''}</span></h3>
      ${ACCESS[answer.access] && html`<p class="muted small">${ACCESS[answer.access]}</p>`}
      ${answer.items.length > 0 && html`<div class="table-wrap"><table class="records tester-records">
        <thead><tr><th scope="col"><span class="th">id</span></th><th scope="col"><span class="th">Record</span></th><th scope="col"><span class="th"> </span></th></tr></thead>
        <tbody>${answer.items.map((r) => html`<tr key=${r.id}><td class="mono">${r.id}</td><td>${recordLabel(collection, r)}</td>
          <td><button type="button" class="btn ghost small" aria-label=${`Explain ${r.id}`} onClick=${() => explain(r.id)}>Why?</button></td></tr>`)}
        </tbody></table></div>`}
      ${answer.totalItems > answer.items.length && html`<p class="muted small">The first ${answer.items.length} are shown.</p>`}
    </div>`}
  </section>`;
}

/** `name=value` (or `Name: value`) lines as an object; blank lines skipped. */
function pairs(text, sep) {
  const out = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(sep);
    const name = (at < 0 ? line : line.slice(0, at)).trim();
    if (name) out[name] = at < 0 ? '' : line.slice(at + 1).trim();
  }
  return out;
}

function Explanation({ record, who }) {
  return html`<div class=${`tester-why ${record.visible ? 'is-shown' : 'is-hidden'}`}>
    <p><strong>${record.visible ? '✓' : '✗'} <code>${record.id}</code> is ${record.visible ? 'visible' : 'hidden'}</strong> to ${who}.</p>
    ${record.explanation && html`<ul class="rule-parts"><${Part} part=${record.explanation} /></ul>`}
  </div>`;
}

function Part({ part }) {
  const mark = part.holds ? '✓' : '✗';
  return html`<li class=${part.holds ? 'holds' : 'fails'}>
    <span class="part-mark" aria-hidden="true">${mark}</span><span class="visually-hidden">${part.holds ? 'Holds:' : 'Fails:'}</span> <code>${part.text}</code>
    ${part.parts.length > 0 && html`<span class="muted small"> (${part.joiner === '&&' ? 'all of' : 'any of'})</span>
      <ul>${part.parts.map((p, i) => html`<${Part} key=${i} part=${p} />`)}</ul>`}
  </li>`;
}
