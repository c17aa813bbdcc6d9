// One session as the lab keeps it: its summary, the note context of its protocol, and its lines,
// bounded: the first HEAD_LINES lines (greeting, EHLO, STARTTLS, login: what a lesson is about) and
// the most recent ones, with a count of those dropped in between. The lines are kept encoded (the
// stream's line body, wire-codec.ts) in pool blocks (slab-store.ts), decoded when a page asks for them.
import type { LineData, SessionSummary, Viewer } from './wire.js';
import { BlockLog, encodeLine, scratch, SlabPool } from './slab-store.js';
import { decodeLineBody } from './wire-codec.js';

/** Lines always kept from the start of a session. */
export const HEAD_LINES = 100;
/** Characters of a line's text kept (a longer IMAP FETCH answer or LIST is cut, with the count). */
export const LINE_TEXT_MAX = 16 * 1024;
/** Per-line overhead counted against the byte budget (what a line cost as an object: the budgets keep their meaning). */
export const LINE_OVERHEAD = 160;

export function lineBytes(l: LineData): number {
  return LINE_OVERHEAD + l.text.length + (l.payload?.length ?? 0) + (l.note?.length ?? 0);
}

/** IPv4-mapped IPv6 addresses (::ffff:10.0.0.5) compare as the IPv4 address. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The key of a client's end, "address|port" (the address plain, see plainAddress). */
export function peerKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** \s of a regular expression: the characters that end a request target. */
function isSpace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Where the target of an HTTP request line `METHOD target ...` ends, as /^([A-Z]+) (\S+)/ would match
 * it (the method ends at the first space), or -1 when it does not match. Scanned in place: a match
 * array per request is what the hub saves.
 */
export function requestTargetEnd(text: string): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) >= 0x41 && text.charCodeAt(i) <= 0x5a) i++;
  if (i === 0 || text.charCodeAt(i) !== 0x20) return -1;
  let end = i + 1;
  while (end < text.length && !isSpace(text.charCodeAt(end))) end++;
  return end === i + 1 ? -1 : end;
}

/** Whether a viewer may see a session (SessionRecord.canSee): judged on the summary as it is now. */
function canSeeSession(summary: SessionSummary, peerAddress: string, v: Viewer): boolean {
  if (v.role === 'instructor') return true;
  if (v.role !== 'student') return false;
  const user = summary.user;
  if (user !== undefined) return user === v.user;
  return peerAddress === v.address;
}

/** Index octets counted per kept line (event number, time, offset, length, weight, flags: the weight the budgets have always used). */
export const LINE_INDEX_OCTETS = 41;
/** A line's flag: it is an HTTP status line with its request (SessionRecord.requestLines). */
export const LINE_HAS_REQUEST = 1;

/**
 * Kept lines of one part of a session (the first lines, or the recent ones): their encoded bodies
 * (encodeLine) in a BlockLog, and per line its event number, time, offset, length, weight (what
 * it counts against the budgets) and flags in one array of numbers used as a ring that grows by
 * doubling up to what the part may hold. A page load's session is a few lines and lives well under a
 * minute (long enough to die in old space, issue 14): up to SMALL_RING lines the array is a plain
 * one of unboxed doubles (two objects on the heap), past it a Float64Array (off the heap; a typed
 * array is three objects and an allocation of its own, which a short session need not pay).
 */
const M = 6;
const SMALL_RING = 16;

/** A plain array of n unboxed doubles (exactly n: filled, not pushed, which would leave slack). */
function doubles(n: number): number[] {
  return new Array<number>(n).fill(0.5);
}

/** Lines a ring has room for at first: an HTTP request on a connection of its own is four (open, request, status, close). */
const FIRST_RING = 4;

class LineRing {
  private meta: number[] | Float64Array = doubles(M * FIRST_RING);
  /** Lines the ring has room for (a power of two). */
  private cap = FIRST_RING;
  private first = 0;
  count = 0;
  readonly log: BlockLog;

  constructor(pool: SlabPool) {
    this.log = new BlockLog(pool);
  }

  private slot(i: number): number {
    return (this.first + i) & (this.cap - 1);
  }

  push(seq: number, t: number, octets: Uint8Array, length: number, flags: number, size: number): void {
    if (this.count === this.cap) this.grow();
    const off = this.log.append(octets, 0, length);
    const k = this.slot(this.count);
    this.meta[M * k] = seq;
    this.meta[M * k + 1] = t;
    this.meta[M * k + 2] = off;
    this.meta[M * k + 3] = length;
    this.meta[M * k + 4] = size;
    this.meta[M * k + 5] = flags;
    this.count++;
  }

  /** Drops the oldest line; returns its weight. */
  shift(): number {
    const k = this.first;
    const size = this.meta[M * k + 4];
    this.first = (this.first + 1) & (this.cap - 1);
    this.count--;
    if (this.count === 0) this.log.clear();
    else this.log.dropTo(this.meta[M * this.first + 2]);
    return size;
  }

  seq(i: number): number {
    return this.meta[M * this.slot(i)];
  }

  t(i: number): number {
    return this.meta[M * this.slot(i) + 1];
  }

  flag(i: number): number {
    return this.meta[M * this.slot(i) + 5];
  }

  line(i: number, session: string): LineData {
    const k = this.slot(i);
    const body = this.log.text(this.meta[M * k + 2], this.meta[M * k + 3]);
    return decodeLineBody(this.meta[M * k], this.meta[M * k + 1], session, body);
  }

  /** The index of the line with this event number (lines are in event order), or -1. */
  find(seq: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seq(mid);
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  clear(): void {
    this.log.clear();
    this.first = 0;
    this.count = 0;
  }

  private grow(): void {
    const old = this.meta;
    const meta = 2 * this.cap <= SMALL_RING ? doubles(M * this.cap * 2) : new Float64Array(M * this.cap * 2);
    if (old instanceof Float64Array && meta instanceof Float64Array) {
      // A long session's ring (full when it grows): its two runs, oldest first, copied in bulk.
      const split = M * (this.cap - this.first);
      meta.set(old.subarray(M * this.first), 0);
      meta.set(old.subarray(0, M * this.first), split);
    } else {
      for (let i = 0; i < this.count; i++) {
        const k = this.slot(i);
        for (let j = 0; j < M; j++) meta[M * i + j] = old[M * k + j];
      }
    }
    this.meta = meta;
    this.cap *= 2;
    this.first = 0;
  }
}

/** The shared pool of records made without one (tests); the hub passes its own. */
let defaultPool: SlabPool | undefined;

export class SessionRecord {
  private readonly head: LineRing;
  private tail: LineRing | undefined;
  private readonly pool: SlabPool;
  /** Lines dropped between the head and the tail. */
  skipped = 0;
  /** Octets this record holds (encoded lines and their index). */
  bytes = 0;
  /** Lines from now on travel encrypted. */
  encrypted: boolean;
  /** The TLS handshake capture (TlsMaterial.handshakes) of this session, once linked. */
  handshakeId: number | undefined;
  /** What node:tls reported about an untapped handshake (no capture to decode), as name and value. */
  tlsObserved: Array<{ name: string; value: string }> | undefined;
  /** HTTP: the method of the request whose response is awaited (undefined when none is). */
  pendingMethod: string | undefined;
  /** HTTP: that request's target (cut to 2,048 characters) and when it came. */
  pendingPath = '';
  pendingAt = 0;
  readonly peerAddress: string;
  /** "address|port" of the client: the hub's key for finding this open session by its peer. */
  readonly peerKey: string;
  /** Bound once: the visibility test every line item of this session shares. */
  readonly visible: (v: Viewer) => boolean;

  constructor(
    readonly summary: SessionSummary,
    private readonly tailMax: number,
    pool?: SlabPool,
  ) {
    this.pool = pool ?? (defaultPool ??= new SlabPool());
    this.head = new LineRing(this.pool);
    this.encrypted = summary.tls === 'implicit';
    const peerAddress = plainAddress(summary.peer.address);
    this.peerAddress = peerAddress;
    this.peerKey = peerKey(peerAddress, summary.peer.port);
    // Closes over the summary and the address only, never `this`: the replay window keeps this test
    // with every item of the session, and must not keep the record's lines alive after it is evicted.
    this.visible = (v) => canSeeSession(summary, peerAddress, v);
  }

  get id(): string {
    return this.summary.id;
  }

  get open(): boolean {
    return this.summary.closedAt === undefined;
  }

  /** A student sees the sessions they logged in to, and those from their address nobody else logged in to. */
  canSee(v: Viewer): boolean {
    return canSeeSession(this.summary, this.peerAddress, v);
  }

  /** Adds a line (encoded here); returns the octets the record grew by (negative when an old line went). */
  add(line: LineData, size = lineBytes(line)): number {
    const n = encodeLine(line);
    return this.addEncoded(line.seq, line.t, scratch(), n, line.request ? LINE_HAS_REQUEST : 0, size);
  }

  /**
   * Adds a line already encoded (encodeLine: octets[0, length)) that weighs `size`
   * (lineBytes: the budgets are what they were with lines as objects) or, when its encoding is larger
   * (a line of control characters, each escaped in six octets), the octets it takes. Returns the
   * octets the record grew by (negative when an old line went).
   */
  addEncoded(seq: number, t: number, octets: Uint8Array, length: number, flags: number, size: number): number {
    this.summary.lines++;
    const weight = Math.max(size, length + LINE_INDEX_OCTETS);
    let delta = weight;
    if (this.head.count < HEAD_LINES) this.head.push(seq, t, octets, length, flags, weight);
    else {
      const tail = (this.tail ??= new LineRing(this.pool));
      tail.push(seq, t, octets, length, flags, weight);
      if (tail.count > this.tailMax) delta -= this.dropOldest();
    }
    this.bytes += delta;
    return delta;
  }

  /** Drops the oldest recent line; returns its octets. */
  private dropOldest(): number {
    this.skipped++;
    return this.tail!.shift();
  }

  /** Drops the older half of the recent lines (the byte budget is short); returns octets freed. */
  shrink(): number {
    const keep = this.tail?.count ?? 0;
    const drop = Math.ceil(keep / 2);
    let freed = 0;
    for (let i = 0; i < drop; i++) freed += this.dropOldest();
    this.bytes -= freed;
    return freed;
  }

  /**
   * Drops the oldest recent lines while the record holds more than `maxBytes` (the newest line always
   * stays; the first lines are never dropped): a session's own byte bound. Returns octets freed.
   */
  trimTo(maxBytes: number): number {
    let freed = 0;
    while (this.bytes - freed > maxBytes && this.tail !== undefined && this.tail.count > 1) freed += this.dropOldest();
    this.bytes -= freed;
    return freed;
  }

  /** Returns the record's blocks to the pool: the hub no longer keeps it (its lines read empty afterwards). */
  release(): void {
    this.head.clear();
    this.tail?.clear();
    this.bytes = 0;
  }

  /** Pool blocks this record holds. */
  get blocks(): number {
    return this.head.log.blockCount + (this.tail?.log.blockCount ?? 0);
  }

  /** The kept lines in order (decoded now), with a 'skipped' marker where lines were dropped. */
  lines(): LineData[] {
    const out: LineData[] = [];
    const head = this.head;
    for (let i = 0; i < head.count; i++) out.push(head.line(i, this.id));
    const tail = this.tail;
    const tailCount = tail?.count ?? 0;
    if (this.skipped > 0) {
      const atSeq = tailCount > 0 ? tail!.seq(0) : head.count > 0 ? head.seq(head.count - 1) : undefined;
      const atT = tailCount > 0 ? tail!.t(0) : head.count > 0 ? head.t(head.count - 1) : this.summary.openedAt;
      out.push({
        seq: atSeq !== undefined ? atSeq - 0.5 : 0,
        session: this.id,
        t: atT,
        kind: 'skipped',
        dir: 'm',
        text: `${this.skipped} lines not kept here (the lab keeps the first ${HEAD_LINES} and the most recent ${this.tailMax} lines of a session)`,
        skipped: this.skipped,
      });
    }
    for (let i = 0; i < tailCount; i++) out.push(tail!.line(i, this.id));
    return out;
  }

  /** The kept lines that are HTTP status lines with their request (decoding only those). */
  requestLines(): LineData[] {
    const out: LineData[] = [];
    for (const ring of [this.head, this.tail]) {
      if (!ring) continue;
      for (let i = 0; i < ring.count; i++) if (ring.flag(i) & LINE_HAS_REQUEST) out.push(ring.line(i, this.id));
    }
    return out;
  }

  /** The kept line with this event number (lines are kept in event order: binary searches). */
  lineBySeq(seq: number): LineData | undefined {
    for (const ring of [this.head, this.tail]) {
      if (!ring) continue;
      const i = ring.find(seq);
      if (i >= 0) return ring.line(i, this.id);
    }
    return undefined;
  }

  /** The newest line's event number (0 when none). */
  get lastSeq(): number {
    const tail = this.tail;
    if (tail && tail.count > 0) return tail.seq(tail.count - 1);
    return this.head.count > 0 ? this.head.seq(this.head.count - 1) : 0;
  }
}
