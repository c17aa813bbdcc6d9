// A session's view of its selected mailbox: sequence numbers, \Recent, and the changes other
// sessions and deliveries made that this client has not been told about yet. Changes are queued as
// they happen and reported only when the session flushes them, at the moments RFC 3501 allows
// (section 7.4.1: never an EXPUNGE during FETCH, STORE or SEARCH by sequence number, section 5.5).
import { formatSet } from './sequence-set.js';
import type { FolderChangeEvent, ImapFolder, StoredMessage } from './store-port.js';

/** Fewer UIDs than this leave the view one splice at a time; more go in one pass (removeFromView). */
const REMOVE_ONE_BY_ONE = 32;

/** The system flags every mailbox permits (RFC 3501 section 2.3.2), as FLAGS and PERMANENTFLAGS list them. */
export const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

export class SelectedMailbox {
  /**
   * Messages in sequence order (sequence number n is messages[n-1]) and their UIDs. Both arrays may
   * be shared with other sessions that selected the same unchanged folder (the adapter caches the
   * snapshot): they are copied before this view changes them (copy-on-write), so 200 sessions
   * idling on a 10,000-message INBOX hold one copy, not 200.
   */
  messages: StoredMessage[];
  uids: number[];
  private shared = true;
  readonly uidValidity: number;
  /** UIDs this session holds \Recent for. */
  readonly recent = new Set<number>();
  private pending: FolderChangeEvent[] = [];
  /** Every keyword of the folder, set when a change defined new ones the client has not been told of. */
  private keywordsChanged: readonly string[] | undefined;
  private readonly unwatch: () => void;
  gone = false;
  /** Called when a change is queued (IDLE pushes at once). */
  onChange: (() => void) | undefined;
  /** Client-visible EXISTS count last reported. */
  private reportedExists: number;
  /** RFC 7162 HIGHESTMODSEQ as far as this session applied the folder's changes. */
  highestModseq: number;
  /**
   * Bumped whenever a message enters the view, leaves it or is replaced (a flag change): the live
   * search contexts skip their check when it has not moved since the last one.
   */
  version = 0;

  private constructor(
    readonly folder: ImapFolder,
    readonly readOnly: boolean,
    private readonly origin: unknown,
    opened: Awaited<ReturnType<ImapFolder['open']>>,
    pending: FolderChangeEvent[],
  ) {
    const snap = opened.snapshot;
    this.unwatch = opened.unwatch;
    for (const c of pending) this.queue(c);
    this.messages = snap.messages as StoredMessage[];
    this.uids = snap.uids ?? this.messages.map((m) => m.uid);
    this.uidValidity = snap.uidValidity;
    this.uidNextAtSelect = snap.uidNext;
    this.reportedExists = this.messages.length;
    this.highestModseq = snap.highestModseq;
    for (const u of opened.recent) this.recent.add(u);
  }

  /** SELECT/EXAMINE: the snapshot and the watcher are taken together by the store. */
  static async open(folder: ImapFolder, readOnly: boolean, origin: unknown): Promise<SelectedMailbox> {
    const early: FolderChangeEvent[] = [];
    let view: SelectedMailbox | undefined; // eslint-disable-line prefer-const -- read by the callback before it is set
    const opened = await folder.open((c) => {
      if (!view) {
        early.push(c);
        return;
      }
      view.queue(c);
    }, !readOnly);
    view = new SelectedMailbox(folder, readOnly, origin, opened, early);
    return view;
  }

  readonly uidNextAtSelect: number;

  get exists(): number {
    return this.messages.length;
  }

  get hasPending(): boolean {
    return this.pending.length > 0 || this.keywordsChanged !== undefined;
  }

  private queue(c: FolderChangeEvent): void {
    if (c.kind === 'exists' || c.kind === 'flags') {
      if (c.keywords !== undefined && c.newKeywords !== undefined && c.newKeywords.length > 0) this.keywordsChanged = c.keywords;
      // A change that only defined keywords (the operation failed afterwards) names no message.
      if (c.messages.length > 0) this.pending.push(c);
    } else this.pending.push(c);
    this.onChange?.();
  }

  close(): void {
    this.unwatch();
    this.pending = [];
    this.onChange = undefined;
  }

  /** Sequence number (1-based) of a UID, or 0. Binary search: uids are ascending. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid];
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Makes the arrays this view's own before changing them. */
  private own(): void {
    if (!this.shared) return;
    this.messages = this.messages.slice();
    this.uids = this.uids.slice();
    this.shared = false;
  }

  /**
   * Takes these UIDs out of the view and calls `each(uid, seq)` for every one that was in it, with the
   * sequence number it has at that moment (RFC 3501 section 7.4.1: each EXPUNGE is valid when sent).
   * A few go one by one, in the order given; many (a big EXPUNGE) go in one pass in ascending order,
   * where one splice each would cost the length of the mailbox per message.
   */
  private removeFromView(uids: readonly number[], each: (uid: number, seq: number) => void): void {
    if (uids.length < REMOVE_ONE_BY_ONE) {
      for (const uid of uids) {
        const seq = this.seqOf(uid);
        if (seq === 0) continue;
        this.own();
        this.messages.splice(seq - 1, 1);
        this.uids.splice(seq - 1, 1);
        this.version++;
        each(uid, seq);
      }
      return;
    }
    const drop = new Set(uids);
    this.own();
    let kept = 0;
    for (let i = 0; i < this.uids.length; i++) {
      const uid = this.uids[i];
      // Those before it are gone already: its number is its position among those left.
      if (drop.has(uid)) each(uid, kept + 1);
      else {
        this.uids[kept] = uid;
        this.messages[kept] = this.messages[i];
        kept++;
      }
    }
    if (kept < this.uids.length) this.version++;
    this.uids.length = kept;
    this.messages.length = kept;
  }

  /** Replaces a message's metadata in place (our own STORE, a flag change seen at flush). */
  update(m: StoredMessage): number {
    const seq = this.seqOf(m.uid);
    if (seq > 0 && this.messages[seq - 1] !== m) {
      this.own();
      this.messages[seq - 1] = m;
      this.version++;
    }
    return seq;
  }

  /**
   * Applies queued changes and returns the untagged responses to send. With `allowExpunge` false
   * (FETCH/STORE/SEARCH by sequence number) expunges and everything after them stay queued, so
   * sequence numbers do not move under the client.
   *
   * Every response names only sequence numbers the client knows (RFC 3501 sections 2.3.1.2, 5.2 and
   * 7.4.1; RFC 9051 the same): a flag change of a message that arrived since the last EXISTS is
   * preceded by the new EXISTS, and a message that arrived and vanished again before the client was
   * told of it is dropped without an EXPUNGE. Keywords another session defined come first, as an
   * untagged FLAGS and PERMANENTFLAGS (section 7.2.6), before any FETCH that uses them. With
   * `vanished` expunges go out as VANISHED (QRESYNC); with `recent` false no RECENT is sent.
   */
  flush(allowExpunge: boolean, flagsFor: (m: StoredMessage, seq: number) => string, vanished = false, recent = true): string[] {
    const out: string[] = [];
    // QRESYNC (RFC 7162 section 3.2.10.2): expunges go out as VANISHED UID sets, one line per change.
    const gone: number[] = [];
    const vanish = (): void => {
      if (gone.length > 0) out.push(`* VANISHED ${formatSet(gone.sort((a, b) => a - b))}`);
      gone.length = 0;
    };
    this.flagsLines(out);
    let grew = false;
    const announce = (): void => {
      if (grew && !this.readOnly) for (const u of this.folder.claimRecent()) this.recent.add(u);
      out.push(`* ${this.messages.length} EXISTS`);
      // RFC 9051 appendix E item 12: no RECENT responses to an IMAP4rev2 session (`recent` false).
      if (grew && recent) out.push(`* ${this.recentInView()} RECENT`);
      this.reportedExists = this.messages.length;
      grew = false;
    };
    // The newest state of each message with queued flag changes. Changes interleave: another
    // session's older change can sit in the queue before our own newer STORE (whose answer already
    // showed the newer flags), so reporting each change as it was would leave the client with the
    // older flags (imaptest's checkpoint: "keywords differ"). Every report uses the newest state, also
    // from changes still queued behind an expunge.
    const latest = new Map<number, StoredMessage>();
    for (const c of this.pending) if (c.kind === 'flags') for (const m of c.messages) latest.set(m.uid, m);
    const changed = new Set<number>();
    const reportFlags = (): void => {
      for (const uid of changed) {
        const m = latest.get(uid)!;
        const seq = this.update(m);
        if (seq === 0) continue;
        // The client learns of the message first (the EXISTS), then of its flags.
        if (seq > this.reportedExists) announce();
        out.push(`* ${seq} FETCH (${flagsFor(m, seq)})`);
      }
      changed.clear();
    };
    while (this.pending.length > 0) {
      const c = this.pending[0];
      if (c.kind === 'expunge' && !allowExpunge) break;
      // Flag reports go out before an expunge moves the sequence numbers they were computed for.
      if (c.kind === 'expunge' || c.kind === 'gone') reportFlags();
      this.pending.shift();
      switch (c.kind) {
        case 'gone':
          this.gone = true;
          break;
        case 'exists':
          for (const m of c.messages) {
            if (m.modseq > this.highestModseq) this.highestModseq = m.modseq;
            const last = this.uids[this.uids.length - 1] ?? 0;
            if (m.uid > last) {
              this.own();
              this.messages.push(latest.get(m.uid) ?? m);
              this.uids.push(m.uid);
              this.version++;
              grew = true;
            }
          }
          break;
        case 'flags':
          for (const m of c.messages) {
            if (m.modseq > this.highestModseq) this.highestModseq = m.modseq;
            if (this.seqOf(m.uid) === 0) continue;
            // Another session's change is reported; our own STORE answered for itself.
            if (c.origin !== this.origin) changed.add(m.uid);
            else this.update(latest.get(m.uid) ?? m);
          }
          break;
        case 'expunge': {
          if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
          // Each number is valid at the time it is sent (section 7.4.1): the view shrinks as we go.
          // Also a \Recent claimed for a message whose EXISTS was still queued.
          for (const uid of c.uids) this.recent.delete(uid);
          this.removeFromView(c.uids, (uid, seq) => {
            // A message the client was never told about leaves as silently as it came.
            if (seq > this.reportedExists) return;
            this.reportedExists--;
            if (vanished) gone.push(uid);
            else out.push(`* ${seq} EXPUNGE`);
          });
          vanish();
          break;
        }
      }
    }
    reportFlags();
    // A message that arrived and went again changes nothing the client knows: no EXISTS.
    if (this.reportedExists !== this.messages.length) announce();
    return out;
  }

  /**
   * How many messages the client knows hold \Recent for this session (RFC 3501 section 7.3.2: never
   * more than EXISTS). Claiming takes every message the folder has not given to a session yet, also
   * those whose EXISTS is still queued behind an expunge; they count once they are announced.
   */
  private recentInView(): number {
    let n = 0;
    for (const u of this.recent) if (this.seqOf(u) > 0) n++;
    return n;
  }

  /** SELECT listed every keyword the folder has now: nothing queued is news any more. */
  keywordsReported(): void {
    this.keywordsChanged = undefined;
  }

  /**
   * The untagged FLAGS and PERMANENTFLAGS for keywords defined since the client last heard (by this
   * session too: its own STORE sends them before the FETCH responses that use the keyword). They
   * name no message, so they may be sent at any time, expunges queued or not.
   */
  flagsLines(out: string[]): void {
    const kw = this.keywordsChanged;
    if (kw === undefined) return;
    this.keywordsChanged = undefined;
    const flags = [SYSTEM_FLAGS, ...kw].join(' ');
    out.push(`* FLAGS (${flags})`);
    out.push(this.readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox' : `* OK [PERMANENTFLAGS (${flags} \\*)] Flags permitted`);
  }

  /** Removes messages this session expunged itself; returns the EXPUNGE (or with `vanished`, VANISHED) responses. */
  removeOwn(uids: readonly number[], vanished = false): string[] {
    const out: string[] = [];
    const gone: number[] = [];
    this.removeFromView(uids, (uid, seq) => {
      this.recent.delete(uid);
      if (vanished) gone.push(uid);
      else out.push(`* ${seq} EXPUNGE`);
    });
    if (gone.length > 0) out.push(`* VANISHED ${formatSet(gone.sort((a, b) => a - b))}`);
    this.reportedExists = this.messages.length;
    // Our own expunge is also queued by the store: drop those UIDs from the queue.
    const own = new Set(uids);
    this.pending = this.pending.filter((c) => {
      if (!(c.kind === 'expunge' && c.uids.every((u) => own.has(u)))) return true;
      if (c.modseq > this.highestModseq) this.highestModseq = c.modseq;
      return false;
    });
    return out;
  }
}
