// What IMAP needs from the shared mail store (core/mail-store), as an interface: the session is
// written against this, and imap-service.ts adapts the store to it. Structurally the same as the
// store's own types so the adapter stays thin.

export type HeaderFields = Partial<Record<'date' | 'subject' | 'from' | 'sender' | 'reply-to' | 'to' | 'cc' | 'bcc' | 'in-reply-to' | 'message-id', string>>;

export interface StoredMessage {
  readonly uid: number;
  readonly size: number;
  /** ms since the epoch. */
  readonly internalDate: number;
  /** System flags and keywords; never \Recent. */
  readonly flags: readonly string[];
  /** Raw (unfolded, undecoded) indexed header values. */
  readonly headers: HeaderFields;
  /** RFC 7162 mod-sequence of the message's last change. */
  readonly modseq: number;
}

export interface FolderSnapshotView {
  name: string;
  uidValidity: number;
  uidNext: number;
  messages: readonly StoredMessage[];
  /** RFC 7162 HIGHESTMODSEQ when the snapshot was taken. */
  highestModseq: number;
}

/** Set on 'exists' and 'flags' changes that defined keywords: the new ones and every keyword after. */
export interface KeywordsDefined {
  newKeywords?: readonly string[];
  keywords?: readonly string[];
}

export type FolderChangeEvent =
  | ({ kind: 'exists'; messages: readonly StoredMessage[]; origin?: unknown } & KeywordsDefined)
  | ({ kind: 'flags'; messages: readonly StoredMessage[]; origin?: unknown } & KeywordsDefined)
  | { kind: 'expunge'; uids: readonly number[]; modseq: number; origin?: unknown }
  | { kind: 'gone'; origin?: unknown };

export interface FolderEntry {
  name: string;
  specialUse?: string;
  subscribed: boolean;
  hasChildren: boolean;
}

export interface FolderCounts {
  name: string;
  messages: number;
  recent: number;
  unseen: number;
  /** Messages flagged \Deleted. */
  deleted: number;
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

export interface ImapFolder {
  readonly name: string;
  /**
   * SELECT: a snapshot and a watcher taken together while no change is in flight (under the
   * folder's lock), plus the \Recent claim when `claim` is set. Nothing falls between them.
   */
  open(
    listener: (change: FolderChangeEvent) => void,
    claim: boolean,
  ): Promise<{ snapshot: FolderSnapshotView & { uids?: number[] }; unwatch: () => void; recent: number[] }>;
  snapshot(): FolderSnapshotView;
  /** Resolves once changes already queued on the folder (acknowledged deliveries) are applied. */
  settle(): Promise<void>;
  definedKeywords(): readonly string[];
  /** Claims \Recent for the caller: the UIDs no session has claimed yet. */
  claimRecent(): number[];
  countRecent(): number;
  /** Synchronously subscribes; returns the unsubscribe function. */
  watch(listener: (change: FolderChangeEvent) => void): () => void;
  append(data: Buffer, flags: readonly string[], internalDate: number | undefined, origin?: unknown): Promise<StoredMessage>;
  /** MULTIAPPEND (RFC 3502): every message or none; the new UIDs in order. */
  appendMany(items: ReadonlyArray<{ data: Buffer; flags: readonly string[]; internalDate?: number }>, origin?: unknown): Promise<number[]>;
  /** Copies `uids` of `source` here; returns [sourceUid, newUid] pairs. */
  copyFrom(source: ImapFolder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>>;
  /** With `unchangedSince` (RFC 7162 UNCHANGEDSINCE) messages changed after it are left alone and listed in `modified`. */
  updateFlags(
    uids: readonly number[],
    op: 'set' | 'add' | 'remove',
    flags: readonly string[],
    origin?: unknown,
    unchangedSince?: number,
  ): Promise<{ messages: readonly StoredMessage[]; modified: readonly number[] }>;
  /** UIDs expunged after `modseq`, and whether the store's history reaches back that far (QRESYNC). */
  expungedSince(modseq: number): { uids: number[]; complete: boolean };
  /** Removes messages; with `onlyDeleted` only those (still) flagged \Deleted. Returns the removed UIDs. */
  expunge(uids: readonly number[] | undefined, origin?: unknown, onlyDeleted?: boolean): Promise<number[]>;
  /** The message octets; rejects when the message is gone. */
  read(uid: number): Promise<Buffer>;
  /**
   * The message octets read synchronously (small files in the page cache cost less than the
   * thread-pool round trips of an asynchronous read); undefined when that failed: use `read`. With
   * `into` (at least `size` octets) the octets land there and a view of it is returned: SEARCH
   * reuses one buffer for every message instead of leaving one allocation per message to the GC.
   */
  readSync?(uid: number, size?: number, into?: Buffer): Buffer | undefined;
}

export interface QuotaUsage {
  bytes: { used: number; limit?: number };
  messages: { used: number; limit?: number };
}

export interface ImapStore {
  /** Creates the user's mailbox and the special-use folders if missing. */
  ensureUser(user: string): Promise<void>;
  folder(user: string, name: string): Promise<ImapFolder>;
  list(user: string): Promise<FolderEntry[]>;
  /** One existing folder's LIST attributes (what `list` gives for it, but without listing every folder). */
  attributes(user: string, name: string): Promise<Pick<FolderEntry, 'specialUse' | 'hasChildren'>>;
  create(user: string, name: string): Promise<void>;
  delete(user: string, name: string): Promise<void>;
  rename(user: string, from: string, to: string): Promise<void>;
  subscribe(user: string, name: string, on: boolean): Promise<void>;
  /** The user's subscribed names, whether the mailboxes exist or not (RFC 3501 section 6.3.6). */
  subscriptions(user: string): Promise<string[]>;
  status(user: string, name: string): Promise<FolderCounts>;
  /** The user's usage and limits over every folder (RFC 9208; a limit is absent when there is none). */
  quota(user: string): Promise<QuotaUsage>;
  /** The hierarchy delimiter. */
  readonly delimiter: string;
}

/** Error codes the store raises that IMAP maps to response codes. */
export function storeErrorCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? (err as { code: string }).code : undefined;
}
