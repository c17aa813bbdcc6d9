// The replay window: every item the lab streams (a line, a session update, a DHCP packet...) gets the
// next event number and stays here, in order, until the window is full (by count or by octets). A
// browser that reconnects with the last number it saw gets exactly the items after it; one whose
// number is older than the window gets a gap marker and a fresh snapshot.
import type { LineData, SessionSummary, Viewer } from './wire.js';
import { sseFrame } from './sse.js';
import { encodeBatch, encodeLineBody, encodeSummaryBody, type BatchItem } from './wire-codec.js';

export interface HistoryItem {
  seq: number;
  /** The server-sent event name. */
  type: string;
  /** Whether a viewer may see it (evaluated when it is sent, so a session that changed owner is judged now). */
  visible: (v: Viewer) => boolean;
  data: unknown;
  /**
   * The item's entry in a batch (wire-codec.ts: a line's or a session summary's body, else
   * `["type",data]`), built once and shared by every stream's batches.
   */
  entry?: string;
  /** Lines, session summaries and `forget`: the session (set with `entry`). */
  session?: string;
  /** Lines: the time (set with `entry`). */
  t?: number;
  /** Octets counted against the window's budget. */
  size: number;
}

export class History {
  private items: Array<HistoryItem | undefined> = [];
  private head = 0;
  private bytes = 0;
  /** The last event number handed out. */
  seq = 0;

  constructor(
    private readonly maxItems: number,
    /** The window's octet budget. */
    readonly maxOctets: number,
    /** Prefix of every event id: a browser holding ids of an earlier process starts afresh. */
    readonly epoch: string,
  ) {}

  /** Appends an item with the next event number. */
  add(type: string, data: unknown, visible: (v: Viewer) => boolean, size: number): HistoryItem {
    const item: HistoryItem = { seq: ++this.seq, type, visible, data, size };
    this.items.push(item);
    this.bytes += size;
    while (this.items.length - this.head > this.maxItems || (this.bytes > this.maxOctets && this.items.length - this.head > 1)) {
      const old = this.items[this.head]!;
      this.bytes -= old.size + (old.entry?.length ?? 0);
      this.items[this.head] = undefined;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The oldest event number still kept (seq + 1 when empty). */
  get firstSeq(): number {
    return this.items[this.head]?.seq ?? this.seq + 1;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get octets(): number {
    return this.bytes;
  }

  /** The item with this number, if kept. */
  at(seq: number): HistoryItem | undefined {
    const first = this.firstSeq;
    if (seq < first || seq > this.seq) return undefined;
    return this.items[this.head + (seq - first)];
  }

  /** The item's batch entry (built on first use, then counted against the budget). */
  entry(item: HistoryItem): string {
    if (item.entry === undefined) {
      if (item.type === 'line') {
        const l = item.data as LineData;
        item.session = l.session;
        item.t = l.t;
        item.entry = encodeLineBody(l);
      } else if (item.type === 'session') {
        const s = item.data as SessionSummary;
        item.session = s.id;
        item.entry = encodeSummaryBody(s);
      } else {
        const id = item.type === 'forget' ? (item.data as { id?: unknown } | null)?.id : undefined;
        if (typeof id === 'string') item.session = id;
        item.entry = `[${JSON.stringify(item.type)},${JSON.stringify(item.data)}]`;
      }
      this.bytes += item.entry.length;
    }
    return item.entry;
  }

  /**
   * One `batch` event carrying these items in order; its id is `cursor` (the newest event the stream
   * has now been given or judged not visible), so a reconnect resumes right after it. A batch is
   * dispatched by the browser only when complete: a connection cut in the middle loses the whole
   * batch, which the reconnect then replays; nothing arrives twice.
   */
  batch(items: readonly HistoryItem[], cursor: number): string {
    for (const i of items) this.entry(i);
    return sseFrame('batch', encodeBatch(items as readonly BatchItem[]), this.id(cursor));
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
}
