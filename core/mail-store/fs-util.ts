// Small durable-file helpers for the mail store. Every write goes through writeAll: write(2) and
// writev(2) may write fewer octets than asked without an error (a filling disk, a signal), and a
// short write taken for a complete one is how a truncated message once got a 250.
import {
  closeSync,
  constants as fsc,
  fdatasync,
  fstatSync,
  fsync,
  futimesSync,
  ftruncateSync,
  openSync,
  promises as fsp,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
  writevSync,
  type Dirent,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MailStoreError } from './types.js';

let tmpSeq = 0;

/** At most this many buffers per writev call (IOV_MAX is 1024 on Linux). */
const IOV_BATCH = 512;

/**
 * Writes every octet of `chunks` at the file position (or at `position` onwards), looping over short
 * writes. A write that makes no progress and reports no error counts as a full device (ENOSPC).
 */
export async function writeAll(fh: FileHandle, chunks: readonly (Uint8Array | string)[], position?: number): Promise<number> {
  let bufs = chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)).filter((b) => b.length > 0);
  let pos = position;
  let total = 0;
  while (bufs.length > 0) {
    const batch = bufs.length > IOV_BATCH ? bufs.slice(0, IOV_BATCH) : bufs;
    const { bytesWritten } = batch.length === 1 ? await fh.write(batch[0], 0, batch[0].length, pos ?? null) : await fh.writev(batch, pos);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
    total += bytesWritten;
    if (pos !== undefined) pos += bytesWritten;
    bufs = dropWritten(bufs, bytesWritten);
  }
  return total;
}

/** What is left to write after `written` octets: whole buffers dropped, then the written part of the next one. */
function dropWritten(bufs: Uint8Array[], written: number): Uint8Array[] {
  let left = written;
  let i = 0;
  while (i < bufs.length && left >= bufs[i].length) left -= bufs[i++].length;
  const rest = bufs.slice(i);
  if (left > 0) rest[0] = rest[0].subarray(left);
  return rest;
}

/**
 * Up to this many octets, a file the store creates or appends to is written with synchronous calls
 * (open, write, fstat, close: page-cache work of microseconds) and only its fdatasync/fsync goes to
 * the thread pool. Each fs/promises call is a thread-pool round trip plus a FileHandle promise on the
 * event loop; a delivery made of fifteen of them spent most of its main-thread time dispatching them
 * (issue 17, api bench). Larger files keep the asynchronous path, so no big write holds the loop.
 */
export const SYNC_WRITE_MAX = 64 * 1024;

const fdatasyncFd = promisify(fdatasync);

/**
 * openSync, except that a failure is thrown after one turn of the event loop: failing at once, with
 * no thread-pool round trip as the asynchronous open had, would let a caller that retries in a loop
 * (a full disk refusing every new file) starve everyone else's I/O.
 */
async function openNow(path: string, flags: string): Promise<number> {
  try {
    return openSync(path, flags);
  } catch (err) {
    await yieldToLoop();
    throw err;
  }
}

/**
 * rename(2) made synchronously: a rename inside one file system is a metadata change in the page
 * cache (microseconds), while fs/promises' rename is one more thread-pool round trip per delivery,
 * which on a busy two-core machine costs the event loop a context switch each (issue 17). A
 * failure is thrown after one turn of the loop, as in `openNow`.
 */
export async function renameNow(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
  } catch (err) {
    await yieldToLoop();
    throw err;
  }
}

/** writeAll for a file descriptor, synchronously (the same short-write rules). */
export function writeAllSync(fd: number, chunks: readonly (Uint8Array | string)[], position?: number): number {
  let bufs = chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)).filter((b) => b.length > 0);
  let pos = position;
  let total = 0;
  while (bufs.length > 0) {
    const batch = bufs.length > IOV_BATCH ? bufs.slice(0, IOV_BATCH) : bufs;
    const bytesWritten = batch.length === 1 ? writeSync(fd, batch[0], 0, batch[0].length, pos ?? null) : writevSync(fd, batch, pos);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
    total += bytesWritten;
    if (pos !== undefined) pos += bytesWritten;
    bufs = dropWritten(bufs, bytesWritten);
  }
  return total;
}

/**
 * Creates `path` (it must not exist) holding `chunks` (`size` octets), fdatasync'ed before this
 * resolves. With `date` (ms) the file's mtime is set to it (before the fdatasync) and returned;
 * without, the mtime taken after the write is returned, in whole milliseconds. A failure after the
 * file was created removes it again. With `beforeSync`, the fdatasync waits for it (the delivery
 * thread lets a batch's files all be written before any of them is synced: delivery-thread.ts).
 * `onWritten` is called once the octets are written, before the fdatasync.
 */
export async function createFileDurable(
  path: string,
  chunks: readonly Uint8Array[],
  size: number,
  date?: number,
  beforeSync?: Promise<void>,
  onWritten?: () => void,
): Promise<number> {
  if (size > SYNC_WRITE_MAX) {
    const fh = await fsp.open(path, 'wx');
    try {
      try {
        await writeAll(fh, chunks, 0);
        if (date !== undefined) await fh.utimes(new Date(date), new Date(date));
        const mtime = date ?? Math.floor((await fh.stat()).mtimeMs);
        onWritten?.();
        await fh.datasync();
        return mtime;
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlinkQuiet(path);
      throw err;
    }
  }
  const fd = await openNow(path, 'wx');
  try {
    try {
      writeAllSync(fd, chunks, 0);
      if (date !== undefined) futimesSync(fd, new Date(date), new Date(date));
      const mtime = date ?? Math.floor(fstatSync(fd).mtimeMs);
      onWritten?.();
      if (beforeSync) await beforeSync;
      await fdatasyncFd(fd);
      return mtime;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    await unlinkQuiet(path);
    throw err;
  }
}

/** appendDurable's signature: the mail store runs it in the delivery writer (delivery-writer.ts). */
export type AppendFile = (path: string, text: string, durable: boolean, onCutFailed: () => void) => Promise<void>;

/**
 * Appends `text` to `path` (created if missing), fdatasync'ed when `durable`. The file holds lines:
 * when it does not end with a line break (a torn append), one is written first, so the new text is
 * never glued to a torn line. A failed write is cut back to the old length; `onCutFailed` is called
 * when that cut failed too (a part may remain). A failed fdatasync cuts nothing: other appends may
 * have been written after this one by then (the delivery thread appends while others' fdatasyncs are
 * in flight), and the lines of a failed operation are harmless (a uid-list line whose file does not
 * exist is ignored at load; its UID is used up). `beforeSync`: as in createFileDurable.
 */
export async function appendDurable(path: string, text: string, durable: boolean, onCutFailed: () => void, beforeSync?: Promise<void>): Promise<void> {
  if (Buffer.byteLength(text) > SYNC_WRITE_MAX) {
    const fh = await fsp.open(path, 'a+');
    let size = -1;
    try {
      size = (await fh.stat()).size;
      await writeAll(fh, [(await endsTorn(fh, size)) ? `\n${text}` : text]);
    } catch (err) {
      if (size >= 0) await fh.truncate(size).catch(onCutFailed);
      else onCutFailed();
      await fh.close();
      throw err;
    }
    try {
      if (durable) await fh.datasync();
    } finally {
      await fh.close();
    }
    return;
  }
  const fd = await openNow(path, 'a+');
  let size = -1;
  try {
    size = fstatSync(fd).size;
    writeAllSync(fd, [endsTornSync(fd, size) ? `\n${text}` : text]);
  } catch (err) {
    try {
      if (size < 0) throw err;
      ftruncateSync(fd, size);
    } catch {
      onCutFailed();
    }
    closeSync(fd);
    throw err;
  }
  try {
    if (durable && beforeSync) await beforeSync;
    if (durable) await fdatasyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

const NEWLINE = 0x0a;

/** The file (of `size` octets) has a last line without its line break. */
function endsTornSync(fd: number, size: number): boolean {
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== NEWLINE;
}

async function endsTorn(fh: FileHandle, size: number): Promise<boolean> {
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  const { bytesRead } = await fh.read(last, 0, 1, size - 1);
  return bytesRead === 1 && last[0] !== NEWLINE;
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** ENOSPC (device full) or EDQUOT (the file system's own quota). */
export function isNoSpace(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function isEnoent(err: unknown): boolean {
  return errnoCode(err) === 'ENOENT';
}

/**
 * The error a caller of the store sees: a MailStoreError as it is; ENOSPC/EDQUOT as NO_SPACE; any
 * other failure as IO_ERROR. `what` says what failed, without a path (it may reach a client).
 */
export function storageError(err: unknown, what: string): MailStoreError {
  if (err instanceof MailStoreError) return err;
  if (isNoSpace(err)) return new MailStoreError('NO_SPACE', `${what}: not enough disk space`, { cause: err });
  return new MailStoreError('IO_ERROR', `${what}: ${errnoCode(err) ?? 'internal error'}`, { cause: err });
}

/** Unlinks, ignoring a file that is already gone (cleanup after a failure must not throw a second error). */
export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch {
    // gone already, or nothing more can be done: the start-up recovery removes tmp/ leftovers
  }
}

/**
 * The whole file, read synchronously when its size is known (Maildir files never change): open, one
 * read, close, where readFileSync also stats the file and reads again to find the end. One octet more
 * than expected is asked for, so a file that is larger than the index says is still read whole.
 */
export function readFileSizedSync(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    const n = readSync(fd, buf, 0, size + 1, 0);
    if (n <= size) return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
  return readFileSync(path);
}

/**
 * A small bookkeeping file's text, or undefined when it is missing, unreadable, not a regular file
 * or larger than `maxBytes`. Never follows a symbolic link, never blocks on a FIFO; never throws.
 */
export async function readSmallFile(path: string, maxBytes: number): Promise<string | undefined> {
  try {
    const fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > maxBytes) return undefined;
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** A directory opened for fsync (synchronous open; a failure is thrown after one loop turn). */
export function openDir(dir: string): Promise<number> {
  return openNow(dir, 'r');
}

/** fsync(2) of an open descriptor, on the thread pool. */
export const fsyncFdAsync: (fd: number) => Promise<void> = promisify(fsync);

/** close(2), ignoring an error (the descriptor is gone either way). */
export function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do: the descriptor is released
  }
}

/** fsync of a directory, so a rename or link inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  // Opening and closing a directory is cheap and synchronous; the fsync itself goes to the thread pool.
  const fd = await openDir(dir);
  try {
    await fsyncFdAsync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `name` in `dir` through a temporary file, fsync and rename: readers see old or new, never
 * half. On any failure the temporary file is removed and the old file stays as it was.
 */
export async function writeFileDurable(dir: string, name: string, data: string | Buffer | readonly (string | Buffer)[], sync = true): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${++tmpSeq}.tmp`);
  const fh = await fsp.open(tmp, 'wx');
  try {
    try {
      await writeAll(fh, typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data, 0);
      if (sync) await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, join(dir, name));
  } catch (err) {
    await unlinkQuiet(tmp);
    throw err;
  }
  if (sync) await fsyncDir(dir);
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (isEnoent(err)) return [];
    throw err;
  }
}

/** Directory entries with their types (no stat per entry); empty when the directory is missing. */
export async function readdirTypedOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isEnoent(err)) return [];
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure no new item is started;
 * it waits for those in flight and then throws the first error (so a caller's cleanup never races
 * an operation still running).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return out;
}

/** Lets other work run (timers, sockets) between slices of a long loop. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
