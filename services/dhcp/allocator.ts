// The free-address index: which pool addresses can be handed out, found in amortised O(1). dnsmasq
// scans its whole lease table per lookup and slows down as it grows; here the lease store keeps this
// index in step with every state change instead.
//
// Each pool address has a state: in use, fresh (never leased since start-up) or reusable (freed by a
// release or an expiry). New clients get fresh addresses first, lowest first (a cursor that only moves
// back when an address becomes fresh again); then reusable ones, oldest freed first (a queue), so a
// client coming back soon still finds its old address: leases are sticky.
const IN_USE = 0;
const FRESH = 1;
const REUSABLE = 2;

export class FreeAddressIndex {
  private readonly state: Uint8Array;
  private freshCursor = 0;
  private reuseQueue: number[] = [];
  private reuseHead = 0;
  private free = 0;
  readonly size: number;

  /** `excluded`: reserved addresses, the server's own address, the router... never handed out from the pool. */
  constructor(
    readonly first: number,
    readonly last: number,
    private readonly excluded: ReadonlySet<number>,
  ) {
    this.state = new Uint8Array(last - first + 1);
    for (let ip = first; ip <= last; ip++) {
      if (excluded.has(ip)) continue;
      this.state[ip - first] = FRESH;
      this.free++;
    }
    this.size = this.free;
  }

  inPool(ip: number): boolean {
    return ip >= this.first && ip <= this.last && !this.excluded.has(ip);
  }

  isFree(ip: number): boolean {
    return this.inPool(ip) && this.state[ip - this.first] !== IN_USE;
  }

  /** Marks an address as in use (offered, leased or declined). */
  take(ip: number): void {
    if (!this.inPool(ip)) return;
    const off = ip - this.first;
    if (this.state[off] !== IN_USE) this.free--;
    this.state[off] = IN_USE;
  }

  /** Returns an address to the index; `used` says it had a client (goes behind the fresh ones). */
  give(ip: number, used = true): void {
    if (!this.inPool(ip)) return;
    const off = ip - this.first;
    const was = this.state[off];
    if (was === IN_USE) this.free++;
    if (used) {
      if (was !== REUSABLE) {
        this.state[off] = REUSABLE;
        this.reuseQueue.push(off);
        if (this.reuseQueue.length > 2 * this.state.length + 1024) this.compactQueue();
      }
    } else if (was !== REUSABLE) {
      this.state[off] = FRESH;
      if (off < this.freshCursor) this.freshCursor = off;
    }
  }

  /** The next address for a new client, or undefined when the pool is exhausted. */
  next(): number | undefined {
    const n = this.state.length;
    while (this.freshCursor < n && this.state[this.freshCursor] !== FRESH) this.freshCursor++;
    if (this.freshCursor < n) return this.first + this.freshCursor;
    const q = this.reuseQueue;
    while (this.reuseHead < q.length) {
      const off = q[this.reuseHead];
      if (this.state[off] === REUSABLE) return this.first + off;
      this.reuseHead++;
    }
    if (this.reuseHead > 0) {
      this.reuseQueue = [];
      this.reuseHead = 0;
    }
    return undefined;
  }

  get freeCount(): number {
    return this.free;
  }

  /** Drops queue entries whose address is no longer reusable (or appears twice). */
  private compactQueue(): void {
    const seen = new Uint8Array(this.state.length);
    const out: number[] = [];
    for (let i = this.reuseHead; i < this.reuseQueue.length; i++) {
      const off = this.reuseQueue[i];
      if (this.state[off] === REUSABLE && !seen[off]) {
        seen[off] = 1;
        out.push(off);
      }
    }
    this.reuseQueue = out;
    this.reuseHead = 0;
  }
}
