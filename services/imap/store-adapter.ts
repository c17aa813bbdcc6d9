// Adapts the shared MailStore (core/mail-store) to the ImapStore port the sessions use. Mutations go
// through MailStore (its per-folder lock); the live view (snapshot, watch, \Recent, file paths) uses
// the loaded Folder directly because those calls are synchronous and must happen together.
import { promises as fsp } from 'node:fs';
import { FOLDER_DELIMITER, MailStoreError, type MailStore } from '../../core/mail-store/index.js';
import type { FolderChangeEvent, FolderCounts, FolderEntry, FolderSnapshotView, ImapFolder, ImapStore, StoredMessage } from './store-port.js';

type LoadedFolder = Awaited<ReturnType<MailStore['openFolder']>>;

class StoreFolder implements ImapFolder {
  constructor(
    private readonly store: MailStore,
    private readonly user: string,
    readonly name: string,
    private readonly f: LoadedFolder,
  ) {}

  snapshot(): FolderSnapshotView {
    return this.f.snapshot();
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
  async copyFrom(source: ImapFolder, uids: readonly number[], origin?: unknown): Promise<Array<[number, number]>> {
    return (await this.store.copy(this.user, source.name, uids, this.name, { origin })).mapping;
  }
  updateFlags(uids: readonly number[], op: 'set' | 'add' | 'remove', flags: readonly string[], origin?: unknown): Promise<{ messages: readonly StoredMessage[] }> {
    return this.store.updateFlags(this.user, this.name, uids, op, flags, { origin });
  }
  expunge(uids: readonly number[] | undefined, origin?: unknown): Promise<number[]> {
    return this.store.expunge(this.user, this.name, uids, { origin });
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
  list(user: string): Promise<FolderEntry[]> {
    return this.store.listFolders(user);
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
  status(user: string, name: string): Promise<FolderCounts> {
    return this.store.status(user, name);
  }
}
