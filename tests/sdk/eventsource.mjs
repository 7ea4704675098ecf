// A minimal EventSource for Node 20 (which has none), enough for the SDK's
// realtime service: named events, `lastEventId`, `onerror`, `close()`.
// It never reconnects by itself: the SDK handles reconnection on `onerror`,
// as it does in browsers. Built on fetch only, so the suite needs no extra
// npm package.
//
// `simulateNetworkDrop()` (tests only) cuts the connection the way a network
// failure would: the SDK sees an error, not a close.

export class EventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;

  constructor(url) {
    this.url = String(url);
    this.readyState = EventSource.CONNECTING;
    this.lastEventId = '';
    this.onerror = null;
    this.onopen = null;
    this.onmessage = null;
    this._listeners = new Map();
    this._abort = new AbortController();
    this._run();
  }

  addEventListener(type, listener) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(listener);
  }

  removeEventListener(type, listener) {
    this._listeners.get(type)?.delete(listener);
  }

  close() {
    this.readyState = EventSource.CLOSED;
    this._abort.abort();
  }

  simulateNetworkDrop() {
    this._abort.abort();
  }

  async _run() {
    try {
      const res = await fetch(this.url, {
        headers: { accept: 'text/event-stream' },
        signal: this._abort.signal,
      });
      if (!res.ok || !res.body) throw new Error(`EventSource: HTTP ${res.status}`);
      this.readyState = EventSource.OPEN;
      this.onopen?.(new Event('open'));
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this._dispatch(block);
        }
      }
      throw new Error('EventSource: the server ended the stream');
    } catch (err) {
      if (this.readyState === EventSource.CLOSED) return;
      this.readyState = EventSource.CLOSED;
      const event = new Event('error');
      event.error = err;
      this.onerror?.(event);
    }
  }

  _dispatch(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') this.lastEventId = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    const event = new MessageEvent(type, { data: data.join('\n'), lastEventId: this.lastEventId });
    if (type === 'message') this.onmessage?.(event);
    for (const listener of [...(this._listeners.get(type) ?? [])]) listener(event);
  }
}

if (typeof globalThis.EventSource === 'undefined') {
  globalThis.EventSource = EventSource;
}
