// The connection caps of the whole process: one budget shared by every TCP listener (SMTP, submission,
// SMTPS, POP3, POP3S, IMAP, IMAPS, HTTP, HTTPS, DNS over TCP...), so one remote address cannot take
// `listeners x per-address cap` descriptors. A socket counts from accept until it closes, including
// while its TLS handshake is still running. Memory is bounded: the per-address map holds only
// addresses with an open connection, so it never outgrows the total cap.
//
// Refusals are announced by a notice, at most one per address per `noticeEveryMs` (a flood of refused
// connections must not become a flood of events); the notice says how many were refused meanwhile.

export type CapReason = 'total' | 'per-address';

export interface BudgetNotice {
  remote: string;
  cap: CapReason;
  /** Connections refused from this address since the last notice (this one included). */
  refused: number;
}

export class ConnectionBudget {
  private open = 0;
  private readonly perAddress = new Map<string, number>();
  /** Per address: when the last refusal notice went out and how many refusals it has not told yet. */
  private readonly lastNotice = new Map<string, { at: number; pending: number }>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerAddress: number,
    private readonly now: () => number = Date.now,
    private readonly noticeEveryMs = 10_000,
  ) {}

  /** Connections open now, in the whole process. */
  get size(): number {
    return this.open;
  }

  /** Connections open now from one address. */
  countOf(remote: string): number {
    return this.perAddress.get(remote) ?? 0;
  }

  /** Takes one slot for `remote`, or says which cap refuses it. */
  take(remote: string): CapReason | undefined {
    const count = this.perAddress.get(remote) ?? 0;
    if (this.open >= this.maxTotal) return 'total';
    if (count >= this.maxPerAddress) return 'per-address';
    this.open++;
    this.perAddress.set(remote, count + 1);
    return undefined;
  }

  /** Gives back a slot taken by `take`. */
  release(remote: string): void {
    const n = (this.perAddress.get(remote) ?? 0) - 1;
    if (n < 0) return;
    this.open--;
    if (n === 0) this.perAddress.delete(remote);
    else this.perAddress.set(remote, n);
  }

  /**
   * Records a refusal; returns what a notice should say, or undefined while the last notice for this
   * address is recent (the refusal is counted for the next one).
   */
  refusal(remote: string, cap: CapReason): BudgetNotice | undefined {
    const t = this.now();
    const last = this.lastNotice.get(remote);
    if (last && t - last.at < this.noticeEveryMs) {
      last.pending++;
      return undefined;
    }
    const refused = (last?.pending ?? 0) + 1;
    // Bounded: forget old entries once the map is as large as the total cap allows addresses.
    if (this.lastNotice.size >= Math.max(1024, this.maxTotal)) {
      for (const [k, v] of this.lastNotice) if (t - v.at >= this.noticeEveryMs) this.lastNotice.delete(k);
      if (this.lastNotice.size >= Math.max(1024, this.maxTotal)) this.lastNotice.clear();
    }
    this.lastNotice.set(remote, { at: t, pending: 0 });
    return { remote, cap, refused };
  }
}
