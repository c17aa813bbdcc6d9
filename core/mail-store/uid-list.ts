// The per-folder uid list, in Dovecot's `dovecot-uidlist` version 3 format so Dovecot could take the
// Maildir over: a header line `3 V<uidvalidity> N<nextuid> G<guid>` and one line per message,
// `<uid> :<base name>`. UIDs are stable because this file, not the directory order, assigns them
// (RFC 3501 section 2.3.1.1: a UID never changes and is never reused within one UIDVALIDITY).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from './fs-util.js';

export const UIDLIST_FILE = 'dovecot-uidlist';

export interface UidList {
  uidValidity: number;
  uidNext: number;
  guid: string;
  /** base name -> uid */
  uids: Map<string, number>;
}

export function newUidList(uidValidity: number): UidList {
  return { uidValidity, uidNext: 1, guid: randomBytes(16).toString('hex'), uids: new Map() };
}

/** Parses the file; undefined when it is missing or not in a format we understand. */
export function parseUidList(text: string): UidList | undefined {
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
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.length === 0) continue;
    const colon = line.indexOf(' :');
    if (colon < 0) continue; // a torn last line after a crash: ignored, the file is re-assigned
    const uid = Number.parseInt(line, 10);
    const base = line.slice(colon + 2);
    if (!Number.isInteger(uid) || uid <= 0 || base.length === 0) continue;
    uids.set(base, uid);
    if (uid >= uidNext) uidNext = uid + 1;
  }
  return { uidValidity, uidNext, guid: guid || randomBytes(16).toString('hex'), uids };
}

export function formatUidListHeader(list: UidList): string {
  return `3 V${list.uidValidity} N${list.uidNext} G${list.guid}\n`;
}

export function formatUidLine(uid: number, base: string): string {
  return `${uid} :${base}\n`;
}

export async function readUidList(dir: string): Promise<UidList | undefined> {
  try {
    return parseUidList(await fsp.readFile(join(dir, UIDLIST_FILE), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Rewrites the whole list atomically (after an expunge, or when it was missing). */
export async function writeUidList(dir: string, list: UidList): Promise<void> {
  const entries = [...list.uids].sort((a, b) => a[1] - b[1]);
  let text = formatUidListHeader(list);
  for (const [base, uid] of entries) text += formatUidLine(uid, base);
  await writeFileDurable(dir, UIDLIST_FILE, text);
}

/** Appends new assignments; `durable` fsyncs the file before resolving. */
export async function appendUidList(dir: string, lines: ReadonlyArray<readonly [number, string]>, durable: boolean): Promise<void> {
  if (lines.length === 0) return;
  let text = '';
  for (const [uid, base] of lines) text += formatUidLine(uid, base);
  const fh = await fsp.open(join(dir, UIDLIST_FILE), 'a');
  try {
    await fh.write(text);
    if (durable) await fh.datasync();
  } finally {
    await fh.close();
  }
}
