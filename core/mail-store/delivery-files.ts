// The file work of one delivery, in the order that makes it durable and all or nothing: every part's
// file written into tmp/ and fdatasync'ed (then hard-linked into the tmp/ of its other targets), then
// every copy renamed into new/, then each new/ fsynced (shared with concurrent deliveries: GroupDirSync).
// Only plain data goes in and out (paths, octets, numbers), so the same function runs on the event loop
// (`mailStore.deliveryWriter: inline`) or in the delivery worker thread (`worker`, delivery-thread.ts).
import { constants as fsc, promises as fsp } from 'node:fs';
import { createFileDurable, renameNow, unlinkQuiet } from './fs-util.js';
import type { GroupDirSync } from './group-sync.js';

/** One content and where its copies go: `tmps[0]` is written, the other tmps are links to it; `news[i]` is where `tmps[i]` ends up. */
export interface DeliveryFilesPart {
  chunks: readonly Uint8Array[];
  size: number;
  tmps: readonly string[];
  news: readonly string[];
}

export interface DeliveryFilesJob {
  parts: readonly DeliveryFilesPart[];
  /** The new/ directories to fsync once every rename is made. */
  syncDirs: readonly string[];
}

/**
 * Writes, links, renames and syncs as above; resolves with each part's internal date (the file's
 * mtime in whole ms). A failure part-way removes every copy made (tmp/ and new/) and throws the
 * file system's error (its `code` says what: ENOSPC, EIO...). `beforeSync`: the files' fdatasyncs wait
 * for it (createFileDurable).
 */
export async function writeDeliveryFiles(job: DeliveryFilesJob, dirSync: GroupDirSync, beforeSync?: Promise<void>): Promise<number[]> {
  const made: string[] = [];
  const placed: string[] = [];
  try {
    const dates: number[] = [];
    for (const p of job.parts) {
      dates.push(await createFileDurable(p.tmps[0], p.chunks, p.size, undefined, beforeSync));
      made.push(p.tmps[0]);
      // Every other target gets a link in its own tmp/ first; only when all exist (of every part)
      // are they renamed into new/, so a failure part-way leaves no copy anywhere.
      for (const tmp of p.tmps.slice(1)) made.push(await linkOrCopyInto(p.tmps[0], tmp));
    }
    for (const p of job.parts) {
      for (let i = p.tmps.length - 1; i >= 0; i--) {
        await renameNow(p.tmps[i], p.news[i]);
        placed.push(p.news[i]);
      }
    }
    await Promise.all(job.syncDirs.map((dir) => dirSync.sync(dir)));
    return dates;
  } catch (err) {
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
