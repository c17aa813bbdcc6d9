// The shared mail store: one Maildir per user under <dataDir>/mail/<user>/ (INBOX in the user
// directory itself, Maildir++ subfolders as `.Name/`), used by SMTP (delivery), POP3 and IMAP.
// See README.md in this directory for the layout and the guarantees.
//
//  - Durable delivery: tmp/ file, fsync, link/rename into new/, fsync new/ (shared by concurrent
//    deliveries: GroupDirSync). `deliver` resolves only after that; then the folder learns of it.
//  - Per folder: UIDVALIDITY/UIDNEXT/UIDs in dovecot-uidlist, flags in the file names (`:2,` info),
//    keywords in dovecot-keywords, an index cache (labnet-index.json) so opening a folder reads no
//    message; every change is published to the folder's watchers; mutations are serialised per folder.
//  - Recovery at start: stale tmp/ files deleted, every folder loaded (new files get UIDs, the index
//    is repaired from the directory listing). Nothing a client stored can stop a start: a folder
//    that cannot be loaded is logged and skipped (and tried again when it is used).
//  - Per-user quotas (bytes and messages over all folders), checked and reserved in one synchronous
//    step, so concurrent deliveries, APPENDs and COPYs can never overshoot together.
import 'reflect-metadata';
import { constants as fsc, existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { inject, injectable, optional } from 'inversify';
import type { Logger } from 'pino';
import type { LabnetConfig } from '../config.js';
import { TOKENS } from '../tokens.js';
import { DEFAULT_QUOTA } from './config.js';
import { DELIVERY_TMP_PREFIX, Folder, type NewFile } from './folder.js';
import { exists, fsyncDir, isEnoent, mapLimit, readdirOrEmpty, readFileSizedSync, storageError, writeFileDurable, type AppendFile } from './fs-util.js';
import { createDeliveryWriter, type DeliveryWriter, type DeliveryWriterMode } from './delivery-writer.js';
import type { UidListLines } from './delivery-files.js';
import { GroupDirSync } from './group-sync.js';
import { indexHeaderFields, MAX_HEADER_SCAN, type HeaderFields } from './header-fields.js';
import { newUniqueBase } from './maildir-name.js';
import { SpaceReserve } from './space-reserve.js';
import {
  MailStoreError,
  type DeliveryResult,
  type DeliveryTarget,
  type FlagOperation,
  type FolderInfo,
  type FolderListener,
  type FolderSnapshot,
  type FolderStatus,
  type MessageInfo,
  type QuotaUsage,
  type SpecialUse,
} from './types.js';

/** Hierarchy delimiter of folder names (Maildir++: `.Archive.2024/` is folder "Archive.2024"). */
export const FOLDER_DELIMITER = '.';
export const INBOX = 'INBOX';
/** Special-use folders (RFC 6154) every user gets at first login (`ensureDefaultFolders`). */
export const DEFAULT_FOLDERS: ReadonlyArray<readonly [string, SpecialUse]> = [
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];
const SPECIAL_USE = new Map<string, SpecialUse>(DEFAULT_FOLDERS.map(([n, u]) => [n, u]));
const SUBSCRIPTIONS_FILE = 'subscriptions';
const MAILDIRFOLDER_FILE = 'maildirfolder';

export interface MailStoreOptions {
  /** Directory holding one Maildir per user. */
  root: string;
  logger?: Logger;
  /** Per-user limits; 0 means no limit. Default: the config defaults (DEFAULT_QUOTA). */
  quota?: { maxBytes?: number; maxMessages?: number };
  /** Octets kept aside for the store's own bookkeeping on a full disk (see space-reserve.ts); 0: none. Default 256 KiB. */
  reserveBytes?: number;
  /** Who writes a delivery's files: a worker thread (default) or the event loop (delivery-writer.ts). */
  deliveryWriter?: DeliveryWriterMode;
  /** Delay before a changed folder's index cache is written (default 1000 ms; tests use 0). */
  indexSaveDelayMs?: number;
  /** Expunged UIDs each folder remembers for QRESYNC (RFC 7162), default 10,000. */
  expungeHistory?: number;
}

/** One content and the targets that get it, for `deliverEach` (all parts together or none). */
export interface DeliveryPart {
  content: Buffer | readonly Buffer[];
  targets: readonly DeliveryTarget[];
}

/** A durable delivery, as `onDelivery` listeners see it: one message, the folders it went into. */
export interface DeliveryNotice {
  uniqueName: string;
  size: number;
  targets: ReadonlyArray<{ user: string; folder: string }>;
  /**
   * The message's octets exactly as stored (the buffers given to `deliver`; never modify them): a
   * listener that wants the content reads it here instead of opening the file it was just written to.
   */
  content: readonly Buffer[];
}

export type DeliveryListener = (notice: DeliveryNotice) => void;

export interface MailStoreStats {
  deliveries: number;
  copies: number;
  dirSyncs: number;
  openFolders: number;
  recoveredTmpFiles: number;
  /** Deliveries, APPENDs and COPYs refused for a user's quota. */
  quotaRefusals?: number;
  /** Operations refused or failed for lack of disk space. */
  noSpaceFailures?: number;
  /** Folders that could not be loaded at start (logged; tried again on use). */
  failedFolders?: number;
}

/** Messages up to this size may be read with one blocking read, whatever a caller asks for. */
export const MAX_BLOCKING_READ = 256 * 1024;
const DEFAULT_RESERVE_BYTES = 256 * 1024;

/** Canonical folder name: INBOX is case-insensitive (RFC 3501 section 5.1). */
export function canonicalFolder(name: string): string {
  return name.toUpperCase() === INBOX ? INBOX : name;
}

/** Throws INVALID_NAME unless `name` can be a Maildir++ folder. */
export function checkFolderName(name: string): void {
  const bad = (why: string): never => {
    throw new MailStoreError('INVALID_NAME', `invalid folder name "${name}": ${why}`);
  };
  if (name.length === 0 || name.length > 200) bad('empty or longer than 200 characters');
  // A directory name is at most 255 octets: "." + the name in UTF-8 must fit, with room to spare.
  if (Buffer.byteLength(name, 'utf8') > 240) bad('longer than 240 octets in UTF-8');
  if (/[/\\\x00-\x1f\x7f]/.test(name)) bad('contains "/", "\\" or a control character');
  if (name.split(FOLDER_DELIMITER).some((part) => part.length === 0)) bad(`empty hierarchy level (leading, trailing or doubled "${FOLDER_DELIMITER}")`);
}

/** Throws INVALID_USER unless `user` is usable as a mailbox directory name. */
export function checkUserName(user: string): void {
  if (!/^[\p{L}\p{N}!#$%&'*+=?^_`{|}~-][\p{L}\p{N}!#$%&'*+=?^_`{|}~.-]{0,63}$/u.test(user) || user.includes('..') || user !== user.toLowerCase()) {
    throw new MailStoreError('INVALID_USER', `invalid mailbox user "${user}"`);
  }
}

@injectable()
export class MailStore {
  readonly root: string;
  private readonly folders = new Map<string, Folder>();
  private readonly knownDirs = new Set<string>();
  private readonly dirSync = new GroupDirSync();
  private readonly writer: DeliveryWriter;
  /** Uid-list appends go through the delivery writer too (the thread: no file call on the event loop). */
  private readonly appendFile: AppendFile = (path, text, durable, onCutFailed) => this.writer.append(path, text, durable, onCutFailed);
  private readonly maildropLocks = new Map<string, unknown>();
  private readonly pendingDeliveries = new Map<Folder, NewFile[]>();
  private readonly deliveryListeners = new Set<DeliveryListener>();
  /** Live folder objects per user (for the quota: the sum over them). */
  private readonly userFolders = new Map<string, Set<Folder>>();
  /** Users whose every folder on disk has been loaded (so their usage is complete). */
  private readonly usersLoaded = new Map<string, Promise<void>>();
  /** `ensureDefaultFolders` in progress, per user. */
  private readonly defaultFolderRuns = new Map<string, Promise<void>>();
  /** Quota charged for operations in flight (reserved before, released once the folder counts them). */
  private readonly reserved = new Map<string, { bytes: number; messages: number }>();
  private readonly maxBytes: number;
  private readonly maxMessages: number;
  private readonly reserve: SpaceReserve;
  private readonly indexSaveDelayMs: number | undefined;
  private readonly expungeHistory: number | undefined;
  private lastValidity = 0;
  private started = false;
  private stopped = false;
  private deliveries = 0;
  private copies = 0;
  private recoveredTmp = 0;
  private quotaRefusals = 0;
  private noSpaceFailures = 0;
  private failedFolders = 0;
  private readonly logger: Logger | undefined;

  constructor(
    @inject(TOKENS.DataDir) dataDirOrOptions: string | MailStoreOptions,
    @inject(TOKENS.Logger) logger?: Logger,
    @inject(TOKENS.Config) @optional() config?: LabnetConfig,
  ) {
    let options: Partial<MailStoreOptions> = {};
    if (typeof dataDirOrOptions === 'string') {
      this.root = join(dataDirOrOptions, 'mail');
      this.logger = logger;
    } else {
      options = dataDirOrOptions;
      this.root = dataDirOrOptions.root;
      this.logger = dataDirOrOptions.logger ?? logger;
    }
    this.maxBytes = options.quota?.maxBytes ?? config?.mailStore?.quota.maxBytes ?? DEFAULT_QUOTA.maxBytes;
    this.maxMessages = options.quota?.maxMessages ?? config?.mailStore?.quota.maxMessages ?? DEFAULT_QUOTA.maxMessages;
    this.reserve = new SpaceReserve(this.root, options.reserveBytes ?? DEFAULT_RESERVE_BYTES);
    this.indexSaveDelayMs = options.indexSaveDelayMs;
    this.expungeHistory = options.expungeHistory;
    this.writer = createDeliveryWriter(options.deliveryWriter ?? config?.mailStore?.deliveryWriter ?? 'worker', this.dirSync, this.logger);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Creates the root and recovers every existing folder (stale tmp/ cleaned, UIDs, index). */
  /**
   * Creates the root and recovers every existing folder: tmp/ emptied (committed APPEND/COPY files
   * moved into cur/), new files given UIDs, the index repaired. Never fails on what is in the
   * folders: a folder that cannot be loaded is logged and skipped.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await fsp.mkdir(this.root, { recursive: true });
    await this.reserve.start();
    const users: string[] = [];
    for (const u of await readdirOrEmpty(this.root)) {
      if (u.startsWith('.') || !(await isDir(join(this.root, u)))) continue;
      try {
        checkUserName(u);
        users.push(u);
      } catch {
        this.logger?.warn({ dir: u }, 'mail store: a directory that is not a user name is ignored');
      }
    }
    const work: Array<{ user: string; name: string }> = [];
    const listed: string[] = [];
    for (const user of users) {
      try {
        for (const name of await this.folderNamesOnDisk(user)) work.push({ user, name });
        listed.push(user);
      } catch (err) {
        this.failedFolders++;
        this.logger?.error({ err, user }, 'mail store: a mailbox could not be listed; it is tried again when used');
      }
    }
    await mapLimit(work, 4, async ({ user, name }) => {
      try {
        await this.folder(user, name).ensureLoaded(true);
      } catch (err) {
        this.failedFolders++;
        this.logger?.error({ err, user, folder: name }, 'mail store: a folder could not be loaded; it is tried again when used');
      }
    });
    for (const user of listed) this.usersLoaded.set(user, Promise.resolve());
    for (const f of await readdirOrEmpty(this.root)) {
      if (f.startsWith('.deleted-')) await fsp.rm(join(this.root, f), { recursive: true, force: true }).catch(() => undefined);
    }
    if (work.length > 0)
      this.logger?.info({ folders: work.length, staleTmpFiles: this.recoveredTmp, failedFolders: this.failedFolders }, 'mail store recovered');
  }

  /** Waits for queued mutations and writes pending indexes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Deliveries whose files are being written finish first (and queue their folder updates, whose
    // uid-list appends go through the writer too); the writer's thread is released last.
    await this.writer.drain();
    await Promise.all(
      [...this.folders.values()].map(async (f) => {
        await f.mutex.run(() => undefined);
        await f.flushIndex();
      }),
    );
    await this.writer.stop();
  }

  stats(): MailStoreStats {
    return {
      deliveries: this.deliveries,
      copies: this.copies,
      dirSyncs: this.writer.dirSyncs,
      openFolders: this.folders.size,
      recoveredTmpFiles: this.recoveredTmp,
      quotaRefusals: this.quotaRefusals,
      noSpaceFailures: this.noSpaceFailures,
      failedFolders: this.failedFolders,
    };
  }

  // ---- quotas -------------------------------------------------------------------------------

  /** The configured limits (0: none). */
  get quotaLimits(): { maxBytes: number; maxMessages: number } {
    return { maxBytes: this.maxBytes, maxMessages: this.maxMessages };
  }

  /** Loads every folder of the user once, so the usage counts all of them. */
  private ensureUserLoaded(user: string): Promise<void> {
    let p = this.usersLoaded.get(user);
    if (!p) {
      p = (async () => {
        if (!(await this.hasMailbox(user))) return;
        // Side by side: a folder never opened before writes its uid list durably (two fsyncs), and
        // one after another that was 12 fsyncs in a row for a new student's six folders, on the
        // path of the first RCPT TO and the first delivery (issue 14, `make soak`).
        await mapLimit(await this.folderNamesOnDisk(user), 8, async (name) => {
          try {
            await this.folder(user, name).ensureLoaded();
          } catch (err) {
            this.logger?.error({ err, user, folder: name }, 'mail store: a folder could not be loaded');
          }
        });
      })();
      this.usersLoaded.set(user, p);
      p.catch(() => this.usersLoaded.delete(user));
    }
    return p;
  }

  private usageNow(user: string): { bytes: number; messages: number } {
    let bytes = 0;
    let messages = 0;
    for (const f of this.userFolders.get(user) ?? []) {
      if (f.isDead || !f.isLoaded) continue;
      const u = f.usage();
      bytes += u.bytes;
      messages += u.messages;
    }
    const r = this.reserved.get(user);
    return { bytes: bytes + (r?.bytes ?? 0), messages: messages + (r?.messages ?? 0) };
  }

  /**
   * The user's quota (RFC 9208): octets and messages over every folder, with the limits. IMAP's
   * STORAGE resource is `bytes.used / 1024` rounded up, MESSAGE is `messages.used`.
   */
  async quota(user: string): Promise<QuotaUsage> {
    checkUserName(user);
    await this.ensureUserLoaded(user);
    // Deliveries acknowledged before this call are counted once, by their folder.
    await Promise.all([...(this.userFolders.get(user) ?? [])].map((f) => f.mutex.run(() => undefined)));
    const used = this.usageNow(user);
    const out: QuotaUsage = { bytes: { used: used.bytes }, messages: { used: used.messages } };
    if (this.maxBytes > 0) out.bytes.limit = this.maxBytes;
    if (this.maxMessages > 0) out.messages.limit = this.maxMessages;
    return out;
  }

  /**
   * Whether `messages` more messages of `bytes` octets in total would fit the user's quota now (for
   * SMTP's RCPT TO with the SIZE parameter, RFC 1870, and a "mailbox full" answer before DATA).
   */
  async quotaAllows(user: string, bytes = 0, messages = 1): Promise<boolean> {
    checkUserName(user);
    await this.ensureUserLoaded(user);
    return this.overQuota(user, bytes, messages) === undefined;
  }

  private overQuota(user: string, bytes: number, messages: number): 'bytes' | 'messages' | undefined {
    const used = this.usageNow(user);
    if (this.maxMessages > 0 && messages > 0 && used.messages + messages > this.maxMessages) return 'messages';
    if (this.maxBytes > 0 && bytes > 0 && used.bytes + bytes > this.maxBytes) return 'bytes';
    return undefined;
  }

  /**
   * Checks and reserves quota for every user in one synchronous step (so concurrent operations
   * cannot overshoot together); throws OVER_QUOTA and reserves nothing when one does not fit.
   * Returns the release function (idempotent).
   */
  private chargeQuota(charges: ReadonlyMap<string, { bytes: number; messages: number }>): () => void {
    for (const [user, c] of charges) {
      const over = this.overQuota(user, c.bytes, c.messages);
      if (over) {
        this.quotaRefusals++;
        const q = over === 'bytes' ? `${this.maxBytes} octets` : `${this.maxMessages} messages`;
        throw new MailStoreError('OVER_QUOTA', `mailbox of ${user} is full (quota: ${q})`, { user, resource: over });
      }
    }
    for (const [user, c] of charges) {
      const r = this.reserved.get(user) ?? { bytes: 0, messages: 0 };
      r.bytes += c.bytes;
      r.messages += c.messages;
      this.reserved.set(user, r);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [user, c] of charges) this.refund(user, c.bytes, c.messages);
    };
  }

  /** Hands back (part of) a reservation. */
  private refund(user: string, bytes: number, messages: number): void {
    const r = this.reserved.get(user);
    if (!r) return;
    r.bytes -= bytes;
    r.messages -= messages;
    if (r.bytes <= 0 && r.messages <= 0) this.reserved.delete(user);
  }

  private async charge(user: string, bytes: number, messages: number): Promise<() => void> {
    await this.ensureUserLoaded(user);
    return this.chargeQuota(new Map([[user, { bytes, messages }]]));
  }

  /** Counts a failure for the stats and returns the error as callers see it. */
  private failed(err: unknown, what: string): MailStoreError {
    const e = storageError(err, what);
    if (e.code === 'NO_SPACE') this.noSpaceFailures++;
    return e;
  }

  // ---- paths and users ----------------------------------------------------------------------

  userPath(user: string): string {
    checkUserName(user);
    return join(this.root, user);
  }

  /** The Maildir directory of a folder (INBOX is the user directory itself). */
  folderPath(user: string, name: string): string {
    const canonical = canonicalFolder(name);
    if (canonical === INBOX) return this.userPath(user);
    checkFolderName(canonical);
    return join(this.userPath(user), FOLDER_DELIMITER + canonical);
  }

  /** True when the user has a Maildir (received mail or logged in before). */
  async hasMailbox(user: string): Promise<boolean> {
    return exists(join(this.userPath(user), 'cur'));
  }

  /** Creates the user's INBOX Maildir if missing. */
  async ensureMailbox(user: string): Promise<void> {
    await this.ensureFolderDirs(user, INBOX);
  }

  /**
   * INBOX plus Drafts, Sent, Trash, Junk and Archive (special-use, subscribed). Idempotent; call at
   * IMAP login. A first login creates every missing folder in one step: the directories first, then
   * the fsyncs that make them durable all at once (each new folder's directory, the user directory
   * by the subscriptions write that follows the mkdirs, the root for a new user) and one write of
   * the subscriptions file. Before, the six folders were made one after another with two fsyncs
   * each and the subscriptions file rewritten five times: 22 fsyncs in a row, about 80 ms per student
   * on a quiet disk and seconds when a class logs in together (issue 14, `make soak`). Concurrent
   * logins of one user share the run (the subscriptions file is read and written once).
   */
  ensureDefaultFolders(user: string): Promise<void> {
    let run = this.defaultFolderRuns.get(user);
    if (!run) {
      run = this.makeDefaultFolders(user).finally(() => this.defaultFolderRuns.delete(user));
      this.defaultFolderRuns.set(user, run);
    }
    return run;
  }

  private async makeDefaultFolders(user: string): Promise<void> {
    const missing: string[] = [];
    for (const [name] of DEFAULT_FOLDERS) {
      const dir = this.folderPath(user, name);
      if (!this.knownDirs.has(dir) && !existsSync(join(dir, 'cur'))) missing.push(name);
    }
    const userDir = this.userPath(user);
    if (missing.length === 0 && this.knownDirs.has(userDir)) return;
    try {
      const inbox = await this.createFolderDirs(user, INBOX);
      // A folder that cannot be made does not stop the others: those are made durable and
      // subscribed as before (the next login makes the failed one), and then the error is thrown.
      const tried = await Promise.allSettled(missing.map((name) => this.createFolderDirs(user, name)));
      const made = tried.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      const syncs: Array<Promise<unknown>> = made.filter((m) => m.created).map((m) => fsyncDir(m.dir));
      if (inbox.fresh) syncs.push(fsyncDir(this.root));
      // The subscriptions write ends with an fsync of the user directory, made after every mkdir
      // above: it makes INBOX's cur/new/tmp and the new folders' directory entries durable too.
      if (made.length > 0)
        syncs.push(
          this.addSubscriptions(
            user,
            made.map((m) => m.name),
          ),
        );
      else if (inbox.created) syncs.push(fsyncDir(userDir));
      const failure = [...tried, ...(await Promise.allSettled(syncs))].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      this.knownDirs.add(inbox.dir);
      for (const m of made) this.knownDirs.add(m.dir);
    } catch (err) {
      throw this.failed(err, 'creating the mailbox');
    }
  }

  private async ensureFolderDirs(user: string, name: string): Promise<string> {
    try {
      return await this.makeFolderDirs(user, name);
    } catch (err) {
      throw this.failed(err, 'creating the mailbox');
    }
  }

  private async makeFolderDirs(user: string, name: string): Promise<string> {
    const dir = this.folderPath(user, name);
    if (this.knownDirs.has(dir)) return dir;
    const made = await this.createFolderDirs(user, name);
    if (made.created) {
      if (made.fresh) await fsyncDir(join(dir, '..'));
      await fsyncDir(dir);
    }
    this.knownDirs.add(dir);
    return dir;
  }

  /**
   * The directories of a folder (cur, new, tmp; `maildirfolder` in a subfolder), not yet synced:
   * `created` when something was made (its directory needs an fsync), `fresh` when the folder's
   * directory itself is new (its parent needs one).
   */
  private async createFolderDirs(user: string, name: string): Promise<{ name: string; dir: string; created: boolean; fresh: boolean }> {
    const dir = this.folderPath(user, name);
    if (this.knownDirs.has(dir)) return { name, dir, created: false, fresh: false };
    // Existence checks are synchronous (a cached directory lookup, microseconds): each one on the
    // thread pool would wait behind every fsync queued there when a class logs in together.
    if (existsSync(join(dir, 'cur')) && existsSync(join(dir, 'new')) && existsSync(join(dir, 'tmp'))) return { name, dir, created: false, fresh: false };
    const fresh = !existsSync(dir);
    await Promise.all(['cur', 'new', 'tmp'].map((d) => fsp.mkdir(join(dir, d), { recursive: true })));
    if (canonicalFolder(name) !== INBOX) await fsp.writeFile(join(dir, MAILDIRFOLDER_FILE), '');
    return { name, dir, created: true, fresh };
  }

  private nextValidity = (): number => {
    // RFC 3501 section 2.3.1.1: a re-created folder must not get an earlier UIDVALIDITY.
    this.lastValidity = Math.max(Math.floor(Date.now() / 1000), this.lastValidity + 1);
    return this.lastValidity;
  };

  /** The in-memory folder object (created on first use; not loaded yet). */
  private folder(user: string, name: string): Folder {
    const canonical = canonicalFolder(name);
    const key = `${user}\u0000${canonical}`;
    let f = this.folders.get(key);
    if (!f || f.isDead) {
      if (f) this.userFolders.get(user)?.delete(f);
      f = new Folder(user, canonical, this.folderPath(user, canonical), {
        nextValidity: this.nextValidity,
        onError: (err, what) => this.logger?.error({ err, user, folder: canonical }, `mail store: ${what}`),
        reserve: this.reserve,
        ...(this.indexSaveDelayMs !== undefined ? { indexSaveDelayMs: this.indexSaveDelayMs } : {}),
        onRecoveredTmp: () => this.recoveredTmp++,
        ...(this.expungeHistory !== undefined ? { expungeHistory: this.expungeHistory } : {}),
        appendFile: this.appendFile,
      });
      this.folders.set(key, f);
      let set = this.userFolders.get(user);
      if (!set) this.userFolders.set(user, (set = new Set()));
      set.add(f);
    }
    return f;
  }

  /** The loaded folder; INBOX is created on demand, other folders must exist. */
  private async loaded(user: string, name: string): Promise<Folder> {
    if (this.stopped) throw new MailStoreError('STOPPED', 'the mail store is stopped');
    const canonical = canonicalFolder(name);
    // A loaded, live folder exists (deleting or renaming it kills the object): no file system check.
    const known = this.folders.get(`${user}\u0000${canonical}`);
    if (known && known.isLoaded && !known.isDead) return known;
    if (canonical === INBOX) await this.ensureMailbox(user);
    else if (!(await this.folderExists(user, canonical))) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${canonical}"`);
    const f = this.folder(user, canonical);
    try {
      await f.ensureLoaded();
    } catch (err) {
      throw this.failed(err, `opening folder "${canonical}"`);
    }
    return f;
  }

  // ---- delivery -----------------------------------------------------------------------------

  /**
   * Delivers one message to every target (user + folder; missing mailboxes and folders are created).
   * The content is written once and hard-linked into each Maildir. Resolves after every copy is
   * durable (file fdatasync'ed, renamed into new/, new/ fsynced); concurrent deliveries share the
   * fsyncs. All or nothing: the quota of every target user is checked first (OVER_QUOTA, naming the
   * user), and a failure part-way (NO_SPACE, IO_ERROR) removes every copy already made.
   */
  async deliver(content: Buffer | readonly Buffer[], targets: readonly DeliveryTarget[]): Promise<DeliveryResult> {
    return (await this.deliverEach([{ content, targets }]))[0];
  }

  /**
   * Delivers several contents in one all-or-nothing step: each part's content to its own targets
   * (SMTP: the local recipients' copy and the captured copy of foreign recipients, which carries an
   * extra header field). Every part is written and linked into the targets' tmp/ first; only when all
   * exist are they renamed into new/, so a failure anywhere (quota of any user, NO_SPACE, IO_ERROR)
   * leaves no copy of any part visible, now or after a restart. One result per part, in order.
   */
  async deliverEach(parts: readonly DeliveryPart[]): Promise<DeliveryResult[]> {
    if (this.stopped) throw new MailStoreError('STOPPED', 'the mail store is stopped');
    const charges = new Map<string, { bytes: number; messages: number }>();
    const plans = parts.map((part) => {
      const chunks = Buffer.isBuffer(part.content) ? [part.content] : [...part.content];
      const size = chunks.reduce((n, c) => n + c.length, 0);
      const seen = new Set<string>();
      const dests: Array<{ user: string; folder: string; dir: string }> = [];
      for (const t of part.targets) {
        const folder = canonicalFolder(t.folder ?? INBOX);
        const key = `${t.user}\u0000${folder}`;
        if (seen.has(key)) continue;
        seen.add(key);
        dests.push({ user: t.user, folder, dir: this.folderPath(t.user, folder) });
        const c = charges.get(t.user) ?? { bytes: 0, messages: 0 };
        c.bytes += size;
        c.messages += 1;
        charges.set(t.user, c);
      }
      return { chunks, size, dests, base: dests.length > 0 ? newUniqueBase(size) : '', date: 0 };
    });
    const live = plans.filter((p) => p.dests.length > 0);
    if (live.length === 0) return plans.map((p) => ({ uniqueName: '', size: p.size, delivered: 0 }));
    for (const user of charges.keys()) await this.ensureUserLoaded(user);
    const release = this.chargeQuota(charges);
    // The UIDs of the copies, per target folder, handed out before the write (see below).
    const reserved = new Map<Folder, { uids: number[]; lines: UidListLines; files: NewFile[] }>();
    let landed = false;
    try {
      const byFolder = new Map<Folder, string[]>();
      for (const p of live)
        for (const d of p.dests) {
          await this.ensureFolderDirs(d.user, d.folder);
          const f = this.folder(d.user, d.folder);
          byFolder.set(f, [...(byFolder.get(f) ?? []), p.base]);
        }
      // Each copy's UID is handed out now and its uid-list line written and fdatasync'ed with the
      // files, so the message is visible with its UID when the 250 goes out and no uid-list commit
      // follows the 250 (issue 17). A folder that cannot be loaded takes the old way (addFiles after
      // the write, or its next load).
      // Every folder is waited for first and the UIDs taken in one step: no delivery holds UIDs in
      // flight while it waits for a folder whose uid list is being rewritten (which waits for those).
      const loaded = new Set<Folder>();
      for (const f of byFolder.keys())
        if (
          await f.ensureLoaded().then(
            () => true,
            () => false,
          )
        )
          loaded.add(f);
      for (;;) {
        const gate = [...loaded].map((f) => f.reservable).find((g) => g !== undefined);
        if (!gate) break;
        await gate;
      }
      for (const f of loaded) {
        const r = f.reserveDeliveryUids(byFolder.get(f)!);
        if (r) reserved.set(f, { ...r, files: [] });
      }
      await this.reserve.beforeData();
      // The file work (write, fdatasync, links, renames, fsync of new/, the uid-list lines) is the
      // delivery writer's: a worker thread by default (delivery-writer.ts). The internal date is the
      // file's mtime (what a rebuilt index reads back).
      const dates = await this.writer.write({
        parts: live.map((p) => ({
          chunks: p.chunks,
          size: p.size,
          tmps: p.dests.map((d) => join(d.dir, 'tmp', `${DELIVERY_TMP_PREFIX}${p.base}`)),
          news: p.dests.map((d) => join(d.dir, 'new', p.base)),
        })),
        syncDirs: [...new Set(live.flatMap((p) => p.dests.map((d) => join(d.dir, 'new'))))],
        uidLines: [...reserved.values()].map((r) => r.lines),
      });
      live.forEach((p, i) => (p.date = dates[i]));
    } catch (err) {
      for (const [f, r] of reserved) void f.landDelivered(r.uids);
      release();
      throw this.failed(err, 'delivering the message');
    }
    const visible: Array<Promise<void>> = [];
    try {
      for (const p of live) {
        this.deliveries++;
        const { headers, truncated } = indexHeaderFields(headOf(p.chunks));
        // Each copy's charge is handed back once its folder counts it, so nothing counts twice for long.
        for (const d of p.dests) {
          const folder = this.folder(d.user, d.folder);
          const file: NewFile = {
            base: p.base,
            dir: 'new',
            file: p.base,
            size: p.size,
            date: p.date,
            headers,
            headersTruncated: truncated,
            onRecorded: once(() => this.refund(d.user, p.size, 1)),
          };
          const r = reserved.get(folder);
          if (r) r.files.push(file);
          else this.queueDelivered(folder, file);
        }
      }
      for (const [f, r] of reserved) visible.push(f.landDelivered(r.uids, r.files));
      landed = true;
    } finally {
      if (!landed) for (const [f, r] of reserved) void f.landDelivered(r.uids);
    }
    // Visible (snapshots, watchers) before the 250: a SELECT or a listing right after it sees them.
    await Promise.all(visible);
    for (const p of live)
      if (this.deliveryListeners.size > 0)
        this.notifyDelivery({ uniqueName: p.base, size: p.size, targets: p.dests.map((d) => ({ user: d.user, folder: d.folder })), content: p.chunks });
    return plans.map((p) => ({ uniqueName: p.base, size: p.size, delivered: p.dests.length }));
  }

  /**
   * Subscribes to deliveries (every `deliver`, whatever the folder's state): the listener runs once the
   * copies are durable and queued on their folders, before `deliver` resolves, so a folder opened from
   * it sees the message. Keep it short and never throw. Returns unsubscribe.
   */
  onDelivery(listener: DeliveryListener): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  private notifyDelivery(notice: DeliveryNotice): void {
    for (const l of [...this.deliveryListeners]) {
      try {
        l(notice);
      } catch (err) {
        this.logger?.error({ err }, 'mail store: a delivery listener threw');
      }
    }
  }

  private queueDelivered(folder: Folder, file: NewFile): void {
    let pending = this.pendingDeliveries.get(folder);
    if (pending) {
      pending.push(file);
      return;
    }
    pending = [file];
    this.pendingDeliveries.set(folder, pending);
    void folder.ensureLoaded().catch(() => undefined);
    // Queued on the folder's mutex before `deliver` resolves: a POP3 or IMAP listing made after the
    // 250 reply runs behind it and sees the message.
    let files: NewFile[] = [];
    folder.mutex
      .run(async () => {
        files = this.pendingDeliveries.get(folder) ?? [];
        this.pendingDeliveries.delete(folder);
        if (!folder.isDead && folder.isLoaded) await folder.addFiles(files);
        else for (const f of files) f.onRecorded?.(); // the next load of the folder picks the files up
      })
      .catch((err: unknown) => {
        for (const f of files) f.onRecorded?.();
        this.logger?.error({ err }, 'mail store: recording a delivery failed (retried; the next load picks the file up)');
      });
  }

  // ---- folders ------------------------------------------------------------------------------

  async folderExists(user: string, name: string): Promise<boolean> {
    return exists(join(this.folderPath(user, name), 'cur'));
  }

  private async folderNamesOnDisk(user: string): Promise<string[]> {
    const names = [INBOX];
    for (const entry of await readdirOrEmpty(this.userPath(user))) {
      if (!entry.startsWith(FOLDER_DELIMITER) || entry.startsWith('..') || entry.length < 2) continue;
      const name = entry.slice(1);
      try {
        checkFolderName(name);
      } catch {
        continue;
      }
      if (await isDir(join(this.userPath(user), entry, 'cur'))) names.push(name);
    }
    return names;
  }

  /** Every folder of the user (INBOX first), with special use, subscription and children. */
  async listFolders(user: string): Promise<FolderInfo[]> {
    if (!(await this.hasMailbox(user))) return [];
    const names = await this.folderNamesOnDisk(user);
    const subs = new Set(await this.subscriptions(user));
    const sorted = [INBOX, ...names.filter((n) => n !== INBOX).sort()];
    return sorted.map((name) => {
      const info: FolderInfo = { name, subscribed: subs.has(name), hasChildren: names.some((n) => n.startsWith(name + FOLDER_DELIMITER)) };
      const use = SPECIAL_USE.get(name);
      if (use) info.specialUse = use;
      return info;
    });
  }

  /** CREATE (RFC 3501 section 6.3.3). Parents are not created (Maildir++ does not need them). */
  async createFolder(user: string, name: string): Promise<void> {
    const canonical = canonicalFolder(name);
    if (canonical === INBOX || (await this.folderExists(user, canonical))) throw new MailStoreError('FOLDER_EXISTS', `folder "${canonical}" already exists`);
    await this.ensureMailbox(user);
    await this.ensureFolderDirs(user, canonical);
    // Loaded at once, so the user's quota usage knows the folder from the start.
    await this.loaded(user, canonical);
  }

  /** DELETE (RFC 3501 section 6.3.4): the folder and its messages; children stay. Watchers get 'gone'. */
  async deleteFolder(user: string, name: string, origin?: unknown): Promise<void> {
    const canonical = canonicalFolder(name);
    if (canonical === INBOX) throw new MailStoreError('CANNOT_DELETE_INBOX', 'INBOX cannot be deleted');
    if (!(await this.folderExists(user, canonical))) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${canonical}"`);
    const f = this.folder(user, canonical);
    await f.mutex.run(async () => {
      const dir = this.folderPath(user, canonical);
      // Rename away first so the folder vanishes atomically, then remove at leisure.
      const grave = join(this.root, `.deleted-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      try {
        await fsp.rename(dir, grave);
      } catch (err) {
        throw this.failed(err, 'deleting the folder');
      }
      await fsyncDir(this.userPath(user)).catch(() => undefined);
      this.knownDirs.delete(dir);
      f.kill(origin);
      this.userFolders.get(user)?.delete(f);
      await fsp.rm(grave, { recursive: true, force: true }).catch((err: unknown) => this.logger?.warn({ err }, 'mail store: removing a deleted folder'));
      this.reserve.spaceFreed();
    });
  }

  /**
   * RENAME (RFC 3501 section 6.3.5): children move along. Renaming INBOX moves its messages into a
   * new folder and leaves INBOX empty. Watchers of the old names get 'gone'.
   */
  async renameFolder(user: string, from: string, to: string, origin?: unknown): Promise<void> {
    const src = canonicalFolder(from);
    const dst = canonicalFolder(to);
    checkFolderName(dst);
    if (dst === INBOX || (await this.folderExists(user, dst))) throw new MailStoreError('FOLDER_EXISTS', `folder "${dst}" already exists`);
    if (src === INBOX) {
      await this.createFolder(user, dst);
      const inbox = await this.loaded(user, INBOX);
      const uids = (await inbox.mutex.run(() => inbox.snapshot())).messages.map((m) => m.uid);
      if (uids.length > 0) await this.move(user, INBOX, uids, dst, { origin });
      return;
    }
    if (!(await this.folderExists(user, src))) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${src}"`);
    if (dst.startsWith(src + FOLDER_DELIMITER)) throw new MailStoreError('INVALID_NAME', `cannot rename "${src}" into itself`);
    const names = (await this.folderNamesOnDisk(user)).filter((n) => n === src || n.startsWith(src + FOLDER_DELIMITER));
    const moves = names.map((n) => [n, dst + n.slice(src.length)] as const);
    for (const [, target] of moves) {
      if (await this.folderExists(user, target)) throw new MailStoreError('FOLDER_EXISTS', `folder "${target}" already exists`);
    }
    for (const [old, target] of moves) {
      const f = this.folder(user, old);
      await f.mutex.run(async () => {
        const oldDir = this.folderPath(user, old);
        try {
          await fsp.rename(oldDir, this.folderPath(user, target));
        } catch (err) {
          throw this.failed(err, 'renaming the folder');
        }
        this.knownDirs.delete(oldDir);
        f.kill(origin);
        this.userFolders.get(user)?.delete(f);
      });
      // Loaded under the new name at once: the user's quota usage keeps counting its messages.
      await this.loaded(user, target).catch((err: unknown) => this.logger?.error({ err, user, folder: target }, 'mail store: loading a renamed folder'));
    }
    await fsyncDir(this.userPath(user));
    const subs = await this.subscriptions(user);
    if (subs.some((s) => names.includes(s))) {
      await this.writeSubscriptions(
        user,
        subs.map((s) => (names.includes(s) ? dst + s.slice(src.length) : s)),
      );
    }
  }

  async subscriptions(user: string): Promise<string[]> {
    try {
      const text = await fsp.readFile(join(this.userPath(user), SUBSCRIPTIONS_FILE), 'utf8');
      return text.split('\n').filter((l) => l.length > 0);
    } catch (err) {
      if (isEnoent(err)) return [];
      throw err;
    }
  }

  /** SUBSCRIBE (RFC 3501 section 6.3.6): the name need not exist. */
  async subscribe(user: string, name: string): Promise<void> {
    const canonical = canonicalFolder(name);
    const subs = await this.subscriptions(user);
    if (!subs.includes(canonical)) await this.writeSubscriptions(user, [...subs, canonical]);
  }

  async unsubscribe(user: string, name: string): Promise<void> {
    const canonical = canonicalFolder(name);
    const subs = await this.subscriptions(user);
    if (subs.includes(canonical))
      await this.writeSubscriptions(
        user,
        subs.filter((s) => s !== canonical),
      );
  }

  /** Subscribes several folders with one write of the subscriptions file (durable: file and directory synced). */
  private async addSubscriptions(user: string, names: readonly string[]): Promise<void> {
    const subs = await this.subscriptions(user);
    const add = names.map(canonicalFolder).filter((n, i, all) => !subs.includes(n) && all.indexOf(n) === i);
    // Written even when nothing is new: its directory fsync is what makes the new folders durable.
    await writeFileDurable(this.userPath(user), SUBSCRIPTIONS_FILE, [...subs, ...add].map((s) => `${s}\n`).join(''));
  }

  private async writeSubscriptions(user: string, subs: readonly string[]): Promise<void> {
    await this.ensureMailbox(user);
    await writeFileDurable(this.userPath(user), SUBSCRIPTIONS_FILE, subs.map((s) => `${s}\n`).join(''));
  }

  /** STATUS figures (RFC 3501 section 6.3.10) without selecting. */
  async status(user: string, name: string): Promise<FolderStatus> {
    const f = await this.loaded(user, name);
    return f.mutex.run(() => {
      const snap = f.snapshot();
      let unseen = 0;
      let deleted = 0;
      let size = 0;
      for (const m of snap.messages) {
        if (!m.flags.includes('\\Seen')) unseen++;
        if (m.flags.includes('\\Deleted')) deleted++;
        size += m.size;
      }
      return {
        name: snap.name,
        messages: snap.messages.length,
        recent: f.countRecent(),
        unseen,
        deleted,
        size,
        uidNext: snap.uidNext,
        uidValidity: snap.uidValidity,
        highestModseq: f.highestModseq,
      };
    });
  }

  // ---- messages -----------------------------------------------------------------------------

  /**
   * The loaded folder object itself, for a session that keeps a live view (IMAP SELECT): its
   * `snapshot()`, `watch()`, `claimRecent()`, `definedKeywords()` and `filePath()` are synchronous,
   * so a snapshot and a watcher taken together miss nothing. Mutate only through this class.
   */
  async openFolder(user: string, name: string): Promise<Folder> {
    const f = await this.loaded(user, name);
    // Let queued work (deliveries acknowledged just before, their UIDs being written) land first, so
    // a SELECT right after an SMTP 250 sees the message.
    await f.mutex.run(() => undefined);
    return f;
  }

  /** The folder's messages sorted by UID, with UIDVALIDITY and UIDNEXT (consistent: taken under the folder's lock). */
  async open(user: string, name: string): Promise<FolderSnapshot> {
    const f = await this.loaded(user, name);
    return f.mutex.run(() => f.snapshot());
  }

  async getMessage(user: string, name: string, uid: number): Promise<MessageInfo | undefined> {
    const f = await this.loaded(user, name);
    return f.get(uid) ?? (await f.mutex.run(() => f.get(uid)));
  }

  /** Keywords defined in the folder (IMAP FLAGS response). */
  async keywords(user: string, name: string): Promise<readonly string[]> {
    return (await this.loaded(user, name)).definedKeywords();
  }

  /**
   * The whole message as stored. Throws NO_SUCH_MESSAGE if it was expunged. A message of at most
   * `options.blockingUpTo` octets is read with one blocking read: for a small, page-cached file that
   * costs a few microseconds, far less than readFile's four thread-pool round trips (POP3 RETR of
   * many small messages in a row).
   */
  async read(user: string, name: string, uid: number, options: { blockingUpTo?: number } = {}): Promise<Buffer> {
    const f = await this.loaded(user, name);
    const size = f.get(uid)?.size;
    const blocking = size !== undefined && size <= Math.min(options.blockingUpTo ?? -1, MAX_BLOCKING_READ);
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = f.filePath(uid);
      if (!path) break;
      try {
        return blocking ? readFileSizedSync(path, size) : await fsp.readFile(path);
      } catch (err) {
        if (!isEnoent(err)) throw this.failed(err, 'reading the message');
        await f.mutex.run(() => undefined); // a flag change renamed it: look again after it
      }
    }
    throw new MailStoreError('NO_SUCH_MESSAGE', `no message with UID ${uid} in "${name}"`);
  }

  /** A stream of the message (or of octets start..end inclusive). The file is opened before resolving. */
  async stream(user: string, name: string, uid: number, range?: { start: number; end: number }): Promise<Readable> {
    const f = await this.loaded(user, name);
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = f.filePath(uid);
      if (!path) break;
      try {
        const fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
        return fh.createReadStream({ autoClose: true, ...(range ?? {}) });
      } catch (err) {
        if (!isEnoent(err)) throw this.failed(err, 'reading the message');
        await f.mutex.run(() => undefined);
      }
    }
    throw new MailStoreError('NO_SUCH_MESSAGE', `no message with UID ${uid} in "${name}"`);
  }

  /**
   * The indexed header fields of a message complete, read from its file: for a message whose
   * `headersTruncated` is set (the index keeps bounded values). Throws NO_SUCH_MESSAGE when it is gone.
   */
  async headerFields(user: string, name: string, uid: number): Promise<HeaderFields> {
    const f = await this.loaded(user, name);
    return f.readHeaderFields(uid);
  }

  /**
   * APPEND (RFC 3501 section 6.3.11; UIDPLUS RFC 4315 APPENDUID): durable before resolving. All or
   * nothing: OVER_QUOTA, NO_SPACE or IO_ERROR leave no file anywhere (not even in tmp/).
   */
  async append(
    user: string,
    name: string,
    data: Buffer,
    options: { flags?: readonly string[]; internalDate?: number; origin?: unknown } = {},
  ): Promise<{ uid: number; uidValidity: number; message: MessageInfo }> {
    const f = await this.loaded(user, name);
    const release = await this.charge(user, data.length, 1);
    try {
      return await f.mutex.run(async () => {
        if (f.isDead) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${f.name}"`);
        const message = await f.append(data, options.flags ?? [], options.internalDate, options.origin);
        return { uid: message.uid, uidValidity: f.uidValidity, message };
      });
    } catch (err) {
      throw this.failed(err, 'storing the message');
    } finally {
      release();
    }
  }

  /**
   * MULTIAPPEND (RFC 3502 section 6.3.11): several messages into one folder, all or nothing. Each is
   * first stored durably in a private staging Maildir under the root (named `.deleted-…`, so a start
   * after a crash removes it), then all are committed to the folder together by its all-or-nothing
   * COPY (one uid list append). A failure anywhere (quota, keywords, disk full) leaves nothing
   * visible, now or after a restart. Returns the new UIDs in the order of `items`.
   */
  async appendMany(
    user: string,
    name: string,
    items: ReadonlyArray<{ data: Buffer; flags?: readonly string[]; internalDate?: number }>,
    options: { origin?: unknown } = {},
  ): Promise<{ uidValidity: number; uids: number[] }> {
    const f = await this.loaded(user, name);
    const release = await this.charge(
      user,
      items.reduce((n, it) => n + it.data.length, 0),
      items.length,
    );
    const stagingDir = join(this.root, `.deleted-append-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const staging = new Folder(user, name, stagingDir, { nextValidity: () => 1, onError: () => undefined, reserve: this.reserve, indexSaveDelayMs: 3_600_000 });
    try {
      await staging.ensureLoaded();
      const staged: number[] = [];
      for (const it of items) staged.push((await staging.append(it.data, it.flags ?? [], it.internalDate)).uid);
      const mapping = await f.mutex.run(() => {
        if (f.isDead) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${f.name}"`);
        return f.copyFrom(staging, staged, options.origin);
      });
      const byStaged = new Map(mapping);
      return { uidValidity: f.uidValidity, uids: staged.map((u) => byStaged.get(u)!) };
    } catch (err) {
      throw this.failed(err, 'storing the messages');
    } finally {
      release();
      staging.kill();
      await fsp.rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** STORE: set, add or remove flags (system flags and keywords). `changed` lists messages whose flags changed. */
  async updateFlags(
    user: string,
    name: string,
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    options: { origin?: unknown; unchangedSince?: number } = {},
  ): Promise<{ changed: MessageInfo[]; messages: MessageInfo[]; modified: number[] }> {
    const f = await this.loaded(user, name);
    try {
      return await f.mutex.run(() => f.updateFlags(uids, op, flags, options.origin, options.unchangedSince));
    } catch (err) {
      throw this.failed(err, 'changing flags');
    }
  }

  /**
   * EXPUNGE. No uids: every message flagged \Deleted (IMAP EXPUNGE/CLOSE). With uids: exactly those
   * (POP3 QUIT), or with `onlyDeleted` those of them flagged \Deleted (IMAP UID EXPUNGE, RFC 4315).
   * Returns the removed UIDs.
   */
  async expunge(user: string, name: string, uids?: readonly number[], options: { origin?: unknown; onlyDeleted?: boolean } = {}): Promise<number[]> {
    const f = await this.loaded(user, name);
    try {
      return await f.mutex.run(() => f.expunge(uids, options.origin, options.onlyDeleted ?? uids === undefined));
    } catch (err) {
      throw this.failed(err, 'removing messages');
    }
  }

  /**
   * COPY (UIDPLUS COPYUID): returns the destination UIDVALIDITY and [source uid, new uid] pairs. All
   * or nothing (OVER_QUOTA, NO_SPACE, IO_ERROR, NO_SUCH_MESSAGE leave no copy). `forMove`: the
   * sources are expunged right after (IMAP MOVE done as COPY + EXPUNGE), so the copy is not charged
   * to the quota: a user at the limit can still move mail to Trash.
   */
  async copy(
    user: string,
    from: string,
    uids: readonly number[],
    to: string,
    options: { origin?: unknown; forMove?: boolean } = {},
  ): Promise<{ uidValidity: number; mapping: Array<[number, number]> }> {
    const src = await this.loaded(user, from);
    const dst = await this.loaded(user, to);
    let bytes = 0;
    let messages = 0;
    for (const uid of new Set(uids)) {
      const m = src.get(uid);
      if (m) {
        bytes += m.size;
        messages++;
      }
    }
    const release = options.forMove === true ? () => undefined : await this.charge(user, bytes, messages);
    try {
      const mapping = await dst.mutex.run(() => {
        if (dst.isDead) throw new MailStoreError('NO_SUCH_FOLDER', `no folder "${dst.name}"`);
        return dst.copyFrom(src, uids, options.origin);
      });
      this.copies += mapping.length;
      return { uidValidity: dst.uidValidity, mapping };
    } catch (err) {
      throw this.failed(err, 'copying messages');
    } finally {
      release();
    }
  }

  /** MOVE (RFC 6851): copy, then expunge the sources. */
  async move(
    user: string,
    from: string,
    uids: readonly number[],
    to: string,
    options: { origin?: unknown } = {},
  ): Promise<{ uidValidity: number; mapping: Array<[number, number]>; expunged: number[] }> {
    if (canonicalFolder(from) === canonicalFolder(to)) throw new MailStoreError('INVALID_NAME', 'source and destination are the same folder');
    const result = await this.copy(user, from, uids, to, { ...options, forMove: true });
    const expunged = await this.expunge(
      user,
      from,
      result.mapping.map(([s]) => s),
      options,
    );
    return { ...result, expunged };
  }

  /** \Recent: the UIDs recent for this caller (claimed by nobody before). See Folder.claimRecent. */
  async claimRecent(user: string, name: string): Promise<number[]> {
    const f = await this.loaded(user, name);
    return f.mutex.run(() => f.claimRecent());
  }

  /**
   * Subscribes to a folder's changes (new messages, flag changes, expunges, the folder going away).
   * Listeners run synchronously inside the mutation: keep them short, never throw. Returns unsubscribe.
   */
  watch(user: string, name: string, listener: FolderListener): () => void {
    return this.folder(user, canonicalFolder(name)).watch(listener);
  }

  /**
   * An exclusive POP3 maildrop lock (RFC 1939 section 8: one session per maildrop). In-process only
   * (labnet is the only writer). Returns a release function, or undefined when someone holds it.
   */
  lockMaildrop(user: string, owner: unknown = Symbol('maildrop-owner')): (() => void) | undefined {
    if (this.maildropLocks.has(user)) return undefined;
    this.maildropLocks.set(user, owner);
    return () => {
      if (this.maildropLocks.get(user) === owner) this.maildropLocks.delete(user);
    };
  }

  isMaildropLocked(user: string): boolean {
    return this.maildropLocks.has(user);
  }

  /** Who holds the user's maildrop lock (the `owner` given to lockMaildrop), if anyone. */
  maildropHolder(user: string): unknown {
    return this.maildropLocks.get(user);
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await fsp.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function headOf(chunks: readonly Buffer[]): Buffer {
  let n = 0;
  const parts: Buffer[] = [];
  for (const c of chunks) {
    parts.push(c);
    n += c.length;
    if (n >= MAX_HEADER_SCAN) break;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts).subarray(0, MAX_HEADER_SCAN);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
