// Failed-login throttling shared by every service that checks a password (SMTP AUTH, POP3 USER/PASS
// and AUTH, IMAP LOGIN and AUTHENTICATE, HTTP Basic on /api and /lab/capture.pcapng, the /lab login).
//
// The model is Dovecot's (auth_failure_delay, anvil's penalty per address), made per address *and*
// per account:
// - A password is checked at once, and a correct one is answered at once: the real user is never
//   slowed down by someone else's failures, from another address or from their own.
// - A wrong one is answered only at the next free "failure slot" of its address and of its account.
//   The first `freeFailures` failures of a key cost nothing (a typo); then each costs
//   `baseDelayMs * 2^(n - freeFailures)`, up to `maxDelayMs`. Slots are serialized per key, so 16
//   parallel connections from one address get the same few answers a second as one connection.
// - When an address's backlog of slots is longer than `refuseAfterMs` (it keeps guessing on many
//   connections), further attempts from it are refused for now without checking the password
//   (a temporary failure: SMTP 454 4.7.0, POP3 -ERR [SYS/TEMP], IMAP NO [UNAVAILABLE], HTTP 429).
//   The account's backlog refuses only addresses that have failures of their own, so a student who
//   guesses at alice's password cannot lock alice out.
// - A key's failures are forgotten `forgetMs` after its last one; a success forgets the account's.
// - Memory is bounded: at most `maxEntries` keys per map, least recently failed dropped first.
import { z } from 'zod';

export const throttleConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Failures per address or account answered without delay. */
  freeFailures: z.number().int().min(0).max(100).default(3),
  /** The first delayed failure waits this long; each further one twice as long... */
  baseDelayMs: z.number().int().min(0).max(60_000).default(250),
  /** ...up to this (Dovecot's auth_failure_delay is 2 s). */
  maxDelayMs: z.number().int().min(0).max(60_000).default(2000),
  /** A backlog longer than this refuses the address's attempts for now. */
  refuseAfterMs: z.number().int().min(1000).max(600_000).default(15_000),
  /** Failures of a key are forgotten this long after its last one. */
  forgetMs: z
    .number()
    .int()
    .min(1000)
    .max(86_400_000)
    .default(10 * 60_000),
  /** Keys kept per map (addresses, accounts). */
  maxEntries: z.number().int().min(16).max(1_000_000).default(10_000),
});
export type ThrottleConfig = z.infer<typeof throttleConfigSchema>;

interface KeyState {
  failures: number;
  /** When the next failure answer of this key may go out (ms since epoch). */
  nextSlot: number;
  lastFailure: number;
}

/** An attempt refused without checking the password. */
export interface Throttled {
  throttled: true;
  ok: false;
  /** How long until the backlog has gone down under the refusal threshold. */
  retryAfterMs: number;
}

export interface ThrottleStats {
  addresses: number;
  accounts: number;
  delayed: number;
  refused: number;
}

/** A bounded map in least-recently-touched order (a touched key moves to the end). */
class KeyMap {
  private readonly map = new Map<string, KeyState>();
  constructor(private readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  get(key: string, now: number, forgetMs: number): KeyState | undefined {
    const st = this.map.get(key);
    if (st && now - st.lastFailure > forgetMs && st.nextSlot <= now) {
      this.map.delete(key);
      return undefined;
    }
    return st;
  }
  touch(key: string, st: KeyState): void {
    this.map.delete(key);
    this.map.set(key, st);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}

export class LoginThrottle {
  private readonly addresses: KeyMap;
  private readonly accounts: KeyMap;
  private delayed = 0;
  private refused = 0;

  constructor(
    readonly config: ThrottleConfig = throttleConfigSchema.parse({}),
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.addresses = new KeyMap(config.maxEntries);
    this.accounts = new KeyMap(config.maxEntries);
  }

  stats(): ThrottleStats {
    return { addresses: this.addresses.size, accounts: this.accounts.size, delayed: this.delayed, refused: this.refused };
  }

  /**
   * Runs one password check for `account` from `remote`: refused (Throttled) while the address is
   * over its backlog, else the check's result, a failure only once its slot has come.
   */
  async attempt<T extends { ok: boolean }>(remote: string, account: string, check: () => T | Promise<T>): Promise<T | Throttled> {
    if (!this.config.enabled) return check();
    const refusal = this.refusal(remote, account);
    if (refusal) {
      // Not at once either: a client that keeps trying would otherwise spin on refusals.
      await this.sleep(Math.min(refusal.retryAfterMs, this.config.maxDelayMs));
      return refusal;
    }
    const result = await check();
    if (result.ok) {
      this.succeeded(account);
      return result;
    }
    const wait = this.failed(remote, account);
    if (wait > 0) {
      this.delayed++;
      await this.sleep(wait);
    }
    return result;
  }

  /** A Throttled when an attempt from `remote` for `account` must be refused now. */
  refusal(remote: string, account: string): Throttled | undefined {
    if (!this.config.enabled) return undefined;
    const t = this.now();
    const { forgetMs, refuseAfterMs } = this.config;
    const a = this.addresses.get(remote, t, forgetMs);
    const backlogA = a ? a.nextSlot - t : 0;
    const u = a ? this.accounts.get(accountKey(account), t, forgetMs) : undefined;
    const backlogU = u ? u.nextSlot - t : 0;
    const backlog = Math.max(backlogA, backlogU);
    if (backlog <= refuseAfterMs) return undefined;
    this.refused++;
    return { throttled: true, ok: false, retryAfterMs: backlog - refuseAfterMs };
  }

  /** Records a failure; returns how long its answer must wait (ms). */
  failed(remote: string, account: string): number {
    const t = this.now();
    const a = this.charge(this.addresses, remote, t);
    const u = this.charge(this.accounts, accountKey(account), t);
    return Math.max(a, u) - t;
  }

  /** A correct password: the account's failures are forgotten (the address's decay with time). */
  succeeded(account: string): void {
    this.accounts.delete(accountKey(account));
  }

  private charge(map: KeyMap, key: string, t: number): number {
    const c = this.config;
    const st = map.get(key, t, c.forgetMs) ?? { failures: 0, nextSlot: 0, lastFailure: t };
    st.failures++;
    st.lastFailure = t;
    const over = st.failures - c.freeFailures;
    const cost = over <= 0 ? 0 : Math.min(c.maxDelayMs, c.baseDelayMs * 2 ** Math.min(over - 1, 20));
    st.nextSlot = Math.max(t, st.nextSlot) + cost;
    map.touch(key, st);
    return st.nextSlot;
  }
}

/** One key per account whatever the spelling (`Alice`, `alice@lab.test`), bounded in length. */
function accountKey(account: string): string {
  const s = account.trim().toLowerCase().slice(0, 320);
  const at = s.lastIndexOf('@');
  return at > 0 ? s.slice(0, at) : s;
}

export function isThrottled(r: { ok: boolean } | Throttled): r is Throttled {
  return (r as Throttled).throttled === true;
}
