// Rate limits for client messages (a student's script, or a client stuck in a loop, must not take the
// pool or the event loop): a token bucket per client hardware address and one for all clients
// together. A bucket holds up to `burst` tokens, refills at `perSecond`, and each message takes one;
// with no token left the message is dropped without an answer (RFC 2131 lets a server stay silent,
// and clients retransmit with back-off, section 4.1). The per-client buckets live in a map bounded to
// DHCP_LIMITS.rateLimitMaxClients entries, oldest first out: a flood of random MACs cannot grow it,
// and is held back by the total bucket anyway.
import { DHCP_LIMITS } from './limits.js';

export interface RateLimitSettings {
  /** Messages per second per client, sustained; 0: no per-client limit. */
  perMacPerSecond: number;
  perMacBurst: number;
  /** Messages per second from all clients together; 0: no total limit. */
  totalPerSecond: number;
  totalBurst: number;
}

interface Bucket {
  tokens: number;
  /** ms of the last refill. */
  at: number;
}

function takeToken(b: Bucket, perSecond: number, burst: number, now: number): boolean {
  const elapsed = now - b.at;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * perSecond) / 1000);
    b.at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

export type RateLimitVerdict = 'ok' | 'client' | 'total';

export class RateLimiter {
  private readonly total: Bucket;
  private readonly clients = new Map<string, Bucket>();

  constructor(
    readonly settings: RateLimitSettings,
    private readonly maxClients: number = DHCP_LIMITS.rateLimitMaxClients,
  ) {
    this.total = { tokens: settings.totalBurst, at: 0 };
  }

  /** Takes a token for a message from `client` (its hardware key) at `now` (ms). */
  take(client: string, now: number): RateLimitVerdict {
    const s = this.settings;
    if (s.totalPerSecond > 0 && !takeToken(this.total, s.totalPerSecond, s.totalBurst, now)) return 'total';
    if (s.perMacPerSecond <= 0) return 'ok';
    let b = this.clients.get(client);
    if (!b) {
      // The oldest entry makes room (insertion order; moving every hit to the end costs more than it
      // gains: an evicted client only gets a full bucket again, and the total bucket still holds).
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
      b = { tokens: s.perMacBurst, at: now };
      this.clients.set(client, b);
    }
    return takeToken(b, s.perMacPerSecond, s.perMacBurst, now) ? 'ok' : 'client';
  }

  get trackedClients(): number {
    return this.clients.size;
  }
}
