// One Maildir folder in memory: its uid list, its messages (from the directory listing, with sizes,
// dates and header fields from the index), its keywords, its \Recent boundary and its watchers.
// Every mutation runs through the folder's mutex and publishes a FolderChange to the watchers.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, isEnoent, mapLimit, readdirOrEmpty, writeFileDurable } from './fs-util.js';
import { MAX_HEADER_SCAN, parseHeaderFields, type HeaderFields } from './header-fields.js';
import { compareUniqueNames, formatCurName, newUniqueBase, parseMaildirName, systemFlagLetter, systemFlagName } from './maildir-name.js';
import { Mutex } from './mutex.js';
import { appendUidList, newUidList, readUidList, writeUidList, type UidList } from './uid-list.js';
import { MailStoreError, type FlagOperation, type FolderChange, type FolderListener, type FolderSnapshot, type MessageInfo } from './types.js';

export const INDEX_FILE = 'labnet-index.json';
export const KEYWORDS_FILE = 'dovecot-keywords';
const INDEX_VERSION = 1;
/** Keyword letters a-z (Dovecot's scheme): at most 26 keywords per folder. */
export const MAX_KEYWORDS = 26;
const INDEX_SAVE_DELAY_MS = 1000;

interface Rec {
  info: MessageInfo;
  dir: 'new' | 'cur';
  /** File name inside dir. */
  file: string;
  /** Info letters as on disk (system letters upper case incl. P, keyword letters lower case). */
  letters: string;
}

type IndexRow = [uid: number, base: string, size: number, date: number, letters: string, headers: HeaderFields];

export interface NewFile {
  base: string;
  dir: 'new' | 'cur';
  file: string;
  size: number;
  date: number;
  headers: HeaderFields;
}

export function uidlFor(base: string): string {
  return base.length <= 70 && /^[\x21-\x7e]+$/.test(base) ? base : createHash('sha1').update(base).digest('hex');
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
  private dead = false;

  constructor(
    readonly user: string,
    readonly name: string,
    readonly path: string,
    private readonly nextValidity: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  // ---- loading and recovery -------------------------------------------------------------------

  /** Loads once (directory listing + uid list + index); later calls wait for the same load. */
  ensureLoaded(): Promise<void> {
    this.loading ??= this.mutex.run(() => this.load());
    return this.loading;
  }

  get isLoaded(): boolean {
    return this.uidList !== undefined;
  }

  private async load(): Promise<void> {
    await Promise.all(['cur', 'new', 'tmp'].map((d) => fsp.mkdir(join(this.path, d), { recursive: true })));
    let list = await readUidList(this.path);
    let rewrite = false;
    if (!list) {
      list = newUidList(this.nextValidity());
      rewrite = true;
    }
    this.keywords = await readKeywords(this.path);
    const index = await readIndex(this.path, list.uidValidity);
    const [newNames, curNames] = await Promise.all([readdirOrEmpty(join(this.path, 'new')), readdirOrEmpty(join(this.path, 'cur'))]);
    const files = new Map<string, { dir: 'new' | 'cur'; file: string; letters: string; size: number | undefined }>();
    for (const [dir, names] of [
      ['new', newNames],
      ['cur', curNames],
    ] as const) {
      for (const file of names) {
        if (file.startsWith('.')) continue;
        const p = parseMaildirName(file);
        // The same message in new/ and cur/ (a crash between link and unlink elsewhere): cur/ wins.
        if (files.has(p.base) && dir === 'new') continue;
        files.set(p.base, { dir, file, letters: p.info, size: p.size });
      }
    }
    const known: Array<[string, number]> = [];
    const unknown: string[] = [];
    for (const base of files.keys()) {
      const uid = list.uids.get(base);
      if (uid !== undefined) known.push([base, uid]);
      else unknown.push(base);
    }
    // Entries whose file is gone are forgotten; their UIDs are never reused (uidNext only grows).
    const live = new Map<string, number>(known);
    const dropped = list.uids.size - known.length;
    list.uids = live;
    unknown.sort(compareUniqueNames);
    const added: Array<[number, string]> = [];
    for (const base of unknown) {
      const uid = list.uidNext++;
      list.uids.set(base, uid);
      added.push([uid, base]);
    }
    if (rewrite || dropped > 0) await writeUidList(this.path, list);
    else await appendUidList(this.path, added, true);
    this.uidList = list;

    let indexChanged = index.size !== files.size;
    const needScan: Array<{ base: string; uid: number }> = [];
    const entries = [...list.uids].sort((a, b) => a[1] - b[1]);
    for (const [base, uid] of entries) {
      const f = files.get(base)!;
      const row = index.get(base);
      if (row && row[0] === uid) {
        this.put({ dir: f.dir, file: f.file, letters: f.letters, info: this.makeInfo(uid, base, row[2], row[3], f.letters, row[5]) });
        if (row[4] !== f.letters) indexChanged = true;
      } else {
        needScan.push({ base, uid });
      }
    }
    await mapLimit(needScan, 16, async ({ base, uid }) => {
      const f = files.get(base)!;
      const path = join(this.path, f.dir, f.file);
      try {
        const scanned = await scanMessage(path);
        this.put({
          dir: f.dir,
          file: f.file,
          letters: f.letters,
          info: this.makeInfo(uid, base, f.size ?? scanned.size, scanned.date, f.letters, scanned.headers),
        });
      } catch (err) {
        if (!isEnoent(err)) throw err;
        list.uids.delete(base);
      }
    });
    if (needScan.length > 0) {
      indexChanged = true;
      this.sorted = [...this.byUid.keys()].sort((a, b) => a - b);
    }
    // Files still in new/ have not been seen by any IMAP session: they are \Recent for the first one.
    let firstNew = list.uidNext;
    for (const r of this.byUid.values()) if (r.dir === 'new' && r.info.uid < firstNew) firstNew = r.info.uid;
    this.recentUpTo = firstNew - 1;
    if (indexChanged) this.scheduleIndexSave();
  }

  private put(rec: Rec): void {
    const uid = rec.info.uid;
    const had = this.byUid.has(uid);
    this.byUid.set(uid, rec);
    this.uidByBase.set(rec.info.uniqueName, uid);
    if (!had) {
      const last = this.sorted[this.sorted.length - 1];
      if (last === undefined || uid > last) this.sorted.push(uid);
      else this.sorted = [...this.byUid.keys()].sort((a, b) => a - b);
    }
  }

  private makeInfo(uid: number, base: string, size: number, date: number, letters: string, headers: HeaderFields): MessageInfo {
    return Object.freeze({ uid, uniqueName: base, uidl: uidlFor(base), size, internalDate: date, flags: Object.freeze(this.lettersToFlags(letters)), headers });
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

  /** Info letters for IMAP flags; keeps letters we do not map (P) from `keep`. Adds new keywords. */
  private async flagsToLetters(flags: readonly string[], keep: string): Promise<string> {
    const letters = new Set<string>();
    for (const l of keep) if (l >= 'A' && l <= 'Z' && !systemFlagName(l)) letters.add(l);
    let newKeywords = false;
    for (const f of flags) {
      if (f.startsWith('\\')) {
        const l = systemFlagLetter(f);
        if (l) letters.add(l);
        continue; // \Recent and unknown system flags are not stored
      }
      let i = this.keywords.findIndex((k) => k.toLowerCase() === f.toLowerCase());
      if (i < 0) {
        if (this.keywords.length >= MAX_KEYWORDS) throw new MailStoreError('TOO_MANY_KEYWORDS', `folder ${this.name} already has ${MAX_KEYWORDS} keywords`);
        this.keywords.push(f);
        i = this.keywords.length - 1;
        newKeywords = true;
      }
      letters.add(String.fromCharCode(97 + i));
    }
    if (newKeywords) await writeKeywords(this.path, this.keywords);
    return [...letters].sort().join('');
  }

  // ---- reading --------------------------------------------------------------------------------

  get uidValidity(): number {
    return this.uidList?.uidValidity ?? 0;
  }

  get uidNext(): number {
    return this.uidList?.uidNext ?? 1;
  }

  /** Keywords defined in this folder (for IMAP FLAGS / PERMANENTFLAGS). */
  definedKeywords(): readonly string[] {
    return [...this.keywords];
  }

  snapshot(): FolderSnapshot {
    const messages = new Array<MessageInfo>(this.sorted.length);
    for (let i = 0; i < this.sorted.length; i++) messages[i] = this.byUid.get(this.sorted[i])!.info;
    return { name: this.name, uidValidity: this.uidValidity, uidNext: this.uidNext, messages };
  }

  get(uid: number): MessageInfo | undefined {
    return this.byUid.get(uid)?.info;
  }

  /** Current absolute path of a message file (changes when its flags change). */
  filePath(uid: number): string | undefined {
    const r = this.byUid.get(uid);
    return r ? join(this.path, r.dir, r.file) : undefined;
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
      this.mutex.run(() => this.moveToCur(out)).catch(this.onError);
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
        this.onError(err);
      }
    }
  }

  /** The folder was deleted or renamed: watchers drop it and the object is never used again. */
  kill(origin?: unknown): void {
    this.dead = true;
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    this.emit({ kind: 'gone', origin });
    this.listeners.clear();
  }

  get isDead(): boolean {
    return this.dead;
  }

  // ---- mutations (callers hold the mutex: use the run* wrappers in MailStore) -------------------

  /**
   * Files that are already durable in new/ or cur/: assigns UIDs, writes them to the uid list with
   * fdatasync, and only then makes them visible (snapshot, watchers). A UID a client has seen is
   * therefore never re-assigned to another message after a crash (RFC 3501 section 2.3.1.1).
   * Deliveries call this batched, off the SMTP reply path, so one fdatasync covers many messages.
   */
  async addFiles(files: readonly NewFile[], origin?: unknown): Promise<MessageInfo[]> {
    const list = this.uidList!;
    const fresh = files.filter((f) => !this.uidByBase.has(f.base) && !list.uids.has(f.base));
    if (fresh.length === 0) return [];
    fresh.sort((a, b) => compareUniqueNames(a.base, b.base));
    const added: Array<[number, string]> = [];
    for (const f of fresh) {
      const uid = list.uidNext++;
      list.uids.set(f.base, uid);
      added.push([uid, f.base]);
    }
    await appendUidList(this.path, added, true);
    const infos: MessageInfo[] = [];
    fresh.forEach((f, i) => {
      const uid = added[i][0];
      const letters = f.dir === 'cur' ? parseMaildirName(f.file).info : '';
      const info = this.makeInfo(uid, f.base, f.size, f.date, letters, f.headers);
      this.put({ dir: f.dir, file: f.file, letters, info });
      infos.push(info);
    });
    this.scheduleIndexSave();
    this.emit({ kind: 'exists', messages: infos, origin });
    return infos;
  }

  async append(data: Buffer, flags: readonly string[], internalDate: number | undefined, origin?: unknown): Promise<MessageInfo> {
    const letters = await this.flagsToLetters(flags, '');
    const base = newUniqueBase(data.length);
    const tmp = join(this.path, 'tmp', base);
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.datasync();
      if (internalDate !== undefined) await fh.utimes(new Date(internalDate), new Date(internalDate));
    } finally {
      await fh.close();
    }
    const file = formatCurName(base, letters);
    await fsp.rename(tmp, join(this.path, 'cur', file));
    await fsyncDir(join(this.path, 'cur'));
    const date = internalDate ?? (await fsp.stat(join(this.path, 'cur', file))).mtimeMs;
    const [info] = await this.addFiles(
      [{ base, dir: 'cur', file, size: data.length, date: Math.floor(date), headers: parseHeaderFields(data.subarray(0, MAX_HEADER_SCAN)) }],
      origin,
    );
    return info;
  }

  /** Hard-links (or copies) source files in as new messages with the same flags and dates. */
  async copyFrom(source: Folder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>> {
    const files: NewFile[] = [];
    const srcUids: number[] = [];
    for (const uid of uids) {
      const info = source.get(uid);
      if (!info) continue;
      const letters = await this.flagsToLetters(info.flags, source.byUid.get(uid)?.letters ?? '');
      const base = newUniqueBase(info.size);
      const file = formatCurName(base, letters);
      const dest = join(this.path, 'cur', file);
      await linkOrCopy(() => source.filePath(uid), dest, join(this.path, 'tmp', base), new Date(info.internalDate));
      files.push({ base, dir: 'cur', file, size: info.size, date: info.internalDate, headers: info.headers });
      srcUids.push(uid);
    }
    if (files.length === 0) return [];
    await fsyncDir(join(this.path, 'cur'));
    const infos = await this.addFiles(files, origin);
    const srcByName = new Map(files.map((f, i) => [f.base, srcUids[i]]));
    return infos.map((info) => [srcByName.get(info.uniqueName)!, info.uid] as [number, number]).sort((a, b) => a[0] - b[0]);
  }

  async updateFlags(
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    origin?: unknown,
  ): Promise<{ changed: MessageInfo[]; messages: MessageInfo[] }> {
    if (op !== 'remove') {
      // All or nothing: refuse before renaming anything if the new keywords do not fit.
      const known = new Set(this.keywords.map((k) => k.toLowerCase()));
      const fresh = new Set(flags.filter((f) => !f.startsWith('\\') && !known.has(f.toLowerCase())).map((f) => f.toLowerCase()));
      if (this.keywords.length + fresh.size > MAX_KEYWORDS)
        throw new MailStoreError('TOO_MANY_KEYWORDS', `folder ${this.name} can hold at most ${MAX_KEYWORDS} keywords`);
    }
    const changed: MessageInfo[] = [];
    const messages: MessageInfo[] = [];
    const touched = new Set<string>();
    for (const uid of uids) {
      const r = this.byUid.get(uid);
      if (!r) continue;
      let target: readonly string[];
      if (op === 'set') target = flags;
      else if (op === 'add') target = [...r.info.flags, ...flags];
      else {
        const drop = new Set(flags.map((f) => f.toLowerCase()));
        target = r.info.flags.filter((f) => !drop.has(f.toLowerCase()));
      }
      const letters = await this.flagsToLetters(target, r.letters);
      if (letters === r.letters && r.dir === 'cur') {
        messages.push(r.info);
        continue;
      }
      const file = formatCurName(r.info.uniqueName, letters);
      try {
        await fsp.rename(join(this.path, r.dir, r.file), join(this.path, 'cur', file));
      } catch (err) {
        if (isEnoent(err)) continue; // removed behind our back; the next load forgets it
        throw err;
      }
      touched.add(r.dir);
      touched.add('cur');
      const flagsChanged = letters !== r.letters;
      r.dir = 'cur';
      r.file = file;
      r.letters = letters;
      if (flagsChanged) {
        r.info = this.makeInfo(uid, r.info.uniqueName, r.info.size, r.info.internalDate, letters, r.info.headers);
        changed.push(r.info);
      }
      messages.push(r.info);
    }
    await Promise.all([...touched].map((d) => fsyncDir(join(this.path, d))));
    if (changed.length > 0) {
      this.scheduleIndexSave();
      this.emit({ kind: 'flags', messages: changed, origin });
    }
    return { changed, messages };
  }

  /** Removes messages (default: every message flagged \Deleted). Returns the removed UIDs. */
  async expunge(uids: readonly number[] | undefined, origin?: unknown, onlyDeleted = uids === undefined): Promise<number[]> {
    const isDeleted = (u: number): boolean => this.byUid.get(u)!.info.flags.includes('\\Deleted');
    const targets = (uids ?? this.sorted).filter((u) => this.byUid.has(u) && (!onlyDeleted || isDeleted(u)));
    if (targets.length === 0) return [];
    const dirs = new Set<string>();
    for (const uid of targets) {
      const r = this.byUid.get(uid)!;
      try {
        await fsp.unlink(join(this.path, r.dir, r.file));
      } catch (err) {
        if (!isEnoent(err)) throw err;
      }
      dirs.add(r.dir);
      this.byUid.delete(uid);
      this.uidByBase.delete(r.info.uniqueName);
      this.uidList!.uids.delete(r.info.uniqueName);
    }
    const gone = new Set(targets);
    this.sorted = this.sorted.filter((u) => !gone.has(u));
    await Promise.all([...dirs].map((d) => fsyncDir(join(this.path, d))));
    await writeUidList(this.path, this.uidList!);
    this.scheduleIndexSave();
    const removed = [...gone].sort((a, b) => a - b);
    this.emit({ kind: 'expunge', uids: removed, origin });
    return removed;
  }

  // ---- the index ------------------------------------------------------------------------------

  private scheduleIndexSave(): void {
    if (this.indexTimer || this.dead) return;
    this.indexTimer = setTimeout(() => {
      this.indexTimer = undefined;
      this.saveIndex().catch(this.onError);
    }, INDEX_SAVE_DELAY_MS);
    this.indexTimer.unref();
  }

  /** Writes the index now if a save is pending (at stop). */
  async flushIndex(): Promise<void> {
    if (!this.indexTimer) return;
    clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    await this.saveIndex();
  }

  private async saveIndex(): Promise<void> {
    if (this.dead || !this.uidList) return;
    const rows: IndexRow[] = [];
    for (const uid of this.sorted) {
      const r = this.byUid.get(uid)!;
      rows.push([uid, r.info.uniqueName, r.info.size, r.info.internalDate, r.letters, r.info.headers]);
    }
    // A cache: no fsync. A torn or stale index is detected and rebuilt from the files at load.
    await writeFileDurable(this.path, INDEX_FILE, JSON.stringify({ v: INDEX_VERSION, uidValidity: this.uidValidity, messages: rows }), false);
  }
}

async function readIndex(dir: string, uidValidity: number): Promise<Map<string, IndexRow>> {
  const out = new Map<string, IndexRow>();
  let parsed: { v?: number; uidValidity?: number; messages?: IndexRow[] };
  try {
    parsed = JSON.parse(await fsp.readFile(join(dir, INDEX_FILE), 'utf8')) as typeof parsed;
  } catch {
    return out; // missing or torn: rebuilt from the messages
  }
  if (parsed.v !== INDEX_VERSION || parsed.uidValidity !== uidValidity || !Array.isArray(parsed.messages)) return out;
  for (const row of parsed.messages) {
    if (Array.isArray(row) && row.length === 6 && typeof row[1] === 'string') out.set(row[1], row);
  }
  return out;
}

async function readKeywords(dir: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, KEYWORDS_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m && Number(m[1]) < MAX_KEYWORDS) out[Number(m[1])] = m[2]!;
  }
  return out;
}

async function writeKeywords(dir: string, keywords: readonly string[]): Promise<void> {
  await writeFileDurable(dir, KEYWORDS_FILE, keywords.map((k, i) => `${i} ${k}\n`).join(''));
}

async function scanMessage(path: string): Promise<{ size: number; date: number; headers: HeaderFields }> {
  const fh = await fsp.open(path, 'r');
  try {
    const st = await fh.stat();
    const buf = Buffer.alloc(Math.min(st.size, MAX_HEADER_SCAN));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { size: st.size, date: Math.floor(st.mtimeMs), headers: parseHeaderFields(buf.subarray(0, bytesRead)) };
  } finally {
    await fh.close();
  }
}

/** link(2) the source into dest; across devices (or where links are refused) copy via tmp + fsync. */
async function linkOrCopy(sourcePath: () => string | undefined, dest: string, tmp: string, date: Date): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const src = sourcePath();
    if (!src) throw new MailStoreError('NO_SUCH_MESSAGE', 'the message was expunged');
    try {
      await fsp.link(src, dest);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // renamed by a flag change meanwhile: look the path up again
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      await fsp.copyFile(src, tmp);
      const fh = await fsp.open(tmp, 'r+');
      try {
        await fh.datasync();
        await fh.utimes(date, date);
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, dest);
      return;
    }
  }
  throw new MailStoreError('NO_SUCH_MESSAGE', 'the message could not be read');
}
