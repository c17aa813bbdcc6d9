// Public types of the mail store (see mail-store.ts for the API and README.md for the layout).
import type { HeaderFields } from './header-fields.js';

export type { HeaderFields } from './header-fields.js';

/** One message as the store knows it. Immutable: a flag change replaces the object. */
export interface MessageInfo {
  /** IMAP UID, stable across restarts within `uidValidity`. */
  readonly uid: number;
  /** The Maildir unique name (file name without the `:2,` info): the key in dovecot-uidlist. */
  readonly uniqueName: string;
  /** A POP3 unique-id (RFC 1939 section 7): printable, at most 70 characters, stable. */
  readonly uidl: string;
  /** Exact size in octets as stored (messages are stored with CRLF line endings as received). */
  readonly size: number;
  /** Internal date (RFC 3501 section 2.3.3), ms since the epoch: the file's mtime. */
  readonly internalDate: number;
  /** IMAP flags: system flags (`\Seen` `\Answered` `\Flagged` `\Deleted` `\Draft`) then keywords. Never `\Recent`. */
  readonly flags: readonly string[];
  /** Raw (unfolded, undecoded) values of Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To, Message-ID. */
  readonly headers: HeaderFields;
}

export interface FolderSnapshot {
  /** Canonical folder name ('INBOX', 'Sent', 'Archive.2024'). */
  name: string;
  uidValidity: number;
  uidNext: number;
  /** Sorted by uid (sequence number n is messages[n-1]). */
  messages: MessageInfo[];
}

export type SpecialUse = '\\Drafts' | '\\Sent' | '\\Trash' | '\\Junk' | '\\Archive';

export interface FolderInfo {
  name: string;
  specialUse?: SpecialUse;
  subscribed: boolean;
  /** Some other folder has this one as its parent (name + delimiter prefix). */
  hasChildren: boolean;
}

export interface FolderStatus {
  name: string;
  messages: number;
  /** Messages no session has claimed as \Recent yet. */
  recent: number;
  unseen: number;
  deleted: number;
  /** Total octets. */
  size: number;
  uidNext: number;
  uidValidity: number;
}

/** A change published to everyone watching a folder; `origin` is whatever the mutating caller passed. */
export type FolderChange =
  | { kind: 'exists'; messages: readonly MessageInfo[]; origin?: unknown }
  | { kind: 'flags'; messages: readonly MessageInfo[]; origin?: unknown }
  | { kind: 'expunge'; uids: readonly number[]; origin?: unknown }
  /** The folder was deleted or renamed away (or its UIDVALIDITY changed): sessions must drop it. */
  | { kind: 'gone'; origin?: unknown };

export type FolderListener = (change: FolderChange) => void;

export type FlagOperation = 'set' | 'add' | 'remove';

export interface DeliveryTarget {
  /** Canonical (lower-case) user name: the mailbox directory name. */
  user: string;
  /** Folder, default 'INBOX'. Created when missing. */
  folder?: string;
}

export interface DeliveryResult {
  /** The unique name shared by every copy (hard links when possible). */
  uniqueName: string;
  size: number;
  /** Durable copies: one per distinct target. */
  delivered: number;
}

export type MailStoreErrorCode =
  'NO_SUCH_FOLDER' | 'FOLDER_EXISTS' | 'INVALID_NAME' | 'NO_SUCH_MESSAGE' | 'CANNOT_DELETE_INBOX' | 'TOO_MANY_KEYWORDS' | 'INVALID_USER' | 'STOPPED';

export class MailStoreError extends Error {
  constructor(
    readonly code: MailStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MailStoreError';
  }
}
