// Lab accounts, shared by SMTP AUTH, POP3 and IMAP. A user logs in as `alice` or `alice@<domain>`
// (or `alice@<hostname>`), case-insensitively; passwords are compared in constant time. Accounts can
// be added, removed and given a new password while labnet runs (`lab.users`, the REST API): the next
// login sees the change. In test mode (`testMode: true`, GreenMail's auth-disabled mode) every login
// whose name can be a mailbox is accepted with any password and every such name exists as a recipient.
//
// Two kinds of account: the config's `users` (and those added at run time) keep their password in
// clear, in memory; the class roster (<dataDir>/roster.json, `labnet users`, core/roster) keeps only
// scrypt hashes and is re-read whenever the file changes. A name in both logs in with the config's
// password. A hashed password is checked on the thread pool (`verifyAsync`); a successful check is
// remembered as an HMAC under a per-process key (never the password), so a mail client that logs in
// every minute costs one scrypt, not one per login. APOP and CRAM-MD5 need the clear password: hashed
// accounts cannot use them (`hasClearPassword`), and the services say so.
import 'reflect-metadata';
import { timingSafeEqual, createHash, createHmac, randomBytes } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { inject, injectable, optional } from 'inversify';
import { userSchema, type LabnetConfig } from './config.js';
import { LabnetError } from './errors.js';
import type { EventBus } from './events.js';
import { checkUserName } from './mail-store/index.js';
import { LoginThrottle, type Throttled } from './throttle.js';
import { readRoster, rosterPath, verifyPasswordHash, verifyPasswordHashSync } from './roster/index.js';
import { TOKENS } from './tokens.js';

export interface AuthResult {
  ok: boolean;
  /** Canonical user name (lower case) when ok. */
  user?: string;
}

interface HashedAccount {
  fullName: string;
  hash: string;
}

/** How often the roster file's metadata is polled for changes (one stat). */
export const ROSTER_POLL_MS = 500;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

@injectable()
export class Accounts {
  private readonly users = new Map<string, string>();
  /** The roster's accounts (scrypt hashes). */
  private hashed = new Map<string, HashedAccount>();
  /** user -> HMAC of the password last verified against its hash. */
  private readonly verified = new Map<string, Buffer>();
  private readonly cacheKey = randomBytes(32);
  private watched: string | undefined;
  /** GreenMail's auth-disabled mode: see the file comment. */
  readonly testMode: boolean;
  /** Failed logins of every service, per address and account (core/throttle.ts). */
  readonly throttle: LoginThrottle;

  constructor(
    @inject(TOKENS.Config) private readonly config: LabnetConfig,
    @inject(TOKENS.Events) @optional() private readonly events?: EventBus,
  ) {
    for (const u of config.users) this.users.set(u.name.toLowerCase(), u.password);
    this.testMode = config.testMode === true;
    // A partial config (unit tests) gets the default throttle.
    this.throttle = new LoginThrottle((config.limits as LabnetConfig['limits'] | undefined)?.loginThrottle);

    if (typeof config.dataDir === 'string' && config.dataDir !== '') {
      this.reloadRoster();
      this.watched = rosterPath(config.dataDir);
      watchFile(this.watched, { interval: ROSTER_POLL_MS, persistent: false }, () => this.reloadRoster());
    }
  }

  /**
   * `verify` through the throttle: from `remote`, a wrong password is answered only once its delay
   * has passed, and an address that keeps guessing is refused for now (`throttled`) unchecked.
   */
  verifyFrom(remote: string, login: string, password: string): Promise<AuthResult | Throttled> {
    return this.throttle.attempt(remote, login, () => this.verifyAsync(login, password));
  }

  /** Stops watching the roster file. */
  close(): void {
    if (this.watched) unwatchFile(this.watched);
    this.watched = undefined;
  }

  /**
   * Reads the roster again (the file watcher calls this). A damaged file keeps the accounts loaded
   * before and says why (notice event); returns the number of roster accounts.
   */
  reloadRoster(): number {
    try {
      const next = new Map<string, HashedAccount>();
      for (const u of readRoster(this.config.dataDir)) next.set(u.name, { fullName: u.fullName, hash: u.password });
      for (const [name, a] of next) if (this.hashed.get(name)?.hash !== a.hash) this.verified.delete(name);
      for (const name of this.hashed.keys()) if (!next.has(name)) this.verified.delete(name);
      const changed = this.hashed.size > 0 || next.size > 0;
      this.hashed = next;
      if (changed)
        this.events?.publish({
          type: 'notice',
          service: 'labnet',
          level: 'info',
          message: `roster loaded: ${next.size} accounts`,
          detail: { roster: next.size },
        });
    } catch (err) {
      this.events?.publish({ type: 'notice', service: 'labnet', level: 'error', message: `roster not reloaded: ${(err as Error).message}` });
    }
    return this.hashed.size;
  }

  /** Every account, with the roster's full names (setup pages, handouts). */
  accountList(): Array<{ name: string; fullName?: string }> {
    const out: Array<{ name: string; fullName?: string }> = [...this.users.keys()].map((name) => ({
      name,
      fullName: this.hashed.get(name)?.fullName || undefined,
    }));
    for (const [name, a] of this.hashed) if (!this.users.has(name)) out.push({ name, fullName: a.fullName || undefined });
    return out;
  }

  /** True when the account's password is known in clear (config users): APOP and CRAM-MD5 work. */
  hasClearPassword(name: string): boolean {
    return this.users.has(name.toLowerCase());
  }

  /** True when some account has a clear password (or test mode): worth advertising APOP/CRAM-MD5. */
  anyClearPassword(): boolean {
    return this.testMode || this.users.size > 0;
  }

  /** True when the account exists only with a hashed password (roster). */
  isHashed(name: string): boolean {
    const n = name.toLowerCase();
    return !this.users.has(n) && this.hashed.has(n);
  }

  /** The clear password of a config account (CRAM-MD5's shared secret); undefined for hashed ones. */
  clearPassword(name: string): string | undefined {
    return this.users.get(name.toLowerCase());
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

  /** True when `name` is a configured account (in test mode: any name that can be a mailbox). */
  exists(name: string): boolean {
    const user = name.toLowerCase();
    return this.users.has(user) || this.hashed.has(user) || (this.testMode && isMailboxName(user));
  }

  /** True when `name` is a configured (or added) account, whatever the mode. */
  isAccount(name: string): boolean {
    const n = name.toLowerCase();
    return this.users.has(n) || this.hashed.has(n);
  }

  names(): string[] {
    return [...new Set([...this.users.keys(), ...this.hashed.keys()])];
  }

  /** Adds an account at run time; LabnetError USER_EXISTS or USER_INVALID. Returns the canonical name. */
  add(nameOrAddress: string, password: string): string {
    const name = this.accountName(nameOrAddress);
    checkAccount(name, password);
    if (this.users.has(name) || this.hashed.has(name))
      throw new LabnetError('USER_EXISTS', `the user "${name}" already exists (setPassword changes a password)`);
    this.users.set(name, password);
    // config.users is what pages show (the landing page's account table): kept in step.
    this.config.users.push({ name, password });
    return name;
  }

  /**
   * Removes an account at run time; false when there was none. Its mail stays; open sessions go on.
   * A roster account is removed with `labnet users remove` (the file is the truth for those).
   */
  remove(nameOrAddress: string): boolean {
    const name = this.accountName(nameOrAddress);
    if (!this.users.delete(name)) return false;
    const i = this.config.users.findIndex((u) => u.name.toLowerCase() === name);
    if (i >= 0) this.config.users.splice(i, 1);
    return true;
  }

  /** Gives an account a new password; LabnetError NO_SUCH_USER or USER_INVALID. */
  setPassword(nameOrAddress: string, password: string): void {
    const name = this.accountName(nameOrAddress);
    checkAccount(name, password);
    if (!this.users.has(name) && !this.hashed.has(name)) throw new LabnetError('NO_SUCH_USER', `no user "${name}" (add creates one)`);
    // For a roster account this is a run-time password that wins until the next start (not stored).
    this.users.set(name, password);
    const entry = this.config.users.find((u) => u.name.toLowerCase() === name);
    if (entry) entry.password = password;
  }

  /** A login for SMTP, POP3 and IMAP: the password, or in test mode any password for a mailbox name. */
  verify(login: string, password: string): AuthResult {
    if (this.testMode) {
      const user = this.localUser(login);
      if (user !== undefined && isMailboxName(user)) return { ok: true, user };
    }
    return this.checkPassword(login, password);
  }

  /**
   * `verify` for the protocols: the same answer, but a hashed (roster) password is checked on the
   * thread pool instead of blocking the event loop.
   */
  async verifyAsync(login: string, password: string): Promise<AuthResult> {
    if (this.testMode) {
      const user = this.localUser(login);
      if (user !== undefined && isMailboxName(user)) return { ok: true, user };
    }
    return this.checkPasswordAsync(login, password);
  }

  /**
   * `checkPassword` (test mode or not) with a hashed password checked on the thread pool: the /lab
   * login form and the instructors' HTTP Basic (capture download, REST API) use this.
   */
  async checkPasswordAsync(login: string, password: string): Promise<AuthResult> {
    const user = this.localUser(login);
    if (user === undefined || this.users.has(user)) return this.checkPassword(login, password);
    const account = this.hashed.get(user);
    if (!account) return this.checkPassword(login, password);
    if (this.remembered(user, password)) return { ok: true, user };
    const ok = await verifyPasswordHash(password, account.hash);
    // The roster may have changed while scrypt ran: only the hash we checked counts.
    if (ok && this.hashed.get(user)?.hash === account.hash) this.verified.set(user, this.mac(password));
    return ok ? { ok, user } : { ok: false };
  }

  private mac(password: string): Buffer {
    return createHmac('sha256', this.cacheKey).update(password).digest();
  }

  private remembered(user: string, password: string): boolean {
    const known = this.verified.get(user);
    return known !== undefined && timingSafeEqual(known, this.mac(password));
  }

  /**
   * The password check alone, test mode or not, synchronous: a roster password not checked before
   * blocks the event loop for one scrypt (~50 ms). labnet itself calls `checkPasswordAsync`; this
   * stays for programmatic callers.
   */
  checkPassword(login: string, password: string): AuthResult {
    const user = this.localUser(login);
    if (!user) return { ok: false };
    const account = this.users.has(user) ? undefined : this.hashed.get(user);
    if (account) {
      // Blocking (one scrypt) unless remembered: see the method comment.
      if (this.remembered(user, password)) return { ok: true, user };
      if (!verifyPasswordHashSync(password, account.hash)) return { ok: false };
      this.verified.set(user, this.mac(password));
      return { ok: true, user };
    }
    const expected = this.users.get(user);
    // Compare digests so the comparison time does not depend on where the strings differ.
    const ok = timingSafeEqual(digest(password), digest(expected ?? '\u0000no-such-user')) && expected !== undefined;
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
    if (this.testMode && user !== undefined && isMailboxName(user)) return { ok: true, user };
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

  /** `alice` or `alice@<domain>` to `alice`; another domain is refused (accounts live in ours). */
  private accountName(nameOrAddress: string): string {
    const name = this.localUser(nameOrAddress);
    if (name === undefined) throw new LabnetError('USER_INVALID', `"${nameOrAddress.slice(0, 80)}" is not in the lab's domain ${this.config.domain}`);
    return name;
  }
}

function isMailboxName(user: string): boolean {
  try {
    checkUserName(user);
    return true;
  } catch {
    return false;
  }
}

/** The same rules as `users:` in the config (name letters, digits, ".", "_", "-"; password 1..256). */
function checkAccount(name: string, password: string): void {
  const r = userSchema.safeParse({ name, password });
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new LabnetError('USER_INVALID', `invalid user "${name.slice(0, 80)}": ${what}`);
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
