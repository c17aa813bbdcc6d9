/**
 * A fixed-window rate budget: at most `max` admissions in each window of `ms` milliseconds (0: no
 * limit). The recording budget (lines per tenth of a second, new sessions per second) and the TLS
 * handshake tap (handshakes per second) count with it.
 */
export class RateWindow {
  private end = 0;
  private used = 0;

  /** `onRoll` runs when a new window starts (on the admission that starts it). */
  constructor(
    public max: number,
    readonly ms: number,
    private readonly now: () => number = Date.now,
    private readonly onRoll?: () => void,
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
      this.onRoll?.();
    }
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  /** When the current window ends (0 before the first admission). */
  get windowEnd(): number {
    return this.end;
  }

  /** The next admission starts a fresh window (after the limit changed). */
  restart(): void {
    this.end = 0;
    this.used = 0;
  }
}
