/**
 * A fixed-window rate budget: at most `max` admissions in each window of `ms` milliseconds (0: no
 * limit). The TLS handshake tap (handshakes per second) counts with it; the recording budget is a
 * TokenBucket (below).
 */
export class RateWindow {
  private end = 0;
  private used = 0;

  constructor(
    public max: number,
    readonly ms: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether one more fits in the current window; counts it when it does. `at`: a reading of this
   * window's clock the caller has just taken (0: read it here), so a hot path reads the clock once.
   */
  admit(at = 0): boolean {
    if (this.max <= 0) return true;
    const t = at > 0 ? at : this.now();
    if (t >= this.end) {
      this.end = t + this.ms;
      this.used = 0;
    }
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }
}

/**
 * A token bucket: on average `rate` admissions a second, and up to `burst` at once after a quiet spell
 * (rate 0: no limit). The recording budget counts with it: a class that acts all at once (everyone
 * reloads, everyone fetches their mail) is recorded whole, while a flood or a benchmark is held to the
 * steady rate, evenly spread, whatever its speed.
 */
export class TokenBucket {
  private tokens: number;
  private last = 0;
  private readonly perMs: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = rate / 1000;
    this.tokens = burst;
  }

  /**
   * Whether one more fits now; takes it when it does. `at`: a reading of this bucket's clock the caller
   * has just taken (0: read it here), so a hot path reads the clock once.
   */
  admit(at = 0): boolean {
    if (this.rate <= 0) return true;
    const t = at > 0 ? at : this.now();
    const dt = t - this.last;
    if (dt > 0) {
      this.last = t;
      const filled = this.tokens + dt * this.perMs;
      this.tokens = filled < this.burst ? filled : this.burst;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * When the next admission fits, as this bucket's clock reads: a moment in the past while tokens are
   * left. Read right after `admit` answered false, it is the moment until which it would keep doing so.
   */
  nextAt(): number {
    return this.tokens >= 1 || this.perMs <= 0 ? 0 : this.last + (1 - this.tokens) / this.perMs;
  }
}
