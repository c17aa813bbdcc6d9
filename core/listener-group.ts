// The TCP listeners of one service (e.g. smtp + submission + smtps): opened together (if one cannot be
// bound, those already open are closed again), closed together, and reported together.
import type { ListenerInfo } from './service.js';
import type { TcpServer } from './tcp-server.js';

export interface ListenerTotals {
  connections: number;
  accepted: number;
  bytesIn: number;
  bytesOut: number;
}

export class ListenerGroup {
  private servers: TcpServer[] = [];

  get all(): readonly TcpServer[] {
    return this.servers;
  }

  /** Opens the listeners in order; on the first failure closes the ones already open and rethrows. */
  async open(openers: ReadonlyArray<(() => Promise<TcpServer>) | false | undefined>): Promise<void> {
    try {
      for (const open of openers) if (open) this.servers.push(await open());
    } catch (err) {
      await this.close(0);
      throw err;
    }
  }

  async close(graceMs: number): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(servers.map((s) => s.close(graceMs)));
  }

  listeners(): ListenerInfo[] {
    return this.servers.map((s) => ({ name: s.label, protocol: 'tcp' as const, address: s.address, port: s.port, ...(s.options.tls ? { tls: true } : {}) }));
  }

  totals(): ListenerTotals {
    const t: ListenerTotals = { connections: 0, accepted: 0, bytesIn: 0, bytesOut: 0 };
    for (const s of this.servers) {
      const st = s.stats();
      t.connections += st.open;
      t.accepted += st.accepted;
      t.bytesIn += st.bytesIn;
      t.bytesOut += st.bytesOut;
    }
    return t;
  }
}
