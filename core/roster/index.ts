// The class roster: accounts kept in <dataDir>/roster.json with scrypt-hashed passwords, managed by
// `labnet users import|list|add|remove|passwd` and read by the running server (Accounts watches the
// file). Clear passwords exist only in memory, while a command runs: the command prints them (and
// writes the handouts) once, and only the hashes are stored.
import { LabnetError } from '../errors.js';
import { generatePassword } from './generate.js';
import { hashPassword } from './password-hash.js';
import { checkPassword, type RosterRow } from './roster-csv.js';
import { fullNameSchema, readRoster, rosterNameSchema, withRosterLock, writeRoster, type RosterEntry } from './roster-file.js';

export { generatePassword } from './generate.js';
export { hashPassword, isPasswordHash, verifyPasswordHash, verifyPasswordHashSync, SCRYPT_PARAMS } from './password-hash.js';
export { parseRosterCsv, MAX_CSV_BYTES, type RosterRow, type RosterCsvResult } from './roster-csv.js';
export { readRoster, writeRoster, rosterPath, ROSTER_FILE, MAX_ROSTER_USERS, type RosterEntry } from './roster-file.js';

/** A user's clear credentials, known only while a command runs (for printing and handouts). */
export interface Credential {
  name: string;
  fullName: string;
  password: string;
  generated: boolean;
}

export interface ImportResult {
  added: Credential[];
  /** Existing users whose password the file (or --reset) changed. */
  updated: Credential[];
  /** Existing users left as they were (no password in the file). */
  kept: string[];
}

function checkName(name: string): string {
  const n = name.toLowerCase();
  const r = rosterNameSchema.safeParse(n);
  if (!r.success)
    throw new LabnetError('USER_INVALID', `the name ${JSON.stringify(name.slice(0, 40))} is not usable: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return n;
}

function checkPass(password: string): void {
  const why = checkPassword(password);
  if (why) throw new LabnetError('USER_INVALID', why);
}

/** Adds the rows' users; existing ones get the file's password, or with `reset` a new one. */
export async function importRoster(dataDir: string, rows: readonly RosterRow[], options: { reset?: boolean } = {}): Promise<ImportResult> {
  return withRosterLock(dataDir, async () => {
    const users = readRoster(dataDir);
    const byName = new Map(users.map((u) => [u.name, u]));
    const result: ImportResult = { added: [], updated: [], kept: [] };
    for (const row of rows) {
      const existing = byName.get(row.name);
      if (existing && row.password === undefined && !options.reset) {
        if (row.fullName) existing.fullName = row.fullName;
        result.kept.push(row.name);
        continue;
      }
      const password = row.password ?? generatePassword();
      const cred: Credential = { name: row.name, fullName: row.fullName || existing?.fullName || '', password, generated: row.password === undefined };
      const entry: RosterEntry = { name: row.name, fullName: cred.fullName, password: await hashPassword(password) };
      if (existing) {
        Object.assign(existing, entry);
        result.updated.push(cred);
      } else {
        users.push(entry);
        byName.set(row.name, entry);
        result.added.push(cred);
      }
    }
    writeRoster(dataDir, users);
    return result;
  });
}

export async function addRosterUser(dataDir: string, name: string, fullName = '', password?: string): Promise<Credential> {
  const n = checkName(name);
  const f = fullNameSchema.safeParse(fullName);
  if (!f.success) throw new LabnetError('USER_INVALID', `the full name: ${f.error.issues[0]?.message ?? 'invalid'}`);
  if (password !== undefined) checkPass(password);
  return withRosterLock(dataDir, async () => {
    const users = readRoster(dataDir);
    if (users.some((u) => u.name === n)) throw new LabnetError('USER_EXISTS', `"${n}" is already on the roster (labnet users passwd changes a password)`);
    const clear = password ?? generatePassword();
    users.push({ name: n, fullName, password: await hashPassword(clear) });
    writeRoster(dataDir, users);
    return { name: n, fullName, password: clear, generated: password === undefined };
  });
}

export async function removeRosterUser(dataDir: string, name: string): Promise<void> {
  const n = checkName(name);
  await withRosterLock(dataDir, () => {
    const users = readRoster(dataDir);
    const left = users.filter((u) => u.name !== n);
    if (left.length === users.length) throw new LabnetError('NO_SUCH_USER', `"${n}" is not on the roster`);
    writeRoster(dataDir, left);
    return Promise.resolve();
  });
}

export async function setRosterPassword(dataDir: string, name: string, password?: string): Promise<Credential> {
  const n = checkName(name);
  if (password !== undefined) checkPass(password);
  return withRosterLock(dataDir, async () => {
    const users = readRoster(dataDir);
    const u = users.find((x) => x.name === n);
    if (!u) throw new LabnetError('NO_SUCH_USER', `"${n}" is not on the roster (labnet users add creates one)`);
    const clear = password ?? generatePassword();
    u.password = await hashPassword(clear);
    writeRoster(dataDir, users);
    return { name: n, fullName: u.fullName, password: clear, generated: password === undefined };
  });
}
