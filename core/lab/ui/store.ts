// What the page knows: filled from the hello snapshot, kept current by the stream's events, bounded
// like the server's history (lines per session, sessions, packets). Views subscribe and redraw.
import type {
  ChartHistory,
  DhcpPacketData,
  HelloData,
  LeaseRow,
  Limits,
  LineData,
  NoticeData,
  OverviewData,
  PacketData,
  SessionSummary,
  TranscriptData,
  Viewer,
} from '../wire.js';
import { lineDir } from '../wire.js';

export type Change = 'hello' | 'sessions' | 'lines' | 'dhcp' | 'packets' | 'overview' | 'pin' | 'notices' | 'conn' | 'gap';

const HEAD = 100;

export class Store {
  viewer: Viewer = { role: 'anonymous', address: '' };
  limits: Limits = { linesPerSession: 2000, sessions: 500 };
  readonly sessions = new Map<string, SessionSummary>();
  /** Lines per session, ordered by seq, deduplicated. */
  readonly lines = new Map<string, LineData[]>();
  /** Sessions whose whole kept transcript was loaded from /lab/api. */
  readonly loaded = new Set<string>();
  dhcp: DhcpPacketData[] = [];
  private readonly dhcpSeen = new Set<number>();
  leases = new Map<string, LeaseRow>();
  packets: PacketData[] = [];
  notices: NoticeData[] = [];
  overview: OverviewData | undefined;
  charts: ChartHistory = { t: [], services: {}, interfaces: {} };
  pinned: string | undefined;
  conn: 'connecting' | 'live' | 'reconnecting' | 'offline' = 'connecting';
  /** Times the stream reconnected and resumed without a gap (shown in the connection badge's title). */
  resumes = 0;
  /** Set after a gap: the stream could not deliver everything (this browser was too slow or away too long). */
  gapAt: number | undefined;
  private listeners = new Set<(c: Change, id?: string) => void>();

  on(fn: (c: Change, id?: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(c: Change, id?: string): void {
    for (const l of this.listeners) l(c, id);
  }

  hello(h: HelloData): void {
    this.viewer = h.viewer;
    this.limits = h.limits;
    const keep = new Set(h.sessions.map((s) => s.id));
    for (const id of [...this.sessions.keys()]) if (!keep.has(id)) this.forget(id);
    for (const s of h.sessions) this.sessions.set(s.id, s);
    this.dhcp = [];
    this.dhcpSeen.clear();
    for (const p of h.dhcp.packets) this.addDhcp(p);
    this.leases = new Map(h.dhcp.leases.map((l) => [l.mac, l]));
    this.packets = h.packets;
    this.notices = h.notices;
    this.overview = h.overview;
    this.charts = h.charts;
    this.pinned = h.pinned;
    if (h.gap) {
      this.gapAt = Date.now();
      // Transcripts must be reloaded: lines may be missing in the middle.
      this.loaded.clear();
    }
    this.emit('hello');
  }

  session(s: SessionSummary): void {
    const old = this.sessions.get(s.id);
    if (old) {
      // Keep the counts this page worked out from the lines if they are ahead of the summary.
      if (s.closedAt === undefined) {
        s.bytesIn = Math.max(s.bytesIn, old.bytesIn);
        s.bytesOut = Math.max(s.bytesOut, old.bytesOut);
        s.lines = Math.max(s.lines, old.lines);
      }
    }
    this.sessions.set(s.id, s);
    if (this.sessions.size > this.limits.sessions * 2) {
      for (const [id, x] of this.sessions) {
        if (x.closedAt !== undefined) {
          this.forget(id);
          break;
        }
      }
    }
    this.emit('sessions', s.id);
  }

  forget(id: string): void {
    this.sessions.delete(id);
    this.lines.delete(id);
    this.loaded.delete(id);
    this.emit('sessions', id);
  }

  line(l: LineData): void {
    const s = this.sessions.get(l.session);
    if (!s) return;
    l.dir = lineDir(l);
    const list = this.lines.get(l.session) ?? [];
    if (list.length > 0 && list[list.length - 1].seq >= l.seq) {
      if (list.some((x) => x.seq === l.seq)) return;
      list.push(l);
      list.sort((a, b) => a.seq - b.seq);
    } else list.push(l);
    if (list.length > this.limits.linesPerSession + 1) {
      // Keep the head and the recent lines, like the server; one marker says how many are missing.
      const marker = list[HEAD]?.kind === 'skipped' ? list[HEAD] : undefined;
      const drop = list.length - this.limits.linesPerSession - 1;
      const from = marker ? HEAD + 1 : HEAD;
      list.splice(from, drop);
      if (marker) {
        marker.skipped = (marker.skipped ?? 0) + drop;
        marker.text = `${marker.skipped} lines not kept here`;
      } else list.splice(HEAD, 0, { ...l, seq: list[HEAD].seq - 0.5, kind: 'skipped', dir: 'm', text: `${drop} lines not kept here`, skipped: drop });
    }
    this.lines.set(l.session, list);
    if (l.kind === 'command') s.bytesIn += l.text.length + 2;
    else if (l.kind === 'reply') s.bytesOut += l.bytes ?? l.text.length + 2;
    if (l.request) s.requests = (s.requests ?? 0) + 1;
    s.lines++;
    this.emit('lines', l.session);
  }

  /** Merges a transcript loaded from /lab/api (the stream may already have delivered newer lines). */
  transcript(t: TranscriptData): void {
    for (const l of t.lines) l.dir = lineDir(l);
    this.sessions.set(t.session.id, t.session);
    const live = (this.lines.get(t.session.id) ?? []).filter((l) => l.seq > t.seq);
    this.lines.set(t.session.id, [...t.lines, ...live]);
    this.loaded.add(t.session.id);
    this.emit('lines', t.session.id);
  }

  addDhcp(p: DhcpPacketData): void {
    if (this.dhcpSeen.has(p.seq)) {
      // Sent again once the hub knows it was the server's own probe (the server's MAC is known later).
      const known = p.probe ? this.dhcp.find((x) => x.seq === p.seq) : undefined;
      if (known && !known.probe) {
        known.probe = true;
        this.emit('dhcp');
      }
      return;
    }
    this.dhcpSeen.add(p.seq);
    this.dhcp.push(p);
    if (this.dhcp[this.dhcp.length - 2]?.seq > p.seq) this.dhcp.sort((a, b) => a.seq - b.seq);
    if (this.dhcp.length > 5000) this.dhcp.splice(0, this.dhcp.length - 5000);
    this.emit('dhcp');
  }

  lease(l: LeaseRow): void {
    this.leases.set(l.mac, l);
    this.emit('dhcp');
  }

  packet(p: PacketData): void {
    this.packets.push(p);
    if (this.packets.length > 500) this.packets.splice(0, this.packets.length - 500);
    this.emit('packets');
  }

  notice(n: NoticeData): void {
    this.notices.push(n);
    if (this.notices.length > 200) this.notices.splice(0, this.notices.length - 200);
    this.emit('notices');
  }

  setOverview(o: OverviewData): void {
    this.overview = o;
    const c = this.charts;
    c.t.push(o.t);
    for (const s of o.services) {
      const h = (c.services[s.name] ??= { opened: [], rateIn: [], rateOut: [] });
      const prev = this.prevAccepted.get(s.name);
      h.opened.push(prev === undefined ? 0 : Math.max(0, s.accepted - prev));
      this.prevAccepted.set(s.name, s.accepted);
      h.rateIn.push(s.rateIn);
      h.rateOut.push(s.rateOut);
    }
    for (const i of o.interfaces) {
      const h = (c.interfaces[i.name] ??= { rx: [], tx: [] });
      h.rx.push(i.rxRate.bytes);
      h.tx.push(i.txRate.bytes);
    }
    if (c.t.length > 300) {
      c.t.shift();
      for (const h of Object.values(c.services)) for (const a of [h.opened, h.rateIn, h.rateOut]) while (a.length > 300) a.shift();
      for (const h of Object.values(c.interfaces)) for (const a of [h.rx, h.tx]) while (a.length > 300) a.shift();
    }
    this.emit('overview');
  }

  private readonly prevAccepted = new Map<string, number>();

  setConn(c: Store['conn']): void {
    if (this.conn === c) return;
    this.conn = c;
    this.emit('conn');
  }
}

export const store = new Store();
