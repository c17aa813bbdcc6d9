// lab.mail.waitFor: resolves once `count` messages matching a query are in the store, counting the
// ones delivered before the call. No race: the waiter subscribes to deliveries first and scans the
// folders in scope after, so a message delivered at any moment is seen by the scan, by the
// notification, or by both (kept once, by folder and UID). Each folder is scanned incrementally from
// the UID it reached last time, so waiting for the 1,000th message does not re-read the first 999.
import type { MailStore, MessageInfo } from '../mail-store/index.js';
import type { MessageMatcher } from './match.js';

export interface Located {
  user: string;
  folder: string;
  info: MessageInfo;
}

export interface WaitResult {
  /** The clock ran out before `count` messages matched. */
  timedOut: boolean;
  matched: Located[];
  /** Messages in scope that arrived while waiting and did not match (newest last, at most 20). */
  others: Located[];
}

interface Cursor {
  uidValidity: number;
  next: number;
}

const MAX_OTHERS = 20;

export class Waiter {
  private readonly matched = new Map<string, Located>();
  private readonly others: Located[] = [];
  private readonly cursors = new Map<string, Cursor>();
  private dirty = new Map<string, { user: string; folder: string }>();
  private scanning = false;
  private done = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resolve!: (r: WaitResult) => void;
  private reject!: (e: unknown) => void;
  private failure: unknown;
  readonly result: Promise<WaitResult>;

  constructor(
    private readonly store: MailStore,
    private readonly matcher: MessageMatcher,
    private readonly count: number,
    private readonly isMatch: (loc: Located) => Promise<boolean>,
    /** Called for each match as it is found (the caller starts parsing it while the wait goes on). */
    private readonly onMatch: (loc: Located) => void = () => {},
  ) {
    this.result = new Promise<WaitResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /**
   * Subscribes to deliveries and starts the clock. The caller then lists the folders in scope and
   * `mark`s each: whatever is delivered meanwhile is already being watched for.
   */
  start(timeoutMs: number): Promise<WaitResult> {
    const scope = this.matcher.scope;
    this.unsubscribe = this.store.onDelivery((notice) => {
      for (const t of notice.targets) {
        if (scope.users !== undefined && !scope.users.includes(t.user)) continue;
        if (scope.folder !== '*' && t.folder !== scope.folder) continue;
        this.mark(t.user, t.folder);
      }
    });
    this.timer = setTimeout(() => this.finish(true), timeoutMs);
    return this.result;
  }

  /** Stops waiting with an error (the caller could not list the folders). */
  cancel(err: unknown): void {
    this.failure = err;
    this.finish(false);
  }

  /** Scans a folder (again) from where it stopped last time. */
  mark(user: string, folder: string): void {
    if (this.done) return;
    this.dirty.set(`${user}\u0000${folder}`, { user, folder });
    if (!this.scanning) void this.scan();
  }

  private async scan(): Promise<void> {
    this.scanning = true;
    try {
      while (this.dirty.size > 0 && !this.done) {
        const batch = [...this.dirty.entries()];
        this.dirty = new Map();
        for (const [key, { user, folder }] of batch) {
          if (this.done) return;
          await this.scanFolder(key, user, folder);
        }
        this.check();
      }
    } catch (err) {
      this.failure = err;
      this.finish(false);
    } finally {
      this.scanning = false;
    }
  }

  private async scanFolder(key: string, user: string, folder: string): Promise<void> {
    // INBOX would be created by opening it: a mailbox that does not exist yet has nothing to scan
    // (its first delivery notifies us). Checked once per folder: the file system's thread pool is
    // busy with the deliveries' fsyncs.
    let cursor = this.cursors.get(key);
    if (!cursor && !(await this.store.hasMailbox(user))) return;
    let f;
    try {
      f = await this.store.openFolder(user, folder);
    } catch {
      return; // no such folder (yet), or it went away
    }
    cursor = this.cursors.get(key);
    if (!cursor || cursor.uidValidity !== f.uidValidity) {
      cursor = { uidValidity: f.uidValidity, next: 1 };
      this.cursors.set(key, cursor);
    }
    // UIDs up to uidNext may be assigned and not visible yet (a delivery batch runs right after the
    // lock was let go, and makes its messages visible only once its UIDs are durable). Visible UIDs
    // only grow, so the scan resumes after the last one it saw, never at uidNext.
    const end = f.uidNext;
    const found: Located[] = [];
    let last = cursor.next - 1;
    for (let uid = cursor.next; uid < end; uid++) {
      const info = f.get(uid);
      if (info) {
        found.push({ user, folder, info });
        last = uid;
      }
    }
    cursor.next = last + 1;
    for (const loc of found) {
      if (this.done) return;
      if (this.matcher.index(loc.info) && (!this.matcher.deep || (await this.isMatch(loc)))) {
        const id = `${key}\u0000${f.uidValidity}\u0000${loc.info.uid}`;
        if (!this.matched.has(id)) this.onMatch(loc);
        this.matched.set(id, loc);
      } else {
        this.others.push(loc);
        if (this.others.length > MAX_OTHERS) this.others.shift();
      }
    }
  }

  private check(): void {
    if (!this.done && this.matched.size >= this.count) this.finish(false);
  }

  private sorted(): Located[] {
    return [...this.matched.values()].sort(byArrival);
  }

  private finish(timedOut: boolean): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.failure !== undefined) this.reject(this.failure);
    else this.resolve({ timedOut, matched: this.sorted(), others: [...this.others] });
  }
}

/** Arrival order: internal date, then mailbox, folder and UID (deterministic for equal times). */
export function byArrival(a: Located, b: Located): number {
  return a.info.internalDate - b.info.internalDate || a.user.localeCompare(b.user) || a.folder.localeCompare(b.folder) || a.info.uid - b.info.uid;
}
