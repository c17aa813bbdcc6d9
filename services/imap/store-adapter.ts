// Adapts the shared MailStore (core/mail-store) to the ImapStore port the sessions use. Mutations go
// through MailStore (its per-folder lock); the live view (snapshot, watch, \Recent, file paths) uses
// the loaded Folder directly because those calls are synchronous and must happen together.
import { closeSync, openSync, promises as fsp, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { checkFolderName, DEFAULT_FOLDERS, FOLDER_DELIMITER, MailStoreError, type MailStore } from '../../core/mail-store/index.js';
import type { FolderChangeEvent, FolderCounts, FolderEntry, FolderSnapshotView, ImapFolder, ImapStore, QuotaUsage, StoredMessage } from './store-port.js';

type LoadedFolder = Awaited<ReturnType<MailStore['openFolder']>>;

const SPECIAL_USE = new Map<string, string>(DEFAULT_FOLDERS);

/**
 * One cached snapshot per loaded folder, dropped on any change: sessions that select an unchanged
 * folder share its arrays (they copy before changing them, see SelectedMailbox).
 */
const snapshots = new WeakMap<LoadedFolder, FolderSnapshotView & { uids: number[] }>();
const watched = new WeakSet<LoadedFolder>();

function cachedSnapshot(f: LoadedFolder): FolderSnapshotView & { uids: number[] } {
  let snap = snapshots.get(f);
  if (!snap) {
    const s = f.snapshot();
    snap = { ...s, uids: s.messages.map((m) => m.uid), highestModseq: f.highestModseq };
    snapshots.set(f, snap);
    if (!watched.has(f)) {
      watched.add(f);
      f.watch(() => snapshots.delete(f));
    }
  }
  return snap;
}

class StoreFolder implements ImapFolder {
  constructor(
    private readonly store: MailStore,
    private readonly user: string,
    readonly name: string,
    private readonly f: LoadedFolder,
  ) {}

  open(
    listener: (change: FolderChangeEvent) => void,
    claim: boolean,
  ): Promise<{ snapshot: FolderSnapshotView & { uids: number[] }; unwatch: () => void; recent: number[] }> {
    // Under the folder's mutex: deliveries acknowledged before this call are in the snapshot, and
    // every later change reaches the listener.
    return this.f.mutex.run(() => {
      const snapshot = cachedSnapshot(this.f);
      const unwatch = this.f.watch(listener);
      const recent = claim ? this.f.claimRecent() : [];
      return { snapshot, unwatch, recent };
    });
  }

  snapshot(): FolderSnapshotView {
    return { ...this.f.snapshot(), highestModseq: this.f.highestModseq };
  }
  expungedSince(modseq: number): { uids: number[]; complete: boolean } {
    return this.f.expungedSince(modseq);
  }

  async settle(): Promise<void> {
    await this.f.mutex.run(() => undefined);
  }
  definedKeywords(): readonly string[] {
    return this.f.definedKeywords();
  }
  claimRecent(): number[] {
    return this.f.claimRecent();
  }
  countRecent(): number {
    return this.f.countRecent();
  }
  watch(listener: (change: FolderChangeEvent) => void): () => void {
    return this.f.watch(listener);
  }
  async append(data: Buffer, flags: readonly string[], internalDate: number | undefined, origin?: unknown): Promise<StoredMessage> {
    const r = await this.store.append(this.user, this.name, data, { flags, ...(internalDate !== undefined ? { internalDate } : {}), origin });
    return r.message;
  }
  async appendMany(items: ReadonlyArray<{ data: Buffer; flags: readonly string[]; internalDate?: number }>, origin?: unknown): Promise<number[]> {
    return (await this.store.appendMany(this.user, this.name, items, { origin })).uids;
  }
  async copyFrom(source: ImapFolder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>> {
    return (await this.store.copy(this.user, source.name, uids, this.name, { origin })).mapping;
  }
  updateFlags(
    uids: readonly number[],
    op: 'set' | 'add' | 'remove',
    flags: readonly string[],
    origin?: unknown,
    unchangedSince?: number,
  ): Promise<{ messages: readonly StoredMessage[]; modified: readonly number[] }> {
    return this.store.updateFlags(this.user, this.name, uids, op, flags, { origin, ...(unchangedSince !== undefined ? { unchangedSince } : {}) });
  }
  expunge(uids: readonly number[] | undefined, origin?: unknown, onlyDeleted?: boolean): Promise<number[]> {
    return this.store.expunge(this.user, this.name, uids, { origin, ...(onlyDeleted !== undefined ? { onlyDeleted } : {}) });
  }
  readSync(uid: number, size?: number, into?: Buffer): Buffer | undefined {
    const path = this.f.filePath(uid);
    if (!path) return undefined;
    try {
      if (size === undefined || size > 1024 * 1024) return size === undefined ? readFileSync(path) : undefined;
      // The index knows the size (Maildir files never change): open, one read, close.
      const fd = openSync(path, 'r');
      try {
        const buf = into !== undefined && into.length >= size ? into : Buffer.allocUnsafe(size);
        const n = readSync(fd, buf, 0, size, 0);
        return n === size ? (buf === into ? into.subarray(0, size) : buf) : undefined;
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }
  async read(uid: number): Promise<Buffer> {
    // The file name changes with its flags: look the path up again when a rename raced the read.
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = this.f.filePath(uid);
      if (!path) break;
      try {
        return await fsp.readFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await this.f.mutex.run(() => undefined);
      }
    }
    throw new MailStoreError('NO_SUCH_MESSAGE', `no message with UID ${uid}`);
  }
}

export class MailStoreAdapter implements ImapStore {
  readonly delimiter = FOLDER_DELIMITER;
  constructor(private readonly store: MailStore) {}

  ensureUser(user: string): Promise<void> {
    return this.store.ensureDefaultFolders(user);
  }
  async folder(user: string, name: string): Promise<ImapFolder> {
    const f = await this.store.openFolder(user, name);
    return new StoreFolder(this.store, user, f.name, f);
  }
  async list(user: string): Promise<FolderEntry[]> {
    // INBOX counts as subscribed: clients that show only subscribed folders must still show it.
    return (await this.store.listFolders(user)).map((f) => (f.name === 'INBOX' && !f.subscribed ? { ...f, subscribed: true } : f));
  }
  /**
   * What listFolders says of one folder, found the way it finds it: special use from the default
   * folders, and a child is a Maildir++ directory ".<name>.<rest>" (core/mail-store README, Layout)
   * with a valid name and a cur/ directory. One readdir of the user's Maildir instead of listFolders'
   * stat of every folder and read of the subscriptions (IMAP4rev2 SELECT's LIST line).
   */
  async attributes(user: string, name: string): Promise<Pick<FolderEntry, 'specialUse' | 'hasChildren'>> {
    const prefix = FOLDER_DELIMITER + name + FOLDER_DELIMITER;
    const dir = this.store.userPath(user);
    let hasChildren = false;
    const entries = await fsp.readdir(dir).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    });
    for (const entry of entries) {
      if (entry.length <= prefix.length || !entry.startsWith(prefix)) continue;
      try {
        checkFolderName(entry.slice(1));
        hasChildren = (await fsp.stat(join(dir, entry, 'cur'))).isDirectory();
      } catch {
        continue;
      }
      if (hasChildren) break;
    }
    const specialUse = SPECIAL_USE.get(name);
    return specialUse ? { specialUse, hasChildren } : { hasChildren };
  }
  create(user: string, name: string): Promise<void> {
    return this.store.createFolder(user, name);
  }
  delete(user: string, name: string): Promise<void> {
    return this.store.deleteFolder(user, name);
  }
  rename(user: string, from: string, to: string): Promise<void> {
    return this.store.renameFolder(user, from, to);
  }
  subscribe(user: string, name: string, on: boolean): Promise<void> {
    return on ? this.store.subscribe(user, name) : this.store.unsubscribe(user, name);
  }
  subscriptions(user: string): Promise<string[]> {
    return this.store.subscriptions(user);
  }
  status(user: string, name: string): Promise<FolderCounts> {
    return this.store.status(user, name);
  }
  quota(user: string): Promise<QuotaUsage> {
    return this.store.quota(user);
  }
}
