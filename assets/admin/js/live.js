// Live rows: PocketBase's realtime stream. The stream (EventSource) says
// which client we are; the topics are then set with the superuser's token,
// so the server filters events as it would for them (superusers see all).
import { useEffect, useRef } from './lib.js';
import { request } from './api.js';

/** Calls `onChange` (at most every 300 ms) while records of `collection` change. */
export function useLive(collection, onChange) {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    // A view's rows change with the collections it reads; no event names
    // them, and the server refuses the topic.
    if (collection.type === 'view') return undefined;
    const topic = `${collection.name}/*`;
    const source = new EventSource('/api/realtime');
    // Leaving the page closes the stream; a subscription still on its way
    // is called off with it, or the server would answer it for a client
    // that is gone (a 404 no one should see).
    const leaving = new AbortController();
    let timer = null;
    source.addEventListener('PB_CONNECT', (e) => {
      let clientId = '';
      try { clientId = JSON.parse(e.data).clientId; } catch { return; }
      // A failure here only means no live updates; the page still works.
      request('POST', '/api/realtime', { body: { clientId, subscriptions: [topic] }, signal: leaving.signal }).catch(() => {});
    });
    source.addEventListener(topic, () => {
      clearTimeout(timer);
      timer = setTimeout(() => latest.current(), 300);
    });
    return () => { clearTimeout(timer); leaving.abort(); source.close(); };
  }, [collection.name, collection.type]);
}
