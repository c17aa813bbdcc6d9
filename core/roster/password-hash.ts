// Password hashes for the class roster: scrypt (RFC 7914) from node:crypto, stored as
// `scrypt$<N>$<r>$<p>$<salt base64>$<key base64>` so the cost can grow later without breaking old
// entries. N=2^14, r=8, p=1 (16 MiB, OWASP's scrypt minimum) with a 16-byte salt and a 32-byte key.
// Hashing and checking run on libuv's thread pool (`hashPassword`, `verifyPasswordHash`): the event
// loop never waits for them. `verifyPasswordHashSync` blocks for the time of one hash; labnet's own
// logins no longer use it (only Accounts.checkPassword, kept for programmatic callers).
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 1 << 14, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Largest cost accepted from a stored hash (a hostile roster file cannot make a check take minutes). */
const MAX_N = 1 << 17;

interface Parsed {
  options: ScryptOptions;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; undefined when it is not one of ours (or asks for an absurd cost). */
export function parsePasswordHash(stored: string): Parsed | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return undefined;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return undefined;
  return { options: { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, salt, key };
}

export function isPasswordHash(s: string): boolean {
  return parsePasswordHash(s) !== undefined;
}

function format(options: { N: number; r: number; p: number }, salt: Buffer, key: Buffer): string {
  return `scrypt$${options.N}$${options.r}$${options.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new hash of `password` (thread pool). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const options = { ...SCRYPT_PARAMS, maxmem: 256 * SCRYPT_PARAMS.N * SCRYPT_PARAMS.r + 1024 * 1024 };
  return format(SCRYPT_PARAMS, salt, await scryptAsync(password, salt, KEY_BYTES, options));
}

/** True when `password` matches `stored` (thread pool; constant-time comparison). */
export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  const h = parsePasswordHash(stored);
  if (!h) return false;
  const key = await scryptAsync(password, h.salt, h.key.length, h.options);
  return timingSafeEqual(key, h.key);
}

/** The same check, blocking (see the file comment). */
export function verifyPasswordHashSync(password: string, stored: string): boolean {
  const h = parsePasswordHash(stored);
  if (!h) return false;
  return timingSafeEqual(scryptSync(password, h.salt, h.key.length, h.options), h.key);
}
