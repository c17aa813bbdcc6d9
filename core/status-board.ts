// Lets a service show the state of the whole lab (the HTTP landing page, /healthz) without importing
// any other service: the host fills it in once everything has started.
import type { ServiceStatus } from './service.js';

export class StatusBoard {
  private source: () => ServiceStatus[] = () => [];
  readonly startedAt = Date.now();

  setSource(source: () => ServiceStatus[]): void {
    this.source = source;
  }

  all(): ServiceStatus[] {
    return this.source();
  }
}
