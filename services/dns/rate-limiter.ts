// Per-client token buckets: each address may send `perSecond` queries a second, `burst` at once. Sized
// for a classroom (a busy laptop sends a few dozen lookups a second at most), not for the internet.
// Remembers a bounded number of addresses; past that the oldest entry is forgotten (it starts again
// with a full bucket, which bounds memory at the price of some leniency under a spoofed flood).
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; noticedAt: number }>();
  limited = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxClients: number,
    private readonly noticeIntervalMs: number,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one token for `client`; false when it has none left. */
  allow(client: string, now: number): boolean {
    if (this.perSecond <= 0) return true;
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: now, noticedAt: -Infinity };
      this.buckets.set(client, b);
    } else if (now > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.perSecond) / 1000);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    this.limited++;
    return false;
  }

  /** True at most once per notice interval per client (for the "queries dropped" notice). */
  shouldNotice(client: string, now: number): boolean {
    const b = this.buckets.get(client);
    if (!b || now - b.noticedAt < this.noticeIntervalMs) return false;
    b.noticedAt = now;
    return true;
  }

  get clients(): number {
    return this.buckets.size;
  }
}
