// A collection's API preview: each endpoint with the rule that guards it,
// a request example (official JS SDK or curl, one choice for the page,
// kept in this browser) and the answer, each with a Copy button. The
// examples come from api_preview.js; the full reference is /api/docs.
import { html, useEffect, useRef, useState } from './lib.js';
import { href } from './router.js';
import { buildPreview } from './api_preview.js';
import { Page } from './ui.js';

const FORMS = [['js', 'JS SDK'], ['curl', 'curl']];
const FORM_KEY = 'cairn.admin.apiForm';

function CopyButton({ text, what, target }) {
  const [state, setState] = useState('');
  const timer = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('Copied');
    } catch {
      // No clipboard (a page not served over HTTPS or localhost): the text
      // is selected instead, for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(target.current);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      setState('Selected: press Ctrl+C');
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState(''), 1800);
  };
  return html`<button type="button" class="btn small copy" onClick=${copy} aria-label=${`Copy ${what}`}>
    ${state || 'Copy'}</button><span class="visually-hidden" role="status">${state}</span>`;
}

function Snippet({ label, text, kind, what }) {
  const pre = useRef(null);
  return html`<figure class=${`snippet snippet-${kind}`}>
    <figcaption><span>${label}</span><${CopyButton} text=${text} what=${what} target=${pre} /></figcaption>
    <pre tabindex="0" aria-label=${what} ref=${pre}><code>${text}</code></pre>
  </figure>`;
}

function RuleLine({ rule }) {
  return html`<p class="api-rule"><span class="muted">Who may call it:</span>
    <span class="rule-badge" data-mode=${rule.mode}>${rule.label}</span>
    ${rule.expr && html`<code class="rule-expr">${rule.expr}</code>`}</p>`;
}

function Endpoint({ e, form }) {
  const request = form === 'js' ? e.js : e.curl;
  const formLabel = FORMS.find(([k]) => k === form)[1];
  return html`<section class="api-endpoint" id=${`api-${e.id}`} data-endpoint=${e.id} aria-labelledby=${`api-${e.id}-title`}>
    <header class="api-head">
      <h2 id=${`api-${e.id}-title`} tabindex="-1">${e.title}</h2>
      <span class="method" data-method=${e.method}>${e.method}</span>
      <code class="api-path">${e.path}</code>
    </header>
    <${RuleLine} rule=${e.rule} />
    <div class="api-examples">
      <${Snippet} label=${`Request · ${formLabel}`} text=${request} kind="request" what=${`${e.title}: request (${formLabel})`} />
      ${e.answer
        ? html`<${Snippet} label=${`Answer · ${e.answerStatus}`} text=${e.answer} kind="answer" what=${`${e.title}: answer`} />`
        : html`<p class="api-noanswer muted small">Answer: ${e.answerStatus === 204 ? '204, no content.' : 'the file itself.'}</p>`}
    </div>
    ${e.notes.length > 0 && html`<ul class="api-notes small muted">${e.notes.map((n) => html`<li>${n}</li>`)}</ul>`}
  </section>`;
}

export function ApiPreview({ collection }) {
  const [form, setForm] = useState(() => (localStorage.getItem(FORM_KEY) === 'curl' ? 'curl' : 'js'));
  const choose = (f) => { setForm(f); localStorage.setItem(FORM_KEY, f); };
  const preview = buildPreview(collection, location.origin);
  const jump = (id) => {
    const h = document.getElementById(`api-${id}-title`);
    h?.scrollIntoView({ block: 'start' });
    h?.focus({ preventScroll: true });
  };
  return html`<${Page} title=${collection.name} sub=${`API preview · ${collection.type} collection`}
      actions=${html`<a class="btn" href=${href('collections', collection.name)}>Records</a>
        <a class="btn" href=${href('collections', collection.name, 'settings')}>Settings</a>
        <a class="btn" href="/api/docs" target="_blank" rel="noopener">Full reference ↗</a>`}>
    <div class="api-intro">
      <p>The endpoints of <strong>${collection.name}</strong>, with examples built from its fields. Superusers pass every rule.
        The whole API, with every parameter and schema, is in the <a href="/api/docs" target="_blank" rel="noopener">live reference at /api/docs</a>.</p>
      ${preview.hidden.length > 0 && html`<p class="api-hidden small muted">Left out of the answers: ${preview.hidden.map((n, i) => html`${i ? ', ' : ''}<code>${n}</code>`)}. Superusers get the hidden fields too, never passwords or token keys.</p>`}
      <div class="api-toolbar">
        <div class="segmented" role="radiogroup" aria-label="Examples as">
          ${FORMS.map(([k, label]) => html`<label class=${form === k ? 'on' : ''}>
            <input type="radio" name="api-form" value=${k} checked=${form === k} onChange=${() => choose(k)} />${label}</label>`)}
        </div>
      </div>
      <${Snippet} label=${form === 'js' ? 'Setup · JS SDK' : 'Setup · curl'} text=${preview.setup[form]} kind="setup"
        what=${`setup (${form === 'js' ? 'JS SDK' : 'curl'})`} />
      <nav class="api-toc" aria-label="Endpoints">
        ${preview.endpoints.map((e) => html`<button type="button" class="chip" onClick=${() => jump(e.id)}>${e.title}</button>`)}
      </nav>
    </div>
    ${preview.endpoints.map((e) => html`<${Endpoint} key=${e.id} e=${e} form=${form} />`)}
  </${Page}>`;
}
