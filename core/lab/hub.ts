// The lab hub (TOKENS.Lab): subscribes to the protocol event bus and keeps what the live lab shows,
// bounded: recent sessions with their transcripts (notes added in the course's words), DHCP packets
// and the lease table, other services' packets (DNS), notices, the overview (services from the status
// board, interfaces from /sys/class/net) with a few minutes of chart history. Every streamed item gets
// an event number and goes through the replay window (history.ts), so a browser that reconnects loses
// and doubles nothing inside the window; each stream sees only what its viewer may (a student: their
// own sessions; an instructor: everything).
//
// Extending it (the packet capture view, next): `publish(type, data, visible, size)` streams an item
// with the replay guarantee; `addSnapshot(name, fn)` adds a part to the hello snapshot;
// `visibleToAddress(a)` and `instructorsOnly` are the usual visibility rules; routes go to the shared
// HttpRouteRegistry under /lab/ (see routes.ts).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable, optional } from 'inversify';
import type { Logger } from 'pino';
import type { Accounts } from '../auth.js';
import type { Clock } from '../clock.js';
import type { LabnetConfig } from '../config.js';
import { EVENT_PAYLOAD_MAX, type EventBus, type PacketEvent, type ProtocolEvent, type Subscription } from '../events.js';
import type { HttpRouteRegistry } from '../http/routes.js';
import type { StatusBoard } from '../status-board.js';
import { TOKENS } from '../tokens.js';
import type { TlsMaterial } from '../tls/tls-material.js';
import { DhcpPacketStore } from './dhcp-store.js';
import { dhcpOptions, dhcpPacketView, LeaseTable } from './dhcp-view.js';
import { History, type HistoryItem } from './history.js';
import { InterfaceSampler } from './interfaces.js';
import { LabLogins } from './logins.js';
import { addLabRoutes } from './routes.js';
import { HEAD_LINES, LINE_HAS_REQUEST, lineBytes, LINE_TEXT_MAX, peerKey as endKey, plainAddress, requestTargetEnd, SessionRecord } from './session-record.js';
import { encodeLine, scratch, settleScratch, SlabPool } from './slab-store.js';
import { sseFrame, SSE_HEARTBEAT } from './sse.js';
import { LabStream } from './stream.js';
import { closeLineText, LINE_NOTES, type OpenArgs, openArgsPlain, openLineText, textArgsJson } from './wire-codec.js';
import { isLabPageRequest } from './page.js';
import type {
  ChartHistory,
  DhcpPacketData,
  EndpointData,
  HandshakeData,
  HelloData,
  LineData,
  NoticeData,
  OverviewData,
  PacketData,
  ServiceRow,
  SessionSummary,
  TranscriptData,
  Viewer,
} from './wire.js';

/**
 * When items go out to the streams (one write per stream per flush). The first item after a quiet
 * spell goes at once (with whatever else came in that turn of the event loop), so a line typed in nc
 * shows at once; flushes are then at least FLUSH_MS apart, as before. Once a flush carried
 * FLUSH_BUSY_ITEMS or more (a class's load, a flood), the next waits FLUSH_BUSY_MS after it: a few
 * large batches a second instead of ten smaller ones, fewer writes, wake-ups and frames for every
 * stream, each item still shown within a quarter of a second. The pace follows the last flush, so it
 * eases back by itself.
 */
const FLUSH_MS = 100;
const FLUSH_BUSY_MS = 250;
const FLUSH_BUSY_ITEMS = 64;
/** Catch-up batches kept for other streams that follow everything and are behind at the same place. */
const CATCH_UP_SHARED = 16;
const HEARTBEAT_MS = 15_000;
const HEARTBEAT_OCTETS = Buffer.from(SSE_HEARTBEAT);
const SAMPLE_MS = 1000;

/** Payloads up to this many characters travel on the stream with their line; longer ones on request. */
export const STREAM_PAYLOAD_INLINE = 1024;
const CHART_POINTS = 300;
const MAX_PACKETS = 500;
const MAX_NOTICES = 200;
const DHCP_PER_MAC = 200;
const HELLO_DHCP = 400;
const MAX_STREAMS_PER_ADDRESS = 50;

export const instructorsOnly = (v: Viewer): boolean => v.role === 'instructor';

/** Visible to instructors and to a student browsing from `address`. */
export function visibleToAddress(address: string): (v: Viewer) => boolean {
  const a = plainAddress(address);
  return (v) => v.role === 'instructor' || (v.role === 'student' && v.address === a);
}

export interface HubStats {
  streams: number;
  sessions: number;
  bytesKept: number;
  historyItems: number;
  historyBytes: number;
  /** Octets of the slabs the transcripts and the replay window are kept in (grows to the budget's high-water mark, then stays). */
  slabOctets: number;
  recorded: number;
  missedEvents: number;
  /** Items written to streams (an item to 20 streams counts 20). */
  fannedOut: number;
  /** CPU time spent in flushes (building frames, writing them to the sockets), nanoseconds. */
  fanoutNs: number;
  /** Items flushed (each counted once). */
  flushedItems: number;
  /**
   * Items written to streams that had fallen behind (or resumed), from the history (an item to 20
   * streams counts 20), and the CPU time that took, nanoseconds.
   */
  caughtUp: number;
  catchUpNs: number;
  gaps: number;
  /** Streams waiting for their socket to drain (a stalled or slow browser); they catch up afterwards. */
  streamsBehind: number;
  /** Commands and replies the services skipped over the recording budget (lab.history.linesPerSecond). */
  thinned: number;
  /** Sessions not recorded over the connection budget (a fifth of lab.history.linesPerSecond a second). */
  sessionsThinned: number;
  /** The newest event number (lines, session updates... each get one). */
  seq: number;
  /** Transcript lines recorded since start (each streamed once to every stream that may see it). */
  lines: number;
  /** Open sessions kept, and how many of them have dropped lines (at their line bound, or shrunk by the byte budget). */
  openSessions: number;
  openSessionsTrimmed: number;
  /**
   * The history's bounds (lab.history): a soak or an operator can tell when the caches are full, the
   * memory the lab holds from then on being what it is at its bounds.
   */
  bounds: {
    sessions: number;
    linesPerSession: number;
    maxBytesPerSession: number;
    maxBytes: number;
    replayEvents: number;
    replayBytes: number;
    dhcpPackets: number;
  };
  /** DHCP packets kept (lab.history.dhcpPackets at most). */
  dhcpPackets: number;
}

@injectable()
export class LabHub {
  readonly logins: LabLogins;
  private readonly sessions = new Map<string, SessionRecord>();
  /**
   * Sessions by "address|port" of the client: how a TLS handshake finds its open session. A closed
   * session stays until it is evicted (or a newer one from that address and port replaces it), so only
   * an open one counts: deleting at every close made this small map shrink and grow again each time.
   */
  private readonly byPeer = new Map<string, SessionRecord>();
  /**
   * The kept sessions in the order they opened (the order of `sessions`), with holes where one went:
   * eviction finds the oldest closed session here. Walking the map from its start for it walked over
   * every entry deleted at its front since the map last rehashed (hundreds, per session opened in a
   * flood). Holes at the front are skipped for good; the array is compacted when they are most of it.
   */
  private order: Array<SessionRecord | undefined> = [];
  private orderHead = 0;
  /** Holes in order[orderHead, end). */
  private orderHoles = 0;
  /** Untapped handshakes reported before their session opened (implicit TLS), by "address|port"; bounded. */
  private readonly observedByPeer = new Map<string, { t: number; summary: string; observed: Array<{ name: string; value: string }> }>();
  /** The blocks the transcripts and the replay window keep their encoded lines in (slab-store.ts). */
  private readonly pool = new SlabPool();
  private readonly history: History;
  /** The first event number not yet flushed to the streams (0: none waiting). */
  private pendingFrom = 0;
  /** Event numbers of the batch being built (reused: no array per batch). */
  private seqBuf = new Float64Array(1024);
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the last flush ran (performance.now()) and how long the next waits after it (see FLUSH_BUSY_MS). */
  private lastFlushAt = -Infinity;
  private flushGap = FLUSH_MS;
  /**
   * Catch-up batches of streams that follow everything (LabStream.followsEverything), by the event
   * number they start after: streams that fell behind together (one slow machine, one slow network)
   * drain together and are sent the same octets, encoded once. Emptied by the first flush that finds
   * no stream behind; at most CATCH_UP_SHARED.
   */
  private readonly catchUpShared = new Map<number, { to: number; octets: Buffer | undefined; count: number }>();
  private readonly streams = new Set<LabStream>();
  private bytesKept = 0;
  private subscription: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly dhcpPackets = new DhcpPacketStore();
  /**
   * Per MAC in the DHCP packet window: its packets kept, and the visibility test its items share
   * (judged when sent, on the address the MAC holds then): one closure per MAC instead of one per
   * packet, which the replay window kept until it turned over (long enough to die in old space).
   */
  private readonly dhcpPerMac = new Map<string, { n: number; visible: (v: Viewer) => boolean }>();
  private readonly leases = new LeaseTable();
  /** The lease journal was read into the table (once, when the DHCP service runs). */
  private leasesRestored = false;
  /** The DHCP server's own MAC (its probe for other servers sends with it). */
  private dhcpServerMac: string | undefined;
  private readonly packets: PacketData[] = [];
  private readonly notices: NoticeData[] = [];
  private readonly snapshots = new Map<string, (v: Viewer) => unknown>();
  private overview: OverviewData;
  private readonly charts: ChartHistory = { t: [], services: {}, interfaces: {} };
  private readonly sampler = new InterfaceSampler();
  private readonly previous = new Map<string, { accepted: number; bytesIn: number; bytesOut: number; t: number }>();
  private readonly openedPerSecond = new Map<string, number[]>();
  private readonly eventsOpened = new Map<string, number>();
  private sampling = false;
  private pinned: string | undefined;
  private readonly startedAt: number;
  private readonly watchToken = randomBytes(32).toString('base64url');
  private stopped = false;
  /** The bus's count of sessions not recorded, as of the last notice to instructors (see tellSessionsThinned). */
  private sessionsThinnedTold = 0;
  /** An open line's values for the encoder (one object, filled for each open line). */
  private readonly openArgs: OpenArgs = { peer: '', peerPort: 0, local: '', localPort: 0, listener: '', tls: false };
  /** The last close line's text, the values the stream carries for it, and what it was made of (see closeText). */
  private lastClose: CloseText & { reason: string; bytesIn: number; bytesOut: number; short: boolean } = {
    reason: '',
    bytesIn: -1,
    bytesOut: -1,
    short: false,
    text: '',
    args: undefined,
  };
  /** What the hub counts itself; getStats adds what it reads off the streams, the history and the bus. */
  private readonly stats: Pick<
    HubStats,
    'recorded' | 'missedEvents' | 'fannedOut' | 'fanoutNs' | 'flushedItems' | 'caughtUp' | 'catchUpNs' | 'gaps' | 'lines'
  > = {
    recorded: 0,
    lines: 0,
    missedEvents: 0,
    fannedOut: 0,
    fanoutNs: 0,
    flushedItems: 0,
    caughtUp: 0,
    catchUpNs: 0,
    gaps: 0,
  };

  constructor(
    @inject(TOKENS.Config) readonly config: LabnetConfig,
    @inject(TOKENS.Events) private readonly events: EventBus,
    @inject(TOKENS.Status) private readonly board: StatusBoard,
    @inject(TOKENS.HttpRoutes) private readonly routes: HttpRouteRegistry,
    @inject(TOKENS.Accounts) accounts: Accounts,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Tls) @optional() private readonly tls: TlsMaterial | undefined,
  ) {
    const h = config.lab.history;
    this.history = new History(h.replayEvents, Math.floor(h.maxBytes / 2), randomBytes(4).toString('hex'), this.pool);
    this.logins = new LabLogins(accounts, config.instructors, config.lab.loginFailuresPerMinute, () => clock.now());
    this.startedAt = clock.now();
    this.overview = { t: this.startedAt, hostname: config.hostname, startedAt: this.startedAt, services: [], interfaces: [], lab: this.labStats() };
  }

  // ---- lifecycle ----

  start(): Promise<void> {
    // Every TLS listener and STARTTLS upgrade records its handshake, so each session's can be shown.
    if (this.tls) {
      this.tls.tapAll = true;
      // A budget even without the HTTPS demo (which sets its own): a flood runs on plain node:tls.
      if (this.tls.handshakes.maxPerSecond === 0) this.tls.handshakes.maxPerSecond = 100;
    }
    this.subscription = this.events.subscribe((e) => this.onEvent(e), { maxQueue: 100_000 });
    this.events.setRecordingBudget(this.config.lab.history.linesPerSecond, this.config.lab.history.burstLines);
    addLabRoutes(this.routes, this);
    const sample = setInterval(() => this.sample(), SAMPLE_MS);
    const beat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    // A stream keeps its HTTP connection busy: at shutdown the web server marks it closing and would
    // wait out its grace time; ending streams at once lets labnet stop promptly.
    const watchdog = setInterval(() => {
      for (const s of this.streams) if (s.conn.closing || s.conn.closed) this.endStream(s, s.conn.closed ? undefined : 'the web server is stopping');
    }, 250);
    for (const t of [sample, beat, watchdog]) t.unref();
    this.timers.push(sample, beat, watchdog);
    this.sample();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    this.events.setRecordingBudget(0);
    for (const t of this.timers) clearInterval(t);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.catchUpShared.clear();
    for (const s of this.streams) this.endStream(s, 'labnet is stopping');
    await rm(this.watchFile, { force: true }).catch(() => {});
  }

  // ---- extension API ----

  /**
   * Streams an item: it gets the next event number, goes to every stream whose viewer `visible`
   * admits, and is replayed after a reconnect while it is in the window. `size` is its weight in
   * octets against the window's budget.
   */
  publish(type: string, data: unknown, visible: (v: Viewer) => boolean, size = 200): HistoryItem {
    const item = this.history.add(type, data, visible, size);
    this.queue(item.seq);
    return item;
  }

  /** An item was added to the history: the streams get it with the next flush. */
  private queue(seq: number): void {
    if (this.streams.size === 0) {
      // Nobody follows: the history keeps the item for a browser that comes (or comes back).
      if (this.pendingFrom !== 0) {
        this.pendingFrom = 0;
        this.history.unhold();
      }
      return;
    }
    if (this.pendingFrom === 0) {
      this.pendingFrom = seq;
      this.history.hold(seq);
    }
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), Math.max(0, this.lastFlushAt + this.flushGap - performance.now()));
      this.flushTimer.unref();
    }
  }

  /** Adds a part to the hello snapshot (HelloData.extra[name]), computed per viewer. */
  addSnapshot(name: string, fn: (v: Viewer) => unknown): void {
    this.snapshots.set(name, fn);
  }

  readonly instructorsOnly = instructorsOnly;
  readonly visibleToAddress = visibleToAddress;

  // ---- events ----

  private onEvent(e: ProtocolEvent): void {
    if (this.stopped) return;
    const missed = this.subscription?.dropped ?? 0;
    if (missed !== this.stats.missedEvents) this.stats.missedEvents = missed;
    switch (e.type) {
      case 'session.open':
        return this.onOpen(e.service, e.session, e.peer, e.local, e.tls, e.time);
      case 'session.close': {
        const rec = this.sessions.get(e.session);
        if (!rec) return;
        const s = rec.summary;
        s.closedAt = e.time;
        s.closeReason = e.reason;
        s.bytesIn = e.bytesIn;
        s.bytesOut = e.bytesOut;
        const c = this.closeText(e.reason, e.durationMs, e.bytesIn, e.bytesOut);
        this.addLine(rec, { seq: 0, session: rec.id, t: e.time, kind: 'close', dir: 'm', text: c.text, note: LINE_NOTES.close }, c.args);
        this.publishSummary(rec);
        return;
      }
      case 'command': {
        const rec = this.sessions.get(e.session);
        if (!rec) return;
        const payloadBytes = e.payloadBytes ?? (e.payload !== undefined ? Buffer.byteLength(e.payload) : 0);
        rec.summary.bytesIn += Buffer.byteLength(e.text) + 2 + payloadBytes;
        if (rec.summary.service === 'http' || rec.summary.service === 'https') {
          notePendingRequest(rec, e.text, e.time);
          // The lab's own page, stream and API calls: the views hide these connections unless asked.
          const own = isLabPageRequest(e.text);
          const first = (rec.summary.requests ?? 0) === 0 && rec.summary.lab === undefined;
          if ((first && own) || (rec.summary.lab === true && !own)) {
            rec.summary.lab = own;
            this.publishSummary(rec);
          }
        }
        // `dir` follows from the kind for client and server lines; the viewers fill it in (a smaller stream).
        // Each line is built once, whole, in one of a few fixed shapes (see NewLine).
        const p = e.payload;
        if (p === undefined) this.addLine(rec, { seq: 0, session: rec.id, t: e.time, kind: 'command', text: e.text });
        else {
          const payload = p.length > EVENT_PAYLOAD_MAX ? p.slice(0, EVENT_PAYLOAD_MAX) : p;
          this.addLine(rec, { seq: 0, session: rec.id, t: e.time, kind: 'command', text: e.text, payload, payloadBytes });
        }
        return;
      }
      case 'reply': {
        const rec = this.sessions.get(e.session);
        if (!rec) return;
        rec.summary.bytesOut += e.bytes ?? Buffer.byteLength(e.text) + 2;
        let request: LineData['request'];
        if (rec.pendingMethod !== undefined && e.text.startsWith('HTTP/')) {
          request = { method: rec.pendingMethod, path: rec.pendingPath, ms: e.time - rec.pendingAt };
          rec.summary.requests = (rec.summary.requests ?? 0) + 1;
          rec.pendingMethod = undefined;
          rec.pendingPath = '';
        }
        const p = e.payload;
        if (p === undefined && e.bytes === undefined && request === undefined) {
          this.addLine(rec, { seq: 0, session: rec.id, t: e.time, kind: 'reply', text: e.text });
          return;
        }
        // An HTTP status line (and a FETCH or RETR with its data): one shape, the absent fields undefined
        // (left out of the stream's encoding and of JSON alike).
        this.addLine(rec, {
          seq: 0,
          session: rec.id,
          t: e.time,
          kind: 'reply',
          text: e.text,
          bytes: e.bytes,
          payload: p === undefined ? undefined : p.length > EVENT_PAYLOAD_MAX ? p.slice(0, EVENT_PAYLOAD_MAX) : p,
          payloadBytes: p === undefined ? undefined : (e.payloadBytes ?? e.bytes),
          request,
        });
        return;
      }
      case 'auth':
        return this.onAuth(e.session, e.user, e.ok, e.mechanism, e.time);
      case 'tls':
        return this.onTls(e.session, e.step, e.detail, e.time);
      case 'notice': {
        const rec = e.session ? this.sessions.get(e.session) : undefined;
        if (rec) {
          this.addLine(rec, { seq: 0, session: rec.id, t: e.time, kind: 'notice', dir: 'm', text: e.message });
          return;
        }
        // Lines missed by a session the lab does not keep (evicted, or never recorded in a flood):
        // counted by the bus, not worth a notice each.
        if (e.session !== undefined && e.detail?.thinned !== undefined) return;
        const n: NoticeData = { seq: 0, t: e.time, service: e.service, level: e.level, message: e.message.slice(0, 1000) };
        const item = this.publish('notice', n, instructorsOnly, 300);
        n.seq = item.seq;
        pushBounded(this.notices, n, MAX_NOTICES);
        return;
      }
      case 'packet':
        return this.onPacket(e);
      case 'service.state':
        // The board lists the listeners only once every service has started (see StatusBoard.whenFilled).
        if ((e.service === 'http' || e.service === 'https') && e.state === 'listening') this.board.whenFilled(() => void this.writeWatchFile());
        this.sample();
        return;
    }
  }

  private onOpen(service: string, id: string, peer: EndpointData, local: EndpointData, tls: boolean, t: number): void {
    const listener = this.listenerName(service, local.port);
    // Built whole, in one shape: the fields that come later (user, closedAt, requests...) are there
    // from the start, undefined until then (JSON and the stream's encoding leave them out alike).
    const summary: SessionSummary = {
      id,
      service,
      listener,
      peer: plainEnd(peer),
      local: plainEnd(local),
      user: undefined,
      tls: tls ? 'implicit' : 'none',
      handshake: false,
      tlsSummary: undefined,
      openedAt: t,
      closedAt: undefined,
      closeReason: undefined,
      bytesIn: 0,
      bytesOut: 0,
      lines: 0,
      lab: undefined,
      requests: undefined,
      authFailures: 0,
    };
    const rec = new SessionRecord(summary, Math.max(100, this.config.lab.history.linesPerSession - HEAD_LINES), this.pool);
    if (tls) this.linkCapture(rec);
    const before = this.sessions.get(id);
    if (before !== undefined) this.dropKept(before, this.order.indexOf(before, this.orderHead));
    this.sessions.set(id, rec);
    this.order.push(rec);
    this.byPeer.set(rec.peerKey, rec);
    this.eventsOpened.set(service, (this.eventsOpened.get(service) ?? 0) + 1);
    this.publishSummary(rec);
    const name = listener ?? service;
    const text = openLineText(summary.peer.address, peer.port, summary.local.address, local.port, name, tls);
    // The values the stream carries for it, known here: the encoder need not parse them back out.
    let args: OpenArgs | undefined;
    if (openArgsPlain(summary.peer.address, peer.port, summary.local.address, local.port, name)) {
      args = this.openArgs;
      args.peer = summary.peer.address;
      args.peerPort = peer.port;
      args.local = summary.local.address;
      args.localPort = local.port;
      args.listener = name;
      args.tls = tls;
    }
    const note = tls ? LINE_NOTES.openTls : LINE_NOTES.open;
    if (rec.handshakeId === undefined) this.addLine(rec, { seq: 0, session: id, t, kind: 'open', dir: 'm', text, note }, args);
    else this.addLine(rec, { seq: 0, session: id, t, kind: 'open', dir: 'm', text, handshake: true, note }, args);
    this.evict();
    const observed = tls ? this.observedByPeer.get(rec.peerKey) : undefined;
    if (observed) {
      this.observedByPeer.delete(rec.peerKey);
      if (rec.handshakeId === undefined) this.attachObserved(rec, observed);
    }
  }

  /**
   * The text of a close line (closeLineText). A flood of like connections closes with the same text
   * again and again (same reason, octets and tenths of a second): the last one is reused, with the
   * values the stream carries for it (textArgsJson, parsed once).
   */
  private closeText(reason: string, durationMs: number, bytesIn: number, bytesOut: number): CloseText {
    const c = this.lastClose;
    // Under 50 ms every duration reads "0.0" (toFixed(1) of less than 0.05).
    const short = durationMs >= 0 && durationMs < 50;
    if (short && c.short && c.reason === reason && c.bytesIn === bytesIn && c.bytesOut === bytesOut) return c;
    const text = closeLineText(reason, short ? '0.0' : (durationMs / 1000).toFixed(1), bytesIn, bytesOut);
    if (!short) return { text, args: undefined };
    this.lastClose = { reason, bytesIn, bytesOut, short, text, args: textArgsJson('close', text) };
    return this.lastClose;
  }

  /**
   * The recording budget for connections is the bus's (EventBus.recordSession): a fifth of
   * lab.history.linesPerSecond new sessions a second after a burst of a fifth of burstLines (200 and
   * 1,000 by default; a room of browsers loading pages at once fits in the burst). Past it (a connection flood, a benchmark with
   * Connection: close) the transport builds nothing for a new session; instructors get one notice per
   * second saying how many were not recorded.
   */
  private tellSessionsThinned(t: number): void {
    const total = this.events.recording.sessionsThinned;
    const n = total - this.sessionsThinnedTold;
    if (n <= 0) return;
    this.sessionsThinnedTold = total;
    const { perSecond, burst } = this.events.sessionBudget;
    const notice: NoticeData = {
      seq: 0,
      t,
      service: 'lab',
      level: 'info',
      message: `${n} connections in a second not recorded: the lab records at most ${perSecond} new sessions a second once a burst of ${burst} is spent (a flood or a benchmark went past it); they were served as usual`,
    };
    notice.seq = this.publish('notice', notice, instructorsOnly, 300).seq;
    pushBounded(this.notices, notice, MAX_NOTICES);
  }

  private onAuth(id: string, user: string, ok: boolean, mechanism: string, t: number): void {
    const rec = this.sessions.get(id);
    if (!rec) return;
    if (!ok) {
      rec.summary.authFailures++;
      this.addLine(rec, { seq: 0, session: id, t, kind: 'auth', dir: 'm', text: `login refused (${mechanism})`, note: LINE_NOTES.loginRefused });
      return;
    }
    const before = rec.summary.user;
    if (before === undefined) {
      // Students who saw this session only because it came from their address lose it now if it is
      // somebody else's.
      const address = rec.peerAddress;
      this.publish('forget', { id }, (v) => v.role === 'student' && v.address === address && v.user !== user, 100);
    }
    rec.summary.user = user;
    this.addLine(rec, { seq: 0, session: id, t, kind: 'auth', dir: 'm', text: `logged in as ${user} (${mechanism})`, note: LINE_NOTES.loginOk });
    this.publishSummary(rec);
  }

  private onTls(id: string, step: string, detail: Record<string, unknown>, t: number): void {
    if (step === 'starttls-complete') {
      const rec = this.sessions.get(id);
      if (!rec) return;
      rec.summary.tls = 'starttls';
      rec.encrypted = true;
      this.linkCapture(rec);
      const observed = rec.handshakeId === undefined ? this.observedByPeer.get(rec.peerKey) : undefined;
      if (observed) {
        this.observedByPeer.delete(rec.peerKey);
        rec.tlsObserved = observed.observed;
        rec.summary.handshake = true;
        rec.summary.tlsSummary = observed.summary;
      }
      const text = 'TLS handshake complete: from here on everything on this connection is encrypted';
      if (rec.handshakeId !== undefined || rec.tlsObserved)
        this.addLine(rec, { seq: 0, session: id, t, kind: 'tls', dir: 'm', handshake: true, text, note: LINE_NOTES.starttls });
      else this.addLine(rec, { seq: 0, session: id, t, kind: 'tls', dir: 'm', text, note: LINE_NOTES.starttls });
      this.publishSummary(rec);
      return;
    }
    if (step === 'established' && detail.untapped === true) return this.onUntapped(detail, t);
    if (step !== 'established' || !this.tls) return;
    const hid = typeof detail.handshake === 'number' ? detail.handshake : undefined;
    const capture = hid !== undefined ? this.tls.handshakes.get(hid) : undefined;
    if (!capture) return;
    const rec = this.byPeer.get(peerKey({ address: plainAddress(capture.peer.address), port: capture.peer.port }));
    if (!rec?.open) return;
    const summary = typeof detail.summary === 'string' ? detail.summary.slice(0, 200) : undefined;
    if (summary) rec.summary.tlsSummary = summary;
    if (rec.handshakeId === hid) {
      // Already linked when the session opened or switched to TLS: the summary is all that is new.
      this.publishSummary(rec);
      return;
    }
    rec.handshakeId = hid;
    rec.summary.handshake = true;
    this.addLine(rec, {
      seq: 0,
      session: rec.id,
      t,
      kind: 'tls',
      dir: 'm',
      text: `TLS handshake: ${summary ?? 'decoded'}`,
      handshake: true,
      note: LINE_NOTES.handshake,
    });
    this.publishSummary(rec);
  }

  /** A handshake node:tls did without the tap: what it reported goes to the session (or waits for it to open). */
  private onUntapped(detail: Record<string, unknown>, t: number): void {
    const peer = detail.peer as { address?: unknown; port?: unknown } | undefined;
    if (!peer || typeof peer.address !== 'string' || typeof peer.port !== 'number') return;
    const key = peerKey({ address: plainAddress(peer.address), port: peer.port });
    const summary = typeof detail.summary === 'string' ? detail.summary.slice(0, 200) : 'TLS';
    const info = { t, summary, observed: observedRows(detail.observed) };
    const rec = this.byPeer.get(key);
    if (rec?.open && rec.summary.tls !== 'none' && rec.handshakeId === undefined) return this.attachObserved(rec, info);
    // Implicit TLS: the handshake ends before the session opens; STARTTLS: before the session says it switched.
    this.observedByPeer.set(key, info);
    if (this.observedByPeer.size > 256) this.observedByPeer.delete(this.observedByPeer.keys().next().value!);
  }

  private attachObserved(rec: SessionRecord, info: { t: number; summary: string; observed: Array<{ name: string; value: string }> }): void {
    rec.tlsObserved = info.observed;
    rec.summary.handshake = true;
    rec.summary.tlsSummary = info.summary;
    this.addLine(rec, {
      seq: 0,
      session: rec.id,
      t: Math.max(info.t, rec.summary.openedAt),
      kind: 'tls',
      dir: 'm',
      text: `TLS handshake: ${info.summary} (not recorded message by message)`,
      handshake: true,
      note: LINE_NOTES.untapped,
    });
    this.publishSummary(rec);
  }

  private onPacket(e: PacketEvent): void {
    this.stats.recorded++;
    if (e.service === 'dhcp') {
      const view = dhcpPacketView(e, 0);
      const mac = view.mac;
      this.dhcpServerMac ??= this.dhcpDetail()?.mac;
      if (mac === this.dhcpServerMac) view.probe = true;
      let perMac = this.dhcpPerMac.get(mac);
      if (perMac === undefined) {
        const leases = this.leases;
        perMac = { n: 0, visible: (v: Viewer): boolean => v.role === 'instructor' || (v.role === 'student' && leases.addressOf(mac) === v.address) };
        this.dhcpPerMac.set(mac, perMac);
      }
      if (perMac.n >= DHCP_PER_MAC) {
        // A client flooding us keeps its most recent packets only.
        this.dhcpPackets.removeFirstOf(mac);
      } else perMac.n++;
      const before = this.leases.boundAddressOf(mac);
      const row = this.leases.apply(view, dhcpOptions(e));
      const visible = perMac.visible;
      // The item is encoded as it is published: its seq goes in first (publish adds exactly one item).
      view.seq = this.history.seq + 1;
      const item = this.publish('dhcp', view, visible, 2000);
      this.dhcpPackets.push(view);
      if (this.dhcpPackets.size > this.config.lab.history.dhcpPackets) {
        const oldMac = this.dhcpPackets.shift()!;
        const old = this.dhcpPerMac.get(oldMac);
        if (old !== undefined && --old.n <= 0) this.dhcpPerMac.delete(oldMac);
      }
      if (row) {
        this.publish('lease', row, visible, 200);
        // A student whose address this ACK just gave sees the whole exchange of their MAC from now on:
        // the packets before it were not theirs yet when they went out. A renewal's ACK (same address)
        // gives nothing new: the student saw those packets as they went out.
        if (view.type === 'DHCPACK' && row.address && row.address !== before) {
          const visibleNow = visibleToAddress(row.address);
          for (let i = 0; i < this.dhcpPackets.size; i++)
            if (this.dhcpPackets.macAt(i) === mac && this.dhcpPackets.seqAt(i) < item.seq) this.publish('dhcp', this.dhcpPackets.at(i), visibleNow, 2000);
        }
      }
      return;
    }
    const p: PacketData = {
      seq: 0,
      t: e.time,
      service: e.service,
      dir: e.direction,
      peer: { address: plainAddress(e.peer.address), port: e.peer.port },
      summary: e.summary.slice(0, 500),
      fields: e.fields,
    };
    const size = 300 + Math.min(JSON.stringify(e.fields).length, 1 << 20);
    p.seq = this.history.seq + 1;
    this.publish('packet', p, visibleToAddress(p.peer.address), size);
    pushBounded(this.packets, p, MAX_PACKETS);
  }

  /**
   * Records a line built whole by the caller (`seq` is set here, once the history has numbered it);
   * `args`: an open or close line's values, when the caller knows them (see encodeLine).
   */
  private addLine(rec: SessionRecord, l: NewLine, args?: string | OpenArgs): void {
    const line = l as LineData;
    if (line.text.length > LINE_TEXT_MAX) {
      line.cut = line.text.length - LINE_TEXT_MAX;
      line.text = line.text.slice(0, LINE_TEXT_MAX);
    }
    if (rec.encrypted && (line.kind === 'command' || line.kind === 'reply')) line.encrypted = true;
    // A long payload (a mail message's excerpt, FETCH data) stays with the transcript; the stream says
    // it is there and the viewer that unfolds it asks for it (every follower need not carry every body).
    // The line is encoded once (encodeLine, as UTF-8), for the replay window and the transcript alike.
    const flags = line.request ? LINE_HAS_REQUEST : 0;
    let n: number;
    let seq: number;
    let size = -1;
    if (line.payload !== undefined && line.payload.length > STREAM_PAYLOAD_INLINE) {
      const { payload: _kept, ...rest } = line;
      const streamed: LineData = { ...rest, payloadLater: true };
      const m = encodeLine(streamed, args);
      seq = this.history.addLine(line.t, scratch(), m, rec.visible, rec.id, lineBytes(streamed));
      n = encodeLine(line, args);
    } else {
      n = encodeLine(line, args);
      size = lineBytes(line);
      seq = this.history.addLine(line.t, scratch(), n, rec.visible, rec.id, size);
    }
    this.queue(seq);
    this.bytesKept += rec.addEncoded(seq, line.t, scratch(), n, flags, size < 0 ? lineBytes(line) : size);
    settleScratch();
    // A session's own bound: one long or busy session (a FETCH loop, a long IDLE) costs at most this,
    // and cannot push the rest of the class's history out of the byte budget.
    if (rec.bytes > this.config.lab.history.maxBytesPerSession) this.bytesKept -= rec.trimTo(this.config.lab.history.maxBytesPerSession);
    this.stats.recorded++;
    this.stats.lines++;
    if (this.bytesKept > this.config.lab.history.maxBytes) this.evict();
  }

  /** publish('session', ...) without the item object it hands back (twice per session). */
  private publishSummary(rec: SessionRecord): void {
    this.queue(this.history.addSummary(rec.summary, rec.visible, 400));
  }

  /** Keeps the session count and the byte budget: closed sessions go first, then the biggest open one shrinks. */
  private evict(): void {
    const h = this.config.lab.history;
    for (let guard = 0; guard < 10_000 && (this.sessions.size > h.sessions || this.bytesKept > h.maxBytes); guard++) {
      const victim = this.oldestKept(true);
      if (victim >= 0) {
        this.dropKept(this.order[victim]!, victim);
        continue;
      }
      if (this.sessions.size > h.sessions) {
        // Only open sessions and too many of them: the oldest is no longer kept (it still runs).
        const oldest = this.oldestKept(false);
        if (oldest < 0) break;
        this.dropKept(this.order[oldest]!, oldest);
        continue;
      }
      let biggest: SessionRecord | undefined;
      for (const r of this.sessions.values()) if (!biggest || r.bytes > biggest.bytes) biggest = r;
      if (!biggest || biggest.bytes <= 0) break;
      const freed = biggest.shrink();
      this.bytesKept -= freed;
      if (freed === 0) break;
    }
  }

  /** Where in `order` the oldest kept session is (the oldest closed one when `closed`), -1 if none. */
  private oldestKept(closed: boolean): number {
    const o = this.order;
    while (this.orderHead < o.length && o[this.orderHead] === undefined) {
      this.orderHead++;
      this.orderHoles--;
    }
    for (let i = this.orderHead; i < o.length; i++) {
      const r = o[i];
      if (r !== undefined && (!closed || !r.open)) return i;
    }
    return -1;
  }

  /** The hub no longer keeps this session (at order[at], -1: not there): its blocks go back to the pool. */
  private dropKept(rec: SessionRecord, at: number): void {
    if (this.sessions.get(rec.id) === rec) this.sessions.delete(rec.id);
    this.forgetPeer(rec);
    this.bytesKept -= rec.bytes;
    rec.release();
    if (at < 0) return;
    const o = this.order;
    o[at] = undefined;
    if (at === this.orderHead) this.orderHead++;
    else this.orderHoles++;
    const used = o.length - this.orderHead - this.orderHoles;
    if (this.orderHead + this.orderHoles > 1024 && this.orderHead + this.orderHoles > 2 * used) {
      const kept: SessionRecord[] = [];
      for (let i = this.orderHead; i < o.length; i++) if (o[i] !== undefined) kept.push(o[i]!);
      this.order = kept;
      this.orderHead = 0;
      this.orderHoles = 0;
    }
  }

  /** A session no longer kept leaves the peer index (unless a newer session from its address and port took its place). */
  private forgetPeer(rec: SessionRecord): void {
    if (this.byPeer.get(rec.peerKey) === rec) this.byPeer.delete(rec.peerKey);
  }

  /** Links the session to the recorded handshake of its TLS connection, found by the client's address and port. */
  private linkCapture(rec: SessionRecord): void {
    if (!this.tls) return;
    const { address, port } = rec.summary.peer;
    for (const c of this.tls.handshakes.recent(64)) {
      if (c.peer.port === port && plainAddress(c.peer.address) === address && c.secureAt !== undefined) {
        rec.handshakeId = c.id;
        rec.summary.handshake = true;
        return;
      }
    }
  }

  private listenerName(service: string, port: number): string | undefined {
    for (const s of this.overview.services) if (s.name === service) for (const l of s.listeners) if (l.port === port) return l.name;
    for (const s of this.board.all()) if (s.name === service) for (const l of s.listeners) if (l.port === port) return l.name;
    return undefined;
  }

  // ---- streams ----

  /** How many streams there are (for the 503 past lab.maxStreams). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Whether another stream may open for this address. */
  mayOpenStream(address: string): boolean {
    if (this.streams.size >= this.config.lab.maxStreams) return false;
    let n = 0;
    for (const s of this.streams) if (s.viewer.address === address) n++;
    return n < MAX_STREAMS_PER_ADDRESS;
  }

  /**
   * Starts a stream: a hello snapshot (or, with the id of the last event the client saw, the events
   * since), then live items. Resolves when it ends.
   */
  openStream(stream: LabStream, lastEventId: string | undefined): Promise<void> {
    this.streams.add(stream);
    stream.conn.onClose(() => this.endStream(stream));
    const since = this.history.parseId(lastEventId);
    if (since !== undefined && since + 1 >= this.history.firstSeq) {
      stream.cursor = since;
      const resume = { viewer: stream.viewer, seq: this.history.seq, overview: this.overview, ...this.pinnedFor(stream.viewer) };
      stream.write(sseFrame('resume', JSON.stringify(resume)));
      this.catchUp(stream);
    } else {
      const gap = since !== undefined ? { from: since + 1, to: this.history.firstSeq - 1 } : undefined;
      this.sendHello(stream, gap);
    }
    return stream.done();
  }

  private endStream(stream: LabStream, why?: string): void {
    if (!this.streams.delete(stream)) return;
    if (why && !stream.conn.closed) stream.write(sseFrame('bye', JSON.stringify({ reason: why })));
    stream.end();
  }

  private sendHello(stream: LabStream, gap?: { from: number; to: number }): void {
    const hello = this.hello(stream.viewer, stream.services, gap);
    stream.cursor = hello.seq;
    stream.write(sseFrame('hello', JSON.stringify(hello), this.history.id(hello.seq)));
    if (stream.behind) stream.whenDrained(() => this.catchUp(stream));
  }

  /** The snapshot a viewer may see, now. */
  hello(v: Viewer, services?: ReadonlySet<string>, gap?: { from: number; to: number }): HelloData & { extra?: Record<string, unknown> } {
    const sessions: SessionSummary[] = [];
    for (const r of this.sessions.values()) if (r.canSee(v) && (!services || services.has(r.summary.service))) sessions.push(r.summary);
    const dhcpVisible = (p: { mac: string }): boolean => v.role === 'instructor' || (v.role === 'student' && this.leases.addressOf(p.mac) === v.address);
    const extra: Record<string, unknown> = {};
    for (const [name, fn] of this.snapshots) extra[name] = fn(v);
    return {
      viewer: v,
      limits: { linesPerSession: this.config.lab.history.linesPerSession, sessions: this.config.lab.history.sessions },
      seq: this.history.seq,
      sessions,
      dhcp: {
        packets: this.helloDhcp(dhcpVisible),
        leases: this.leases.list(this.clock.now()).filter(dhcpVisible),
      },
      packets: this.packets.filter((p) => v.role === 'instructor' || (v.role === 'student' && p.peer.address === v.address)).slice(-100),
      notices: v.role === 'instructor' ? this.notices.slice(-50) : [],
      overview: this.overview,
      charts: this.charts,
      ...this.pinnedFor(v),
      ...(gap ? { gap } : {}),
      ...(this.snapshots.size > 0 ? { extra } : {}),
    };
  }

  private pinnedFor(v: Viewer): { pinned?: string } {
    return v.role === 'instructor' && this.pinned ? { pinned: this.pinned } : {};
  }

  /** Whether a stream may be sent the kept item with this event number (judged now). */
  private visibleTo(stream: LabStream, seq: number): boolean {
    const h = this.history;
    if (!h.visibleAt(seq, stream.viewer)) return false;
    if (stream.services) {
      let service: string | undefined;
      if (h.isLine(seq)) service = this.sessions.get(h.sessionAt(seq)!)?.summary.service;
      else if (h.isSummary(seq)) service = h.summaryAt(seq)!.service;
      else return true;
      return service === undefined || stream.services.has(service);
    }
    return true;
  }

  /**
   * Writes the pending items to every stream that is live: one `batch` event, one write each. Streams
   * whose viewers are alike (same role, account, address and service filter: every instructor's
   * follow-everything stream, a student's tabs) see the same items, so their batch is filtered,
   * encoded and turned into octets once, and each of them is handed the same Buffer: per stream, a
   * map look-up and a socket write.
   */
  private flush(): void {
    this.flushTimer = undefined;
    const from = this.pendingFrom;
    this.pendingFrom = 0;
    this.lastFlushAt = performance.now();
    const last = this.history.seq;
    const pending = from === 0 ? 0 : last - from + 1;
    this.flushGap = pending >= FLUSH_BUSY_ITEMS ? FLUSH_BUSY_MS : FLUSH_MS;
    try {
      if (pending > 0 && this.streams.size > 0) this.flushFrom(from, last, pending);
    } finally {
      this.history.unhold();
    }
  }

  private flushFrom(from: number, last: number, pending: number): void {
    const t0 = process.cpuUsage();
    // Items that left the window before this flush (a flood over replayEvents in a quarter second):
    // a stream that had not been given them gets a gap marker (catchUp), as after a stall.
    const first = Math.max(from, this.history.firstSeq);
    const shared = new Map<string, { octets: Buffer | undefined; count: number }>();
    let fanned = 0;
    let behind = 0;
    for (const s of this.streams) {
      if (s.behind) behind++;
      if (s.behind || s.cursor >= last) continue;
      if (s.cursor + 1 < this.history.firstSeq) {
        this.catchUp(s);
        continue;
      }
      let batch: { octets: Buffer | undefined; count: number };
      if (s.cursor < first) {
        // Given everything before these items: what it gets depends on its viewer alone.
        const key = s.visibilityKey;
        const known = shared.get(key);
        if (known === undefined) {
          batch = this.encoded(s, first, last);
          shared.set(key, batch);
        } else batch = known;
      } else {
        // Caught up from the history part-way into these items (a resume): a batch of its own.
        batch = this.encoded(s, s.cursor + 1, last);
      }
      fanned += batch.count;
      s.cursor = last;
      if (batch.octets !== undefined && !s.write(batch.octets)) s.whenDrained(() => this.catchUp(s));
    }
    if (behind === 0) this.catchUpShared.clear();
    this.stats.fannedOut += fanned;
    this.stats.flushedItems += pending;
    const used = process.cpuUsage(t0);
    this.stats.fanoutNs += (used.user + used.system) * 1000;
  }

  /**
   * A stream batch of the kept items from..to (event numbers) the stream may see, as octets (none when
   * it may see none of them), and how many items it holds; its id is `to`.
   */
  private encoded(s: LabStream, from: number, to: number): { octets: Buffer | undefined; count: number } {
    let count = 0;
    for (let n = from; n <= to; n++) if (this.visibleTo(s, n)) this.seqAt(count++, n);
    return { octets: count > 0 ? this.history.frame(this.seqBuf, count, to) : undefined, count };
  }

  /** seqBuf[i] = seq, growing it as needed. */
  private seqAt(i: number, seq: number): void {
    if (i === this.seqBuf.length) {
      const b = new Float64Array(this.seqBuf.length * 2);
      b.set(this.seqBuf);
      this.seqBuf = b;
    }
    this.seqBuf[i] = seq;
  }

  /**
   * Brings a stream that was behind (or that resumed) up to date from the history, a batch of at most
   * 64 KiB at a time; if what it missed is no longer kept, it gets a gap marker and a fresh snapshot.
   */
  private catchUp(s: LabStream): void {
    if (s.ended) return;
    s.behind = false;
    if (s.cursor + 1 < this.history.firstSeq) {
      this.stats.gaps++;
      this.sendHello(s, { from: s.cursor + 1, to: this.history.firstSeq - 1 });
      return;
    }
    const t0 = process.cpuUsage();
    try {
      const newest = this.history.seq;
      while (s.cursor < newest) {
        const from = s.cursor;
        let chunk = s.followsEverything ? this.catchUpShared.get(from) : undefined;
        if (chunk === undefined) {
          let count = 0;
          let size = 0;
          let n = from;
          while (n < newest && size < 64 * 1024) {
            n++;
            if (this.history.has(n) && this.visibleTo(s, n)) {
              this.seqAt(count++, n);
              size += this.history.entryOctets(n);
            }
          }
          chunk = { to: n, octets: count > 0 ? this.history.frame(this.seqBuf, count, n) : undefined, count };
          if (s.followsEverything) {
            this.catchUpShared.set(from, chunk);
            if (this.catchUpShared.size > CATCH_UP_SHARED) this.catchUpShared.delete(this.catchUpShared.keys().next().value!);
          }
        }
        s.cursor = chunk.to;
        this.stats.caughtUp += chunk.count;
        if (chunk.octets !== undefined && !s.write(chunk.octets)) {
          s.whenDrained(() => this.catchUp(s));
          return;
        }
      }
    } finally {
      const used = process.cpuUsage(t0);
      this.stats.catchUpNs += (used.user + used.system) * 1000;
    }
  }

  private heartbeat(): void {
    for (const s of this.streams) {
      if (!s.behind) s.write(HEARTBEAT_OCTETS);
    }
  }

  // ---- overview ----

  private sample(): void {
    if (this.sampling || this.stopped) return;
    this.sampling = true;
    try {
      const now = this.clock.now();
      this.tellSessionsThinned(now);
      const interfaces = this.sampler.sample(now);
      const services: ServiceRow[] = this.board
        .all()
        .slice()
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((st) => {
          const prev = this.previous.get(st.name);
          const opened = st.accepted ?? this.eventsOpened.get(st.name) ?? 0;
          const bytesIn = st.bytesIn ?? 0;
          const bytesOut = st.bytesOut ?? 0;
          const dt = prev ? (now - prev.t) / 1000 : 0;
          const rate = (a: number, b: number): number => (dt > 0 && a >= b ? Math.round((a - b) / dt) : 0);
          const rateIn = prev ? rate(bytesIn, prev.bytesIn) : 0;
          const rateOut = prev ? rate(bytesOut, prev.bytesOut) : 0;
          const perSecond = this.openedPerSecond.get(st.name) ?? [];
          perSecond.push(prev ? Math.max(0, opened - prev.accepted) : 0);
          if (perSecond.length > 60) perSecond.shift();
          this.openedPerSecond.set(st.name, perSecond);
          this.previous.set(st.name, { accepted: opened, bytesIn, bytesOut, t: now });
          return {
            name: st.name,
            state: st.state,
            listeners: st.listeners.map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, tls: Boolean(l.tls) })),
            open: st.connections ?? 0,
            accepted: opened,
            perMinute: perSecond.reduce((a, b) => a + b, 0),
            bytesIn,
            bytesOut,
            rateIn,
            rateOut,
            ...(st.error ? { error: st.error } : {}),
          };
        });
      this.overview = { t: now, hostname: this.config.hostname, startedAt: this.startedAt, services, interfaces, lab: this.labStats() };
      if (!this.leasesRestored && services.some((x) => x.name === 'dhcp' && x.state === 'running')) this.restoreLeases();
      const c = this.charts;
      c.t.push(now);
      for (const s of services) {
        const h = (c.services[s.name] ??= { opened: [], rateIn: [], rateOut: [] });
        h.opened.push(this.openedPerSecond.get(s.name)?.at(-1) ?? 0);
        h.rateIn.push(s.rateIn);
        h.rateOut.push(s.rateOut);
      }
      for (const i of interfaces) {
        const h = (c.interfaces[i.name] ??= { rx: [], tx: [] });
        h.rx.push(i.rxRate.bytes);
        h.tx.push(i.txRate.bytes);
      }
      if (c.t.length > CHART_POINTS) {
        c.t.shift();
        for (const h of Object.values(c.services)) for (const a of [h.opened, h.rateIn, h.rateOut]) if (a.length > CHART_POINTS) a.shift();
        for (const h of Object.values(c.interfaces)) for (const a of [h.rx, h.tx]) if (a.length > CHART_POINTS) a.shift();
      }
      if (this.streams.size > 0) {
        // Encoded once for every stream.
        const frame = Buffer.from(sseFrame('overview', JSON.stringify(this.overview)));
        for (const s of this.streams) if (!s.behind) s.write(frame);
      }
    } catch (err) {
      this.logger.debug({ err }, 'lab overview sample failed');
    } finally {
      this.sampling = false;
    }
  }

  /** The DHCP service's status detail, when it runs in this lab. */
  private dhcpDetail(): { mac?: string; leaseTable?: () => unknown[] } | undefined {
    const d = this.board.all().find((x) => x.name === 'dhcp')?.detail;
    if (!d) return undefined;
    return {
      ...(typeof d.mac === 'string' ? { mac: d.mac } : {}),
      ...(typeof d.leaseTable === 'function' ? { leaseTable: d.leaseTable as () => unknown[] } : {}),
    };
  }

  /** The last HELLO_DHCP packets this viewer may see, oldest first. */
  private helloDhcp(visible: (p: { mac: string }) => boolean): DhcpPacketData[] {
    const out: DhcpPacketData[] = [];
    for (let i = this.dhcpPackets.size - 1; i >= 0 && out.length < HELLO_DHCP; i--)
      if (visible({ mac: this.dhcpPackets.macAt(i) })) out.push(this.dhcpPackets.at(i));
    return out.reverse();
  }

  /** Fills the lease table from the DHCP service's journal: leases granted before this start show at once. */
  private restoreLeases(): void {
    this.leasesRestored = true;
    const d = this.dhcpDetail();
    this.dhcpServerMac ??= d?.mac;
    // The probe for other DHCP servers ran before the service was on the status board: mark it now.
    for (let i = 0; i < this.dhcpPackets.size; i++) {
      if (this.dhcpPackets.macAt(i) !== this.dhcpServerMac) continue;
      const p = this.dhcpPackets.at(i);
      if (p.probe) continue;
      p.probe = true;
      this.dhcpPackets.set(i, p);
      this.publish('dhcp', p, instructorsOnly, 2000);
    }
    const rows = d?.leaseTable?.() ?? [];
    for (const row of this.leases.restore(rows, this.clock.now())) {
      const visible = (v: Viewer): boolean => v.role === 'instructor' || (v.role === 'student' && v.address === row.address);
      this.publish('lease', row, visible, 200);
    }
  }

  private labStats() {
    return {
      streams: this.streams?.size ?? 0,
      sessionsKept: this.sessions?.size ?? 0,
      bytesKept: this.bytesKept ?? 0,
      missedEvents: this.stats?.missedEvents ?? 0,
      recorded: this.stats?.recorded ?? 0,
      thinned: this.events?.recording.thinned ?? 0,
      sessionsThinned: this.events?.recording.sessionsThinned ?? 0,
    };
  }

  // ---- queries (the routes answer with these) ----

  /** Sessions a viewer may see, newest first, filtered. */
  listSessions(v: Viewer, filter: { service?: string; user?: string; address?: string } = {}): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (const r of this.sessions.values()) {
      if (!r.canSee(v)) continue;
      const s = r.summary;
      if (filter.service && s.service !== filter.service) continue;
      if (filter.user && s.user !== filter.user) continue;
      if (filter.address && !s.peer.address.startsWith(filter.address)) continue;
      out.push(s);
    }
    return out.reverse();
  }

  /** A session's transcript, if the viewer may see it. */
  transcript(v: Viewer, id: string): TranscriptData | undefined {
    const r = this.sessions.get(id);
    if (!r || !r.canSee(v)) return undefined;
    return { session: r.summary, lines: r.lines(), seq: this.history.seq };
  }

  /** The payload of one line of a session's transcript (see LineData.payloadLater), if the viewer may see it. */
  linePayload(v: Viewer, id: string, seq: number): string | undefined {
    const r = this.sessions.get(id);
    if (!r || !r.canSee(v)) return undefined;
    return r.lineBySeq(seq)?.payload;
  }

  /** A session's summary, if the viewer may see it (the packet view links flows to sessions by it). */
  sessionFor(v: Viewer, id: string): SessionSummary | undefined {
    const r = this.sessions.get(id);
    return r && r.canSee(v) ? r.summary : undefined;
  }

  /** The network cards (MAC addresses) whose DHCP lease is `address`: a student's own DHCP and ARP frames. */
  macsOf(address: string): string[] {
    const a = plainAddress(address);
    return this.leases
      .list(this.clock.now())
      .filter((l) => l.address === a)
      .map((l) => l.mac);
  }

  /** The decoded TLS handshake of a session (without key-log secrets), if the viewer may see it. */
  handshake(v: Viewer, id: string): HandshakeData | undefined | 'none' {
    const r = this.sessions.get(id);
    if (!r || !r.canSee(v)) return undefined;
    const capture = r.handshakeId !== undefined ? this.tls?.handshakes.get(r.handshakeId) : undefined;
    if (!capture && r.tlsObserved) {
      const get = (n: string): string | undefined => r.tlsObserved!.find((x) => x.name === n)?.value;
      const version = get('version');
      const suite = get('cipher suite');
      const alpn = get('ALPN');
      const serverName = get('SNI (server name)');
      return {
        session: id,
        listener: r.summary.listener ?? r.summary.service,
        startedAt: r.summary.openedAt,
        ...(version ? { version } : {}),
        ...(suite ? { suite } : {}),
        ...(alpn ? { alpn } : {}),
        ...(serverName ? { serverName } : {}),
        ...(get('resumed') === 'yes' ? { resumed: true } : {}),
        bytes: { client: 0, server: 0 },
        notes: [
          'This handshake was not recorded message by message: the handshake tap was off for this listener, or over its per-second budget (a burst of connections). What node:tls reported once it was done is below.',
        ],
        messages: [],
        observed: r.tlsObserved,
      };
    }
    if (!capture) return 'none';
    const d = capture.decode();
    return {
      session: id,
      listener: capture.listener,
      startedAt: capture.startedAt,
      ...(d.version ? { version: d.version } : {}),
      ...(d.suite ? { suite: d.suite } : {}),
      ...(d.group ? { group: d.group } : {}),
      ...(d.alpn ? { alpn: d.alpn } : {}),
      ...(d.serverName ? { serverName: d.serverName } : {}),
      ...(d.resumed ? { resumed: true } : {}),
      ...(capture.error ? { error: capture.error } : {}),
      bytes: d.bytes,
      notes: d.notes,
      messages: d.messages.map((m) => ({
        from: m.from,
        name: m.name,
        t: m.t,
        bytes: m.bytes,
        encrypted: m.encrypted,
        ...(m.decrypted ? { decrypted: true } : {}),
        fields: m.fields,
        explain: m.explain,
        ...(m.error ? { error: m.error } : {}),
      })),
    };
  }

  /** HTTP requests (status lines with their request) a viewer may see, newest last, at most `max`. */
  httpLog(v: Viewer, max = 500): Array<LineData & { peer: EndpointData; service: string }> {
    const out: Array<LineData & { peer: EndpointData; service: string }> = [];
    for (const r of this.sessions.values()) {
      const s = r.summary;
      if ((s.service !== 'http' && s.service !== 'https') || !r.canSee(v)) continue;
      for (const l of r.requestLines()) out.push({ ...l, peer: s.peer, service: s.service });
    }
    out.sort((a, b) => a.seq - b.seq);
    return out.slice(-max);
  }

  /** Pins a session to the projector (instructors); undefined unpins. */
  pin(id: string | undefined): boolean {
    if (id !== undefined && !this.sessions.has(id)) return false;
    this.pinned = id;
    this.publish('pin', { session: id }, instructorsOnly, 100);
    return true;
  }

  getStats(): HubStats {
    const h = this.config.lab.history;
    let openSessions = 0;
    let openSessionsTrimmed = 0;
    for (const r of this.sessions.values())
      if (r.open) {
        openSessions++;
        if (r.skipped > 0) openSessionsTrimmed++;
      }
    return {
      ...this.stats,
      streams: this.streams.size,
      streamsBehind: [...this.streams].filter((x) => x.behind).length,
      sessions: this.sessions.size,
      bytesKept: this.bytesKept,
      historyItems: this.history.length,
      historyBytes: this.history.octets,
      slabOctets: this.pool.octets,
      thinned: this.events.recording.thinned,
      sessionsThinned: this.events.recording.sessionsThinned,
      seq: this.history.seq,
      openSessions,
      openSessionsTrimmed,
      bounds: {
        sessions: h.sessions,
        linesPerSession: h.linesPerSession,
        maxBytesPerSession: h.maxBytesPerSession,
        maxBytes: h.maxBytes,
        replayEvents: h.replayEvents,
        replayBytes: this.history.maxOctets,
        dhcpPackets: h.dhcpPackets,
      },
      dhcpPackets: this.dhcpPackets.size,
    };
  }

  // ---- `labnet watch` ----

  get watchFile(): string {
    return join(this.config.dataDir, 'lab', 'watch.json');
  }

  /** The token that makes a stream an instructor's: `labnet watch` reads it from the data directory. */
  isWatchToken(token: string): boolean {
    return token.length === this.watchToken.length && token === this.watchToken;
  }

  /** Writes <dataDir>/lab/watch.json (mode 0600): where the lab listens and the token. */
  private async writeWatchFile(): Promise<void> {
    const urls: string[] = [];
    for (const s of this.board.all()) {
      if ((s.name !== 'http' && s.name !== 'https') || s.state !== 'running') continue;
      // One HTTP service with a plain and a TLS listener (and the RSA demo listener, which is left out).
      for (const l of s.listeners) {
        if (l.name !== 'http' && l.name !== 'https') continue;
        const host = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
        const h = host.includes(':') ? `[${host}]` : host;
        urls.push(`${l.tls ? 'https' : 'http'}://${h}:${l.port}/lab/events`);
      }
    }
    if (urls.length === 0) return;
    urls.sort((a) => (a.startsWith('http:') ? -1 : 1));
    const dir = join(this.config.dataDir, 'lab');
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.watch-${process.pid}.json`);
      const text = `${JSON.stringify({ pid: process.pid, urls, token: this.watchToken, ca: join(this.config.dataDir, 'tls', 'ca.crt') }, null, 2)}\n`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.watchFile);
    } catch (err) {
      this.logger.warn({ err }, `cannot write ${this.watchFile}: labnet watch will not find this lab`);
    }
  }
}

function peerKey(p: EndpointData): string {
  return endKey(p.address, p.port);
}

/** An endpoint with its address plain (plainAddress): the event's own object when it already is. */
function plainEnd(p: EndpointData): EndpointData {
  const a = plainAddress(p.address);
  return a === p.address ? p : { address: a, port: p.port };
}

/**
 * A line as the hub builds it: whole, `seq` 0 until numbered. Client and server lines leave `dir` out
 * (it follows from the kind).
 */
type NewLine = Omit<LineData, 'dir'> & Partial<Pick<LineData, 'dir'>>;

/** A close line's text and textArgsJson of it (undefined: the encoder parses the text). */
interface CloseText {
  text: string;
  args: string | undefined;
}

const REQUEST_PATH_MAX = 2048;

/**
 * HTTP: the request line `METHOD target ...` is what the next status line answers, kept on the record
 * as its method, target (cut to REQUEST_PATH_MAX) and time; none when the line does not start so.
 */
function notePendingRequest(rec: SessionRecord, text: string, t: number): void {
  const end = requestTargetEnd(text);
  if (end < 0) {
    rec.pendingMethod = undefined;
    rec.pendingPath = '';
    return;
  }
  const space = text.indexOf(' ');
  rec.pendingMethod = text.slice(0, space);
  rec.pendingPath = text.slice(space + 1, Math.min(end, space + 1 + REQUEST_PATH_MAX));
  rec.pendingAt = t;
}

/** ObservedHandshake (core/tls/tls-material.ts) as rows a student reads. */
function observedRows(x: unknown): Array<{ name: string; value: string }> {
  const o = (x && typeof x === 'object' ? x : {}) as Record<string, unknown>;
  const rows: Array<{ name: string; value: string }> = [];
  const add = (name: string, v: unknown): void => {
    if (typeof v === 'string' && v !== '') rows.push({ name, value: v.slice(0, 500) });
    else if (typeof v === 'number') rows.push({ name, value: String(v) });
  };
  add('version', o.protocol);
  add('cipher suite', o.standardName ?? o.cipher);
  add('ALPN', o.alpn);
  add('SNI (server name)', o.serverName);
  rows.push({ name: 'resumed', value: o.resumed === true ? 'yes' : 'no' });
  const c = (o.certificate && typeof o.certificate === 'object' ? o.certificate : {}) as Record<string, unknown>;
  add('certificate subject', c.subject);
  add('certificate issuer', c.issuer);
  add('certificate names', c.altNames);
  add('valid from', c.validFrom);
  add('valid to', c.validTo);
  add('key size (bits)', c.bits);
  add('SHA-256 fingerprint', c.fingerprint256);
  return rows;
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
