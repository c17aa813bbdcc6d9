// Logins to /lab: lab accounts (the same passwords as for mail) checked by core/auth.ts, a random
// session token in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), instructors named by the
// config. Everything bounded: sessions (oldest evicted), their lifetime, and failed attempts per
// client address and minute.
import { randomBytes } from 'node:crypto';
import type { Accounts } from '../auth.js';
import type { Role } from './wire.js';

export const COOKIE_NAME = 'labnet_lab';
/** A login lasts this long (a school day). */
export const LOGIN_TTL_MS = 12 * 3600_000;
const MAX_LOGINS = 10_000;
const MAX_TRACKED_ADDRESSES = 10_000;

export interface LabLogin {
  user: string;
  role: Exclude<Role, 'anonymous'>;
  expiresAt: number;
}

export type LoginResult = { ok: true; token: string; login: LabLogin } | { ok: false; reason: 'refused' | 'throttled' };

export class LabLogins {
  private readonly logins = new Map<string, LabLogin>();
  private readonly failures = new Map<string, { windowStart: number; count: number }>();
  private readonly instructors: ReadonlySet<string>;

  constructor(
    private readonly accounts: Accounts,
    instructors: readonly string[],
    private readonly failuresPerMinute: number,
    private readonly now: () => number,
  ) {
    this.instructors = new Set(instructors.map((n) => n.toLowerCase()));
  }

  roleOf(user: string): 'student' | 'instructor' {
    return this.instructors.has(user.toLowerCase()) ? 'instructor' : 'student';
  }

  /** Checks the password (a roster hash on the thread pool, core/auth.ts) and opens a login. */
  async login(user: string, password: string, address: string): Promise<LoginResult> {
    const now = this.now();
    const f = this.failures.get(address);
    if (f && now - f.windowStart < 60_000 && f.count >= this.failuresPerMinute) return { ok: false, reason: 'throttled' };
    const result = await this.accounts.verifyAsync(user.slice(0, 320), password.slice(0, 1024));
    if (!result.ok || result.user === undefined) {
      if (!f || now - f.windowStart >= 60_000) {
        if (!f && this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
        this.failures.set(address, { windowStart: now, count: 1 });
      } else f.count++;
      return { ok: false, reason: 'refused' };
    }
    if (this.logins.size >= MAX_LOGINS) this.logins.delete(this.logins.keys().next().value!);
    const token = randomBytes(32).toString('base64url');
    const login: LabLogin = { user: result.user, role: this.roleOf(result.user), expiresAt: now + LOGIN_TTL_MS };
    this.logins.set(token, login);
    return { ok: true, token, login };
  }

  /** The login a Cookie header carries, if valid. */
  fromCookie(cookieHeader: string | undefined): { token: string; login: LabLogin } | undefined {
    const token = cookieValue(cookieHeader, COOKIE_NAME);
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const login = this.logins.get(token);
    if (!login) return undefined;
    if (login.expiresAt <= this.now()) {
      this.logins.delete(token);
      return undefined;
    }
    return { token, login };
  }

  logout(token: string): void {
    this.logins.delete(token);
  }

  /** Set-Cookie for a new login. */
  static setCookie(token: string, secure: boolean): string {
    return `${COOKIE_NAME}=${token}; Path=/lab; HttpOnly; SameSite=Strict; Max-Age=${LOGIN_TTL_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  static clearCookie(secure: boolean): string {
    return `${COOKIE_NAME}=; Path=/lab; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  }
}

/** One cookie's value from a Cookie header (RFC 6265 section 5.4), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.slice(0, 8192).split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Fields of an application/x-www-form-urlencoded body (bounded by the caller's body limit). */
export function parseForm(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of body.split('&').slice(0, 32)) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      out.set(decodeURIComponent(k.replace(/\+/g, ' ')), decodeURIComponent(v.replace(/\+/g, ' ')));
    } catch {
      // a malformed escape: the field is ignored
    }
  }
  return out;
}
