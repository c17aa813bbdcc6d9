// The maildrop as one POP3 session sees it (RFC 1939 section 4 and 5): the messages present at login,
// numbered from 1 with their sizes, fixed for the whole session even if new mail arrives; deletion
// marks that only the UPDATE state applies.
import { POP3_LIMITS } from './limits.js';
import { Pop3Error, quoteable } from './replies.js';

export interface MaildropEntry {
  /** The store's stable unique name for the message (the UIDL value, RFC 1939 section 7). */
  uid: string;
  /** Exact octets as they will be sent in RETR (CRLF line endings), before dot-stuffing. */
  size: number;
}

/** A message's octets: a whole buffer, or chunks for one too big to hold at once. */
export type MessageContent = { kind: 'buffer'; data: Buffer } | { kind: 'stream'; chunks: AsyncIterable<Buffer> };

/** What POP3 needs from the mail store. */
export interface MaildropStore<E extends MaildropEntry = MaildropEntry> {
  /** The user's messages, oldest first, as they are now. */
  list(user: string): Promise<E[]>;
  /** The message's octets. Rejects if the message is gone. */
  read(user: string, entry: E): Promise<MessageContent>;
  /** Removes the messages; resolves with how many could not be removed. */
  remove(user: string, entries: readonly E[]): Promise<{ failed: number }>;
  /**
   * The exclusive maildrop lock (RFC 1939 section 4), taken for `owner`: a release function, or
   * undefined when another session holds it.
   */
  lock(user: string, owner: unknown): (() => void) | undefined;
  /** The owner holding the user's lock, if any. */
  holder(user: string): unknown;
}

export class Maildrop<E extends MaildropEntry = MaildropEntry> {
  private readonly deleted: Uint8Array;
  private liveCount: number;
  private liveSize: number;

  constructor(
    readonly user: string,
    readonly entries: readonly E[],
  ) {
    this.deleted = new Uint8Array(entries.length);
    this.liveCount = entries.length;
    this.liveSize = entries.reduce((n, e) => n + e.size, 0);
  }

  /** Messages not marked deleted, and their total size (STAT, RFC 1939 section 5). */
  get count(): number {
    return this.liveCount;
  }

  get size(): number {
    return this.liveSize;
  }

  /** Highest message number of the session (deleted ones keep their numbers). */
  get highest(): number {
    return this.entries.length;
  }

  isDeleted(n: number): boolean {
    return this.deleted[n - 1] === 1;
  }

  entry(n: number): E {
    return this.entries[n - 1];
  }

  /**
   * The message a "msg" argument names. RFC 1939 section 5: a message number refers to a message
   * not marked deleted, else the command gets -ERR.
   */
  resolve(arg: string): number {
    const n = parseMessageNumber(arg);
    if (n === undefined) throw new Pop3Error('BAD_SYNTAX', `invalid message number "${quoteable(arg, 20)}": expected a number from 1 to ${this.highest}`);
    if (n < 1 || n > this.entries.length) {
      throw new Pop3Error(
        'NO_SUCH_MESSAGE',
        this.entries.length === 0 ? `no such message ${n}: maildrop is empty` : `no such message ${n}: maildrop has messages 1 to ${this.highest}`,
      );
    }
    if (this.deleted[n - 1] === 1) throw new Pop3Error('MESSAGE_DELETED', `message ${n} is marked as deleted`);
    return n;
  }

  markDeleted(n: number): void {
    if (this.deleted[n - 1] === 1) return;
    this.deleted[n - 1] = 1;
    this.liveCount--;
    this.liveSize -= this.entries[n - 1].size;
  }

  /** RSET (RFC 1939 section 5): unmark every deleted message. */
  reset(): void {
    this.deleted.fill(0);
    this.liveCount = this.entries.length;
    this.liveSize = this.entries.reduce((n, e) => n + e.size, 0);
  }

  markedForDeletion(): E[] {
    return this.entries.filter((_, i) => this.deleted[i] === 1);
  }
}

/** A message number: decimal digits only (RFC 1939 section 3), bounded in length. */
export function parseMessageNumber(arg: string): number | undefined {
  if (arg.length === 0 || arg.length > POP3_LIMITS.maxMessageNumberDigits || !/^[0-9]+$/.test(arg)) return undefined;
  return Number.parseInt(arg, 10);
}

/** A non-negative line count (TOP's second argument). */
export function parseLineCount(arg: string): number | undefined {
  return parseMessageNumber(arg);
}
