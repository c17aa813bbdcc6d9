// Small durable-file helpers for the mail store.
import { closeSync, openSync, promises as fsp, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

let tmpSeq = 0;

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

/** fsync of a directory, so a rename or link inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `name` in `dir` through a temporary file, fsync and rename: readers see old or new, never half. */
export async function writeFileDurable(dir: string, name: string, data: string | Buffer, sync = true): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${++tmpSeq}.tmp`);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, join(dir, name));
  if (sync) await fsyncDir(dir);
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
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

export function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
