// Scheduled jobs: what Cairn runs on its own (log cleanup, scheduled
// backups, …), with when, and a way to run one now. The server starts
// the job in the background and never runs the same one twice at once.
import { html, useState } from './lib.js';
import { enc, get, post } from './api.js';
import { Empty, ErrorNote, Loading, Page, useLoad } from './ui.js';
import { cronSaid } from './cron_words.js';

export function Crons() {
  const loaded = useLoad(() => get('/api/crons'), []);
  const [state, setState] = useState({});
  const items = loaded.data || [];
  async function run(id) {
    setState((s) => ({ ...s, [id]: { busy: true } }));
    try {
      await post(`/api/crons/${enc(id)}`, {});
      setState((s) => ({ ...s, [id]: { started: new Date().toISOString().slice(11, 19) } }));
    } catch (error) {
      setState((s) => ({ ...s, [id]: { error } }));
    }
  }
  return html`<${Page} title="Scheduled jobs" sub="What Cairn runs on its own, on a cron schedule (UTC).">
    <${ErrorNote} error=${loaded.error} title="The jobs could not be loaded:" />
    ${!loaded.data && loaded.loading && html`<${Loading} />`}
    ${loaded.data && items.length === 0 && html`<${Empty} title="No scheduled jobs." />`}
    ${items.length > 0 && html`<div class="table-wrap"><table class="records crons">
      <thead><tr><th scope="col"><span class="th">Job</span></th><th scope="col"><span class="th">Schedule</span></th>
        <th scope="col"><span class="th">Actions</span></th></tr></thead>
      <tbody>${items.map((j) => {
        const st = state[j.id] || {};
        return html`<tr key=${j.id} data-job=${j.id}>
          <td class="mono">${j.id}</td>
          <td><code class="cron-expr">${j.expression}</code>${cronSaid(j.expression) && html` <span class="muted small cron-said">${cronSaid(j.expression)}</span>`}</td>
          <td><div class="row-actions">
            <button type="button" class="btn small" disabled=${st.busy} onClick=${() => run(j.id)} aria-label=${`Run ${j.id} now`}>
              ${st.busy ? 'Starting…' : 'Run now'}</button>
            ${st.started && html`<span class="ok-text small" role="status">Started at ${st.started}</span>`}
          </div>${st.error && html`<${ErrorNote} error=${st.error} />`}</td>
        </tr>`;
      })}</tbody>
    </table></div>`}
    <${JobQueue} />
  </${Page}>`;
}

/**
 * The durable job queue (mail, webhook deliveries): how many jobs of each
 * kind wait, run, finished or were given up, and the ones given up with
 * their last error and a way to try them again.
 */
function JobQueue() {
  const loaded = useLoad(() => get('/api/jobs'), []);
  const [state, setState] = useState({});
  async function retry(id) {
    setState((s) => ({ ...s, [id]: { busy: true } }));
    try {
      await post(`/api/jobs/${enc(id)}/retry`, {});
      setState((s) => ({ ...s, [id]: { queued: true } }));
    } catch (error) {
      setState((s) => ({ ...s, [id]: { error } }));
    }
  }
  const data = loaded.data;
  return html`<section class="job-queue" aria-labelledby="job-queue-title">
    <div class="section-head"><h2 id="job-queue-title">Job queue</h2>
      <button type="button" class="btn small" onClick=${loaded.reload} disabled=${loaded.loading}>Refresh</button></div>
    <p class="muted small">Work that follows a change — mail, webhook deliveries — kept in the database until it is done,
      tried again with growing waits when it fails, and given up after its last attempt.</p>
    <${ErrorNote} error=${loaded.error} title="The queue could not be loaded:" />
    ${!data && loaded.loading && html`<${Loading} />`}
    ${data && data.kinds.length === 0 && html`<p class="muted small">No jobs yet.</p>`}
    ${data && data.kinds.length > 0 && html`<div class="table-wrap"><table class="records job-kinds">
      <thead><tr>${['Kind', 'Waiting', 'Running', 'Done', 'Given up'].map((h) => html`<th scope="col"><span class="th">${h}</span></th>`)}</tr></thead>
      <tbody>${data.kinds.map((k) => html`<tr key=${k.kind}><td class="mono">${k.kind}</td><td>${k.pending}</td><td>${k.running}</td>
        <td>${k.done}</td><td class=${k.dead > 0 ? 'danger-text' : ''}>${k.dead}</td></tr>`)}</tbody></table></div>`}
    ${data && data.dead.length > 0 && html`<h3>Given up</h3><div class="table-wrap"><table class="records job-dead">
      <thead><tr>${['Job', 'Kind', 'Attempts', 'Last error', 'When', 'Actions'].map((h) => html`<th scope="col"><span class="th">${h}</span></th>`)}</tr></thead>
      <tbody>${data.dead.map((j) => {
        const st = state[j.id] || {};
        return html`<tr key=${j.id} data-job=${j.id}><td class="mono">${j.id}</td><td class="mono">${j.kind}</td><td>${j.attempts}</td>
          <td class="job-error">${j.lastError}</td><td class="small">${j.updated.slice(0, 19)}</td>
          <td><button type="button" class="btn small" disabled=${st.busy || st.queued} onClick=${() => retry(j.id)}
            aria-label=${`Try job ${j.id} again`}>${st.queued ? 'Queued' : st.busy ? 'Queuing…' : 'Try again'}</button>
            ${st.error && html`<${ErrorNote} error=${st.error} />`}</td></tr>`;
      })}</tbody></table></div>`}
  </section>`;
}
