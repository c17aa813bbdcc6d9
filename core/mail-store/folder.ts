// One Maildir folder in memory: its uid list, its messages (from the directory listing, with sizes,
// dates and header fields from the index), its keywords, its \Recent boundary and its watchers.
// Every mutation runs through the folder's mutex and publishes a FolderChange to the watchers.
//
// Consistency: what others can see (the messages, their flags, the UIDs) changes only in the short
// synchronous "commit" at the end of a mutation, after every file operation of it succeeded. So a
// snapshot, an index save started by a timer, or a watcher never sees a mutation half done, whatever
// the mutation is awaiting at that moment.
//
// New messages (APPEND, COPY): the file goes to tmp/ first (written and fdatasync'ed, or hard-linked),
// then its UID line is appended to the uid list and fdatasync'ed (the commit point: at start a tmp/
// file whose name has a UID line is complete and is moved into cur/), then it is renamed into cur/.
// Any failure before the commit removes what was made; UIDs handed out are never handed out again.
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  createFileDurable,
  fsyncDir,
  isEnoent,
  isNoSpace,
  mapLimit,
  readdirTypedOrEmpty,
  readSmallFile,
  storageError,
  unlinkQuiet,
  writeFileDurable,
  yieldToLoop,
  type AppendFile,
} from './fs-util.js';
import { capHeaderFields, indexHeaderFields, MAX_HEADER_SCAN, parseHeaderFields, type HeaderFields } from './header-fields.js';
import { compareUniqueNames, formatCurName, newUniqueBase, parseMaildirName, systemFlagLetter, systemFlagName } from './maildir-name.js';
import { Mutex } from './mutex.js';
import type { SpaceReserve } from './space-reserve.js';
import { appendUidList, formatUidLine, newUidList, readUidList, UIDLIST_FILE, writeUidList, type UidList } from './uid-list.js';
import {
  MailStoreError,
  type FlagOperation,
  type FolderChange,
  type FolderListener,
  type FolderSnapshot,
  type KeywordsDefined,
  type MessageInfo,
} from './types.js';

export const INDEX_FILE = 'labnet-index.json';
export const KEYWORDS_FILE = 'dovecot-keywords';
/**
 * The mod-sequence reservation (RFC 7162): one decimal number R, written durably (fdatasync, atomic
 * rename). No mod-sequence above R was ever handed out, so after a crash that lost index saves the
 * folder goes on above R and a HIGHESTMODSEQ a client saw never comes back smaller.
 */
export const MODSEQ_FILE = 'labnet-modseq';
/**
 * Version 3: one JSON header line (with HIGHESTMODSEQ and the expunge history), then one row per
 * line (written and read in slices), each ending with its message's mod-sequence. Version 2 (no
 * mod-sequences) still loads: every message starts at mod-sequence 1.
 */
const INDEX_VERSION = 3;
/** Mod-sequences reserved with one durable write of MODSEQ_FILE. */
const MODSEQ_BLOCK = 1000;
/** Expunged UIDs remembered with their mod-sequence (for QRESYNC's VANISHED (EARLIER)). */
export const DEFAULT_EXPUNGE_HISTORY = 10_000;
/** The most an index may hold (a larger history is not one we wrote). */
const MAX_EXPUNGE_HISTORY = 1_000_000;
/** Keyword letters a-z (Dovecot's scheme): at most 26 keywords per folder. */
export const MAX_KEYWORDS = 26;
/** Longest keyword kept (IMAP's own limit for a keyword atom is the same). */
const MAX_KEYWORD_LENGTH = 100;
const DEFAULT_INDEX_SAVE_DELAY_MS = 1000;
/** An index file larger than this is not one we wrote for a sane folder: it is ignored (rebuilt). */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** Rows serialised or parsed between two yields to the event loop. */
const INDEX_SLICE = 1000;
/** Directory entries or messages handled between two yields while a folder loads. */
const LOAD_SLICE = 2000;
/** The uid list is rewritten without the lines of expunged messages once they are this many and outnumber the live ones. */
const COMPACT_MIN_STALE = 1000;
/** File operations (links, renames) of one COPY in flight at once. */
const FILE_OPS_IN_FLIGHT = 8;
/** Messages of one COPY prepared between two yields to the event loop. */
const COPY_SLICE = 1000;
/** Retry delays for recording delivered files whose UIDs could not be written (disk full). */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

interface Rec {
  info: MessageInfo;
  /** Where the file is now (changes with \Recent claims and flag changes, before the commit). */
  dir: 'new' | 'cur';
  /** File name inside dir. */
  file: string;
  /** Info letters as on disk (system letters upper case incl. P, keyword letters lower case). */
  letters: string;
}

type IndexRow = [uid: number, base: string, size: number, date: number, letters: string, headers: HeaderFields, truncated: 0 | 1, modseq: number];

/** The index header (version 3). */
interface IndexHead {
  v: number;
  uidValidity: number;
  count: number;
  highestModseq?: number;
  /** uidNext when the index was taken: a UID at or above it without a file was appended and expunged after. */
  uidNext?: number;
  /** The expunge history is complete for every mod-sequence at or above this. */
  expungedFrom?: number;
  /** Flat [uid, modseq, uid, modseq, ...], oldest first. */
  expunged?: number[];
}

/** What the index file gave: rows by unique name, and (version 3) the folder's mod-sequence state. */
interface IndexData {
  rows: Map<string, IndexRow>;
  /** Absent when there was no usable index. */
  head?: IndexHead;
}

/**
 * A delivery's file in tmp/ is named this + its unique name: unlike an APPEND's, it may have a uid-list
 * line before it is complete (the line is written beside it), so recoverTmp must not take it for committed.
 */
export const DELIVERY_TMP_PREFIX = 'delivery.';

/** A durable file in new/ or cur/ that the folder does not know yet (a delivery). */
export interface NewFile {
  base: string;
  dir: 'new' | 'cur';
  file: string;
  size: number;
  date: number;
  headers: HeaderFields;
  headersTruncated?: boolean;
  /** Called once when the folder has recorded the file (or has taken it over for a later retry). */
  onRecorded?: () => void;
}

/** Expunged UIDs since a mod-sequence (RFC 7162 VANISHED (EARLIER)). */
export interface ExpungedSince {
  /** Ascending. */
  uids: number[];
  /** False when the history does not reach back that far (older entries were dropped or lost). */
  complete: boolean;
}

export interface FolderHooks {
  /** A new UIDVALIDITY (never earlier than one given before). */
  nextValidity: () => number;
  /** Something failed in the background (index save, \Recent move, retry): logged by the store. */
  onError: (err: unknown, what: string) => void;
  /** Room for bookkeeping writes when the disk is full (uid list, keywords). */
  reserve?: SpaceReserve;
  /** Delay before the index cache is written after a change (default 1 s). */
  indexSaveDelayMs?: number;
  /** A stale tmp/ file was removed, or a committed one moved into cur/, at start. */
  onRecoveredTmp?: () => void;
  /** Expunged UIDs remembered for QRESYNC (default DEFAULT_EXPUNGE_HISTORY). */
  expungeHistory?: number;
  /** Appends to the uid list (default appendDurable on the event loop; the store's delivery writer). */
  appendFile?: AppendFile;
}

export function uidlFor(base: string): string {
  return base.length <= 70 && /^[\x21-\x7e]+$/.test(base) ? base : createHash('sha1').update(base).digest('hex');
}

/** An IMAP keyword the store keeps: an atom (RFC 3501 section 9) without the list wildcards, at most 100 characters. */
export function isValidKeyword(k: string): boolean {
  return k.length > 0 && k.length <= MAX_KEYWORD_LENGTH && /^[\x21-\x7e]+$/.test(k) && !/[(){%*"\\\]]/.test(k);
}

export class Folder {
  readonly mutex = new Mutex();
  private uidList: UidList | undefined;
  private readonly byUid = new Map<number, Rec>();
  private readonly uidByBase = new Map<string, number>();
  private sorted: number[] = [];
  private keywords: string[] = [];
  private recentUpTo = 0;
  private readonly listeners = new Set<FolderListener>();
  private loading: Promise<void> | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private indexSaving: Promise<void> | undefined;
  private indexAgain = false;
  private dead = false;
  /** Lines in the uid list file for messages no longer here (expunged): compaction trigger. */
  private staleUidLines = 0;
  private compacting = false;
  /** UIDs handed out to deliveries whose write has not ended yet (reserveDeliveryUids). */
  private readonly uidsInFlight = new Set<number>();
  /** Deliveries written (their uid-list lines durable) that wait for every lower UID in flight before they become visible. */
  private readonly landed = new Map<number, { file: NewFile; visible: () => void }>();
  private landingQueued = false;
  /** Set while the uid list is rewritten (compaction): no UID is handed out to a delivery meanwhile. */
  private uidGate: Promise<void> | undefined;
  /** Called when the last UID in flight has landed or failed (compaction waits for it). */
  private onNoneInFlight: (() => void) | undefined;
  /** Delivered files whose UIDs could not be written yet (disk full): retried, counted in usage. */
  private unrecorded: NewFile[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private totalBytes = 0;
  private unrecordedBytes = 0;
  /** RFC 7162 HIGHESTMODSEQ: the mod-sequence of the last change (at least 1). */
  private modseq = 1;
  /** MODSEQ_FILE's value: no mod-sequence above it was handed out. */
  private modseqReserved = 0;
  /** Expunge history, oldest first (mod-sequences ascending). */
  private expUids: number[] = [];
  private expMods: number[] = [];
  /** The history is complete for any mod-sequence at or above this. */
  private expungedFrom = 1;
  /** The last index save holds the current state (HIGHESTMODSEQ included). */
  private indexClean = false;

  constructor(
    readonly user: string,
    readonly name: string,
    readonly path: string,
    private readonly hooks: FolderHooks,
  ) {}

  // ---- loading and recovery -------------------------------------------------------------------

  /**
   * Loads once (directory listing + uid list + index); later calls wait for the same load. A failed
   * load is forgotten, so the next call tries again. `recoverTmp` (only at start, when nothing else
   * writes) also empties tmp/, moving committed APPEND/COPY files into cur/.
   */
  ensureLoaded(recoverTmp = false): Promise<void> {
    this.loading ??= this.mutex
      .run(() => this.load(recoverTmp))
      .catch((err: unknown) => {
        this.loading = undefined;
        throw err;
      });
    return this.loading;
  }

  get isLoaded(): boolean {
    return this.uidList !== undefined;
  }

  /**
   * The folder counts as loaded (and is used by others) only once this has finished: in between it
   * may yield to the event loop (a big folder is read in slices), and a failed load starts afresh.
   */
  private async load(recoverTmp: boolean): Promise<void> {
    this.byUid.clear();
    this.uidByBase.clear();
    this.sorted = [];
    this.totalBytes = 0;
    this.unrecorded = [];
    this.unrecordedBytes = 0;
    let steps = 0;
    const breathe = async (): Promise<void> => {
      if (++steps % LOAD_SLICE === 0) await yieldToLoop();
    };
    await Promise.all(['cur', 'new', 'tmp'].map((d) => fsp.mkdir(join(this.path, d), { recursive: true })));
    let list = await readUidList(this.path);
    let rewrite = false;
    if (!list) {
      list = newUidList(this.hooks.nextValidity());
      rewrite = true;
    }
    this.keywords = await readKeywords(this.path);
    // A crash in the middle of deliveries can leave uid-list lines of files it never completed: the
    // list is then rewritten without the lines whose files are gone (header N keeps uidNext).
    const dropStale = recoverTmp && (await this.recoverTmp(list));
    const indexData = await readIndex(this.path, list.uidValidity);
    const index = indexData.rows;
    const head = indexData.head;
    this.modseqReserved = await readModseqFile(this.path);
    // Changes found at load (files whose flags differ from the index, files the index lacks) get one
    // new mod-sequence above everything that may have been handed out before.
    const modseqBase = Math.max(1, head?.highestModseq ?? 1, this.modseqReserved);
    const fresh = modseqBase + 1;
    let freshUsed = false;
    const listedBefore = new Map(list.uids);
    const [newEntries, curEntries] = await Promise.all([readdirTypedOrEmpty(join(this.path, 'new')), readdirTypedOrEmpty(join(this.path, 'cur'))]);
    const files = new Map<string, { dir: 'new' | 'cur'; file: string; letters: string; size: number | undefined }>();
    let skipped = 0;
    for (const [dir, entries] of [
      ['new', newEntries],
      ['cur', curEntries],
    ] as const) {
      for (const e of entries) {
        await breathe();
        const file = e.name;
        if (file.startsWith('.')) continue;
        // Only regular files are messages: a directory, a FIFO or a symbolic link (which could point
        // anywhere on the machine) is left alone.
        if (!e.isFile()) {
          skipped++;
          continue;
        }
        const p = parseMaildirName(file);
        // The same message in new/ and cur/ (a crash between link and unlink elsewhere): cur/ wins.
        if (files.has(p.base) && dir === 'new') continue;
        files.set(p.base, { dir, file, letters: sanitizeLetters(p.info), size: p.size });
      }
    }
    if (skipped > 0) this.hooks.onError(new Error(`${skipped} entries in new/ or cur/ are not regular files; ignored`), 'load');
    const known: Array<[string, number]> = [];
    const unknown: string[] = [];
    for (const base of files.keys()) {
      const uid = list.uids.get(base);
      if (uid !== undefined) known.push([base, uid]);
      else unknown.push(base);
    }
    // Entries whose file is gone are forgotten; their UIDs are never reused (uidNext only grows).
    const dropped = list.uids.size - known.length;
    list.uids = new Map(known);
    unknown.sort(compareUniqueNames);
    const added: Array<[number, string]> = unknown.map((base) => [list.uidNext++, base]);
    for (const [uid, base] of added) list.uids.set(base, uid);
    const compact = dropped >= COMPACT_MIN_STALE && dropped > known.length;
    let hidden: string[] = [];
    try {
      if (rewrite || list.torn || compact || (dropStale && dropped > 0)) await this.withRoom(() => writeUidList(this.path, list));
      else await this.withRoom(() => appendUidList(this.path, list, added, true, this.hooks.appendFile));
      this.staleUidLines = rewrite || list.torn || compact || (dropStale && dropped > 0) ? 0 : dropped;
    } catch (err) {
      // The new UIDs are not on disk: those files stay out of sight (a UID nobody can rely on is
      // never shown) and are recorded as soon as the disk has room again.
      this.hooks.onError(storageError(err, 'recording new messages in the uid list'), 'load');
      for (const [, base] of added) list.uids.delete(base);
      hidden = added.map(([, base]) => base);
      this.staleUidLines = dropped;
      if (rewrite) throw storageError(err, 'creating the uid list');
    }

    let indexChanged = index.size !== files.size;
    const needScan: Array<{ base: string; uid: number }> = [];
    for (const [base, uid] of list.uids) {
      await breathe();
      const f = files.get(base)!;
      const row = index.get(base);
      if (row && row[0] === uid) {
        const same = row[4] === f.letters && row[7] <= modseqBase;
        if (!same) freshUsed = true;
        this.place({
          dir: f.dir,
          file: f.file,
          letters: f.letters,
          info: this.makeInfo(uid, base, row[2], row[3], f.letters, row[5], row[6] === 1, same ? row[7] : fresh),
        });
        if (!same) indexChanged = true;
      } else {
        needScan.push({ base, uid });
      }
    }
    let unreadable = 0;
    await mapLimit([...needScan, ...hidden.map((base) => ({ base, uid: 0 }))], 16, async ({ base, uid }) => {
      const f = files.get(base)!;
      let scanned: ScannedMessage | undefined;
      try {
        scanned = await scanMessage(join(this.path, f.dir, f.file));
      } catch (err) {
        if (!isEnoent(err)) unreadable++;
      }
      if (!scanned) {
        // Gone, or not a readable regular file: not shown (its uid list line stays, harmlessly).
        if (uid > 0) list.uids.delete(base);
        return;
      }
      if (uid === 0) {
        const nf: NewFile = {
          base,
          dir: f.dir,
          file: f.file,
          size: scanned.size,
          date: scanned.date,
          headers: scanned.headers,
          headersTruncated: scanned.truncated,
        };
        this.unrecorded.push(nf);
        this.unrecordedBytes += nf.size;
        return;
      }
      // The size from the name (",S=") is what Dovecot would report, but the file has the last word.
      this.place({
        dir: f.dir,
        file: f.file,
        letters: f.letters,
        info: this.makeInfo(uid, base, scanned.size, scanned.date, f.letters, scanned.headers, scanned.truncated, fresh),
      });
    });
    if (needScan.length > 0) freshUsed = true;
    if (unreadable > 0) this.hooks.onError(new Error(`${unreadable} message files could not be read; not shown`), 'load');
    if (needScan.length > 0) indexChanged = true;
    this.sorted = [...this.byUid.keys()].sort((a, b) => a - b);
    // Files still in new/ have not been seen by any IMAP session: they are \Recent for the first one.
    let firstNew = list.uidNext;
    for (const r of this.byUid.values()) if (r.dir === 'new' && r.info.uid < firstNew) firstNew = r.info.uid;
    this.recentUpTo = firstNew - 1;
    freshUsed = this.loadExpunged(head, index, listedBefore, fresh) || freshUsed;
    this.modseq = freshUsed ? fresh : modseqBase;
    if (head?.highestModseq === undefined) this.expungedFrom = this.modseq;
    if (this.modseq > this.modseqReserved && this.modseq > 1) {
      indexChanged = true;
      // Not through the space reserve (a full disk at start would use it up before any mail is
      // stored); if it fails, the first mutation reserves before it commits anything.
      try {
        await writeModseqFile(this.path, this.modseq);
        this.modseqReserved = this.modseq;
      } catch (err) {
        if (!isNoSpace(err)) this.hooks.onError(err, 'reserving mod-sequences');
      }
    }
    this.uidList = list;
    if (indexChanged) this.scheduleIndexSave();
    if (this.unrecorded.length > 0) this.scheduleRetry();
  }

  /**
   * At start, only this process writes in tmp/: a file there whose unique name has a line in the uid
   * list is a committed APPEND or COPY interrupted before its rename (complete and fdatasync'ed before
   * the line was written): it is moved into cur/. Everything else is an interrupted write: removed.
   * That includes a delivery's file (named DELIVERY_TMP_PREFIX + unique name: its uid-list line is
   * written once the file is, beside its fdatasync, so a line says nothing about the file; it was
   * never acknowledged). True when such a file had a line (the caller drops the line).
   */
  private async recoverTmp(list: UidList): Promise<boolean> {
    const tmp = join(this.path, 'tmp');
    let moved = false;
    let lined = false;
    for (const e of await readdirTypedOrEmpty(tmp)) {
      const p = parseMaildirName(e.name);
      if (e.name.startsWith(DELIVERY_TMP_PREFIX) && list.uids.has(e.name.slice(DELIVERY_TMP_PREFIX.length))) lined = true;
      try {
        if (e.isFile() && !e.name.startsWith(DELIVERY_TMP_PREFIX) && list.uids.has(p.base)) {
          await fsp.rename(join(tmp, e.name), join(this.path, 'cur', formatCurName(p.base, sanitizeLetters(p.info))));
          moved = true;
        } else {
          await fsp.rm(join(tmp, e.name), { force: true, recursive: true });
        }
        this.hooks.onRecoveredTmp?.();
      } catch (err) {
        this.hooks.onError(err, 'cleaning tmp/');
      }
    }
    if (moved) await fsyncDir(join(this.path, 'cur'));
    return lined;
  }

  /** Adds a record while loading (the sorted list is built once at the end). */
  private place(rec: Rec): void {
    this.byUid.set(rec.info.uid, rec);
    this.uidByBase.set(rec.info.uniqueName, rec.info.uid);
    this.totalBytes += rec.info.size;
  }

  /** Adds a record after loading; new UIDs are always above every existing one. */
  private put(rec: Rec): void {
    const uid = rec.info.uid;
    const had = this.byUid.get(uid);
    if (had) this.totalBytes -= had.info.size;
    this.place(rec);
    if (!had) {
      const last = this.sorted[this.sorted.length - 1];
      if (last === undefined || uid > last) this.sorted.push(uid);
      else this.sorted = [...this.byUid.keys()].sort((a, b) => a - b);
    }
  }

  private makeInfo(
    uid: number,
    base: string,
    size: number,
    date: number,
    letters: string,
    headers: HeaderFields,
    headersTruncated: boolean,
    modseq: number,
  ): MessageInfo {
    return Object.freeze({
      uid,
      uniqueName: base,
      uidl: uidlFor(base),
      size,
      internalDate: date,
      flags: Object.freeze(this.lettersToFlags(letters)),
      headers,
      headersTruncated,
      modseq,
    });
  }

  /**
   * The expunge history at load: the index's, plus what the files show was expunged after that
   * index was written (a crash lost its later saves): messages the index lists without a file, and
   * UIDs at or above the index's uidNext whose uid list line has no file. Returns whether any was
   * found (they get the mod-sequence `fresh`).
   */
  private loadExpunged(head: IndexHead | undefined, index: Map<string, IndexRow>, listed: Map<string, number>, fresh: number): boolean {
    this.expUids = [];
    this.expMods = [];
    if (!head || head.highestModseq === undefined) return false;
    const flat = head.expunged ?? [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      this.expUids.push(flat[i]);
      this.expMods.push(flat[i + 1]);
    }
    this.expungedFrom = head.expungedFrom ?? 1;
    const known = new Set(this.expUids);
    const found = new Set<number>();
    for (const row of index.values()) if (!this.byUid.has(row[0]) && !known.has(row[0])) found.add(row[0]);
    const uidNext = head.uidNext ?? Number.MAX_SAFE_INTEGER;
    for (const uid of listed.values()) if (uid >= uidNext && !this.byUid.has(uid) && !known.has(uid)) found.add(uid);
    if (found.size === 0) return false;
    const uids = [...found].sort((a, b) => a - b);
    this.noteExpunged(uids, fresh);
    return true;
  }

  /** Adds `uids` (ascending), expunged at `modseq`, to the expunge history, within its bound. */
  private noteExpunged(uids: readonly number[], modseq: number): void {
    for (const uid of uids) {
      this.expUids.push(uid);
      this.expMods.push(modseq);
    }
    this.trimExpunged();
  }

  /** Keeps the expunge history within its bound; what is dropped moves `expungedFrom` up. */
  private trimExpunged(): void {
    const cap = Math.min(this.hooks.expungeHistory ?? DEFAULT_EXPUNGE_HISTORY, MAX_EXPUNGE_HISTORY);
    if (this.expUids.length <= cap) return;
    let cut = this.expUids.length - cap;
    // Entries of one mod-sequence go together, so the history stays exact from `expungedFrom` on.
    const last = this.expMods[cut - 1];
    while (cut < this.expMods.length && this.expMods[cut] === last) cut++;
    this.expUids = this.expUids.slice(cut);
    this.expMods = this.expMods.slice(cut);
    this.expungedFrom = Math.max(this.expungedFrom, last);
  }

  /**
   * Makes sure the next mod-sequence is covered by MODSEQ_FILE (one durable write per MODSEQ_BLOCK
   * changes). Called by every mutation before its commit (the caller holds the mutex).
   */
  private async reserveModseq(useReserve = true): Promise<void> {
    if (this.modseq + 1 <= this.modseqReserved) return;
    const next = this.modseq + MODSEQ_BLOCK;
    await (useReserve ? this.withRoom(() => writeModseqFile(this.path, next)) : writeModseqFile(this.path, next));
    this.modseqReserved = next;
  }

  private lettersToFlags(letters: string): string[] {
    const flags: string[] = [];
    const kws: string[] = [];
    for (const l of letters) {
      const sys = systemFlagName(l);
      if (sys) flags.push(sys);
      else if (l >= 'a' && l <= 'z') {
        const kw = this.keywords[l.charCodeAt(0) - 97];
        if (kw) kws.push(kw);
      }
    }
    return [...flags, ...kws];
  }

  /** Info letters for IMAP flags (every keyword must be defined); keeps letters we do not map (P) from `keep`. */
  private flagsToLetters(flags: readonly string[], keep: string): string {
    const letters = new Set<string>();
    for (const l of keep) if (l >= 'A' && l <= 'Z' && !systemFlagName(l)) letters.add(l);
    for (const f of flags) {
      if (f.startsWith('\\')) {
        const l = systemFlagLetter(f);
        if (l) letters.add(l);
        continue; // \Recent and unknown system flags are not stored
      }
      const i = this.keywordIndex(f);
      if (i >= 0) letters.add(String.fromCharCode(97 + i));
    }
    return [...letters].sort().join('');
  }

  private keywordIndex(k: string): number {
    const lower = k.toLowerCase();
    return this.keywords.findIndex((x) => x !== undefined && x.toLowerCase() === lower);
  }

  /**
   * Defines the keywords among `flags` the folder does not have yet and writes dovecot-keywords
   * before any file name uses their letters. All or nothing: refused (TOO_MANY_KEYWORDS) before
   * anything changes when they do not fit, rolled back when the file cannot be written.
   */
  private async defineKeywords(flags: readonly string[]): Promise<string[]> {
    const fresh: string[] = [];
    const seen = new Set<string>();
    for (const f of flags) {
      if (f.startsWith('\\')) continue;
      if (!isValidKeyword(f)) throw new MailStoreError('INVALID_NAME', `invalid keyword "${f.slice(0, 40)}"`);
      const lower = f.toLowerCase();
      if (seen.has(lower) || this.keywordIndex(f) >= 0) continue;
      seen.add(lower);
      fresh.push(f);
    }
    if (fresh.length === 0) return [];
    const free = this.freeKeywordSlots();
    if (fresh.length > free.length) throw new MailStoreError('TOO_MANY_KEYWORDS', `folder ${this.name} can hold at most ${MAX_KEYWORDS} keywords`);
    const before = [...this.keywords];
    fresh.forEach((k, i) => (this.keywords[free[i]] = k));
    try {
      await this.withRoom(() => writeKeywords(this.path, this.keywords));
    } catch (err) {
      this.keywords = before;
      throw storageError(err, 'defining a keyword');
    }
    return fresh;
  }

  /** Letters no keyword has; a letter still on some file (its keyword lost with a damaged file) is not reused. */
  private freeKeywordSlots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < MAX_KEYWORDS; i++) if (this.keywords[i] === undefined) out.push(i);
    if (out.length === 0) return out;
    const used = new Set<string>();
    for (const r of this.byUid.values()) for (const l of r.letters) if (l >= 'a') used.add(l);
    return out.filter((i) => !used.has(String.fromCharCode(97 + i)));
  }

  private keywordsDefined(newKeywords: readonly string[]): KeywordsDefined {
    return newKeywords.length > 0 ? { newKeywords: Object.freeze([...newKeywords]), keywords: Object.freeze(this.definedKeywords()) } : {};
  }

  /** Keywords were defined but the operation failed afterwards: watchers still learn of them. */
  private announceKeywords(newKeywords: readonly string[], origin: unknown): void {
    if (newKeywords.length > 0 && !this.dead) this.emit({ kind: 'flags', messages: [], origin, ...this.keywordsDefined(newKeywords) });
  }

  private withRoom<T>(write: () => Promise<T>): Promise<T> {
    return this.hooks.reserve ? this.hooks.reserve.withRoom(write) : write();
  }

  // ---- reading --------------------------------------------------------------------------------

  get uidValidity(): number {
    return this.uidList?.uidValidity ?? 0;
  }

  get uidNext(): number {
    return this.uidList?.uidNext ?? 1;
  }

  /** RFC 7162 HIGHESTMODSEQ: the mod-sequence of the folder's last change (at least 1). */
  get highestModseq(): number {
    return this.modseq;
  }

  /**
   * UIDs expunged with a mod-sequence above `modseq` (RFC 7162 VANISHED (EARLIER)), and whether the
   * history reaches back that far. A client's mod-sequence above HIGHESTMODSEQ gets nothing.
   */
  expungedSince(modseq: number): ExpungedSince {
    const out: number[] = [];
    // Mod-sequences ascend: binary search for the first entry above `modseq`.
    let lo = 0;
    let hi = this.expMods.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.expMods[mid] <= modseq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.expUids.length; i++) out.push(this.expUids[i]);
    out.sort((a, b) => a - b);
    return { uids: out, complete: modseq >= this.expungedFrom };
  }

  /** Keywords defined in this folder (for IMAP FLAGS / PERMANENTFLAGS). */
  definedKeywords(): readonly string[] {
    return this.keywords.filter((k) => k !== undefined);
  }

  snapshot(): FolderSnapshot {
    const messages = new Array<MessageInfo>(this.sorted.length);
    for (let i = 0; i < this.sorted.length; i++) messages[i] = this.byUid.get(this.sorted[i])!.info;
    return { name: this.name, uidValidity: this.uidValidity, uidNext: this.uidNext, messages };
  }

  get(uid: number): MessageInfo | undefined {
    return this.byUid.get(uid)?.info;
  }

  /** Messages and octets, for the user's quota; files waiting to be recorded count too. */
  usage(): { bytes: number; messages: number } {
    return { bytes: this.totalBytes + this.unrecordedBytes, messages: this.byUid.size + this.unrecorded.length };
  }

  /** Current absolute path of a message file (changes when its flags change). */
  filePath(uid: number): string | undefined {
    const r = this.byUid.get(uid);
    return r ? join(this.path, r.dir, r.file) : undefined;
  }

  /**
   * The message's indexed header fields complete, read from the file (for a message whose index
   * entry is `headersTruncated`). Throws NO_SUCH_MESSAGE when it is gone.
   */
  async readHeaderFields(uid: number): Promise<HeaderFields> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = this.filePath(uid);
      if (!path) break;
      try {
        return parseHeaderFields(await readHead(path));
      } catch (err) {
        if (!isEnoent(err)) throw storageError(err, 'reading a message');
        await this.mutex.run(() => undefined); // renamed by a flag change: look again after it
      }
    }
    throw new MailStoreError('NO_SUCH_MESSAGE', `no message with UID ${uid} in "${this.name}"`);
  }

  countRecent(): number {
    let n = 0;
    for (let i = this.sorted.length - 1; i >= 0 && this.sorted[i] > this.recentUpTo; i--) n++;
    return n;
  }

  /**
   * \Recent (RFC 3501 section 2.3.2): returns the UIDs that are recent for the caller, i.e. that no
   * session has claimed before, and marks them claimed. Call at SELECT and on each 'exists' change.
   * Messages still in new/ move to cur/ in the background (the Maildir way of saying "seen by a MUA").
   */
  claimRecent(): number[] {
    const out: number[] = [];
    for (let i = this.sorted.length - 1; i >= 0 && this.sorted[i] > this.recentUpTo; i--) out.push(this.sorted[i]);
    out.reverse();
    this.recentUpTo = this.uidNext - 1;
    if (out.length > 0) {
      this.mutex.run(() => this.moveToCur(out)).catch((err: unknown) => this.hooks.onError(err, 'moving messages to cur/'));
    }
    return out;
  }

  private async moveToCur(uids: readonly number[]): Promise<void> {
    let moved = false;
    for (const uid of uids) {
      const r = this.byUid.get(uid);
      if (!r || r.dir !== 'new') continue;
      const file = formatCurName(r.info.uniqueName, r.letters);
      try {
        await fsp.rename(join(this.path, 'new', r.file), join(this.path, 'cur', file));
      } catch (err) {
        if (isEnoent(err)) continue;
        throw err;
      }
      r.dir = 'cur';
      r.file = file;
      moved = true;
    }
    if (moved) await Promise.all([fsyncDir(join(this.path, 'cur')), fsyncDir(join(this.path, 'new'))]);
  }

  // ---- watchers -------------------------------------------------------------------------------

  watch(listener: FolderListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get watcherCount(): number {
    return this.listeners.size;
  }

  private emit(change: FolderChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (err) {
        this.hooks.onError(err, 'a folder watcher threw');
      }
    }
  }

  /** The folder was deleted or renamed: watchers drop it and the object is never used again. */
  kill(origin?: unknown): void {
    this.dead = true;
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.emit({ kind: 'gone', origin });
    this.listeners.clear();
  }

  get isDead(): boolean {
    return this.dead;
  }

  // ---- mutations (callers hold the mutex: use the run* wrappers in MailStore) -------------------

  /**
   * Hands out UIDs for `bases` and appends them to the uid list with fdatasync. The UIDs are used up
   * even when the write fails (uidNext only grows), so none is ever given to two messages.
   */
  private async persistUids(bases: readonly string[]): Promise<number[]> {
    const list = this.uidList!;
    await this.reserveModseq();
    const lines = bases.map((base) => [list.uidNext++, base] as [number, string]);
    await this.withRoom(() => appendUidList(this.path, list, lines, true, this.hooks.appendFile));
    return lines.map(([uid]) => uid);
  }

  /** Makes new messages visible: one synchronous step, then one 'exists' change. */
  private commitNew(recs: Rec[], origin: unknown, newKeywords: readonly string[]): MessageInfo[] {
    const list = this.uidList!;
    const modseq = ++this.modseq;
    for (const r of recs) {
      r.info = Object.freeze({ ...r.info, modseq });
      list.uids.set(r.info.uniqueName, r.info.uid);
      this.put(r);
    }
    const infos = recs.map((r) => r.info);
    this.scheduleIndexSave();
    this.emit({ kind: 'exists', messages: infos, origin, ...this.keywordsDefined(newKeywords) });
    return infos;
  }

  private takeUnrecorded(): NewFile[] {
    const out = this.unrecorded;
    this.unrecorded = [];
    this.unrecordedBytes = 0;
    return out;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.dead) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.unrecorded.length === 0 || this.dead) return;
      this.mutex
        .run(() => this.addFiles([]))
        .then(
          () => (this.retryDelay = RETRY_MIN_MS),
          () => undefined, // addFiles re-queued them and scheduled the next try
        );
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  /**
   * Files that are already durable in new/ or cur/ (deliveries): assigns UIDs, writes them to the uid
   * list with fdatasync, and only then makes them visible (snapshot, watchers). A UID a client has
   * seen is therefore never re-assigned to another message after a crash (RFC 3501 section 2.3.1.1).
   * Deliveries call this batched, off the SMTP reply path, so one fdatasync covers many messages.
   * When the uid list cannot be written (disk full) the files wait, invisible but counted, and are
   * tried again with the next delivery or after a delay.
   */
  async addFiles(files: readonly NewFile[], origin?: unknown): Promise<MessageInfo[]> {
    const list = this.uidList!;
    const all = [...this.takeUnrecorded(), ...files];
    const fresh: NewFile[] = [];
    const seen = new Set<string>();
    for (const f of all) {
      if (this.uidByBase.has(f.base) || list.uids.has(f.base) || seen.has(f.base)) f.onRecorded?.();
      else {
        seen.add(f.base);
        fresh.push(f);
      }
    }
    if (fresh.length === 0) return [];
    fresh.sort((a, b) => compareUniqueNames(a.base, b.base));
    let uids: number[];
    try {
      uids = await this.persistUids(fresh.map((f) => f.base));
    } catch (err) {
      for (const f of fresh) {
        this.unrecorded.push({ ...f, onRecorded: undefined });
        this.unrecordedBytes += f.size;
        f.onRecorded?.();
      }
      this.scheduleRetry();
      throw storageError(err, 'recording delivered messages');
    }
    const recs = fresh.map((f, i): Rec => {
      const letters = f.dir === 'cur' ? sanitizeLetters(parseMaildirName(f.file).info) : '';
      return { dir: f.dir, file: f.file, letters, info: this.makeInfo(uids[i], f.base, f.size, f.date, letters, f.headers, f.headersTruncated === true, 0) };
    });
    const infos = this.commitNew(recs, origin, []);
    for (const f of fresh) f.onRecorded?.();
    return infos;
  }

  /**
   * UIDs for deliveries of `bases` into this folder, handed out before their files are written: the
   * delivery writes their uid-list lines (the returned `lines`) beside the files and fdatasyncs both
   * before its 250, then reports with `landDelivered`, which makes them visible at once (one
   * uid-list commit per group of deliveries, and none after the 250). Undefined when the folder is not
   * loaded or gone (the delivery then takes the `addFiles` way). Every UID handed out must be reported
   * (landed or failed), in every case: a later delivery's UID waits for the lower ones to land. Call
   * it in the same turn as `reservable` was found undefined (a delivery to several folders waits for all of
   * them first and holds no UID while it waits, so two deliveries cannot wait for each other).
   */
  reserveDeliveryUids(bases: readonly string[]): { uids: number[]; lines: { path: string; text: string } } | undefined {
    const list = this.uidList;
    if (this.uidGate) throw new Error('reserveDeliveryUids while the uid list is rewritten: await reservable() first');
    if (this.dead || !list) return undefined;
    const uids = bases.map(() => list.uidNext++);
    let text = '';
    for (let i = 0; i < uids.length; i++) {
      this.uidsInFlight.add(uids[i]);
      text += formatUidLine(uids[i], bases[i]);
    }
    return { uids, lines: { path: join(this.path, UIDLIST_FILE), text } };
  }

  /** Resolves when UIDs can be handed out to deliveries (no uid-list rewrite is running). */
  get reservable(): Promise<void> | undefined {
    return this.uidGate;
  }

  /**
   * The deliveries of `uids` (from reserveDeliveryUids) ended: with `files` (same order), durable with
   * their uid-list lines, they become visible (in UID order: each waits for every lower UID in flight),
   * and the promise resolves once they are; without, they failed (their UIDs are used up).
   */
  landDelivered(uids: readonly number[], files?: readonly NewFile[]): Promise<void> {
    const visible: Array<Promise<void>> = [];
    uids.forEach((uid, i) => {
      this.uidsInFlight.delete(uid);
      if (files) visible.push(new Promise<void>((resolve) => this.landed.set(uid, { file: files[i], visible: resolve })));
      else this.staleUidLines++; // a line may have been written: it counts toward compaction
    });
    if (this.uidsInFlight.size === 0) this.onNoneInFlight?.();
    this.queueLanding();
    return Promise.all(visible).then(() => undefined);
  }

  private queueLanding(): void {
    if (this.landingQueued || this.landed.size === 0) return;
    this.landingQueued = true;
    this.mutex
      .run(async () => {
        this.landingQueued = false;
        if (!this.dead && this.uidList)
          await this.reserveModseq().catch((err: unknown) => {
            if (!isNoSpace(err)) this.hooks.onError(err, 'reserving mod-sequences');
          });
        this.commitLanded();
      })
      .catch((err: unknown) => this.hooks.onError(err, 'recording delivered messages'));
  }

  /** Makes the landed deliveries below the lowest UID in flight visible (one commit). */
  private commitLanded(): void {
    let lowest = Infinity;
    for (const uid of this.uidsInFlight) lowest = Math.min(lowest, uid);
    const ready = [...this.landed.keys()].filter((uid) => uid < lowest).sort((a, b) => a - b);
    if (ready.length === 0) return;
    const done = ready.map((uid) => this.landed.get(uid)!);
    for (const uid of ready) this.landed.delete(uid);
    if (!this.dead && this.uidList) {
      const recs = ready.map((uid, i): Rec => {
        const f = done[i].file;
        return { dir: f.dir, file: f.file, letters: '', info: this.makeInfo(uid, f.base, f.size, f.date, '', f.headers, f.headersTruncated === true, 0) };
      });
      this.commitNew(recs, undefined, []);
    }
    for (const d of done) {
      d.file.onRecorded?.();
      d.visible();
    }
  }

  /** APPEND: written to tmp/, committed by its uid list line, renamed into cur/. All or nothing. */
  async append(data: Buffer, flags: readonly string[], internalDate: number | undefined, origin?: unknown): Promise<MessageInfo> {
    const newKeywords = await this.defineKeywords(flags);
    const base = newUniqueBase(data.length);
    const letters = this.flagsToLetters(flags, '');
    const file = formatCurName(base, letters);
    // The tmp/ name carries the flags, so a commit interrupted before the rename is completed at start.
    const tmp = join(this.path, 'tmp', file);
    const dest = join(this.path, 'cur', file);
    let made: string | undefined;
    try {
      await this.hooks.reserve?.beforeData();
      // Written, dated and fdatasync'ed as a delivery's file is (removed again if that fails).
      const date = await createFileDurable(tmp, [data], data.length, internalDate);
      made = tmp;
      const [uid] = await this.persistUids([base]);
      await fsp.rename(tmp, dest);
      made = dest;
      await fsyncDir(join(this.path, 'cur'));
      const scanned = indexHeaderFields(data.subarray(0, MAX_HEADER_SCAN));
      const rec: Rec = { dir: 'cur', file, letters, info: this.makeInfo(uid, base, data.length, date, letters, scanned.headers, scanned.truncated, 0) };
      return this.commitNew([rec], origin, newKeywords)[0];
    } catch (err) {
      if (made) await unlinkQuiet(made);
      this.announceKeywords(newKeywords, origin);
      throw storageError(err, 'storing the message');
    }
  }

  /**
   * COPY: hard-links (or copies) the source files into tmp/, commits them with one uid list append,
   * renames them into cur/ with the same flags and dates. All or nothing: a failure part-way removes
   * every file made, so nothing reappears after a restart. Returns [source uid, new uid] pairs.
   */
  async copyFrom(source: Folder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>> {
    const items: Array<{ srcUid: number; info: MessageInfo; base: string; file: string; letters: string }> = [];
    const wanted = [...new Set(uids)];
    const keywordFlags = new Set<string>();
    for (const uid of wanted) {
      const info = source.get(uid);
      if (!info) continue;
      items.push({ srcUid: uid, info, base: '', file: '', letters: '' });
      for (const f of info.flags) if (!f.startsWith('\\')) keywordFlags.add(f);
    }
    if (items.length === 0) return [];
    const newKeywords = await this.defineKeywords([...keywordFlags]);
    const tmpDir = join(this.path, 'tmp');
    const curDir = join(this.path, 'cur');
    const inTmp = new Set<string>();
    const inCur: string[] = [];
    try {
      await this.hooks.reserve?.beforeData();
      for (let i = 0; i < items.length; i++) {
        if (i > 0 && i % COPY_SLICE === 0) await yieldToLoop(); // nothing is visible yet: safe to pause
        const it = items[i];
        it.base = newUniqueBase(it.info.size);
        it.letters = this.flagsToLetters(it.info.flags, source.byUid.get(it.srcUid)?.letters ?? '');
        it.file = formatCurName(it.base, it.letters);
      }
      // A few file operations in flight at once (the thread pool runs them in parallel); after a
      // failure none is started and those in flight are waited for before the cleanup.
      await mapLimit(items, FILE_OPS_IN_FLIGHT, async (it) => {
        const tmp = join(tmpDir, it.file);
        await linkOrCopy(
          () => source.filePath(it.srcUid),
          tmp,
          new Date(it.info.internalDate),
          () => inTmp.add(tmp),
        );
      });
      const newUids = await this.persistUids(items.map((it) => it.base));
      // Built now, so the commit below is only the (short) synchronous publication.
      const recs: Rec[] = [];
      for (let i = 0; i < items.length; i++) {
        if (i > 0 && i % COPY_SLICE === 0) await yieldToLoop();
        const it = items[i];
        recs.push({
          dir: 'cur',
          file: it.file,
          letters: it.letters,
          info: this.makeInfo(newUids[i], it.base, it.info.size, it.info.internalDate, it.letters, it.info.headers, it.info.headersTruncated === true, 0),
        });
      }
      await mapLimit(items, FILE_OPS_IN_FLIGHT, async (it) => {
        await fsp.rename(join(tmpDir, it.file), join(curDir, it.file));
        inTmp.delete(join(tmpDir, it.file));
        inCur.push(join(curDir, it.file));
      });
      await fsyncDir(curDir);
      this.commitNew(recs, origin, newKeywords);
      return items.map((it, i) => [it.srcUid, newUids[i]] as [number, number]).sort((a, b) => a[0] - b[0]);
    } catch (err) {
      for (const p of [...inTmp, ...inCur]) await unlinkQuiet(p);
      if (inCur.length > 0) await fsyncDir(curDir).catch(() => undefined);
      this.announceKeywords(newKeywords, origin);
      throw storageError(err, 'copying messages');
    }
  }

  /**
   * STORE. Files are renamed one by one (the file name carries the flags); what watchers and
   * snapshots see changes once, at the end, for every message whose rename succeeded. If a rename
   * fails for another reason than the message being gone, the change stops there, the part done is
   * committed and published, and the error is thrown.
   */
  async updateFlags(
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    origin?: unknown,
    unchangedSince?: number,
  ): Promise<{ changed: MessageInfo[]; messages: MessageInfo[]; modified: number[] }> {
    await this.reserveModseq();
    // RFC 7162 section 3.1.3 (UNCHANGEDSINCE): a message changed after that mod-sequence is left alone.
    const modified: number[] = [];
    const newKeywords = op === 'remove' ? [] : await this.defineKeywords(flags);
    const drop = op === 'remove' ? new Set(flags.map((f) => f.toLowerCase())) : undefined;
    const renamed: Array<{ rec: Rec; next: boolean }> = [];
    const inOrder: Rec[] = [];
    const touched = new Set<string>();
    let failure: unknown;
    for (const uid of new Set(uids)) {
      const r = this.byUid.get(uid);
      if (!r) continue;
      if (unchangedSince !== undefined && r.info.modseq > unchangedSince) {
        modified.push(uid);
        continue;
      }
      let target: readonly string[];
      if (op === 'set') target = flags;
      else if (op === 'add') target = [...r.info.flags, ...flags];
      else target = r.info.flags.filter((f) => !drop!.has(f.toLowerCase()));
      const letters = this.flagsToLetters(target, r.letters);
      if (letters === r.letters && r.dir === 'cur') {
        inOrder.push(r);
        continue;
      }
      const file = formatCurName(r.info.uniqueName, letters);
      try {
        await fsp.rename(join(this.path, r.dir, r.file), join(this.path, 'cur', file));
      } catch (err) {
        if (isEnoent(err)) continue; // removed behind our back; the next load forgets it
        failure = err;
        break;
      }
      touched.add(r.dir);
      touched.add('cur');
      // Where the file is now is updated at once (readers look it up); what it means, at the commit.
      const next = letters !== r.letters; // else only moved from new/ to cur/
      r.dir = 'cur';
      r.file = file;
      r.letters = letters;
      renamed.push({ rec: r, next });
      inOrder.push(r);
    }
    try {
      await Promise.all([...touched].map((d) => fsyncDir(join(this.path, d))));
    } catch (err) {
      failure ??= err;
    }
    // Commit: one synchronous step; the changed messages share one new mod-sequence (RFC 7162 section 3.1).
    const changed: MessageInfo[] = [];
    const modseq = this.modseq + 1;
    for (const { rec, next } of renamed) {
      if (!next) continue;
      const i = rec.info;
      rec.info = this.makeInfo(i.uid, i.uniqueName, i.size, i.internalDate, rec.letters, i.headers, i.headersTruncated === true, modseq);
      changed.push(rec.info);
    }
    if (changed.length > 0) this.modseq = modseq;
    const messages = inOrder.map((r) => r.info);
    if (changed.length > 0) {
      this.scheduleIndexSave();
      this.emit({ kind: 'flags', messages: changed, origin, ...this.keywordsDefined(newKeywords) });
    } else {
      this.announceKeywords(newKeywords, origin);
    }
    if (failure !== undefined) throw storageError(failure, 'changing flags');
    return { changed, messages, modified };
  }

  /**
   * Removes messages (default: every message flagged \Deleted). Returns the removed UIDs. The uid
   * list keeps the lines of removed messages (a line without a file is ignored at load) until they
   * outnumber the live ones; then it is rewritten in the background, so an expunge costs unlinks and
   * directory fsyncs only, and works on a full disk.
   */
  async expunge(uids: readonly number[] | undefined, origin?: unknown, onlyDeleted = uids === undefined): Promise<number[]> {
    const isDeleted = (u: number): boolean => this.byUid.get(u)!.info.flags.includes('\\Deleted');
    const targets = [...new Set(uids ?? this.sorted)].filter((u) => this.byUid.has(u) && (!onlyDeleted || isDeleted(u)));
    if (targets.length === 0) return [];
    const dirs = new Set<string>();
    const removed: number[] = [];
    let failure: unknown;
    for (const uid of targets) {
      const r = this.byUid.get(uid)!;
      try {
        await fsp.unlink(join(this.path, r.dir, r.file));
      } catch (err) {
        if (!isEnoent(err)) {
          failure = err;
          break;
        }
      }
      dirs.add(r.dir);
      removed.push(uid);
    }
    try {
      await Promise.all([...dirs].map((d) => fsyncDir(join(this.path, d))));
    } catch (err) {
      // The files are gone already; a crash could bring some back, and the next load handles that.
      this.hooks.onError(err, 'fsync after expunge');
    }
    // Reserved after the unlinks (they may have made the room), and not through the space reserve:
    // an expunge is how a full disk is emptied (hard-linked copies elsewhere may keep the blocks),
    // and using the reserve up here would refuse the next APPEND. The files are gone whatever
    // happens, so the expunge is committed even if this write fails; the next mutation reserves
    // again (only a crash before that could hand out a mod-sequence twice).
    await this.reserveModseq(false).catch((err: unknown) => {
      if (!isNoSpace(err)) this.hooks.onError(err, 'reserving mod-sequences');
    });
    if (removed.length > 0) {
      this.hooks.reserve?.spaceFreed();
      this.commitRemoved(removed, origin);
    }
    if (failure !== undefined) throw storageError(failure, 'removing messages');
    return removed.sort((a, b) => a - b);
  }

  private commitRemoved(removed: number[], origin: unknown): void {
    const list = this.uidList!;
    const gone = new Set(removed);
    for (const uid of removed) {
      const r = this.byUid.get(uid)!;
      this.byUid.delete(uid);
      this.uidByBase.delete(r.info.uniqueName);
      list.uids.delete(r.info.uniqueName);
      this.totalBytes -= r.info.size;
    }
    this.sorted = this.sorted.filter((u) => !gone.has(u));
    const modseq = ++this.modseq;
    const uids = [...removed].sort((a, b) => a - b);
    this.noteExpunged(uids, modseq);
    this.staleUidLines += removed.length;
    this.scheduleIndexSave();
    this.maybeCompact();
    this.emit({ kind: 'expunge', uids, modseq, origin });
  }

  private maybeCompact(): void {
    if (this.compacting || this.dead || this.staleUidLines < COMPACT_MIN_STALE || this.staleUidLines <= this.byUid.size) return;
    this.compacting = true;
    setImmediate(() => {
      this.mutex
        .run(async () => {
          if (this.dead) return;
          // Deliveries append their lines to the file outside this lock: none may be in flight while
          // it is replaced (its line would go to the old file), and none starts until it is.
          let open = (): void => {};
          this.uidGate = new Promise<void>((resolve) => (open = resolve));
          try {
            if (this.uidsInFlight.size > 0) await new Promise<void>((resolve) => (this.onNoneInFlight = resolve));
            this.onNoneInFlight = undefined;
            if (this.dead) return;
            const stale = this.staleUidLines;
            const uids = [...this.sorted, ...this.landed.keys()].sort((a, b) => a - b);
            const entries = uids.map((u) => [u, this.byUid.get(u)?.info.uniqueName ?? this.landed.get(u)!.file.base] as const);
            await writeUidList(this.path, this.uidList!, entries);
            this.staleUidLines -= stale;
          } finally {
            this.uidGate = undefined;
            open();
          }
        })
        .catch((err: unknown) => {
          // A full disk: the long list stays, which costs nothing but space; tried after the next expunge.
          if (!isNoSpace(err)) this.hooks.onError(err, 'compacting the uid list');
        })
        .finally(() => (this.compacting = false));
    });
  }

  // ---- the index ------------------------------------------------------------------------------

  private scheduleIndexSave(): void {
    if (this.dead) return;
    if (this.indexSaving) {
      this.indexAgain = true;
      return;
    }
    if (this.indexTimer) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      this.startIndexSave();
    }, this.hooks.indexSaveDelayMs ?? DEFAULT_INDEX_SAVE_DELAY_MS);
    this.indexTimer.unref();
  }

  private startIndexSave(): void {
    this.indexSaving = this.saveIndex()
      .catch((err: unknown) => {
        if (!isNoSpace(err)) this.hooks.onError(err, 'writing the index');
      })
      .finally(() => {
        this.indexSaving = undefined;
        if (this.indexAgain) {
          this.indexAgain = false;
          this.scheduleIndexSave();
        }
      });
  }

  /** Writes the index now if a save is pending, and waits for one in progress (at stop). */
  async flushIndex(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      if (this.indexSaving) await this.indexSaving;
      if (!this.indexTimer && !this.indexAgain) break;
      if (this.indexTimer) clearTimeout(this.indexTimer);
      this.indexTimer = undefined;
      this.indexAgain = false;
      this.startIndexSave();
    }
    if (this.indexSaving) await this.indexSaving;
    await this.releaseModseq();
  }

  /**
   * At stop, once the index holds HIGHESTMODSEQ: MODSEQ_FILE comes down to it, so a clean restart
   * goes on where the folder was instead of above the reserved block.
   */
  private async releaseModseq(): Promise<void> {
    if (this.dead || !this.uidList || this.modseqReserved <= this.modseq || !this.indexClean) return;
    try {
      await writeModseqFile(this.path, this.modseq);
      this.modseqReserved = this.modseq;
    } catch {
      // the reservation stays higher: harmless (the next start goes on above it)
    }
  }

  /**
   * The index is a cache (a torn or stale one is detected and rebuilt from the files at load), so it
   * is written without fsync. Its rows are taken in one synchronous step (one consistent state), then
   * serialised in slices with yields between them, so a big folder never blocks the loop for long.
   */
  private async saveIndex(): Promise<void> {
    if (this.dead || !this.uidList) return;
    const uidValidity = this.uidValidity;
    this.indexClean = false;
    const head: IndexHead = {
      v: INDEX_VERSION,
      uidValidity,
      count: this.sorted.length,
      highestModseq: this.modseq,
      uidNext: this.uidNext,
      expungedFrom: this.expungedFrom,
      expunged: interleave(this.expUids, this.expMods),
    };
    const rows = new Array<[MessageInfo, string]>(this.sorted.length);
    for (let i = 0; i < this.sorted.length; i++) {
      const r = this.byUid.get(this.sorted[i])!;
      rows[i] = [r.info, r.letters];
    }
    const parts: string[] = [JSON.stringify(head) + '\n'];
    for (let start = 0; start < rows.length; start += INDEX_SLICE) {
      if (start > 0) {
        await yieldToLoop();
        if (this.dead) return;
      }
      let text = '';
      for (let i = start; i < Math.min(rows.length, start + INDEX_SLICE); i++) {
        const [m, letters] = rows[i];
        const row: IndexRow = [m.uid, m.uniqueName, m.size, m.internalDate, letters, m.headers, m.headersTruncated === true ? 1 : 0, m.modseq];
        text += JSON.stringify(row) + '\n';
      }
      parts.push(text);
    }
    await writeFileDurable(this.path, INDEX_FILE, parts, false);
    // Clean only if nothing changed while it was written (the next save is then already scheduled).
    this.indexClean = !this.indexAgain && this.indexTimer === undefined;
  }
}

function interleave(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length * 2);
  for (let i = 0; i < a.length; i++) {
    out[2 * i] = a[i];
    out[2 * i + 1] = b[i];
  }
  return out;
}

/** MODSEQ_FILE's number; 0 when missing or not a number we wrote. */
async function readModseqFile(dir: string): Promise<number> {
  const text = await readSmallFile(join(dir, MODSEQ_FILE), 64);
  if (text === undefined) return 0;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

async function writeModseqFile(dir: string, value: number): Promise<void> {
  await writeFileDurable(dir, MODSEQ_FILE, `${value}\n`);
}

/** Info letters as we use them: A-Z and a-z, each once (anything else in a foreign file name is dropped). */
function sanitizeLetters(info: string): string {
  if (/^[A-Za-z]{0,52}$/.test(info) && new Set(info).size === info.length) return info;
  return [...new Set(info.replace(/[^A-Za-z]/g, ''))].sort().join('');
}

function validRow(row: unknown, version: number): IndexRow | undefined {
  if (!Array.isArray(row) || (version === INDEX_VERSION ? row.length !== 8 : row.length !== 7 && row.length !== 6)) return undefined;
  const [uid, base, size, date, letters, headers, truncated, modseq = 1] = row as unknown[];
  if (!isModseq(modseq)) return undefined;
  if (!Number.isSafeInteger(uid) || (uid as number) <= 0) return undefined;
  if (typeof base !== 'string' || base.length === 0 || base.length > 255) return undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0) return undefined;
  if (typeof date !== 'number' || !Number.isFinite(date)) return undefined;
  if (typeof letters !== 'string' || letters.length > 52) return undefined;
  const capped = capHeaderFields(headers);
  if (!capped) return undefined;
  return [uid as number, base, size as number, date, letters, capped.headers, capped.truncated || truncated === 1 ? 1 : 0, modseq];
}

function isModseq(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) > 0;
}

/** A version 3 header as we write it (the expunge history well-formed), else undefined. */
function validHead(h: IndexHead): IndexHead | undefined {
  if (!isModseq(h.highestModseq) || !isModseq(h.uidNext) || !isModseq(h.expungedFrom) || !Array.isArray(h.expunged)) return undefined;
  const e = h.expunged;
  if (e.length % 2 !== 0 || e.length > 2 * MAX_EXPUNGE_HISTORY) return undefined;
  for (let i = 0; i < e.length; i += 2) {
    if (!isModseq(e[i]) || !isModseq(e[i + 1]) || e[i + 1] > h.highestModseq) return undefined;
    if (i > 0 && e[i + 1] < e[i - 1]) return undefined;
  }
  return h;
}

/**
 * The index rows by unique name and (version 3) its header; empty when the file is missing, too
 * large, of another version or UIDVALIDITY, or its header is damaged (a torn row only loses that row). Never throws.
 */
async function readIndex(dir: string, uidValidity: number): Promise<IndexData> {
  const rows = new Map<string, IndexRow>();
  const out: IndexData = { rows };
  const text = await readSmallFile(join(dir, INDEX_FILE), MAX_INDEX_BYTES);
  if (text === undefined) return out; // missing or unreadable: rebuilt from the messages
  const lines = text.split('\n');
  let version: number;
  try {
    const head = JSON.parse(lines[0]) as IndexHead;
    if ((head.v !== INDEX_VERSION && head.v !== 2) || head.uidValidity !== uidValidity) return out;
    version = head.v;
    if (version === INDEX_VERSION) {
      const valid = validHead(head);
      if (!valid) return out;
      out.head = valid;
    }
  } catch {
    return out;
  }
  for (let i = 1; i < lines.length; i++) {
    if (i % INDEX_SLICE === 0) await yieldToLoop();
    if (lines[i].length === 0) continue;
    try {
      const row = validRow(JSON.parse(lines[i]), version);
      if (row) rows.set(row[1], row);
    } catch {
      // a torn line: that message is read again
    }
  }
  return out;
}

async function readKeywords(dir: string): Promise<string[]> {
  const text = await readSmallFile(join(dir, KEYWORDS_FILE), 64 * 1024);
  if (text === undefined) return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (!m || Number(m[1]) >= MAX_KEYWORDS) continue;
    // A keyword that is not an IMAP atom would break the FLAGS response: not kept.
    const kw = m[2];
    if (!isValidKeyword(kw) || seen.has(kw.toLowerCase())) continue;
    seen.add(kw.toLowerCase());
    out[Number(m[1])] = kw;
  }
  return out;
}

async function writeKeywords(dir: string, keywords: readonly (string | undefined)[]): Promise<void> {
  let text = '';
  keywords.forEach((k, i) => {
    if (k !== undefined) text += `${i} ${k}\n`;
  });
  await writeFileDurable(dir, KEYWORDS_FILE, text);
}

interface ScannedMessage {
  size: number;
  date: number;
  headers: HeaderFields;
  truncated: boolean;
}

/** Opens a message file for reading: never follows a symbolic link, never blocks on a FIFO; regular files only. */
async function openMessage(path: string): Promise<import('node:fs/promises').FileHandle> {
  const fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  return fh;
}

async function scanMessage(path: string): Promise<ScannedMessage | undefined> {
  const fh = await openMessage(path);
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, MAX_HEADER_SCAN));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const { headers, truncated } = indexHeaderFields(buf.subarray(0, bytesRead));
    return { size: st.size, date: Math.floor(st.mtimeMs), headers, truncated };
  } finally {
    await fh.close();
  }
}

/** At most MAX_HEADER_SCAN octets from the start of a message. */
async function readHead(path: string): Promise<Buffer> {
  const fh = await openMessage(path);
  try {
    const buf = Buffer.alloc(MAX_HEADER_SCAN);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * link(2) the source to `dest`; across devices (or where links are refused) copies it, fdatasyncs it
 * and keeps its date. `made` is called once `dest` exists (so a failure after it can remove it).
 */
export async function linkOrCopy(sourcePath: () => string | undefined, dest: string, date: Date, made: () => void): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const src = sourcePath();
    if (!src) throw new MailStoreError('NO_SUCH_MESSAGE', 'the message was expunged');
    try {
      await fsp.link(src, dest);
      made();
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // renamed by a flag change meanwhile: look the path up again
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      made();
      await fsp.copyFile(src, dest, fsc.COPYFILE_EXCL);
      const fh = await fsp.open(dest, 'r+');
      try {
        await fh.datasync();
        await fh.utimes(date, date);
      } finally {
        await fh.close();
      }
      return;
    }
  }
  throw new MailStoreError('NO_SUCH_MESSAGE', 'the message could not be read');
}
