// Leaving a page with unsaved changes asks first, in the page: a modal
// dialog (focus stays in it; Escape or "Stay" keeps the page and every
// change). One dialog, drawn once by the shell, answers for whichever page
// is guarding. A reload or a closed tab can only be asked about by the
// browser's own prompt (`beforeunload`), which no page can restyle.
import { html, useEffect, useState } from './lib.js';
import { setLeaveCheck } from './router.js';
import { Confirm } from './ui.js';

// The question being asked: { proceed } goes on to where the person was going.
let asking = null;
const followers = new Set();
const ask = (next) => { asking = next; for (const f of followers) f(asking); };

/**
 * While `dirty()` is true, leaving the page (another route, a reload,
 * closing the tab) asks first. `dirty` is read when the person leaves, so
 * a page that saves and then moves on is not asked.
 */
export function useLeaveGuard(dirty) {
  useEffect(() => {
    const release = setLeaveCheck((proceed) => {
      if (!dirty()) return true;
      ask({ proceed });
      return false;
    });
    const onUnload = (e) => { if (dirty()) { e.preventDefault(); e.returnValue = ''; } };
    window.addEventListener('beforeunload', onUnload);
    return () => {
      release();
      window.removeEventListener('beforeunload', onUnload);
    };
  });
}

export function LeaveDialog() {
  const [shown, setShown] = useState(asking);
  useEffect(() => {
    followers.add(setShown);
    setShown(asking);
    return () => followers.delete(setShown);
  }, []);
  return html`<${Confirm} open=${Boolean(shown)} title="Leave without saving?" confirmLabel="Leave without saving" cancelLabel="Stay"
    onCancel=${() => ask(null)} onConfirm=${() => { const { proceed } = shown; ask(null); proceed(); }}>
    <p>You have unsaved changes on this page. Leaving loses them.</p>
  </${Confirm}>`;
}

/**
 * Escape leaves a full-page editor for `hash`, as its Cancel does (and so
 * through the same question when something is unsaved). Not while a
 * dialog is open, nor in a box with suggestions (a rule, a relation):
 * there Escape is for the list, open or just closed, and a second press
 * leaving the page would surprise.
 */
export function useEscapeLeaves(hash) {
  useEffect(() => {
    const onKey = (e) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open]')) return;
      if (e.target instanceof Element && e.target.closest('[role=combobox]')) return;
      location.hash = hash;
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [hash]);
}
