// The replay window: every item the lab streams (a line, a session update, a DHCP packet...) gets the
// next event number and stays here, in order, until the window is full (by count or by octets). A
// browser that reconnects with the last number it saw gets exactly the items after it; one whose
// number is older than the window gets a gap marker and a fresh snapshot.
//
// Kept off the JS heap (slab-store.ts): an item's batch entry (wire-codec.ts) is encoded once, when it
// is added, into pool blocks; per item the window keeps numbers in typed arrays (type, time, offset,
// length, weight) and two references to objects that outlive it anyway (its visibility test, shared by
// a session's items, and its session id). Session summaries are the exception: the item refers to the
// session's summary object and is encoded when sent, so the batches of a moment carry the summary as
// it is then (one per session per batch, see encodeBatch). Batches are written as octets straight
// from the blocks (BatchWriter): no string or object per item is made to send it.
import type { LineData, SessionSummary, Viewer } from './wire.js';
import { BlockLog, encodeLine, encodeUtf8, scratch, settleScratch, SlabPool } from './slab-store.js';
import { encodeSummaryBody } from './wire-codec.js';

/** What add() hands back: the item's event number and its visibility test. */
export interface HistoryItem {
  seq: number;
  /** The server-sent event name. */
  type: string;
  /** Whether a viewer may see it (evaluated when it is sent, so a session that changed owner is judged now). */
  visible: (v: Viewer) => boolean;
  /** The data as added (the window does not keep this object: see the top of this file). */
  data: unknown;
}

/** Type codes of the items the window knows by shape; others get codes as they come. */
const T_LINE = 0;
const T_SESSION = 1;
const T_FORGET = 2;
/** At most this many item types (the hub's own names, not client input). */
const MAX_TYPES = 256;

const INITIAL_SLOTS = 1024;

export class History {
  private readonly log: BlockLog;
  // The ring: capacity a power of two, grown by doubling up to what maxItems needs.
  private cap = INITIAL_SLOTS;
  private types = new Uint8Array(INITIAL_SLOTS);
  /** Per item: time (lines), offset and length of its encoding (length 0: a summary, encoded when sent), weight. */
  private meta = new Float64Array(4 * INITIAL_SLOTS);
  private visibles: Array<((v: Viewer) => boolean) | undefined> = new Array<undefined>(INITIAL_SLOTS).fill(undefined);
  /** Lines, summaries and `forget`: the session id (the session's own string); summaries: the summary in refs. */
  private sids: Array<string | undefined> = new Array<undefined>(INITIAL_SLOTS).fill(undefined);
  private refs: Array<SessionSummary | undefined> = new Array<undefined>(INITIAL_SLOTS).fill(undefined);
  private first = 0;
  private count = 0;
  private bytes = 0;
  /** See hold(). */
  private holdFrom = 0;
  private readonly typeNames: string[] = ['line', 'session', 'forget'];
  private readonly typeCodes = new Map<string, number>([
    ['line', T_LINE],
    ['session', T_SESSION],
    ['forget', T_FORGET],
  ]);
  private readonly writer = new BatchWriter();
  /** The last event number handed out. */
  seq = 0;

  constructor(
    private readonly maxItems: number,
    /** The window's octet budget. */
    readonly maxOctets: number,
    /** Prefix of every event id: a browser holding ids of an earlier process starts afresh. */
    readonly epoch: string,
    pool: SlabPool = new SlabPool(),
  ) {
    this.log = new BlockLog(pool);
  }

  /**
   * Appends an item with the next event number. `size` is its weight against the octet budget, to
   * which its encoding's octets are added. A line's data is a LineData, a session's the summary (kept
   * by reference, encoded when sent); anything else is encoded now as `["type",data]`.
   */
  add(type: string, data: unknown, visible: (v: Viewer) => boolean, size: number): HistoryItem {
    const code = this.code(type);
    if (code === T_LINE) {
      const l = data as LineData;
      const n = encodeLine(l);
      this.addEncoded(T_LINE, l.t, scratch(), n, visible, l.session, undefined, size);
    } else if (code === T_SESSION) {
      const s = data as SessionSummary;
      this.addEncoded(T_SESSION, 0, scratch(), 0, visible, s.id, s, size);
    } else {
      const id = code === T_FORGET ? (data as { id?: unknown } | null)?.id : undefined;
      const n = encodeUtf8(`[${JSON.stringify(type)},${JSON.stringify(data)}]`);
      this.addEncoded(code, 0, scratch(), n, visible, typeof id === 'string' ? id : undefined, undefined, size);
      settleScratch();
    }
    return { seq: this.seq, type, visible, data };
  }

  /** Appends a session's summary (kept by reference, encoded when sent), as add('session', ...) does; returns its event number. */
  addSummary(s: SessionSummary, visible: (v: Viewer) => boolean, size: number): number {
    this.addEncoded(T_SESSION, 0, scratch(), 0, visible, s.id, s, size);
    return this.seq;
  }

  /**
   * Appends a line already encoded (encodeLine: octets[0, length)): the hub encodes a line
   * once for the window and the session's transcript. Returns its event number.
   */
  addLine(t: number, octets: Uint8Array, length: number, visible: (v: Viewer) => boolean, session: string, size: number): number {
    this.addEncoded(T_LINE, t, octets, length, visible, session, undefined, size);
    return this.seq;
  }

  private addEncoded(
    code: number,
    t: number,
    octets: Uint8Array,
    length: number,
    visible: (v: Viewer) => boolean,
    sid: string | undefined,
    ref: SessionSummary | undefined,
    size: number,
  ): void {
    if (this.count === this.cap) this.grow();
    const k = (this.first + this.count) & (this.cap - 1);
    const off = length > 0 ? this.log.append(octets, 0, length) : this.log.end;
    this.types[k] = code;
    this.meta[4 * k] = t;
    this.meta[4 * k + 1] = off;
    this.meta[4 * k + 2] = length;
    this.meta[4 * k + 3] = size + length;
    this.visibles[k] = visible;
    this.sids[k] = sid;
    this.refs[k] = ref;
    this.count++;
    this.seq++;
    this.bytes += size + length;
    this.trim();
  }

  /**
   * Items from `seq` on stay until unhold(), past the window's bounds if need be (up to twice its
   * octets): the hub's items not yet flushed, which every live stream is sent even if a flood pushes
   * them out of the window before the flush (a busy event loop can hold a flush back for tens of
   * thousands of items; past twice the octets, the streams get a gap marker).
   */
  hold(seq: number): void {
    if (this.holdFrom === 0) this.holdFrom = seq;
  }

  unhold(): void {
    this.holdFrom = 0;
    this.trim();
  }

  /** Evicts the oldest items while the window is over its bounds (see hold). */
  private trim(): void {
    let evicted = false;
    while (this.count > this.maxItems || (this.bytes > this.maxOctets && this.count > 1)) {
      if (this.holdFrom !== 0 && this.firstSeq >= this.holdFrom && this.bytes <= 2 * this.maxOctets) break;
      const j = this.first;
      this.bytes -= this.meta[4 * j + 3];
      this.visibles[j] = undefined;
      this.sids[j] = undefined;
      this.refs[j] = undefined;
      this.first = (this.first + 1) & (this.cap - 1);
      this.count--;
      evicted = true;
    }
    // Items are encoded in event order: everything before the oldest kept item's offset is let go.
    if (evicted) this.log.dropTo(this.meta[4 * this.first + 1]);
  }

  /** The oldest event number still kept (seq + 1 when empty). */
  get firstSeq(): number {
    return this.seq - this.count + 1;
  }

  get length(): number {
    return this.count;
  }

  get octets(): number {
    return this.bytes;
  }

  private slot(seq: number): number {
    return (this.first + (seq - this.firstSeq)) & (this.cap - 1);
  }

  /** Whether the item with this number is kept. */
  has(seq: number): boolean {
    return seq >= this.firstSeq && seq <= this.seq;
  }

  /** The event name of a kept item. */
  typeAt(seq: number): string {
    return this.typeNames[this.types[this.slot(seq)]];
  }

  /** Whether a kept item is a line / a session summary. */
  isLine(seq: number): boolean {
    return this.types[this.slot(seq)] === T_LINE;
  }

  isSummary(seq: number): boolean {
    return this.types[this.slot(seq)] === T_SESSION;
  }

  /** Whether a viewer may see a kept item (judged now). */
  visibleAt(seq: number, v: Viewer): boolean {
    return this.visibles[this.slot(seq)]!(v);
  }

  /** A kept line's, summary's or `forget`'s session id. */
  sessionAt(seq: number): string | undefined {
    return this.sids[this.slot(seq)];
  }

  /** A kept summary item's summary (as it is now). */
  summaryAt(seq: number): SessionSummary | undefined {
    return this.refs[this.slot(seq)];
  }

  /** Octets of a kept item's entry in a batch (a summary's: an estimate, it is encoded when sent). */
  entryOctets(seq: number): number {
    const k = this.slot(seq);
    return this.types[k] === T_SESSION ? 200 : this.meta[4 * k + 2];
  }

  /** A kept item's entry in a batch, as text (tests, tools; the hub sends octets, see frame). */
  entry(seq: number): string {
    const k = this.slot(seq);
    if (this.types[k] === T_SESSION) return encodeSummaryBody(this.refs[k]!);
    return this.log.text(this.meta[4 * k + 1], this.meta[4 * k + 2]);
  }

  /**
   * One `batch` event carrying these kept items (their numbers, in order: seqs[0, n)) as octets; its
   * id is `cursor` (the newest event the stream has now been given or judged not visible), so a
   * reconnect resumes right after it. A batch is dispatched by the browser only when complete: a
   * connection cut in the middle loses the whole batch, which the reconnect then replays; nothing
   * arrives twice. The octets are the same as sseFrame('batch', encodeBatch(...), id(cursor)).
   */
  frame(seqs: ArrayLike<number>, n: number, cursor: number): Buffer {
    const w = this.writer;
    w.begin(this.id(cursor));
    for (let i = 0; i < n; i++) {
      const seq = seqs[i];
      const k = this.slot(seq);
      const code = this.types[k];
      if (code === T_LINE) {
        const o = w.lineHead(seq, this.meta[4 * k], this.sids[k]!, this.meta[4 * k + 2]);
        this.log.copy(this.meta[4 * k + 1], this.meta[4 * k + 2], w.buf, o);
        w.lineEnd(this.meta[4 * k + 2]);
      } else if (code === T_SESSION) w.summary(this.refs[k]!);
      else {
        if (code === T_FORGET) w.forget(this.sids[k]);
        const len = this.meta[4 * k + 2];
        const o = w.raw(len);
        this.log.copy(this.meta[4 * k + 1], len, w.buf, o);
      }
    }
    return w.finish();
  }

  /** frame() of these items as text (tests and tools). */
  batch(items: readonly HistoryItem[], cursor: number): string {
    return this.frame(
      items.map((i) => i.seq),
      items.length,
      cursor,
    ).toString('utf8');
  }

  /** The SSE id of an event number: epoch.seq. */
  id(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  /** The event number in an id this process issued; undefined for another process's (or garbage). */
  parseId(id: string | undefined): number | undefined {
    if (!id) return undefined;
    const dot = id.indexOf('.');
    if (dot < 0 || id.slice(0, dot) !== this.epoch) return undefined;
    const n = Number(id.slice(dot + 1));
    return Number.isSafeInteger(n) && n >= 0 && n <= this.seq ? n : undefined;
  }

  private code(type: string): number {
    let c = this.typeCodes.get(type);
    if (c === undefined) {
      if (this.typeNames.length >= MAX_TYPES) throw new Error(`more than ${MAX_TYPES} lab item types`);
      c = this.typeNames.length;
      this.typeNames.push(type);
      this.typeCodes.set(type, c);
    }
    return c;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const types = new Uint8Array(cap);
    const meta = new Float64Array(4 * cap);
    const visibles = new Array<((v: Viewer) => boolean) | undefined>(cap).fill(undefined);
    const sids = new Array<string | undefined>(cap).fill(undefined);
    const refs = new Array<SessionSummary | undefined>(cap).fill(undefined);
    for (let i = 0; i < this.count; i++) {
      const k = (this.first + i) & (this.cap - 1);
      types[i] = this.types[k];
      meta.set(this.meta.subarray(4 * k, 4 * k + 4), 4 * i);
      visibles[i] = this.visibles[k];
      sids[i] = this.sids[k];
      refs[i] = this.refs[k];
    }
    this.cap = cap;
    this.types = types;
    this.meta = meta;
    this.visibles = visibles;
    this.sids = sids;
    this.refs = refs;
    this.first = 0;
  }
}

/**
 * Writes a `batch` frame as octets into a buffer reused from one batch to the next, the way
 * encodeBatch writes its text: lines as `[0,dseq,dt,sid,body]` (sid the session id the first time, then
 * its number in the batch), summaries as `[1,body]` (one unchanged repeat of a session's summary is
 * left out unless a `forget` of it came between), anything else as its entry.
 */
export class BatchWriter {
  buf = Buffer.allocUnsafeSlow(64 * 1024);
  private pos = 0;
  private first = true;
  private seq = 0;
  private t = 0;
  private readonly sids = new Map<string, number>();
  private readonly summaries = new Map<string, string>();

  begin(id: string): void {
    this.pos = 0;
    this.first = true;
    this.seq = 0;
    this.t = 0;
    this.sids.clear();
    this.summaries.clear();
    this.text(`event: batch\nid: ${id}\ndata: [`);
  }

  /** Writes a line's position; returns where its `length` octets of body go (lineEnd follows). */
  lineHead(seq: number, t: number, session: string, length: number): number {
    const ref = this.sids.get(session);
    if (ref === undefined) this.sids.set(session, this.sids.size);
    this.sep();
    this.text(`[0,${seq - this.seq},${t - this.t},${ref ?? JSON.stringify(session)},`);
    this.seq = seq;
    this.t = t;
    this.room(length + 1);
    const at = this.pos;
    this.pos += length;
    return at;
  }

  lineEnd(_length: number): void {
    this.buf[this.pos++] = 0x5d; // ]
  }

  summary(s: SessionSummary): void {
    const entry = encodeSummaryBody(s);
    if (this.summaries.get(s.id) === entry) return;
    this.summaries.set(s.id, entry);
    if (!this.sids.has(s.id)) this.sids.set(s.id, this.sids.size);
    this.sep();
    this.text(`[1,${entry}]`);
  }

  /** The viewer drops the session here: a summary after this one must not be taken for a repeat. */
  forget(session: string | undefined): void {
    if (session !== undefined) this.summaries.delete(session);
  }

  /** Room for an entry of `length` octets, written by the caller at the offset returned. */
  raw(length: number): number {
    this.sep();
    this.room(length);
    const at = this.pos;
    this.pos += length;
    return at;
  }

  /** The frame's octets, in a Buffer of their own. */
  finish(): Buffer {
    this.text(']\n\n');
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafeSlow(64 * 1024);
    return out;
  }

  private sep(): void {
    if (this.first) this.first = false;
    else {
      this.room(1);
      this.buf[this.pos++] = 0x2c; // ,
    }
  }

  private text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
}
