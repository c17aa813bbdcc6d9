// The per-folder uid list, in Dovecot's `dovecot-uidlist` version 3 format so Dovecot could take the
// Maildir over: a header line `3 V<uidvalidity> N<nextuid> G<guid>` and one line per message,
// `<uid> :<base name>`. UIDs are stable because this file, not the directory order, assigns them
// (RFC 3501 section 2.3.1.1: a UID never changes and is never reused within one UIDVALIDITY).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { appendDurable, writeFileDurable, yieldToLoop, type AppendFile } from './fs-util.js';

export const UIDLIST_FILE = 'dovecot-uidlist';

export interface UidList {
  uidValidity: number;
  uidNext: number;
  guid: string;
  /** base name -> uid */
  uids: Map<string, number>;
  /**
   * The file does not end with a line break (a crash or a full disk cut the last append): the next
   * append starts a new line first, so it is not glued to the torn one.
   */
  torn?: boolean;
}

/** A uid list larger than this is not a list we wrote (the store compacts it): it is rebuilt. */
export const MAX_UIDLIST_BYTES = 64 * 1024 * 1024;

export function newUidList(uidValidity: number): UidList {
  return { uidValidity, uidNext: 1, guid: randomBytes(16).toString('hex'), uids: new Map() };
}

/** Parses the file; undefined when it is missing or not in a format we understand. */
export function parseUidList(text: string): UidList | undefined {
  const steps = parseSteps(text);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Lines parsed between two yields to the event loop (a big list is read at start and on reload). */
const PARSE_SLICE = 4000;

/** The parser, pausing every PARSE_SLICE lines (parseUidList runs it through; readUidList yields to the loop). */
function* parseSteps(text: string): Generator<void, UidList | undefined> {
  const lines = text.split('\n');
  const header = lines[0]?.split(' ') ?? [];
  if (header[0] !== '3') return undefined;
  let uidValidity = 0;
  let uidNext = 1;
  let guid = '';
  for (const field of header.slice(1)) {
    const key = field[0];
    const value = field.slice(1);
    if (key === 'V') uidValidity = Number(value);
    else if (key === 'N') uidNext = Number(value);
    else if (key === 'G') guid = value;
  }
  if (!Number.isInteger(uidValidity) || uidValidity <= 0 || !Number.isInteger(uidNext) || uidNext < 1) return undefined;
  const uids = new Map<string, number>();
  const taken = new Set<number>();
  for (let i = 1; i < lines.length; i++) {
    if (i % PARSE_SLICE === 0) yield;
    const line = lines[i];
    if (line.length === 0) continue;
    const colon = line.indexOf(' :');
    if (colon < 0) continue; // a torn last line after a crash: ignored, the file is re-assigned
    const uid = Number.parseInt(line, 10);
    const base = line.slice(colon + 2);
    if (!Number.isSafeInteger(uid) || uid <= 0 || base.length === 0) continue;
    // The highest UID ever written is never handed out again, even when its line is unusable.
    if (uid >= uidNext) uidNext = uid + 1;
    // One UID names one message: a line with a UID another name already has is ignored (that file
    // gets a fresh UID, never one another message had). A name listed twice keeps its later UID:
    // an append whose fsync failed is retried with new UIDs, and the retry is what clients saw.
    if (taken.has(uid)) continue;
    const earlier = uids.get(base);
    if (earlier !== undefined) taken.delete(earlier);
    taken.add(uid);
    uids.set(base, uid);
  }
  const list: UidList = { uidValidity, uidNext, guid: guid || randomBytes(16).toString('hex'), uids };
  if (text.length > 0 && !text.endsWith('\n')) list.torn = true;
  return list;
}

export function formatUidListHeader(list: UidList): string {
  return `3 V${list.uidValidity} N${list.uidNext} G${list.guid}\n`;
}

export function formatUidLine(uid: number, base: string): string {
  return `${uid} :${base}\n`;
}

/**
 * Reads and parses the list: undefined when it is missing, and also when it is not a list (not a
 * regular file, too large, not in a format we understand): the folder then gets a new UIDVALIDITY,
 * which tells every client to forget what it cached (RFC 3501 section 2.3.1.1).
 */
export async function readUidList(dir: string): Promise<UidList | undefined> {
  let fh;
  try {
    fh = await fsp.open(join(dir, UIDLIST_FILE), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_UIDLIST_BYTES) return undefined;
    const steps = parseSteps(await fh.readFile('utf8'));
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      await yieldToLoop();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw err;
  } finally {
    await fh.close();
  }
}

/** Rewrites the whole list atomically (a new or damaged list, or a compaction after many expunges). */
export async function writeUidList(dir: string, list: UidList, entries?: ReadonlyArray<readonly [number, string]>): Promise<void> {
  const sorted = entries ?? [...list.uids].map(([base, uid]) => [uid, base] as const).sort((a, b) => a[0] - b[0]);
  const parts: string[] = [formatUidListHeader(list)];
  for (const [uid, base] of sorted) parts.push(formatUidLine(uid, base));
  await writeFileDurable(dir, UIDLIST_FILE, parts.join(''));
  list.torn = false;
}

/**
 * Appends new assignments; `durable` fsyncs the file before resolving. On failure the file is cut
 * back to where it was (so no half line stays), and if even that fails the list is marked torn so
 * the next append starts on a fresh line. Either way the UIDs of the failed lines are not reused:
 * the caller has already moved uidNext past them.
 */
export async function appendUidList(
  dir: string,
  list: UidList,
  lines: ReadonlyArray<readonly [number, string]>,
  durable: boolean,
  append: AppendFile = appendDurable,
): Promise<void> {
  if (lines.length === 0) return;
  let text = list.torn ? '\n' : '';
  for (const [uid, base] of lines) text += formatUidLine(uid, base);
  const wasTorn = list.torn === true;
  let cutFailed = false;
  try {
    await append(join(dir, UIDLIST_FILE), text, durable, () => (cutFailed = true));
    list.torn = false;
  } catch (err) {
    list.torn = cutFailed || wasTorn;
    throw err;
  }
}
