// What every TCP service shares around its sessions: the state it reports, its listeners (opened
// together, closed together), stop() and the status view. A service extends it, opens its listeners
// with `openListeners` from start(), and adds its own figures through `detail()`.
import { ListenerGroup } from './listener-group.js';
import type { TcpServer } from './tcp-server.js';
import type { ListenerInfo, Service, ServiceState, ServiceStatus } from './service.js';

export abstract class TcpService implements Service {
  abstract readonly name: string;
  protected state: ServiceState = 'stopped';
  protected readonly listenerGroup = new ListenerGroup();

  abstract start(): Promise<void>;

  /** Opens the listeners (a failed one closes the others and marks the service failed). */
  protected async openListeners(openers: ReadonlyArray<(() => Promise<TcpServer>) | false | undefined>): Promise<void> {
    try {
      await this.listenerGroup.open(openers);
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    this.state = 'running';
  }

  async stop(options: { timeoutMs: number }): Promise<void> {
    this.state = 'stopping';
    await this.listenerGroup.close(options.timeoutMs);
    this.state = 'stopped';
  }

  listeners(): ListenerInfo[] {
    return this.listenerGroup.listeners();
  }

  status(): ServiceStatus {
    const detail = this.detail();
    return { name: this.name, state: this.state, listeners: this.listeners(), ...this.listenerGroup.totals(), ...(detail ? { detail } : {}) };
  }

  /** Service-specific figures for the status view. */
  protected detail(): Record<string, unknown> | undefined {
    return undefined;
  }
}
