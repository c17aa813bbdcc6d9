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
  /**
   * Raw (unfolded, undecoded) values of Date, Subject, From, Sender, Reply-To, To, Cc, Bcc, In-Reply-To,
   * Message-ID, as the index keeps them: each value at most INDEX_LIMITS.fieldChars characters and all
   * of them together at most INDEX_LIMITS.totalChars, so a message's memory cost is bounded whatever
   * a client sent. When something was cut, `headersTruncated` is true and `MailStore.headerFields()`
   * (or `Folder.readHeaderFields()`) reads the exact values from the file.
   */
  readonly headers: HeaderFields;
  /** True when a value in `headers` was cut or left out (see `headers`). Always set by the store. */
  readonly headersTruncated?: boolean;
  /**
   * RFC 7162 mod-sequence of the message's last change (append, copy or flag change): positive,
   * never smaller after a later change, shared by the messages of one operation.
   */
  readonly modseq: number;
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
  /** RFC 7162 HIGHESTMODSEQ. */
  highestModseq: number;
}

/** A change published to everyone watching a folder; `origin` is whatever the mutating caller passed. */
export type FolderChange =
  | ({ kind: 'exists'; messages: readonly MessageInfo[]; origin?: unknown } & KeywordsDefined)
  /** `messages` may be empty when the change only defined keywords (the operation failed after that). */
  | ({ kind: 'flags'; messages: readonly MessageInfo[]; origin?: unknown } & KeywordsDefined)
  /** `modseq`: the folder's HIGHESTMODSEQ after the expunge (RFC 7162: an expunge is a change too). */
  | { kind: 'expunge'; uids: readonly number[]; modseq: number; origin?: unknown }
  /** The folder was deleted or renamed away (or its UIDVALIDITY changed): sessions must drop it. */
  | { kind: 'gone'; origin?: unknown };

/**
 * Set on an 'exists' or 'flags' change that used keywords the folder did not have before (RFC 3501
 * section 7.2.6: other sessions should get an untagged FLAGS, and PERMANENTFLAGS, naming them).
 */
export interface KeywordsDefined {
  /** The keywords this change defined, in the order they were added. */
  newKeywords?: readonly string[];
  /** Every keyword of the folder after the change (with `newKeywords` only). */
  keywords?: readonly string[];
}

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

/** One resource of a user's quota (RFC 9208 section 5: STORAGE is `bytes` / 1024, MESSAGE is `messages`). */
export interface QuotaResource {
  /** In use now, including deliveries, appends and copies in flight. */
  used: number;
  /** The limit; absent when this resource is not limited. */
  limit?: number;
}

/** A user's quota: every folder of the user counts (one quota root per user). */
export interface QuotaUsage {
  /** Octets of every message (each copy counts, as in Dovecot). */
  bytes: QuotaResource;
  messages: QuotaResource;
}

/**
 * Stable error codes. Besides the folder and name errors:
 *  - OVER_QUOTA: the user's quota (bytes or messages) would be exceeded; nothing was stored.
 *  - NO_SPACE: the file system is full (ENOSPC) or its own quota is reached (EDQUOT); nothing was stored.
 *  - IO_ERROR: any other file-system failure; nothing was stored (or, for a flag change or an
 *    expunge, the part that was done is what the store and its watchers now show).
 * Messages never contain file-system paths (they may reach a client); `cause` has the original error.
 */
export type MailStoreErrorCode =
  | 'NO_SUCH_FOLDER'
  | 'FOLDER_EXISTS'
  | 'INVALID_NAME'
  | 'NO_SUCH_MESSAGE'
  | 'CANNOT_DELETE_INBOX'
  | 'TOO_MANY_KEYWORDS'
  | 'INVALID_USER'
  | 'STOPPED'
  | 'OVER_QUOTA'
  | 'NO_SPACE'
  | 'IO_ERROR';

export interface MailStoreErrorDetails {
  /** OVER_QUOTA: whose quota. */
  user?: string;
  /** OVER_QUOTA: which resource ran out. */
  resource?: 'bytes' | 'messages';
  /** The underlying error (an errno error for NO_SPACE and IO_ERROR). */
  cause?: unknown;
}

export class MailStoreError extends Error {
  readonly user?: string;
  readonly resource?: 'bytes' | 'messages';

  constructor(
    readonly code: MailStoreErrorCode,
    message: string,
    details: MailStoreErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MailStoreError';
    if (details.user !== undefined) this.user = details.user;
    if (details.resource !== undefined) this.resource = details.resource;
  }
}
