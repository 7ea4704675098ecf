// An `editor` (rich text) field: edited as it looks, or as its HTML.
//
// HTML stored by anyone (a client may write any HTML into the field) must
// never act on the dashboard when a superuser opens it. Both views keep it
// in an iframe whose sandbox leaves scripts out (no `allow-scripts`), under
// the page's own CSP too: neither a <script> nor an event handler in it
// runs. The visual view adds `allow-same-origin` so that this page (not the
// frame) can switch the frame's document to designMode, send it the
// toolbar's commands and read its HTML back; the frame itself still runs
// nothing. The HTML view is the plain text box with a preview that allows
// nothing at all, as before.
import { html, useRef, useState } from './lib.js';

// Links that only go somewhere: no `javascript:` or `data:` addresses.
const SAFE_LINK = /^(https?:\/\/|mailto:|\/|#)/i;
const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

export function RichText({ id, name, cls, value, onChange }) {
  const [mode, setMode] = useState('visual');
  const tab = (m, label) => html`<button type="button" class=${`btn small ${mode === m ? 'on' : 'ghost'}`} aria-pressed=${mode === m}
    onClick=${() => setMode(m)}>${label}</button>`;
  return html`<div class="rich-text">
    <div class="rt-modes" role="group" aria-label=${`How to edit ${name}`}>${tab('visual', 'Visual')}${tab('source', 'HTML source')}</div>
    ${mode === 'visual'
      ? html`<${Visual} id=${id} name=${name} value=${value} onChange=${onChange} />`
      : html`<${Source} id=${id} name=${name} cls=${cls} value=${value} onChange=${onChange} />`}
  </div>`;
}

/**
 * The field as it looks, editable. The frame starts from the value it is
 * drawn with; from then on it holds the text and reports each change (a
 * value pushed back into it would move the caret).
 */
function Visual({ id, name, value, onChange }) {
  const frame = useRef(null);
  const report = useRef(onChange);
  report.current = onChange;
  const [start] = useState(value);
  const [linking, setLinking] = useState(null);
  const doc = () => frame.current?.contentDocument;
  const send = () => report.current(doc().body.innerHTML);

  // The frame's own document, from the event: the load can come before
  // the ref is set.
  function ready(e) {
    const d = e.currentTarget.contentDocument;
    if (!d) return;
    // Styled by a stylesheet of ours (the page's CSP refuses inline style
    // text; and style set on the body would be copied into what is typed).
    const sheet = d.createElement('link');
    sheet.rel = 'stylesheet';
    sheet.href = '/_/rich_text.css';
    d.head.append(sheet);
    // An empty field starts with a paragraph to type into, not bare text in the body.
    if (!d.body.innerHTML.trim()) d.body.innerHTML = '<p><br></p>';
    d.designMode = 'on';
    // New lines as paragraphs, as stored rich text usually has them (Chromium's own choice is <div>).
    d.execCommand('defaultParagraphSeparator', false, 'p');
    d.addEventListener('input', () => report.current(d.body.innerHTML));
    // Keys pressed in the frame stay in it: Escape is passed on to the page,
    // where it leaves the editor as it does from any other box.
    d.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    });
  }
  function run(command, arg) {
    const d = doc();
    if (!d) return;
    frame.current.contentWindow.focus();
    d.execCommand(command, false, arg);
    send();
  }
  const heading = () => run('formatBlock', /^h\d$/i.test(doc()?.queryCommandValue('formatBlock') || '') ? 'p' : 'h2');
  const clear = () => { run('removeFormat'); run('unlink'); run('formatBlock', 'p'); };
  function link(e) {
    e.preventDefault();
    const url = linking.trim();
    if (url && !SAFE_LINK.test(url)) return;
    setLinking(null);
    const d = doc();
    if (!url) { run('unlink'); return; }
    if (d.getSelection().isCollapsed) run('insertHTML', `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`);
    else run('createLink', url);
  }
  const tool = (label, title, onClick) => html`<button type="button" class="btn ghost small" aria-label=${title} title=${title}
    onMouseDown=${(e) => e.preventDefault()} onClick=${onClick}>${label}</button>`;
  const badLink = linking !== null && linking.trim() !== '' && !SAFE_LINK.test(linking.trim());
  return html`<div class="rt-visual">
    <div class="rt-toolbar" role="toolbar" aria-label=${`Format ${name}`}>
      ${tool(html`<b>B</b>`, 'Bold', () => run('bold'))}
      ${tool(html`<i>I</i>`, 'Italic', () => run('italic'))}
      ${tool('H', 'Heading', heading)}
      ${tool('• List', 'Bulleted list', () => run('insertUnorderedList'))}
      ${tool('1. List', 'Numbered list', () => run('insertOrderedList'))}
      ${tool('Link', 'Link', () => setLinking(linking === null ? 'https://' : null))}
      ${tool('Clear', 'Clear formatting', clear)}
    </div>
    ${linking !== null && html`<div class="rt-link inline">
      <input type="url" aria-label="Link address" value=${linking} class=${badLink ? 'invalid' : ''}
        onInput=${(e) => setLinking(e.currentTarget.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter') link(e); if (e.key === 'Escape') { e.preventDefault(); setLinking(null); } }} />
      <button type="button" class="btn small" disabled=${badLink} onClick=${link}>Set link</button>
      <span class="muted small">${badLink ? 'Only http(s), mailto or a path.' : 'Empty: remove the link.'}</span>
    </div>`}
    <iframe ref=${frame} id=${id} class="rich-visual" sandbox="allow-same-origin" title=${`${name}, rich text`} srcdoc=${start} onLoad=${ready}></iframe>
  </div>`;
}

/** The field's HTML as text, and on demand a preview that allows nothing. */
function Source({ id, name, cls, value, onChange }) {
  const [shown, setShown] = useState(false);
  return html`<textarea id=${id} name=${name} class=${cls} rows="6" value=${value} onInput=${(e) => onChange(e.currentTarget.value)}></textarea>
    <div class="inline"><button type="button" class="btn small" aria-expanded=${shown} onClick=${() => setShown(!shown)}>
      ${shown ? 'Hide preview' : 'Preview'}</button><span class="muted small">HTML; shown sandboxed, without scripts</span></div>
    ${shown && html`<iframe class="rich-preview" sandbox="" title=${`${name}, as it renders`} srcdoc=${value}></iframe>`}`;
}
