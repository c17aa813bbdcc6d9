// Lets a service show the state of the whole lab (the HTTP landing page, /healthz) without importing
// any other service: the host fills it in once everything has started.
import type { ServiceStatus } from './service.js';

export class StatusBoard {
  private source: () => ServiceStatus[] = () => [];
  private filled = false;
  private waiting: (() => void)[] = [];
  readonly startedAt = Date.now();

  setSource(source: () => ServiceStatus[]): void {
    this.source = source;
    this.filled = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const f of waiting) f();
  }

  /**
   * Calls `f` once the host has filled the board in (every service started or failed), or at once
   * when it already has. Before that, `all()` is empty: a service's own 'listening' event can come
   * while a slower one (DHCP probing the link) is still starting.
   */
  whenFilled(f: () => void): void {
    if (this.filled) f();
    else this.waiting.push(f);
  }

  all(): ServiceStatus[] {
    return this.source();
  }
}
