// The current TCP and UDP flows over IPv4, found by their addresses and ports as numbers: no key
// string is built, hashed and kept per flow (or per SYN), which the frame store's string-keyed Map
// needed. A flow is in at most one chain, linked through its own `tableNext` (no entry object). The
// hash is symmetric, so either direction of a conversation finds it, and seeded per table, so a
// sender cannot line up flows in one chain on purpose; a chain is bounded by the flows remembered.
import { randomInt } from 'node:crypto';

/** What the table needs of a flow. */
export interface TableFlow<T> {
  readonly kind: string;
  readonly clientNum: number;
  readonly serverNum: number;
  readonly client: { readonly port?: number };
  readonly server: { readonly port?: number };
  tableNext: T | undefined;
}

export class PortFlowTable<T extends TableFlow<T>> {
  private readonly buckets: Array<T | undefined>;
  private readonly mask: number;
  private readonly seed = randomInt(0x7fffffff);

  /** `capacity`: the flows it will hold at most (the buckets are twice that, to a power of two). */
  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2 && n < 1 << 20) n *= 2;
    this.buckets = new Array<T | undefined>(n).fill(undefined);
    this.mask = n - 1;
  }

  private bucket(a: number, pa: number, b: number, pb: number): number {
    // The same for (a, pa, b, pb) and (b, pb, a, pa).
    let h = Math.imul((a ^ b) + this.seed, 0x9e3779b1) ^ Math.imul((a + b) | 0, 0x85ebca6b);
    h ^= Math.imul((pa ^ pb) | ((pa + pb) << 17), 0xc2b2ae35);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 13)) & this.mask;
  }

  /** The flow of `kind` between a:pa and b:pb, in either direction. */
  get(kind: string, a: number, pa: number, b: number, pb: number): T | undefined {
    for (let f = this.buckets[this.bucket(a, pa, b, pb)]; f !== undefined; f = f.tableNext) {
      if (
        f.kind === kind &&
        ((f.clientNum === a && f.client.port === pa && f.serverNum === b && f.server.port === pb) ||
          (f.clientNum === b && f.client.port === pb && f.serverNum === a && f.server.port === pa))
      )
        return f;
    }
    return undefined;
  }

  /** Adds a flow (none of its kind and endpoints may be in the table). */
  add(flow: T): void {
    const i = this.bucket(flow.clientNum, flow.client.port ?? 0, flow.serverNum, flow.server.port ?? 0);
    flow.tableNext = this.buckets[i];
    this.buckets[i] = flow;
  }

  delete(flow: T): boolean {
    const i = this.bucket(flow.clientNum, flow.client.port ?? 0, flow.serverNum, flow.server.port ?? 0);
    let prev: T | undefined;
    for (let f = this.buckets[i]; f !== undefined; prev = f, f = f.tableNext) {
      if (f !== flow) continue;
      if (prev === undefined) this.buckets[i] = f.tableNext;
      else prev.tableNext = f.tableNext;
      flow.tableNext = undefined;
      return true;
    }
    return false;
  }

  clear(): void {
    for (let i = 0; i < this.buckets.length; i++) {
      for (let f = this.buckets[i]; f !== undefined;) {
        const next: T | undefined = f.tableNext;
        f.tableNext = undefined;
        f = next;
      }
      this.buckets[i] = undefined;
    }
  }
}

/** The number of a dotted-quad IPv4 address, or -1 for anything else. */
export function ipv4Value(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return -1;
    n = n * 256 + Number(p);
  }
  return n;
}
