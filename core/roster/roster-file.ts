// The class roster on disk: <dataDir>/roster.json, `{ "version": 1, "users": [{ name, fullName,
// password }] }` where `password` is always a scrypt hash (password-hash.ts), never a clear password.
// `labnet users ...` is the only writer; the running server re-reads the file when it changes
// (Accounts watches it). Writes are atomic and checked: the new content goes to a temporary file in
// the same directory, every byte is confirmed written (a short write is retried, never ignored), the
// file is fsynced and renamed over the old one, then the directory is fsynced. Two CLIs at once are
// kept apart by a lock file (roster.json.lock, created exclusively; a lock older than a minute is
// stale and taken over).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LabnetError } from '../errors.js';
import { isPasswordHash } from './password-hash.js';

export const ROSTER_FILE = 'roster.json';
/** Most accounts a roster holds (a big school's year, with room to spare). */
export const MAX_ROSTER_USERS = 10_000;
/** Largest roster file read (10,000 entries of about 200 octets). */
export const MAX_ROSTER_BYTES = 8 * 1024 * 1024;
export const MAX_FULL_NAME = 200;

export const rosterNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit');

export const fullNameSchema = z
  .string()
  .max(MAX_FULL_NAME)
  // No control characters (they would break the handout, the CSV and the terminal listing).
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'no control characters');

const entrySchema = z.object({
  name: rosterNameSchema,
  fullName: fullNameSchema.default(''),
  password: z.string().refine(isPasswordHash, 'a scrypt hash (labnet users passwd sets one)'),
});

const fileSchema = z.object({
  version: z.literal(1),
  users: z.array(entrySchema).max(MAX_ROSTER_USERS),
});

export type RosterEntry = z.infer<typeof entrySchema>;

export function rosterPath(dataDir: string): string {
  return join(dataDir, ROSTER_FILE);
}

/** The roster's entries; [] when there is no roster file. LabnetError ROSTER_INVALID when it is damaged. */
export function readRoster(dataDir: string): RosterEntry[] {
  const path = rosterPath(dataDir);
  let text: string;
  try {
    if (statSync(path).size > MAX_ROSTER_BYTES) throw new LabnetError('ROSTER_INVALID', `${path} is larger than ${MAX_ROSTER_BYTES} octets`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LabnetError('ROSTER_INVALID', `${path} is not JSON: ${(err as Error).message}`);
  }
  const r = fileSchema.safeParse(json);
  if (!r.success) {
    const what = r.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    throw new LabnetError('ROSTER_INVALID', `${path} is not a labnet roster: ${what}`);
  }
  const seen = new Set<string>();
  for (const u of r.data.users) {
    if (seen.has(u.name)) throw new LabnetError('ROSTER_INVALID', `${path}: the user "${u.name}" appears twice`);
    seen.add(u.name);
  }
  return r.data.users;
}

/** Writes all of `data` at `fd`, looping over short writes; throws on an error or a write of 0. */
export function writeAllSync(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw new LabnetError('WRITE_FAILED', `short write: ${off} of ${data.length} octets written`);
    off += n;
  }
}

/** Replaces the roster atomically (see the file comment). */
export function writeRoster(dataDir: string, users: readonly RosterEntry[]): void {
  mkdirSync(dataDir, { recursive: true });
  const path = rosterPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  const data = Buffer.from(`${JSON.stringify({ version: 1, users }, null, 1)}\n`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeAllSync(fd, data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dir = openSync(dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

/** Runs `fn` holding the roster lock (one writer at a time). */
export async function withRosterLock<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dataDir, { recursive: true });
  const lock = `${rosterPath(dataDir)}.lock`;
  let fd: number | undefined;
  for (let attempt = 0; attempt < 2 && fd === undefined; attempt++) {
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (attempt > 0 || age < 60_000) throw new LabnetError('ROSTER_BUSY', `another labnet users command is changing the roster (${lock}); try again`);
      rmSync(lock, { force: true });
    }
  }
  try {
    writeAllSync(fd!, Buffer.from(`${process.pid}\n`));
    return await fn();
  } finally {
    closeSync(fd!);
    rmSync(lock, { force: true });
  }
}
