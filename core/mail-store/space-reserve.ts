// Room kept aside for the store's own bookkeeping when the disk fills up (a "ballast" file).
//
// A delivery is acknowledged once its file is durable in new/; its UID is written to the uid list a
// moment later. If messages fill the disk in between, that small append could fail and the message
// would stay invisible until a restart with free space. So the store keeps a file of `bytes` zeros
// in its root: message data is refused (NO_SPACE) while the reserve is not whole, and when a
// bookkeeping write (uid list, keywords) hits ENOSPC the reserve is given up and the write retried
// once. The reserve is made whole again before the next message is accepted.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isNoSpace, unlinkQuiet, writeAll } from './fs-util.js';
import { MailStoreError } from './types.js';

export const RESERVE_FILE = '.labnet-space-reserve';
/** How often a missing reserve is tried again while the disk is full (each try writes `bytes`). */
const RETRY_MS = 1000;

export class SpaceReserve {
  private whole = false;
  private lastTry = 0;
  private restoring: Promise<boolean> | undefined;
  /** Times the reserve was given up to let bookkeeping through (for the store's status). */
  released = 0;

  constructor(
    private readonly root: string,
    private readonly bytes: number,
  ) {}

  private get path(): string {
    return join(this.root, RESERVE_FILE);
  }

  /** Creates the reserve (at start). Never throws: a disk already full just leaves it missing. */
  async start(): Promise<void> {
    if (this.bytes <= 0) return;
    await this.restore();
  }

  /** Before message data is written: throws NO_SPACE while the reserve cannot be made whole. */
  async beforeData(): Promise<void> {
    if (this.bytes <= 0 || this.whole) return;
    const now = Date.now();
    if (!this.restoring && now - this.lastTry < RETRY_MS) throw noSpace();
    if (!(await this.restore())) throw noSpace();
  }

  /**
   * Messages were removed: the next message may try to make the reserve whole at once instead of
   * waiting out RETRY_MS (which only spares a disk that is still full from rewriting the reserve).
   * Without this, the first APPEND after an expunge that emptied a full disk was refused when it came
   * within a second of the last failed try.
   */
  spaceFreed(): void {
    if (!this.whole) this.lastTry = 0;
  }

  /**
   * Runs a bookkeeping write; if it fails for lack of space, gives up the reserve and runs it once
   * more. Other errors (and a second failure) are thrown.
   */
  async withRoom<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isNoSpace(err) || this.bytes <= 0) throw err;
      await this.release();
      return write();
    }
  }

  private async release(): Promise<void> {
    this.whole = false;
    this.lastTry = Date.now();
    this.released++;
    await unlinkQuiet(this.path);
  }

  private restore(): Promise<boolean> {
    this.restoring ??= this.write().finally(() => (this.restoring = undefined));
    return this.restoring;
  }

  private async write(): Promise<boolean> {
    this.lastTry = Date.now();
    try {
      const st = await fsp.stat(this.path).catch(() => undefined);
      if (st?.isFile() && st.size === this.bytes && st.blocks * 512 >= this.bytes) {
        this.whole = true;
        return true;
      }
      const fh = await fsp.open(this.path, 'w');
      try {
        // Real zeros, not a hole: a sparse file would hold no blocks to give back.
        await writeAll(fh, [Buffer.alloc(this.bytes)], 0);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      this.whole = true;
      return true;
    } catch {
      await unlinkQuiet(this.path);
      this.whole = false;
      return false;
    }
  }
}

function noSpace(): MailStoreError {
  return new MailStoreError('NO_SPACE', 'not enough disk space (the reserve for the store itself is in use)');
}
