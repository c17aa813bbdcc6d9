// One session as the lab keeps it: its summary, the note context of its protocol, and its lines,
// bounded: the first HEAD_LINES lines (greeting, EHLO, STARTTLS, login: what a lesson is about) and
// the most recent ones, with a count of those dropped in between.
import type { LineData, SessionSummary, Viewer } from './wire.js';

/** Lines always kept from the start of a session. */
export const HEAD_LINES = 100;
/** Characters of a line's text kept (a longer IMAP FETCH answer or LIST is cut, with the count). */
export const LINE_TEXT_MAX = 16 * 1024;
/** Per-line overhead counted against the byte budget (object, fields, references). */
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

export class SessionRecord {
  private readonly head: LineData[] = [];
  private tail: LineData[] = [];
  private tailStart = 0;
  /** Lines dropped between the head and the tail. */
  skipped = 0;
  /** Octets (approximately) this record holds. */
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
  ) {
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

  /** Adds a line; returns the octets the record grew by (negative when an old line went). */
  add(line: LineData, size = lineBytes(line)): number {
    this.summary.lines++;
    let delta = size;
    if (this.head.length < HEAD_LINES) this.head.push(line);
    else {
      this.tail.push(line);
      if (this.tail.length - this.tailStart > this.tailMax) {
        delta -= this.dropOldest();
        this.compactTail();
      }
    }
    this.bytes += delta;
    return delta;
  }

  /** Drops the oldest recent line (let go at once, see drop); returns its octets. */
  private dropOldest(): number {
    const size = lineBytes(this.tail[this.tailStart]);
    this.drop(this.tailStart);
    this.tailStart++;
    this.skipped++;
    return size;
  }

  /** Cuts the dropped slots off the front of the tail once there are tailMax of them. */
  private compactTail(): void {
    if (this.tailStart >= this.tailMax) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  /** Drops the older half of the recent lines (the byte budget is short); returns octets freed. */
  shrink(): number {
    const keep = this.tail.length - this.tailStart;
    const drop = Math.ceil(keep / 2);
    let freed = 0;
    for (let i = 0; i < drop; i++) freed += lineBytes(this.tail[this.tailStart + i]);
    this.tail = this.tail.slice(this.tailStart + drop);
    this.tailStart = 0;
    this.skipped += drop;
    this.bytes -= freed;
    return freed;
  }

  /**
   * Drops the oldest recent lines while the record holds more than `maxBytes` (the newest line always
   * stays; the first lines are never dropped): a session's own byte bound. Returns octets freed.
   */
  trimTo(maxBytes: number): number {
    let freed = 0;
    while (this.bytes - freed > maxBytes && this.tail.length - this.tailStart > 1) freed += this.dropOldest();
    this.compactTail();
    this.bytes -= freed;
    return freed;
  }

  /**
   * Lets a dropped line go at once: the slots before tailStart are cut off only every tailMax lines,
   * and a full session kept up to twice its lines alive until then (measured: 155 to 298 octets of
   * heap per kept line, against 182 counted).
   */
  private drop(i: number): void {
    (this.tail as Array<LineData | undefined>)[i] = undefined;
  }

  /** The kept lines in order, with a 'skipped' marker where lines were dropped. */
  lines(): LineData[] {
    const out = [...this.head];
    const tail = this.tail.slice(this.tailStart);
    if (this.skipped > 0) {
      const at = tail[0] ?? this.head[this.head.length - 1];
      out.push({
        seq: at ? at.seq - 0.5 : 0,
        session: this.id,
        t: at?.t ?? this.summary.openedAt,
        kind: 'skipped',
        dir: 'm',
        text: `${this.skipped} lines not kept here (the lab keeps the first ${HEAD_LINES} and the most recent ${this.tailMax} lines of a session)`,
        skipped: this.skipped,
      });
    }
    out.push(...tail);
    return out;
  }

  /** The kept line with this event number (lines are kept in event order: a binary search of the tail). */
  lineBySeq(seq: number): LineData | undefined {
    for (const l of this.head) if (l.seq === seq) return l;
    let lo = this.tailStart;
    let hi = this.tail.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.tail[mid].seq;
      if (s === seq) return this.tail[mid];
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** The newest line's event number (0 when none). */
  get lastSeq(): number {
    const t = this.tail.length > this.tailStart ? this.tail[this.tail.length - 1] : this.head[this.head.length - 1];
    return t?.seq ?? 0;
  }
}
