// Live state of the pages: the WebSocket `/api/events` (protocol v1), with
// polling of the REST API every 2 s whenever the socket is not open.
//
// The page gives `refresh()` (reads the REST API and returns a snapshot of the
// same shape as the socket's: {agents, queues, calls}) and handlers. A
// reconnecting socket gets hello + a fresh snapshot, which replaces the state;
// after each live event the page also re-reads the REST API once (debounced)
// so counters the events do not carry stay exact.

const POLL_MS = 2000;
const LIVE_REFRESH_MS = 15000;
const BACKOFF_MAX_MS = 15000;

export class Live {
  /**
   * @param {object} o
   * @param {() => string|null} o.token       the bearer token
   * @param {() => Promise<object>} o.refresh a REST snapshot {agents, queues, calls}
   * @param {(snap: object) => void} o.onSnapshot
   * @param {(ev: object) => void} o.onEvent
   * @param {(mode: string) => void} o.onMode  'connecting' | 'live' | 'polling'
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.backoff = 1000;
    this.pollTimer = null;
    this.refreshTimer = null;
    this.stopped = false;
    this.mode = null;
    this.issued = 0;   // snapshots asked for (REST) or received (socket)
    this.applied = 0;  // the newest snapshot applied
  }

  /** Applies snapshot number `seq` unless a newer one was applied already:
   *  a slow REST answer must not bring back a call that has ended. */
  apply(seq, snap) {
    if (seq <= this.applied) return;
    this.applied = seq;
    this.o.onSnapshot(snap);
  }

  start() {
    this.stopped = false;
    this.setMode('connecting');
    this.poll();
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.refreshTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  setMode(mode) {
    if (mode !== this.mode) {
      this.mode = mode;
      this.o.onMode(mode);
    }
  }

  /** Re-reads the REST API now (and every 2 s while the socket is down). */
  async poll() {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    const seq = ++this.issued;
    try {
      this.apply(seq, await this.o.refresh());
    } catch (e) {
      console.warn('refresh failed', e);
    }
    if (!this.stopped) {
      // Live: a slow re-read heals anything the events do not carry (a call
      // leaving the list after its last responses).
      this.pollTimer = setTimeout(() => this.poll(), this.mode === 'live' ? LIVE_REFRESH_MS : POLL_MS);
    }
  }

  /** One REST re-read soon (after a burst of events). */
  soon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.poll(), 300);
  }

  connect() {
    if (this.stopped) return;
    const token = this.o.token();
    if (!token || typeof WebSocket === 'undefined') return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      // The token goes in the first message, not in the URL (no logs of it).
      ws.send(JSON.stringify({ type: 'auth', token }));
    };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev.type === 'hello') {
        this.backoff = 1000;
        this.setMode('live');
      } else if (ev.type === 'snapshot') {
        this.apply(++this.issued, { agents: ev.agents || [], queues: ev.queues || [], calls: ev.calls || [], at: ev.at, live: true });
      } else if (ev.type === 'error') {
        console.warn('events:', ev.code, ev.message);
      } else if (ev.type !== 'pong') {
        // REST answers asked for before this event are older than it.
        this.applied = ++this.issued;
        this.o.onEvent(ev);
        this.soon();
      }
    };
    ws.onclose = (c) => {
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      if (c.code === 4401) {
        // The token is no longer valid: the REST poll will find out and log out.
      }
      this.setMode('polling');
      this.poll();
      this.retry(opened);
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  retry() {
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    setTimeout(() => this.connect(), wait);
  }
}
