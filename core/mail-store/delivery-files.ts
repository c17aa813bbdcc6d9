// The file work of one delivery, in the order that makes it durable and all or nothing: every part's
// file written into tmp/ and fdatasync'ed (then hard-linked into the tmp/ of its other targets), then
// every copy renamed into new/, then each new/ fsynced (shared with concurrent deliveries: GroupDirSync).
// Only plain data goes in and out (paths, octets, numbers), so the same function runs on the event loop
// (`mailStore.deliveryWriter: inline`) or in the delivery worker thread (`worker`, delivery-thread.ts).
import { constants as fsc, promises as fsp } from 'node:fs';
import { appendDurable, createFileDurable, renameNow, unlinkQuiet } from './fs-util.js';
import type { GroupDirSync } from './group-sync.js';

/** One content and where its copies go: `tmps[0]` is written, the other tmps are links to it; `news[i]` is where `tmps[i]` ends up. */
export interface DeliveryFilesPart {
  chunks: readonly Uint8Array[];
  size: number;
  tmps: readonly string[];
  news: readonly string[];
}

/** Lines for one folder's uid list (the UIDs of this delivery's copies there, handed out before the write). */
export interface UidListLines {
  path: string;
  text: string;
}

export interface DeliveryFilesJob {
  parts: readonly DeliveryFilesPart[];
  /** The new/ directories to fsync once every rename is made. */
  syncDirs: readonly string[];
  /**
   * Uid-list lines of the copies, appended and fdatasync'ed beside the files (not after them): the job
   * resolves only when both are durable, so the message can be visible with its UID at the 250.
   */
  uidLines?: readonly UidListLines[];
}

/**
 * Appends the uid-list lines of jobs (appendDurable, fdatasync'ed). `append` is called once every
 * file of the job is written (so after a crash a line whose delivery never completed still has its
 * tmp/ file, by which the start-up recovery drops it); `withdraw` instead when the job failed before
 * that. The delivery thread appends all of one batch's lines for one list in one write and one
 * fdatasync, once every job of the batch with lines there has called one of the two.
 */
export interface LineAppender {
  append(lines: UidListLines): Promise<void>;
  withdraw(lines: UidListLines): void;
}

/** Each job's lines on their own (the event-loop writer). */
export function lineAppender(beforeSync?: Promise<void>): LineAppender {
  return {
    append: (l) => appendDurable(l.path, l.text, true, () => undefined, beforeSync),
    withdraw: () => undefined,
  };
}

/**
 * Writes and links every part's files, then appends the job's uid-list lines (`lines`) beside the
 * files' fdatasyncs, then renames and syncs as above; resolves with each part's internal date (the
 * file's mtime in whole ms) once all of it is durable. A failure part-way, of the files or of the
 * lines, removes every copy made (tmp/ and new/) and throws the file system's error (its `code` says
 * what: ENOSPC, EIO...); lines already written stay (a uid-list line whose file does not exist is
 * ignored, its UID used up). `beforeSync`: the files' fdatasyncs wait for it (createFileDurable).
 */
export async function writeDeliveryFiles(
  job: DeliveryFilesJob,
  dirSync: GroupDirSync,
  beforeSync?: Promise<void>,
  lines: LineAppender = lineAppender(beforeSync),
): Promise<number[]> {
  const made: string[] = [];
  const placed: string[] = [];
  const syncs: Array<Promise<number>> = [];
  let appended: Promise<unknown> | undefined;
  try {
    for (const p of job.parts) {
      let written = (): void => {};
      const writing = new Promise<void>((resolve) => (written = resolve));
      const synced = createFileDurable(p.tmps[0], p.chunks, p.size, undefined, beforeSync, written);
      syncs.push(synced);
      synced.catch(() => undefined); // awaited below
      // Written (its fdatasync under way) or failed.
      await Promise.race([writing, synced]);
      made.push(p.tmps[0]);
      // Every other target gets a link in its own tmp/ first; only when all exist (of every part)
      // are they renamed into new/, so a failure part-way leaves no copy anywhere.
      for (const tmp of p.tmps.slice(1)) made.push(await linkOrCopyInto(p.tmps[0], tmp));
    }
    appended = Promise.all((job.uidLines ?? []).map((l) => lines.append(l)));
    appended.catch(() => undefined); // awaited below
    const dates = await Promise.all(syncs);
    for (const p of job.parts) {
      for (let i = p.tmps.length - 1; i >= 0; i--) {
        await renameNow(p.tmps[i], p.news[i]);
        placed.push(p.news[i]);
      }
    }
    await Promise.all(job.syncDirs.map((dir) => dirSync.sync(dir)));
    await appended;
    return dates;
  } catch (err) {
    if (appended) await Promise.allSettled([appended]);
    else for (const l of job.uidLines ?? []) lines.withdraw(l);
    await Promise.allSettled(syncs);
    for (const path of [...placed, ...made]) await unlinkQuiet(path);
    throw err;
  }
}

/** A hard link of `src` at `dest`; a copy (fdatasync'ed) where the file system has no links. */
export async function linkOrCopyInto(src: string, dest: string): Promise<string> {
  try {
    await fsp.link(src, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    try {
      await fsp.copyFile(src, dest, fsc.COPYFILE_EXCL);
      const fh = await fsp.open(dest, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (copyErr) {
      await unlinkQuiet(dest);
      throw copyErr;
    }
  }
  return dest;
}
