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
}

export interface FolderSnapshotView {
  name: string;
  uidValidity: number;
  uidNext: number;
  messages: readonly StoredMessage[];
}

export type FolderChangeEvent =
  | { kind: 'exists'; messages: readonly StoredMessage[]; origin?: unknown }
  | { kind: 'flags'; messages: readonly StoredMessage[]; origin?: unknown }
  | { kind: 'expunge'; uids: readonly number[]; origin?: unknown }
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
  size: number;
  uidNext: number;
  uidValidity: number;
}

export interface ImapFolder {
  readonly name: string;
  snapshot(): FolderSnapshotView;
  definedKeywords(): readonly string[];
  /** Claims \Recent for the caller: the UIDs no session has claimed yet. */
  claimRecent(): number[];
  countRecent(): number;
  /** Synchronously subscribes; returns the unsubscribe function. */
  watch(listener: (change: FolderChangeEvent) => void): () => void;
  append(data: Buffer, flags: readonly string[], internalDate: number | undefined, origin?: unknown): Promise<StoredMessage>;
  /** Copies `uids` of `source` here; returns [sourceUid, newUid] pairs. */
  copyFrom(source: ImapFolder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>>;
  updateFlags(uids: readonly number[], op: 'set' | 'add' | 'remove', flags: readonly string[], origin?: unknown): Promise<{ messages: readonly StoredMessage[] }>;
  expunge(uids: readonly number[] | undefined, origin?: unknown): Promise<number[]>;
  /** The message octets; rejects when the message is gone. */
  read(uid: number): Promise<Buffer>;
}

export interface ImapStore {
  /** Creates the user's mailbox and the special-use folders if missing. */
  ensureUser(user: string): Promise<void>;
  folder(user: string, name: string): Promise<ImapFolder>;
  list(user: string): Promise<FolderEntry[]>;
  create(user: string, name: string): Promise<void>;
  delete(user: string, name: string): Promise<void>;
  rename(user: string, from: string, to: string): Promise<void>;
  subscribe(user: string, name: string, on: boolean): Promise<void>;
  status(user: string, name: string): Promise<FolderCounts>;
  /** The hierarchy delimiter. */
  readonly delimiter: string;
}

/** Error codes the store raises that IMAP maps to response codes. */
export function storeErrorCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}
