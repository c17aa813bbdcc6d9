// The live stream: an EventSource on /lab/events. The browser reconnects by itself and sends the last
// event id it saw (Last-Event-ID), so the server replays exactly what was missed; when the server
// answers with something other than a stream (a restart, a 503), we reconnect ourselves with ?since=.
import type {
  DhcpPacketData,
  ForgetData,
  HelloData,
  LeaseRow,
  LineData,
  NoticeData,
  OverviewData,
  PacketData,
  PinData,
  ResumeData,
  SessionSummary,
} from '../wire.js';
import { decodeBatch } from '../wire-codec.js';
import { capture } from './capture.js';
import type { FlowData } from './capture-types.js';
import { store } from './store.js';

let source: EventSource | undefined;
let lastId = '';
let retryTimer: number | undefined;
let retryDelay = 1000;

function parse<T>(e: Event): T {
  const m = e as MessageEvent<string>;
  if (m.lastEventId) lastId = m.lastEventId;
  return JSON.parse(m.data) as T;
}

/** One item of a `batch` (the events that go through the server's history, in order). */
function item(name: string, data: unknown): void {
  switch (name) {
    case 'session':
      return store.session(data as SessionSummary);
    case 'forget':
      return store.forget((data as ForgetData).id);
    case 'line':
      return store.line(data as LineData);
    case 'dhcp':
      return store.addDhcp(data as DhcpPacketData);
    case 'lease':
      return store.lease(data as LeaseRow);
    case 'packet':
      return store.packet(data as PacketData);
    case 'notice':
      return store.notice(data as NoticeData);
    case 'pin':
      store.pinned = (data as PinData).session;
      return store.emit('pin');
    case 'flow':
      return capture.flow(data as FlowData);
    default:
      // Something a newer hub streams (the packet capture view): ignored until this page knows it.
      return;
  }
}

export function connect(): void {
  if (retryTimer !== undefined) window.clearTimeout(retryTimer);
  retryTimer = undefined;
  source?.close();
  const url = lastId ? `/lab/events?since=${encodeURIComponent(lastId)}` : '/lab/events';
  const es = new EventSource(url);
  source = es;
  es.addEventListener('open', () => {
    retryDelay = 1000;
  });
  es.addEventListener('hello', (e) => {
    store.hello(parse<HelloData>(e));
    store.setConn('live');
  });
  es.addEventListener('resume', (e) => {
    const r = parse<ResumeData>(e);
    store.viewer = r.viewer;
    store.overview = r.overview;
    store.pinned = r.pinned;
    store.resumes++;
    store.setConn('live');
    store.emit('overview');
  });
  es.addEventListener('batch', (e) => {
    for (const [name, data] of decodeBatch(parse<unknown>(e))) item(name, data);
  });
  es.addEventListener('overview', (e) => store.setOverview(parse<OverviewData>(e)));
  es.addEventListener('bye', () => {
    store.setConn('reconnecting');
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (not a stream, or an HTTP error): try again ourselves, a bit later each time.
      store.setConn('offline');
      retryTimer = window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15_000);
    } else store.setConn('reconnecting');
  });
}

export function lastEventId(): string {
  return lastId;
}
