// The TCP listeners of one service (e.g. smtp + submission + smtps): opened together (if one cannot be
// bound, those already open are closed again), closed together, and reported together.
import { StartupError } from './errors.js';
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

  /**
   * Opens the listeners in order. If any fails, the others are still tried (so that start-up can
   * name every port that cannot be bound), those open are closed again, and the error is rethrown:
   * several as one StartupError.
   */
  async open(openers: ReadonlyArray<(() => Promise<TcpServer>) | false | undefined>): Promise<void> {
    const errors: Error[] = [];
    for (const open of openers) {
      if (!open) continue;
      try {
        this.servers.push(await open());
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (errors.length === 0) return;
    await this.close(0);
    throw errors.length === 1 ? errors[0] : new StartupError(errors.map((error) => ({ service: (error as { service?: string }).service ?? '', error })));
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
