// Lab accounts, shared by SMTP AUTH, POP3 and IMAP. A user logs in as `alice` or `alice@<domain>`
// (or `alice@<hostname>`), case-insensitively; passwords are compared in constant time.
import 'reflect-metadata';
import { timingSafeEqual, createHash } from 'node:crypto';
import { inject, injectable } from 'inversify';
import type { LabnetConfig } from './config.js';
import { TOKENS } from './tokens.js';

export interface AuthResult {
  ok: boolean;
  /** Canonical user name (lower case) when ok. */
  user?: string;
}

@injectable()
export class Accounts {
  private readonly users = new Map<string, string>();

  constructor(@inject(TOKENS.Config) private readonly config: LabnetConfig) {
    for (const u of config.users) this.users.set(u.name.toLowerCase(), u.password);
  }

  /** The canonical local user for a login or address, if it names one of our domains; else undefined. */
  localUser(loginOrAddress: string): string | undefined {
    const s = loginOrAddress.trim().toLowerCase();
    const at = s.lastIndexOf('@');
    if (at < 0) return s;
    const domain = s.slice(at + 1);
    if (domain !== this.config.domain.toLowerCase() && domain !== this.config.hostname.toLowerCase()) return undefined;
    return s.slice(0, at);
  }

  /** True when `name` is a configured account. */
  exists(name: string): boolean {
    return this.users.has(name.toLowerCase());
  }

  names(): string[] {
    return [...this.users.keys()];
  }

  verify(login: string, password: string): AuthResult {
    const user = this.localUser(login);
    if (!user) return { ok: false };
    const expected = this.users.get(user);
    // Compare digests so the comparison time does not depend on where the strings differ.
    const a = createHash('sha256').update(password).digest();
    const b = createHash('sha256')
      .update(expected ?? '\u0000no-such-user')
      .digest();
    const ok = timingSafeEqual(a, b) && expected !== undefined;
    return ok ? { ok, user } : { ok: false };
  }

  /**
   * The SASL authorization identity check (RFC 4616 section 2, RFC 4422 section 3.4.1), one for every
   * protocol: nobody may act as someone else here, so an authzid is accepted when it is empty or names
   * the authenticating user itself (`alice` and `alice@<domain>` are the same user).
   */
  authorizes(authcid: string, authzid: string): boolean {
    if (authzid === '') return true;
    const user = this.localUser(authcid);
    return user !== undefined && this.localUser(authzid) === user;
  }

  /** APOP (RFC 1939 section 7): MD5 of the greeting timestamp followed by the shared secret. */
  verifyApop(login: string, timestamp: string, digestHex: string): AuthResult {
    const user = this.localUser(login);
    const expected = user ? this.users.get(user) : undefined;
    if (!user || expected === undefined) return { ok: false };
    const want = createHash('md5')
      .update(timestamp + expected)
      .digest();
    let got: Buffer;
    try {
      got = Buffer.from(digestHex, 'hex');
    } catch {
      return { ok: false };
    }
    return got.length === want.length && timingSafeEqual(got, want) ? { ok: true, user } : { ok: false };
  }
}

/**
 * Decodes a SASL PLAIN message (RFC 4616): authzid NUL authcid NUL passwd, base64 on the wire.
 * Returns undefined for malformed input; whether the authzid is acceptable is `Accounts.authorizes`.
 */
export function decodeSaslPlain(base64: string): { authzid: string; authcid: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return undefined;
  const text = Buffer.from(base64, 'base64').toString('utf8');
  const parts = text.split('\u0000');
  if (parts.length !== 3) return undefined;
  const [authzid, authcid, password] = parts as [string, string, string];
  if (!authcid || !password) return undefined;
  return { authzid, authcid, password };
}
